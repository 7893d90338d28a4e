/**
 * kmemleak after each suite (kernels with CONFIG_DEBUG_KMEMLEAK, such as
 * `dmaheap kernel build --debug`): the objects the kernel allocated during
 * the suite and no longer references, attributed to the heap whose code
 * allocated them (heapsNamedBy, as boot reports are: its functions in the
 * backtrace; udmabuf's for the reference heap).
 *
 * A scan finds an object once nothing references it: a pointer to it left
 * on a kernel stack or in freed memory hides it until something overwrites
 * that, so a leak can surface a suite or two after the one that made it
 * (seen: vmap's page array leaked in the importer suite, found after the
 * next). The result is the scan's, named for the suite it followed; the
 * backtrace in its log says where the object came from.
 *
 * One result per suite, `<suite>.kmemleak`: a FAIL on each heap whose code
 * leaked; otherwise a PASS on the kernel pseudo-heap, or, when kmemleak
 * reported objects no heap's code allocated, an observation there (DONE):
 * kmemleak has false positives outside the heaps, and a FAIL claims a heap
 * is wrong.
 */
import type { CaseResult } from '../core/result.js'
import { heapsNamedBy, KERNEL_PSEUDO_HEAP } from './boot-log.js'
import type { HeapUnderTest } from './heaps.js'

/** kmemleak reports an object only once it is this old (MSECS_MIN_AGE in mm/kmemleak.c), plus a margin. */
export const KMEMLEAK_MIN_AGE_MS = 5500

export interface LeakReport {
  /** "unreferenced object 0xffff888003a4c000 (size 64):" */
  headline: string
  lines: string[]
  size: number
}

/** The reports in /sys/kernel/debug/kmemleak's text. */
export function parseKmemleak(text: string): LeakReport[] {
  const out: LeakReport[] = []
  for (const block of text.split(/^(?=unreferenced object )/m)) {
    const lines = block.split('\n').filter((l) => l.trim())
    const head = lines[0] ?? ''
    const m = /^unreferenced object 0x[0-9a-f]+ \(size (\d+)\):/.exec(head)
    if (m) out.push({ headline: head.replace(/:$/, ''), lines, size: Number(m[1]) })
  }
  return out
}

/** The first backtrace frame that is not the allocator's: where the object was made. */
function allocatedBy(r: LeakReport): string {
  const frames = r.lines.map((l) => /\]\s+([\w.]+)\+0x/.exec(l)?.[1] ?? /^\s+(?:0x[0-9a-f]+\s+)?([a-z_][\w.]*)\+0x/.exec(l)?.[1]).filter((f): f is string => !!f)
  return frames.find((f) => !/^(?:kmemleak|__?kmalloc|kmalloc|kmem_cache|__?alloc|slab|__?vmalloc|vmalloc|__?kvmalloc|kvmalloc|kzalloc|krealloc|__?do_kmalloc|trace_|__?vm_area|__get_vm_area|mempool|kstrdup|kmemdup)/.test(f)) ?? frames[0] ?? 'an unknown caller'
}

function heapsOfReport(r: LeakReport, heaps: HeapUnderTest[], release: string): string[] {
  const named = heapsNamedBy(r, heaps, release)
  const reference = heaps.find((h) => h.kind === 'reference')
  if (reference && r.lines.some((l) => /\budmabuf_\w+/.test(l))) named.push(reference.name)
  return named
}

const summary = (reports: LeakReport[]) => {
  const by = new Map<string, { n: number; bytes: number }>()
  for (const r of reports) {
    const k = allocatedBy(r)
    const e = by.get(k) ?? { n: 0, bytes: 0 }
    by.set(k, { n: e.n + 1, bytes: e.bytes + r.size })
  }
  return [...by].map(([f, e]) => `${e.n} object${e.n === 1 ? '' : 's'} (${e.bytes} bytes) allocated by ${f}`).join(', ')
}

/** The suite's kmemleak results, from what the scan after it found. */
export function kmemleakResults(suite: string, reports: LeakReport[], heaps: HeapUnderTest[], base: Pick<CaseResult, 'target' | 'kernel'>): CaseResult[] {
  const id = `${suite}.kmemleak`
  const byHeap = new Map<string, LeakReport[]>()
  const unattributed: LeakReport[] = []
  for (const r of reports) {
    const named = heapsOfReport(r, heaps, base.kernel)
    if (!named.length) unattributed.push(r)
    for (const h of named) byHeap.set(h, [...(byHeap.get(h) ?? []), r])
  }
  const label = `kmemleak's scan after the ${suite} suite found no unreferenced object from the heap's code`
  const results: CaseResult[] = [...byHeap].map(([heap, rs]) => ({
    ...base,
    id,
    suite,
    heap,
    status: 'FAIL' as const,
    message: `${label}: expected none, observed ${summary(rs)}`,
    checks: [{ label, pass: false, expected: 'none', observed: summary(rs) }],
    kernelLog: rs.map((r) => r.lines.join('\n')).join('\n').slice(0, 16384),
    durationMs: 0,
  }))
  if (results.length && !unattributed.length) return results
  const kernel: CaseResult = {
    ...base,
    id,
    suite,
    heap: KERNEL_PSEUDO_HEAP,
    status: unattributed.length ? 'DONE' : 'PASS',
    checks: unattributed.length ? [] : [{ label: `kmemleak's scan after the ${suite} suite found no unreferenced object`, pass: true, expected: 'none', observed: 'none' }],
    observations: { kmemleak: unattributed.length ? `${summary(unattributed)}, in no heap's code (kmemleak reports false positives outside the heaps: shown, not judged)` : 'nothing new' },
    ...(unattributed.length ? { kernelLog: unattributed.map((r) => r.lines.join('\n')).join('\n').slice(0, 16384) } : {}),
    durationMs: 0,
  }
  return [...results, kernel]
}
