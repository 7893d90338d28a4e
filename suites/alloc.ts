/**
 * alloc: DMA_HEAP_IOCTL_ALLOC at sizes from one byte to 16 MiB, page multiples
 * and not. Expectations from drivers/dma-buf/dma-heap.c (dma_heap_buffer_alloc:
 * len = PAGE_ALIGN(len)) and dma-buf.c (dma_buf_llseek returns the size for
 * SEEK_END; dma_buf_show_fdinfo prints size and exp_name).
 */
import { fromWireU64 } from '../core/protocol.js'
import { allocChecked, mapChecked, pageAlign, parseFdinfo } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'
import { expectedExporter, isDmaBuf } from './heaps.js'

const KiB = 1024n
const MiB = 1024n * KiB

/** Lengths below, at and above page and chunk boundaries (4K, 64K, 1M: the system heap's orders). */
export const ALLOC_SIZES: bigint[] = [
  1n, 4095n, 4096n, 4097n, 8191n, 12288n,
  64n * KiB - 1n, 64n * KiB, 64n * KiB + 1n,
  MiB, MiB + 1n, 2n * MiB, 16n * MiB - 1n, 16n * MiB,
]

function sizeCase(len: bigint): CaseDef {
  return {
    id: `alloc.size.${len}`,
    title: `ALLOC of ${len} bytes: lseek(SEEK_END) is PAGE_ALIGN(len); the whole buffer reads back what was written through mmap`,
    async run(ctx) {
      const size = pageAlign(len, ctx.pageSize)
      const fd = await allocChecked(ctx, len)
      if (fd === undefined) return
      const seek = await ctx.agent.call('buf_size', { fd })
      if (ctx.check.succeeded('lseek(fd, 0, SEEK_END)', seek)) {
        ctx.check.equal('size by lseek(SEEK_END) == PAGE_ALIGN(len)', fromWireU64(seek.size), size)
      }
      const map = await mapChecked(ctx, fd, size)
      if (map === undefined) return
      const seed = Number(len % 1000003n) + 1
      await ctx.agent.must('fill', { map, pattern: 'prng', seed })
      const v = await ctx.agent.must('verify', { map, pattern: 'prng', seed })
      ctx.check.equal(
        v.mismatches === 0
          ? `all ${size} bytes read back as written`
          : `all ${size} bytes read back as written (first bad byte at ${v.first_bad}: 0x${v.observed?.toString(16)} for 0x${v.expected?.toString(16)})`,
        fromWireU64(v.mismatches),
        0n,
      )
    },
  }
}

function fdinfoCase(len: bigint): CaseDef {
  return {
    id: `alloc.fdinfo.${len}`,
    title: `ALLOC of ${len} bytes: /proc/self/fdinfo shows size PAGE_ALIGN(len) and exp_name the heap's name`,
    skip({ heap, target }) {
      if (!isDmaBuf(heap, target.hello)) return 'the reference heap is memfd-backed here (no /dev/udmabuf): memfd fdinfo has no dma-buf fields'
      if (expectedExporter(heap, target.hello) === undefined) return 'exp_name is the heap name only from Linux 5.13'
      return undefined
    },
    async run(ctx) {
      const fd = await allocChecked(ctx, len)
      if (fd === undefined) return
      const info = await ctx.agent.call('fdinfo', { fd })
      if (!ctx.check.succeeded(`read /proc/self/fdinfo/${fd}`, info)) return
      const fields = parseFdinfo(info.text)
      ctx.check.equal('fdinfo size: == PAGE_ALIGN(len)', fields.get('size'), String(pageAlign(len, ctx.pageSize)))
      ctx.check.equal('fdinfo exp_name:', fields.get('exp_name'), expectedExporter(ctx.heap, ctx.target.hello))
    },
  }
}

export const allocSuite: SuiteDef = {
  name: 'alloc',
  description: 'ALLOC at sizes from 1 byte to 16 MiB: size, fdinfo, write and read back through mmap',
  cases: [...ALLOC_SIZES.map(sizeCase), ...ALLOC_SIZES.map(fdinfoCase)],
}
