/**
 * A run as the views see it: run.json's facts and plan plus results.jsonl,
 * with every planned case that has no result added as MISS. Read from the
 * output folder only, so `dmaheap report DIR` regenerates the views offline
 * and a run that died mid-way is still reported whole.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../core/errors.js'
import type { CaseResult } from '../core/result.js'
import type { RunRecord } from '../core/run-record.js'
import { RESULTS_FILE } from './results-file.js'

export const RUN_FILE = 'run.json'

export interface RunData {
  /** the output folder */
  dir: string
  /** run.json, when the folder has one */
  run?: RunRecord
  /** recorded results, then a MISS for each planned case that never ran */
  results: CaseResult[]
}

/**
 * results.jsonl, one object per line. A last line cut short by a crash is
 * dropped: everything before it was written whole.
 */
export function parseResultsText(text: string, file: string): CaseResult[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const out: CaseResult[] = []
  lines.forEach((line, i) => {
    try {
      out.push(JSON.parse(line) as CaseResult)
    } catch {
      if (i === lines.length - 1) return
      throw new UsageError(`${file}: line ${i + 1} is not a JSON result`, 'pass a results.jsonl written by `dmaheap run`')
    }
  })
  return out
}

const key = (heap: string, id: string) => `${heap}\u0000${id}`

/** Results in plan order; planned cases without a result become MISS. */
export function withMissing(results: CaseResult[], run: RunRecord | undefined): CaseResult[] {
  if (!run?.plan) return results
  const byKey = new Map(results.map((r) => [key(r.heap, r.id), r]))
  const used = new Set<string>()
  const why = run.summary.infraError
    ? `not run: the run stopped at an infrastructure error: ${run.summary.infraError}`
    : 'not run: the run ended before this case'
  const out: CaseResult[] = []
  for (const suite of run.plan.suites) {
    for (const heap of suite.heaps ?? run.plan.heaps) {
      for (const id of suite.cases) {
        const k = key(heap, id)
        const r = byKey.get(k)
        used.add(k)
        out.push(
          r ?? { id, suite: suite.name, heap, target: run.target.target, kernel: run.target.hello.release, status: 'MISS', message: why, checks: [], durationMs: 0 },
        )
      }
    }
    // A suite's results beyond its plan (the boot case on the heaps a report names) stay with it.
    for (const r of results) {
      const k = key(r.heap, r.id)
      if (r.suite === suite.name && !used.has(k)) {
        used.add(k)
        out.push(r)
      }
    }
  }
  // Results outside the plan (the upstream selftest's) keep their place after it.
  for (const r of results) if (!used.has(key(r.heap, r.id))) out.push(r)
  return out
}

/** An output folder, or a results.jsonl with its run.json beside it. */
export function loadRun(path: string): RunData {
  if (!existsSync(path)) throw new UsageError(`${path} does not exist`, 'pass a run\'s output folder or its results.jsonl')
  const dir = statSync(path).isDirectory() ? path : dirname(path)
  const resultsPath = statSync(path).isDirectory() ? join(path, RESULTS_FILE) : path
  if (!existsSync(resultsPath)) throw new UsageError(`${dir} has no ${RESULTS_FILE}`, 'pass the output folder of a `dmaheap run`')
  const results = parseResultsText(readFileSync(resultsPath, 'utf8'), resultsPath)
  const runPath = join(dir, RUN_FILE)
  let run: RunRecord | undefined
  if (basename(resultsPath) === RESULTS_FILE && existsSync(runPath)) {
    try {
      run = JSON.parse(readFileSync(runPath, 'utf8')) as RunRecord
    } catch (e) {
      throw new UsageError(`${runPath} is not valid JSON: ${(e as Error).message}`, 'restore run.json or remove it to report the results alone')
    }
  }
  return { dir, ...(run ? { run } : {}), results: withMissing(results, run) }
}
