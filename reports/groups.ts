/** Results grouped as they ran: one group per suite on one heap, in first-seen order. */
import type { CaseResult, CaseStatus, CheckRecord } from '../core/result.js'
import { emptyCounts } from '../core/result.js'

export interface ResultGroup {
  suite: string
  heap: string
  results: CaseResult[]
  counts: Record<CaseStatus, number>
}

export function groupResults(results: CaseResult[]): ResultGroup[] {
  const groups = new Map<string, ResultGroup>()
  for (const r of results) {
    const k = `${r.suite}\u0000${r.heap}`
    let g = groups.get(k)
    if (!g) groups.set(k, (g = { suite: r.suite, heap: r.heap, results: [], counts: emptyCounts() }))
    g.results.push(r)
    g.counts[r.status]++
  }
  return [...groups.values()]
}

export function countAll(results: CaseResult[]): Record<CaseStatus, number> {
  const c = emptyCounts()
  for (const r of results) c[r.status]++
  return c
}

/** The first failed check: what was expected and observed. */
export function failedCheck(r: CaseResult): CheckRecord | undefined {
  return r.checks.find((c) => !c.pass)
}
