/**
 * The result model: one record per (case, heap) as it finishes. Statuses are
 * KCIDB's: PASS and FAIL are verdicts on the heap; ERROR means the harness or
 * the target broke (no verdict); SKIP says why the case did not run; DONE is
 * an observed-only case (behaviour that legitimately differs across kernel
 * versions, recorded and compared with the reference heap, never failed).
 */
export type CaseStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP' | 'DONE'

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

export function emptyCounts(): Record<CaseStatus, number> {
  return { PASS: 0, FAIL: 0, ERROR: 0, SKIP: 0, DONE: 0 }
}
