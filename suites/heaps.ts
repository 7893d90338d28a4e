/**
 * The heaps a run tests: the reference heap first (so every kernel heap's
 * observations can be compared with it), then every node in the target's
 * /dev/dma_heap.
 */
import { REFERENCE_HEAP, type ReferenceBacking } from '../core/protocol.js'
import { kernelBehaviour } from './kernel-behaviour.js'

export interface HeapUnderTest {
  /** the name the agent opens: a /dev/dma_heap node, or the reference heap with its faults */
  name: string
  kind: 'kernel' | 'reference'
}

/** The reference heap's name with a fault profile: "dmaheap-reference+nozero". */
export function referenceHeapName(faults: string[] = []): string {
  return [REFERENCE_HEAP, ...faults].join('+')
}

export function heapsOf(listed: string[], referenceFaults: string[] = []): HeapUnderTest[] {
  return [
    { name: referenceHeapName(referenceFaults), kind: 'reference' as const },
    ...listed.map((name) => ({ name, kind: 'kernel' as const })),
  ]
}

/**
 * fdinfo's exp_name for a buffer: for a kernel heap, per the version table
 * (the heap's name since 5.13); for the reference heap, "udmabuf" when
 * udmabuf exported it, the reference heap's own name when the model did.
 * Undefined: not known for this kernel.
 */
export function expectedExporter(heap: HeapUnderTest, release: string, backing?: ReferenceBacking): string | undefined {
  if (heap.kind === 'reference') return backing === 'udmabuf' ? 'udmabuf' : REFERENCE_HEAP
  return kernelBehaviour('exp_name', release) === 'heap name' ? heap.name : undefined
}

/** A heap backed by a CMA area: its memory shows in CmaTotal/CmaFree. */
export function isCmaHeap(heap: HeapUnderTest, release: string): boolean {
  if (heap.kind !== 'kernel') return false
  return heap.name === kernelBehaviour('cma_heap_name', release) || heap.name === 'reserved' || /cma/i.test(heap.name)
}
