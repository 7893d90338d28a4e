
/**
 * The result model: one record per (case, heap) as it finishes. Statuses are
 * KCIDB's: PASS and FAIL are verdicts on the heap; ERROR means the harness or
 * the target broke (no verdict); SKIP says why the case did not run; DONE is
 * an observed-only case (behaviour that legitimately differs across kernel
 * versions, recorded and compared with the reference heap, never failed);
 * MISS is a planned case that never ran because the run stopped early (the
 * views compute it from run.json's plan; the suites never record it).
 *
 * XFAIL and XPASS are kselftest's: a FAIL, or a PASS, of a case that
 * `run --known-failures` names as known to fail there (`known` says which
 * entry). They are statuses of their own, not FAIL/PASS with a flag, so that
 * nothing can count a known failure as a failure (or as a pass) by
 * forgetting to look at the flag: every `Record<CaseStatus, …>` and every
 * switch over statuses must say what it does with them, and the compiler
 * checks that it does. Where the heap's verdict itself matters (compare,
 * the reference diff, KCIDB), heapVerdict() gives it back. Only a verdict
 * the checks reached becomes one: an ERROR, a crash or an OOM kill never
 * does. An XFAIL does not fail the run; an XPASS does (the list is stale or
 * the bug is fixed: the entry must go before it hides a regression).
 */
export type CaseStatus = 'PASS' | 'FAIL' | 'ERROR' | 'MISS' | 'SKIP' | 'DONE' | 'XFAIL' | 'XPASS'

/** KCIDB's priority order, highest first: a roll-up takes the first present (XPASS fails a run, XFAIL does not). */
export const STATUS_PRIORITY: readonly CaseStatus[] = ['FAIL', 'ERROR', 'MISS', 'XPASS', 'XFAIL', 'PASS', 'DONE', 'SKIP']

/** What the heap did, known or not: XFAIL is a FAIL and XPASS a PASS (KCIDB, compare, the reference diff). */
export function heapVerdict(s: CaseStatus): Exclude<CaseStatus, 'XFAIL' | 'XPASS'> {
  return s === 'XFAIL' ? 'FAIL' : s === 'XPASS' ? 'PASS' : s
}

/** The known-failures entry that made a result XFAIL or XPASS. */
export interface KnownRef {
  /** the entry's case glob, as written */
  case: string
  reason: string
  link?: string
}

export interface CaseResult {
  /** stable case id, e.g. "alloc.size.4097" */
  id: string
  suite: string
  heap: string
  target: string
  kernel: string
  status: CaseStatus
  /** FAIL: the first failed check, "expected X, observed Y"; SKIP: the reason */
  message?: string
  /** every check the case made, in order */
  checks: CheckRecord[]
  /** what an observed-only case saw, by label */
  observations?: Record<string, unknown>
  /** what the kernel printed during the case, when it printed a problem */
  kernelLog?: string
  /** XFAIL and XPASS: the known-failures entry that names the case */
  known?: KnownRef
  durationMs: number
}

export interface CheckRecord {
  label: string
  pass: boolean
  expected?: unknown
  observed?: unknown
}

export interface RunSummary {
  counts: Record<CaseStatus, number>
  /** set when the run ended early because the target broke */
  infraError?: string
}

/** What a run set out to do, saved in run.json so cases never reached can be reported as MISS. */
export interface RunPlan {
  /** heaps in the order they ran (the reference heap first) */
  heaps: string[]
  /** every suite with its case ids, in order, as each heap runs them */
  suites: Array<{
    name: string
    cases: string[]
    /** the heaps this suite runs on when not every heap above (the boot case: the kernel pseudo-heap) */
    heaps?: string[]
  }>
}

/** What the kernel said before the first case (run.json's boot). */
export interface BootRecord {
  /** the file in the output folder with everything the kernel printed since boot */
  log?: string
  /** where it was read from */
  source: 'kernel log' | 'console' | 'kernel log + console' | 'none'
  /** false when the start of boot was no longer there to read */
  complete: boolean
  /** /proc/sys/kernel/tainted before the first case */
  taint?: { value: number; flags: string; problems: string; described: string[] }
}

/**
 * "36 pass, 1 fail": the statuses present, in a fixed order; those in
 * `always` even at 0 (a progress line shows "0 fail").
 */
export function countsText(c: Record<CaseStatus, number>, always: readonly CaseStatus[] = []): string {
  const names: Array<[CaseStatus, string]> = [
    ['PASS', 'pass'],
    ['FAIL', 'fail'],
    ['XPASS', 'known failure passed (XPASS)'],
    ['XFAIL', 'known failure (XFAIL)'],
    ['ERROR', 'error'],
    ['MISS', 'not run'],
    ['SKIP', 'skip'],
    ['DONE', 'observed'],
  ]
  return names.filter(([s]) => c[s] > 0 || always.includes(s)).map(([s, n]) => `${c[s]} ${n}`).join(', ') || 'no cases'
}

/** What a line for people shows even at 0. */
export const PASS_AND_FAIL: readonly CaseStatus[] = ['PASS', 'FAIL']

export function emptyCounts(): Record<CaseStatus, number> {
  return { PASS: 0, FAIL: 0, ERROR: 0, MISS: 0, SKIP: 0, DONE: 0, XFAIL: 0, XPASS: 0 }
}
