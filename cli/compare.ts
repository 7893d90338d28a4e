/**
 * `dmaheap compare OLD... NEW`: how each case moved from earlier runs to a
 * new one. With --gate, exit 1 only on a regression no known failure in
 * --known-failures explains; without it, exit 0 whatever moved. Stale
 * expectation entries are listed either way. A regression the new run
 * already reported as a known failure (run --known-failures: XFAIL) is
 * explained by that entry, and says so.
 */
import { ExitCode, UsageError } from '../core/errors.js'
import { CHANGE_CLASSES, compareRuns, type CaseChange, type ChangeClass } from '../reports/compare.js'
import { knownFailureOf, loadKnownFailures, staleEntries, type KnownFailure } from '../core/known-failures.js'
import { loadRun } from '../reports/run-data.js'

export interface CompareCommandOptions {
  runs: string[]
  gate?: boolean
  knownFailures?: string
  byKernel?: boolean
  json?: boolean
}

export interface CompareReport {
  old: string[]
  new: string
  counts: Record<ChangeClass, number>
  changes: Array<CaseChange & { known?: { reason: string; link?: string } }>
  stale: KnownFailure[]
  /** regressions no known failure explains: what the gate fails on */
  gateFailures: number
}

const LABEL: Record<ChangeClass, string> = {
  regression: 'regressions',
  fixed: 'fixed',
  unstable: 'unstable (the old runs disagree)',
  'persistent-failure': 'persistent failures',
  new: 'new',
  missing: 'missing (no verdict in the new run)',
  unchanged: 'unchanged',
}

export function buildCompareReport(opts: CompareCommandOptions): CompareReport {
  if (opts.runs.length < 2) throw new UsageError('compare needs an old run and a new run', 'run `dmaheap compare OLD [OLD...] NEW` with output folders or results.jsonl files')
  const known = opts.knownFailures ? loadKnownFailures(opts.knownFailures) : []
  const loaded = opts.runs.map((p) => loadRun(p))
  const now = loaded.pop()!
  const changes = compareRuns(
    loaded.map((l) => l.results),
    now.results,
    opts.byKernel ? { byKernel: true } : {},
  ).map((c) => {
    const failed = c.new === 'FAIL' || c.new === 'ERROR' || c.new === 'XFAIL'
    const k = failed ? knownFailureOf(known, { id: c.id, heap: c.heap, target: c.target, ...(c.kernel ? { kernel: c.kernel } : {}) }) : undefined
    if (k) return { ...c, known: { reason: k.reason, ...(k.link ? { link: k.link } : {}) } }
    // The new run's own entry explains its XFAIL (never an ERROR: knownOutcome makes none of those).
    if (c.new === 'XFAIL' && c.runKnown) return { ...c, known: { reason: `${c.runKnown.reason} (the run's known failure)`, ...(c.runKnown.link ? { link: c.runKnown.link } : {}) } }
    return c
  })
  const failures = now.results.filter((r) => r.status === 'FAIL' || r.status === 'ERROR' || r.status === 'XFAIL')
  const counts = Object.fromEntries(CHANGE_CLASSES.map((c) => [c, changes.filter((x) => x.class === c).length])) as Record<ChangeClass, number>
  return {
    old: loaded.map((l) => l.dir),
    new: now.dir,
    counts,
    changes,
    stale: staleEntries(known, failures),
    gateFailures: changes.filter((c) => c.class === 'regression' && !('known' in c)).length,
  }
}

function formatReport(r: CompareReport): string {
  const lines = [`compared ${r.old.join(', ')} -> ${r.new}`, CHANGE_CLASSES.map((c) => `${r.counts[c]} ${c}`).join(', ')]
  for (const cls of CHANGE_CLASSES.filter((c) => c !== 'unchanged')) {
    const mine = r.changes.filter((c) => c.class === cls)
    if (!mine.length) continue
    lines.push('', `${LABEL[cls]}:`)
    // Every regression, fix and instability is listed; long lists of others are cut.
    const shown = ['new', 'missing'].includes(cls) && mine.length > 20 ? mine.slice(0, 20) : mine
    for (const c of shown) {
      const was = c.old.length ? c.old.join('/') : 'absent'
      const known = c.known ? ` [known: ${c.known.reason}${c.known.link ? ` ${c.known.link}` : ''}]` : ''
      lines.push(`  ${c.id} on ${c.heap} (${c.target}): ${was} -> ${c.new ?? 'absent'}${c.message ? `: ${c.message}` : ''}${known}`)
    }
    if (shown.length < mine.length) lines.push(`  ... and ${mine.length - shown.length} more (--json lists them all)`)
  }
  if (r.stale.length) {
    lines.push('', 'stale known-failures entries (they match no failure in the new run; remove them or narrow them):')
    for (const s of r.stale) lines.push(`  ${s.case}${s.heaps ? ` on ${s.heaps.join(',')}` : ''}${s.kernel ? ` kernel ${s.kernel}` : ''}: ${s.reason}`)
  }
  return lines.join('\n')
}

export function compareCommand(opts: CompareCommandOptions): number {
  const r = buildCompareReport(opts)
  console.log(opts.json ? JSON.stringify(r, null, 2) : formatReport(r))
  if (opts.gate && r.gateFailures) {
    process.stderr.write(`dmaheap: gate: ${r.gateFailures} regression${r.gateFailures > 1 ? 's' : ''}\n`)
    return ExitCode.testFailed
  }
  return ExitCode.pass
}
