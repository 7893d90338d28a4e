/**
 * What a verdict becomes when `run --known-failures` names the case: a FAIL
 * is XFAIL, a PASS is XPASS, each keeping the entry it matched. Nothing else
 * changes: a SKIP, DONE, MISS or ERROR says nothing about the heap's
 * verdict, and a crash (an Oops, BUG or panic in what the kernel printed)
 * stays a FAIL, because a known wrong answer does not excuse taking the
 * kernel down. The one rule for the live TAP, results.jsonl and every view.
 */
import type { CaseResult } from '../core/result.js'
import { keyOf, knownFailureOf, refOf, type KnownFailure } from '../core/known-failures.js'
import { CRASH } from './kernel-crash.js'

/** Whether what the kernel printed during the case shows a crash. */
export const crashedIn = (kernelLog: string | undefined) => kernelLog !== undefined && kernelLog.split('\n').some((l) => CRASH.test(l))

export function knownOutcome(r: CaseResult, known: readonly KnownFailure[] | undefined): CaseResult {
  if (!known?.length || (r.status !== 'FAIL' && r.status !== 'PASS')) return r
  const k = knownFailureOf(known, keyOf(r))
  if (!k || (r.status === 'FAIL' && crashedIn(r.kernelLog))) return r
  return { ...r, status: r.status === 'FAIL' ? 'XFAIL' : 'XPASS', known: refOf(k) }
}
