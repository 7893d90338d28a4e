/**
 * summary.md for a CI job page ($GITHUB_STEP_SUMMARY, a GitLab artifact):
 * the verdict, a heaps x suites table, each failure with what was expected
 * and observed, the known failures (XFAIL), the known failures that passed
 * (XPASS) and the stale entries of --known-failures, the cases never run,
 * and the differences from the reference heap: conformance first, then the
 * heap properties that differ by design.
 */
import { countsText, type CaseResult, type CaseStatus } from '../core/result.js'
import type { RunRecord } from '../core/run-record.js'
import { countAll, groupResults } from './groups.js'
import { describeDiff, isReferenceHeap, type DiffEntry } from './reference-diff.js'
import { describeEntry, describeKnown } from '../core/known-failures.js'
import { failsRun, sortOutcomes } from './outcomes.js'

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function verdictOf(c: Record<CaseStatus, number>, infraError?: string): string {
  if (infraError || c.ERROR || c.MISS) return 'INCOMPLETE'
  return failsRun(c) ? 'FAIL' : 'PASS'
}

export function toMarkdown(results: CaseResult[], diff: DiffEntry[], run?: RunRecord): string {
  const c = countAll(results)
  const target = run?.target.target ?? results[0]?.target ?? 'unknown target'
  const kernel = run?.target.hello.release ?? results[0]?.kernel ?? 'unknown'
  const out = [`# dmaheap: ${verdictOf(c, run?.summary.infraError)} on ${target}, Linux ${kernel}`, '', `${countsText(c)}.`, '']
  if (run?.summary.infraError) out.push(`**The run stopped at an infrastructure error:** ${run.summary.infraError}`, '')
  const t = run?.boot?.taint
  if (run?.boot) out.push(`Kernel at boot: taint ${t ? (t.flags ? `${t.value} (${t.described.join(', ')})` : '0 (not tainted)') : 'unknown'}; boot log ${run.boot.log ? `\`${run.boot.log}\` (from the ${run.boot.source})` : 'not readable'}.`, '')
  const groups = groupResults(results)
  const heaps = [...new Set(groups.map((g) => g.heap))]
  const suites = [...new Set(groups.map((g) => g.suite))]
  out.push(`| heap | ${suites.join(' | ')} |`, `|---|${suites.map(() => '---|').join('')}`)
  for (const h of heaps) {
    const row = suites.map((s) => {
      const g = groups.find((x) => x.heap === h && x.suite === s)
      if (!g) return ''
      const bad = g.counts.FAIL + g.counts.ERROR + g.counts.MISS + g.counts.XPASS
      return `${bad ? '❌' : g.counts.XFAIL ? '☑️' : '✅'} ${countsText(g.counts)}`
    })
    out.push(`| ${h}${isReferenceHeap(h) ? ' (reference)' : ''} | ${row.map(cell).join(' | ')} |`)
  }
  const sorted = sortOutcomes(results)
  if (sorted.failures.length) {
    out.push('', '## Failures', '', '| case | heap | status | expected vs observed |', '|---|---|---|---|')
    for (const r of sorted.failures) out.push(`| \`${r.id}\` | ${r.heap} | ${r.status} | ${cell(r.message ?? '')} |`)
  }
  if (sorted.unexpectedPasses.length) {
    out.push('', '## Known failures that passed (XPASS): these fail the run', '', 'The known-failures file says these cases fail here, and they passed: the bug is fixed or the entry is wrong. Remove or narrow the entries.', '', '| case | heap | entry | known for |', '|---|---|---|---|')
    for (const r of sorted.unexpectedPasses) out.push(`| \`${r.id}\` | ${r.heap} | \`${cell(r.known?.case ?? '')}\` | ${cell(r.known ? describeKnown(r.known) : '')} |`)
  }
  if (sorted.knownFailures.length) {
    out.push('', '## Known failures (XFAIL)', '', '| case | heap | known for | expected vs observed |', '|---|---|---|---|')
    for (const r of sorted.knownFailures) out.push(`| \`${r.id}\` | ${r.heap} | ${cell(r.known ? describeKnown(r.known) : '')} | ${cell(r.message ?? '')} |`)
  }
  const stale = run?.knownFailures?.stale ?? []
  if (stale.length) {
    out.push('', '## Stale known-failure entries', '', `${stale.length} of the ${run!.knownFailures!.entries} entries of \`${cell(run!.knownFailures!.file)}\` matched no case that ran:`, '')
    for (const k of stale) out.push(`- ${cell(describeEntry(k))}`)
  }
  const missed = results.filter((r) => r.status === 'MISS')
  if (missed.length) {
    const byHeap = new Map<string, number>()
    for (const r of missed) byHeap.set(r.heap, (byHeap.get(r.heap) ?? 0) + 1)
    out.push('', '## Not run', '', `${missed.length} planned cases never ran (${[...byHeap].map(([h, n]) => `${n} on ${h}`).join(', ')}): ${cell(missed[0]!.message ?? '')}`)
  }
  // A SKIP that left a stated expectation unchecked is named: nobody should
  // read a green summary as "the heap is contiguous" when it was never seen.
  const unchecked = results.filter((r) => r.status === 'SKIP' && /stated expectation unchecked/.test(r.message ?? ''))
  if (unchecked.length) {
    out.push('', '## Stated expectations not checked', '', '| case | heap | why |', '|---|---|---|')
    for (const r of unchecked) out.push(`| \`${r.id}\` | ${r.heap} | ${cell(r.message ?? '')} |`)
  }
  const conformance = diff.filter((d) => d.area === 'conformance')
  const properties = diff.filter((d) => d.area === 'property')
  out.push('', '## Differences from the reference heap', '')
  if (conformance.length) for (const d of conformance) out.push(`- ${cell(describeDiff(d))}`)
  else out.push('None: every kernel heap answered as the reference heap did.')
  if (properties.length) {
    out.push('', '## Heap properties that differ from the reference heap (by design)', '', 'Contiguity, alignment and capacity are each heap\'s own; they are judged only against stated expectations (`--expect`).', '')
    for (const d of properties) out.push(`- ${cell(describeDiff(d))}`)
  }
  return out.join('\n') + '\n'
}
