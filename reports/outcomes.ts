/**
 * A run's results sorted the way its end is read: the failures, the known
 * failures (XFAIL), the known failures that passed (XPASS) and the
 * known-failures entries that matched no case that ran (stale). A pure
 * function of results, shared by the end of `dmaheap run` (stderr), the
 * views and run.json, so they all tell the same story.
 */
import type { CaseResult, CaseStatus } from '../core/result.js'
import { keyOf, staleEntries, type KnownFailure } from '../core/known-failures.js'

export interface RunOutcomes {
  /** FAIL and ERROR: what a developer must look at */
  failures: CaseResult[]
  /** XFAIL: failed as the known-failures file says it does */
  knownFailures: CaseResult[]
  /** XPASS: passed where the known-failures file says it fails */
  unexpectedPasses: CaseResult[]
  /** entries that matched no case that ran (a SKIP or MISS did not run) */
  stale: KnownFailure[]
}

const ran = (r: CaseResult) => r.status !== 'SKIP' && r.status !== 'MISS'

export function sortOutcomes(results: readonly CaseResult[], known: readonly KnownFailure[] = []): RunOutcomes {
  return {
    failures: results.filter((r) => r.status === 'FAIL' || r.status === 'ERROR'),
    knownFailures: results.filter((r) => r.status === 'XFAIL'),
    unexpectedPasses: results.filter((r) => r.status === 'XPASS'),
    stale: staleEntries(known, results.filter(ran).map(keyOf)),
  }
}

/**
 * Whether the heaps failed the run (exit 1): a FAIL, or an XPASS. A known
 * failure that passes means the bug was fixed or the entry is wrong; left
 * in the file it would hide the next regression of that case, so it is
 * reported as loudly as a failure (kselftest counts XPASS against the run
 * too). An XFAIL does not fail it, and a stale entry is only listed: one
 * file serves many targets and kernels.
 */
export function failsRun(c: Record<CaseStatus, number>): boolean {
  return c.FAIL + c.XPASS > 0
}
