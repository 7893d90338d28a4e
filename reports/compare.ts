/**
 * Baselines: how each case moved between earlier runs (OLD, one or more) and
 * a new one, keyed on target, heap and case id (and the kernel, when asked:
 * to compare repeated runs of several kernels at once). The classes are
 * those of KernelCI's `kci-dev results compare`: regression, fixed, unstable
 * (the old runs disagree among themselves), persistent failure, new (no
 * verdict before), missing (no verdict now: not run, or MISS). A pure
 * function of results. The reference heap keys as itself whatever fault
 * profile a self-test gave it, so breaking it on purpose shows as its
 * regression. A known failure (XFAIL) is the FAIL it is and an XPASS the
 * PASS it is: what moved is the heap's verdict, whatever a list said of it.
 */
import { heapVerdict, type CaseResult, type CaseStatus, type KnownRef } from '../core/result.js'
import { REFERENCE_HEAP } from '../core/protocol.js'
import { isReferenceHeap } from './reference-diff.js'

export type ChangeClass = 'regression' | 'fixed' | 'unstable' | 'persistent-failure' | 'new' | 'missing' | 'unchanged'

export const CHANGE_CLASSES: readonly ChangeClass[] = ['regression', 'fixed', 'unstable', 'persistent-failure', 'new', 'missing', 'unchanged']

export interface CaseChange {
  target: string
  heap: string
  id: string
  /** the kernels the old runs and the new run booted */
  oldKernels: string[]
  kernel?: string
  /** one status per old run that has the case */
  old: CaseStatus[]
  new?: CaseStatus
  /** the new run's message (what failed) */
  message?: string
  /** the new run's own known-failures entry, when it ran with --known-failures (XFAIL, XPASS) */
  runKnown?: KnownRef
  class: ChangeClass
}

export interface CompareOptions {
  /** make the kernel release part of the key */
  byKernel?: boolean
}

const bad = (s: CaseStatus) => heapVerdict(s) === 'FAIL' || s === 'ERROR'
const good = (s: CaseStatus) => heapVerdict(s) === 'PASS' || s === 'DONE'
const hasVerdict = (s: CaseStatus) => bad(s) || good(s)

export function classify(old: CaseStatus[], now: CaseStatus | undefined): ChangeClass {
  const before = old.filter(hasVerdict)
  if (now === undefined || !hasVerdict(now)) return before.length ? 'missing' : 'unchanged'
  if (!before.length) return 'new'
  const wasBad = before.some(bad)
  const wasGood = before.some(good)
  if (wasBad && wasGood) return 'unstable'
  if (wasGood) return bad(now) ? 'regression' : 'unchanged'
  return bad(now) ? 'persistent-failure' : 'fixed'
}

export function compareRuns(oldRuns: CaseResult[][], now: CaseResult[], opts: CompareOptions = {}): CaseChange[] {
  const key = (r: CaseResult) => [r.target, isReferenceHeap(r.heap) ? REFERENCE_HEAP : r.heap, r.id, ...(opts.byKernel ? [r.kernel] : [])].join('\u0000')
  const olds = new Map<string, CaseResult[]>()
  for (const run of oldRuns) for (const r of run) olds.set(key(r), [...(olds.get(key(r)) ?? []), r])
  const out: CaseChange[] = []
  const seen = new Set<string>()
  for (const r of now) {
    const k = key(r)
    seen.add(k)
    const before = olds.get(k) ?? []
    out.push({
      target: r.target,
      heap: r.heap,
      id: r.id,
      oldKernels: [...new Set(before.map((o) => o.kernel))],
      kernel: r.kernel,
      old: before.map((o) => o.status),
      new: r.status,
      ...(r.message ? { message: r.message } : {}),
      ...(r.known ? { runKnown: r.known } : {}),
      class: classify(before.map((o) => o.status), r.status),
    })
  }
  for (const [k, before] of olds) {
    if (seen.has(k)) continue
    const o = before[0]!
    out.push({ target: o.target, heap: o.heap, id: o.id, oldKernels: [...new Set(before.map((x) => x.kernel))], old: before.map((x) => x.status), class: classify(before.map((x) => x.status), undefined) })
  }
  return out
}
