/** What a run allows its cases, from the target's facts and the command's flags. */
import type { HeapExpectations } from '../core/heap-expectations.js'
import type { TargetInfo } from '../core/target.js'
import type { InjectedFault, RunSettings } from './harness.js'

/** The flags that shape what cases may do (run's). */
export interface SettingsFlags {
  /** run exhaustion on a target that is not disposable */
  allowExhaustion?: boolean
  /** bound for destructive cases, bytes */
  memoryBudget?: bigint
  /** what heaps must deliver (--expect FILE, a board description's heaps) */
  expectations?: HeapExpectations
  /** the file the expectations came from */
  expectationsSource?: string
  /** --case-timeout: how long any case may take, ms */
  caseTimeoutMs?: number
  /** faults to provoke in given cases (the harness's reliability tests) */
  inject?: InjectedFault[]
}

/** Destructive cases run on a disposable target, where its description allows them, or with --allow-exhaustion; the reason is said either way. */
export function runSettings(info: TargetInfo, flags: SettingsFlags): RunSettings {
  const { disposable, destructiveAllowed } = info.facts
  return {
    destructive: disposable || destructiveAllowed || !!flags.allowExhaustion,
    destructiveReason: disposable
      ? `${info.target} is disposable (thrown away after the run)`
      : flags.allowExhaustion
        ? '--allow-exhaustion was given'
        : destructiveAllowed
          ? `${info.target}'s description allows it (destructive: true)`
          : 'destructive: can exhaust this machine\'s memory; pass --allow-exhaustion (bounded by --memory-budget)',
    ...(flags.memoryBudget !== undefined ? { memoryBudget: flags.memoryBudget } : {}),
    ...(flags.expectations ? { expectations: flags.expectations, expectationsSource: flags.expectationsSource ?? 'the expectations' } : {}),
    ...(flags.caseTimeoutMs !== undefined ? { caseTimeoutMs: flags.caseTimeoutMs } : {}),
    ...(flags.inject?.length ? { inject: flags.inject } : {}),
  }
}
