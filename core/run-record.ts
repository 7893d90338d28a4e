/** run.json's shape, beside results.jsonl: what the views and compare read of a run. */
import type { KnownFailure } from './known-failures.js'
import type { BootRecord, RunPlan, RunSummary } from './result.js'
import type { RecordedTargetInfo } from './target.js'

/** run.json: the run's facts next to results.jsonl; the views read both. */
export interface RunRecord {
  /** the session the run ended on (a fresh one after a recovery) */
  target: RecordedTargetInfo
  suites: string[]
  heaps: string[]
  started: string
  finished: string
  artifacts: Record<string, string>
  summary: RunSummary
  /** absent in runs from before MISS was reported */
  plan?: RunPlan
  /** absent in runs from before the boot log was judged */
  boot?: BootRecord
  /** run --known-failures: the file, and its entries that matched no case that ran */
  knownFailures?: { file: string; entries: number; stale: KnownFailure[] }
}
