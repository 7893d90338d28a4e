/**
 * The known-failures file: failures already known, each with its reason and
 * a link, narrowed to heaps, targets and a kernel range. `compare --gate`
 * fails only on what is new; `run --known-failures` reports such a case as
 * XFAIL (or XPASS when it passed). An entry that matches nothing is stale
 * and is reported: stale entries would otherwise hide a change.
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
import { loadDescription } from './description-file.js'
import { inRange, rangeProblem } from './kernel-range.js'
import { anyGlobMatcher, globMatcher } from './case-glob.js'
import type { CaseResult, KnownRef } from './result.js'

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

/** Compiled once per pattern: a run matches every entry against every result. */
const compiled = new Map<string, (name: string) => boolean>()
const matcher = (globs: string[]) => {
  const key = globs.join('\u0000')
  let m = compiled.get(key)
  if (!m) compiled.set(key, (m = globs.length === 1 ? globMatcher(globs[0]!) : anyGlobMatcher(globs)))
  return m
}
const anyMatch = (globs: string[] | undefined, v: string) => globs === undefined || matcher(globs)(v)

export interface FailureKey {
  id: string
  heap: string
  target: string
  kernel?: string
}

export function matches(k: KnownFailure, f: FailureKey): boolean {
  return matcher([k.case])(f.id) && anyMatch(k.heaps, f.heap) && anyMatch(k.targets, f.target) && (k.kernel === undefined || (f.kernel !== undefined && inRange(f.kernel, k.kernel)))
}

export const keyOf = (r: CaseResult): FailureKey => ({ id: r.id, heap: r.heap, target: r.target, kernel: r.kernel })

/** What a result keeps of the entry that names it. */
export const refOf = (k: KnownFailure): KnownRef => ({ case: k.case, reason: k.reason, ...(k.link ? { link: k.link } : {}) })

/** "the reason (link)": how every view names a known failure. */
export const describeKnown = (k: { reason: string; link?: string }) => `${k.reason}${k.link ? ` (${k.link})` : ''}`

/** An entry on one line: where it applies and why. */
export function describeEntry(k: KnownFailure): string {
  const where = [k.heaps ? `on ${k.heaps.join(',')}` : '', k.targets ? `target ${k.targets.join(',')}` : '', k.kernel ? `kernel ${k.kernel}` : ''].filter(Boolean).join(' ')
  return `${k.case}${where ? ` ${where}` : ''}: ${describeKnown(k)}`
}

/** The entry that explains a failure, if any. */
export function knownFailureOf(known: readonly KnownFailure[], f: FailureKey): KnownFailure | undefined {
  return known.find((k) => matches(k, f))
}

/** Entries that match none of the failures: stale. */
export function staleEntries(known: readonly KnownFailure[], failures: readonly FailureKey[]): KnownFailure[] {
  return known.filter((k) => !failures.some((f) => matches(k, f)))
}
