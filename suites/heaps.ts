/**
 * The heaps a run tests: every node in the target's /dev/dma_heap, plus the
 * reference heap, with what each is expected to report where heaps
 * legitimately differ (the exporter name in fdinfo).
 */
import { REFERENCE_HEAP, type Responses } from '../core/protocol.js'

export interface HeapUnderTest {
  name: string
  kind: 'kernel' | 'reference'
}

export function heapsOf(listed: string[]): HeapUnderTest[] {
  return [
    ...listed.map((name) => ({ name, kind: 'kernel' as const })),
    { name: REFERENCE_HEAP, kind: 'reference' as const },
  ]
}

/** [major, minor, patch] of a release string such as "6.12.117+deb12-amd64". */
export function kernelVersion(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0]
}

export function versionAtLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = kernelVersion(release)
  return a > major || (a === major && b >= minor)
}

/**
 * fdinfo's exp_name: since 5.13 the heap's name (2eebbdbaab5f, "Fix the name
 * used when exporting dmabufs to be the actual heap name"); before, the
 * exporting module's KBUILD_MODNAME. The reference heap's buffers are
 * exported by udmabuf. Undefined: not observable on this target.
 */
export function expectedExporter(heap: HeapUnderTest, hello: Responses['hello']): string | undefined {
  if (heap.kind === 'reference') return hello.udmabuf ? 'udmabuf' : undefined
  return versionAtLeast(hello.release, 5, 13) ? heap.name : undefined
}

/**
 * Whether buffers of this heap are dma-bufs, with dma-buf fdinfo. The
 * reference heap falls back to a plain memfd where /dev/udmabuf is missing.
 */
export function isDmaBuf(heap: HeapUnderTest, hello: Responses['hello']): boolean {
  return heap.kind === 'kernel' || hello.udmabuf
}
