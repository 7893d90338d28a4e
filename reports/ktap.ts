/**
 * KTAP version 1, as kselftest consumers parse it: one top-level test per
 * suite on a heap, its cases nested 2 spaces deeper. SKIP and MISS carry
 * their reason in the directive; a MISS is "not ok ... # ERROR" (the run
 * broke, so nothing about the heap is known); observed-only cases (DONE)
 * are "ok ... # DONE" with their observations as diagnostics just before.
 * Known failures are kselftest's: "ok ... # XFAIL <reason>" (the failure is
 * in the diagnostics before it) and "ok ... # XPASS <reason>"; an XPASS
 * fails its parent, as it fails kselftest's run.
 */
import type { CaseResult } from '../core/result.js'
import type { DiffEntry } from './reference-diff.js'
import { describeDiff } from './reference-diff.js'
import { groupResults } from './groups.js'
import { describeKnown } from '../core/known-failures.js'

/** KTAP descriptions cannot contain '#', and a line break would end the line. */
const clean = (s: string) => s.replace(/#/g, '').replace(/\s+/g, ' ').trim()

function resultLine(n: number, name: string, r: CaseResult): string {
  switch (r.status) {
    case 'PASS':
      return `ok ${n} ${name}`
    case 'DONE':
      // Not a KTAP directive: consumers read it as ok; `dmaheap parse` reads DONE back.
      return `ok ${n} ${name} # DONE observed only, no verdict`
    case 'SKIP':
      return `ok ${n} ${name} # SKIP ${clean(r.message ?? '')}`
    case 'MISS':
      return `not ok ${n} ${name} # ERROR ${clean(r.message ?? 'not run')}`
    case 'ERROR':
      return `not ok ${n} ${name} # ERROR ${clean(r.message ?? '')}`
    case 'FAIL':
      return `not ok ${n} ${name}`
    case 'XFAIL':
      return `ok ${n} ${name} # XFAIL known failure: ${clean(r.known ? describeKnown(r.known) : '')}`
    case 'XPASS':
      return `ok ${n} ${name} # XPASS known to fail, but passed: ${clean(r.known ? describeKnown(r.known) : '')}`
  }
}

function diagnostics(r: CaseResult): string[] {
  const out: string[] = []
  if ((r.status === 'FAIL' || r.status === 'XFAIL') && r.message) out.push(`# ${r.message}`)
  for (const [label, v] of Object.entries(r.observations ?? {})) out.push(`# observed ${label}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
  if (r.kernelLog) for (const l of r.kernelLog.split('\n')) if (l.trim()) out.push(`# kernel: ${l}`)
  return out.map((l) => l.replace(/\n/g, ' '))
}

export function toKtap(results: CaseResult[], diff: DiffEntry[]): string {
  const groups = groupResults(results)
  const lines = ['KTAP version 1', `1..${groups.length}`]
  // Where the results come from, so `dmaheap parse` can file them again.
  const first = results[0]
  if (first && results.every((r) => r.target === first.target && r.kernel === first.kernel)) lines.push(`# dmaheap: target ${first.target}, kernel ${first.kernel}`)
  groups.forEach((g, gi) => {
    const name = `${g.suite} on ${g.heap}`
    lines.push('  KTAP version 1', `  # Subtest: ${name}`, `  1..${g.results.length}`)
    g.results.forEach((r, i) => {
      for (const d of diagnostics(r)) lines.push(`  ${d}`)
      for (const d of diff.filter((x) => x.heap === r.heap && x.id === r.id)) lines.push(`  # differs from the reference heap: ${describeDiff(d)}`)
      lines.push(`  ${resultLine(i + 1, r.id, r)}`)
    })
    // A parent fails when a child fails, broke or passed against its known failure; skipped and XFAIL children do not fail it.
    const bad = g.counts.FAIL + g.counts.ERROR + g.counts.MISS + g.counts.XPASS
    lines.push(bad ? `not ok ${gi + 1} ${name}` : `ok ${gi + 1} ${name}`)
  })
  return lines.join('\n') + '\n'
}
