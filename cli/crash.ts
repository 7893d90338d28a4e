/**
 * The last line of defence. An exception nothing caught (a bug in the
 * harness or a library, thrown from an event handler, a promise nobody
 * awaited) would end the process with a stack trace and exit 1, the "a test
 * failed" code, with no run.json, no views, and on a board the upload left
 * behind. Instead it ends the run like any other infrastructure error: the
 * run in progress stops where it is and writes run.json and the views from
 * what it measured, the target is stopped, one line goes to stderr, exit 2.
 */
import { ExitCode, InfraError, UsageError } from '../core/errors.js'
import { emptyCounts, type CaseResult } from '../core/result.js'
import type { TargetSession } from '../core/target.js'
import type { SuiteRunOutcome } from '../suites/run.js'
import { formatError, internalError } from './output.js'

/** How long a run may take to write its outputs after a crash before the process exits anyway. */
const FINISH_WITHIN_MS = 120_000

let crash: InfraError | undefined
/** The run waiting in untilCrash, told of a crash so it can end itself. */
let endRun: ((e: InfraError) => void) | undefined

/** Whether an unexpected exception happened: nothing more may be recorded then. */
export function crashed(): boolean {
  return crash !== undefined
}

/**
 * Catches what nothing else caught, once per process. `stopTarget` stops the
 * target that is starting or running (a board's upload removed) at once: the
 * suites' code may still be running, and it must not go on asking the
 * target, nor start it again, while the run writes its outputs.
 */
export function installCrashHandler(stopTarget: () => Promise<unknown>): void {
  const onCrash = (e: unknown) => {
    if (crash) return // the first one is being handled; the rest follow from it
    crash = internalError(e)
    // However the rest goes, the process ends, with exit 2.
    setTimeout(() => process.exit(ExitCode.infrastructure), FINISH_WITHIN_MS).unref()
    const stopped = stopTarget().catch(() => undefined)
    // A run ends itself (run.json, the views) and exits 2 on its own.
    if (endRun) return endRun(crash)
    void stopped.then(() => {
      console.error(formatError(crash))
      process.exit(ExitCode.infrastructure)
    })
  }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
}

/** `work`, or the crash that happened anywhere in the process meanwhile, whichever comes first. */
export function untilCrash<T>(work: Promise<T>): Promise<T> {
  if (crash) return Promise.reject(crash)
  return new Promise<T>((resolve, reject) => {
    endRun = reject
    work.then(resolve, reject).finally(() => {
      if (endRun === reject) endRun = undefined
    })
  })
}

/**
 * The suites did not come back with an outcome (they threw, or a crash
 * ended them): the run's outcome from the results recorded so far, with the
 * error as the infrastructure error that stopped it. Bad user input is no
 * crash and goes on up.
 */
export function outcomeOfCrash(e: unknown, recorded: readonly CaseResult[], session: TargetSession): SuiteRunOutcome {
  if (e instanceof UsageError) throw e
  const counts = emptyCounts()
  for (const r of recorded) counts[r.status]++
  return { counts, session, profiles: {}, infra: e instanceof InfraError ? e : internalError(e) }
}
