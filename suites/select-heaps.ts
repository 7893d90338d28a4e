/** Which heaps a command runs on: the target's (the reference heap first), narrowed to --heap. */
import { InfraError, UsageError } from '../core/errors.js'
import { REFERENCE_HEAP } from '../core/protocol.js'
import type { TargetSession } from '../core/target.js'
import { heapsOf, type HeapUnderTest } from './heaps.js'

/** An unknown name is a one-line error listing the heaps there are. */
export async function selectHeaps(session: TargetSession, wanted?: string[], referenceFaults?: string[]): Promise<HeapUnderTest[]> {
  const listed = (await session.agent.must('list_heaps', {})).heaps
  if (listed.includes(REFERENCE_HEAP)) {
    throw new InfraError(`the target has a kernel heap named ${REFERENCE_HEAP}, the reference heap's reserved name`)
  }
  const heaps = heapsOf(listed, referenceFaults, session.info.facts.reservedMemory)
  // Without kernel heaps a run would only test our own reference heap and
  // look like a pass: that must be asked for.
  if (!listed.length && !wanted?.length && !referenceFaults?.length) {
    throw new UsageError(
      `${session.info.target} has no /dev/dma_heap (Linux ${session.info.hello.release}: no dma-buf heaps, CONFIG_DMABUF_HEAPS)`,
      `boot a kernel with heaps, or pass --heap ${REFERENCE_HEAP} to test the reference heap alone`,
    )
  }
  if (!wanted?.length) return heaps
  const unknown = wanted.filter((h) => !heaps.some((x) => x.name === h))
  if (unknown.length) {
    throw new UsageError(
      `unknown heap ${unknown.map((h) => `"${h}"`).join(', ')} on ${session.info.target}`,
      `this target has: ${heaps.map((h) => h.name).join(', ')}`,
    )
  }
  return heaps.filter((h) => wanted.includes(h.name))
}
