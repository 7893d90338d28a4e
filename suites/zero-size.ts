/**
 * zero-size: dma_heap_buffer_alloc does len = PAGE_ALIGN(len) and refuses 0
 * with EINVAL, so a length of 0 and every length that wraps to 0 under
 * PAGE_ALIGN on a u64 (2^64-PAGE_SIZE+1 .. 2^64-1) are EINVAL; a length of 1
 * is one page.
 */
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { allocChecked, U64_MAX } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'

function refusedLength(id: string, what: string, len: (page: bigint) => bigint): CaseDef {
  return {
    id: `zero-size.${id}`,
    title: `ALLOC with len ${what} is refused with EINVAL (PAGE_ALIGN gives 0)`,
    async run(ctx) {
      const l = len(ctx.pageSize)
      const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(l) })
      if (r.ok) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
      ctx.check.failsWith(`ALLOC len=${l}`, r, 'EINVAL')
    },
  }
}

const onePage: CaseDef = {
  id: 'zero-size.len-1',
  title: 'ALLOC with len 1 gives a buffer of one page',
  async run(ctx) {
    const buf = await allocChecked(ctx, 1n)
    if (!buf) return
    const s = await ctx.agent.must('buf_size', { fd: buf.fd })
    ctx.check.equal('size by lseek(SEEK_END) == PAGE_SIZE', fromWireU64(s.size), ctx.pageSize)
  },
}

export const zeroSizeSuite: SuiteDef = {
  name: 'zero-size',
  description: 'len 0 and lengths that wrap to 0 under PAGE_ALIGN give EINVAL; len 1 gives one page',
  cases: [
    refusedLength('len-0', '0', () => 0n),
    refusedLength('len-u64-max', '2^64-1', () => U64_MAX),
    refusedLength('len-wrap', '2^64-PAGE_SIZE+1', (page) => U64_MAX - page + 2n),
    onePage,
  ],
}
