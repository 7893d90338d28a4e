/** What `dmaheap run` says on stderr at its end: the failures first, then the known failures apart from them. */
import type { CaseResult } from '../core/result.js'
import { describeEntry, describeKnown, type KnownFailure } from '../core/known-failures.js'
import { sortOutcomes, type RunOutcomes } from '../reports/outcomes.js'
import { failureLines } from './progress.js'

/** Logs the run's failures and known failures; returns them sorted (run.json lists the stale entries). */
export function logRunEnd(recorded: readonly CaseResult[], known: readonly KnownFailure[] | undefined, knownFile: string | undefined, log: (m: string) => void): RunOutcomes {
  // What a developer reads first: which cases failed, on which heap, and why.
  const failures = failureLines([...recorded])
  if (failures.length) log(`failing cases:\n${failures.join('\n')}`)
  // Known failures apart from failures: an XPASS fails the run, a stale entry is only listed.
  const sorted = sortOutcomes(recorded, known)
  const knownLine = (r: CaseResult) => `  ${r.id} on ${r.heap}: ${describeKnown(r.known!)}`
  if (sorted.unexpectedPasses.length) log(`known failures that passed (XPASS: they fail the run; remove or narrow their entries):\n${sorted.unexpectedPasses.map(knownLine).join('\n')}`)
  if (sorted.knownFailures.length) log(`known failures (XFAIL):\n${sorted.knownFailures.map(knownLine).join('\n')}`)
  if (sorted.stale.length) log(`stale entries in ${knownFile} (they matched no case that ran):\n${sorted.stale.map((k) => `  ${describeEntry(k)}`).join('\n')}`)
  return sorted
}
