/**
 * `--case GLOB` and `--skip GLOB`: which of the chosen suites' cases run
 * (kselftest's -t/-T, wptrunner's --include). Globs match case ids
 * ("alloc.size.409*", "mmap.{sub-ranges,offset}"). A suite runs when any of
 * its cases does, and then its fd-leak check runs too: it is that suite's
 * check, not a case to pick by itself. A pattern that matches no case is an
 * error (a typo must not run everything, or nothing, in silence).
 */
import { anyGlobMatcher, globMatcher } from '../core/case-glob.js'
import { UsageError } from '../core/errors.js'
import { BOOT_CASE } from './boot-log.js'
import type { SuiteDef } from './harness.js'

export interface CaseSelection {
  /** --case: run only the cases one of these matches (none given: every case) */
  include: readonly string[]
  /** --skip: never the cases one of these matches */
  exclude: readonly string[]
}

export interface SelectedCases {
  /** the suites with only their chosen cases, in run order; suites left with none are gone */
  suites: SuiteDef[]
  /** whether the run's boot case (the kernel log before the first case) is among them */
  boot: boolean
}

/** The fd-leak check each suite ends with (suites/run.ts appends it). */
export const fdLeakCaseId = (suite: string) => `${suite}.no-fd-leak`

export function hasSelection(sel: CaseSelection | undefined): sel is CaseSelection {
  return !!sel && (sel.include.length > 0 || sel.exclude.length > 0)
}

export function selectCases(suites: SuiteDef[], sel: CaseSelection | undefined): SelectedCases {
  if (!hasSelection(sel)) return { suites, boot: true }
  const ids = [BOOT_CASE, ...suites.flatMap((s) => [...s.cases.map((c) => c.id), fdLeakCaseId(s.name)])]
  for (const [flag, globs] of [['--case', sel.include], ['--skip', sel.exclude]] as const) {
    for (const g of globs) {
      const matches = globMatcher(g)
      if (!ids.some((id) => matches(id))) {
        throw new UsageError(`${flag} "${g}" matches no case id of the suites chosen`, 'see `dmaheap list -v` for the case ids; globs: * ? {a,b}')
      }
    }
  }
  const included = sel.include.length ? anyGlobMatcher(sel.include) : () => true
  const excluded = anyGlobMatcher(sel.exclude)
  const chosen = (id: string) => included(id) && !excluded(id)
  const kept = suites.map((s) => ({ ...s, cases: s.cases.filter((c) => chosen(c.id)) })).filter((s) => s.cases.length > 0)
  const boot = chosen(BOOT_CASE)
  if (!kept.length && !boot) {
    const only = suites.filter((s) => chosen(fdLeakCaseId(s.name))).map((s) => fdLeakCaseId(s.name))
    throw new UsageError(
      only.length
        ? `${only.join(', ')} runs after its suite's cases, not alone: choose a case of the suite too`
        : '--case and --skip leave no case to run',
      'see `dmaheap list -v` for the case ids',
    )
  }
  return { suites: kept, boot }
}
