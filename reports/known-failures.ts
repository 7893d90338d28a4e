/**
 * The expectations file: failures already known, each with its reason and a
 * link, narrowed to heaps, targets and a kernel range, so a gate fails only
 * on what is new. An entry that matches no failing case is stale and is
 * reported: stale entries would otherwise hide a change.
 *
 *   known-failures:
 *     - case: zeroing.*                 # a case id; * and ? match any characters
 *       heaps: [reserved]               # default: every heap
 *       targets: [board-rk3588]         # default: every target
 *       kernel: ">=6.1 <6.13"           # default: every kernel
 *       reason: the CMA heap hands out pages it did not clear
 *       link: https://lore.kernel.org/...
 */
import { z } from 'zod'
import { loadDescription } from '../core/description-file.js'
import { inRange, rangeProblem } from './kernel-range.js'
import { anyGlobMatcher, globMatcher } from '../core/case-glob.js'

const globList = z.array(z.string().min(1)).min(1)

export const knownFailureSchema = z.strictObject({
  case: z.string().min(1),
  heaps: globList.optional(),
  targets: globList.optional(),
  kernel: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined ? undefined : rangeProblem(v)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    }),
  reason: z.string().min(1, 'say why this failure is expected'),
  link: z.string().url('a URL to the report or the patch').optional(),
})

export const knownFailuresFileSchema = z.strictObject({ 'known-failures': z.array(knownFailureSchema) })

export type KnownFailure = z.output<typeof knownFailureSchema>

export function loadKnownFailures(file: string): KnownFailure[] {
  return loadDescription(file, knownFailuresFileSchema)['known-failures']
}

const anyMatch = (globs: string[] | undefined, v: string) => globs === undefined || anyGlobMatcher(globs)(v)

export interface FailureKey {
  id: string
  heap: string
  target: string
  kernel?: string
}

export function matches(k: KnownFailure, f: FailureKey): boolean {
  return globMatcher(k.case)(f.id) && anyMatch(k.heaps, f.heap) && anyMatch(k.targets, f.target) && (k.kernel === undefined || (f.kernel !== undefined && inRange(f.kernel, k.kernel)))
}

/** The entry that explains a failure, if any. */
export function knownFailureOf(known: KnownFailure[], f: FailureKey): KnownFailure | undefined {
  return known.find((k) => matches(k, f))
}

/** Entries that match none of the failures: stale. */
export function staleEntries(known: KnownFailure[], failures: FailureKey[]): KnownFailure[] {
  return known.filter((k) => !failures.some((f) => matches(k, f)))
}
