/**
 * The heaps a run tests: the reference heap first (so every kernel heap's
 * observations can be compared with it), then every node in the target's
 * /dev/dma_heap.
 */
import { REFERENCE_HEAP, type ReferenceBacking } from '../core/protocol.js'
import type { ReservedRegionFact } from '../core/target.js'
import { kernelBehaviour } from './kernel-behaviour.js'

export interface HeapUnderTest {
  /** the name the agent opens: a /dev/dma_heap node, or the reference heap with its faults */
  name: string
  kind: 'kernel' | 'reference'
  /** the device-tree region this heap is made from (its name is the region's `heap`) */
  region?: ReservedRegionFact
}

/** The reference heap's name with a fault profile: "dmaheap-reference+nozero". */
export function referenceHeapName(faults: string[] = []): string {
  return [REFERENCE_HEAP, ...faults].join('+')
}

export function heapsOf(listed: string[], referenceFaults: string[] = [], regions: ReservedRegionFact[] = []): HeapUnderTest[] {
  return [
    { name: referenceHeapName(referenceFaults), kind: 'reference' as const },
    ...listed.map((name) => {
      const region = regions.find((r) => r.heap === name)
      return { name, kind: 'kernel' as const, ...(region ? { region } : {}) }
    }),
  ]
}

/** A heap the target should have and does not; `region`: the device-tree region that should have made it. */
export interface MissingHeap {
  name: string
  region?: ReservedRegionFact
}

/**
 * The heaps a run should find and did not: those its expectations name
 * (`expected`), and those its device-tree regions should make.
 */
export function missingHeaps(present: HeapUnderTest[], expected: string[], regions: ReservedRegionFact[] = []): MissingHeap[] {
  const has = (name: string) => present.some((h) => h.name === name)
  const fromRegions = regions.flatMap((r) => (r.heap !== null && !has(r.heap) ? [{ name: r.heap, region: r }] : []))
  return [...fromRegions, ...expected.filter((n) => !has(n) && !fromRegions.some((m) => m.name === n)).map((name) => ({ name }))]
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
  if (heap.region) return heap.region.reusable === true
  return heap.name === kernelBehaviour('cma_heap_name', release) || heap.name === 'reserved' || /cma/i.test(heap.name)
}
