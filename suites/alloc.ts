/**
 * alloc: DMA_HEAP_IOCTL_ALLOC at sizes from one byte to 16 MiB, page multiples
 * and not, plus the ways real userspace calls it: a heap opened O_RDONLY
 * (Android), repeated and concurrent allocation (libdmabufheap's tests), and
 * old and new struct sizes (dma_heap_ioctl's compat sizing).
 * Expectations: drivers/dma-buf/dma-heap.c (len = PAGE_ALIGN(len); unknown
 * nr -> EINVAL) and dma-buf.c (SEEK_END gives the size; fdinfo size/exp_name).
 */
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { allocChecked, KiB, mapChecked, MiB, needsCpuAccess, needsRawIoctls, onFreshBuffer, pageAlign, parseColonLines, verifyLabel } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'
import { expectedExporter } from './heaps.js'

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
      const buf = await allocChecked(ctx, len)
      if (!buf) return
      const seek = await ctx.agent.call('buf_size', { fd: buf.fd })
      if (ctx.check.succeeded('lseek(fd, 0, SEEK_END)', seek)) {
        ctx.check.equal('size by lseek(SEEK_END) == PAGE_ALIGN(len)', fromWireU64(seek.size), size)
      }
      if (!ctx.traits.cpuAccess) return
      const map = await mapChecked(ctx, buf.fd, size)
      if (map === undefined) return
      const seed = Number(len % 1000003n) + 1
      await ctx.agent.must('fill', { map, pattern: 'prng', seed })
      const v = await ctx.agent.must('verify', { map, pattern: 'prng', seed })
      ctx.check.equal(verifyLabel(`all ${size} bytes read back as written`, v), fromWireU64(v.mismatches), 0n)
    },
  }
}

function fdinfoCase(len: bigint): CaseDef {
  return {
    id: `alloc.fdinfo.${len}`,
    title: `ALLOC of ${len} bytes: /proc/self/fdinfo shows size PAGE_ALIGN(len) and exp_name the heap's name`,
    skip: ({ heap, target }) =>
      heap.kind === 'kernel' && expectedExporter(heap, target.hello.release) === undefined
        ? 'exp_name is the heap name only from Linux 5.13'
        : undefined,
    async run(ctx) {
      const buf = await allocChecked(ctx, len)
      if (!buf) return
      const info = await ctx.agent.call('fdinfo', { fd: buf.fd })
      if (!ctx.check.succeeded(`read /proc/self/fdinfo/${buf.fd}`, info)) return
      const fields = parseColonLines(info.text)
      ctx.check.equal('fdinfo size: == PAGE_ALIGN(len)', fields.get('size'), String(pageAlign(len, ctx.pageSize)))
      ctx.check.equal('fdinfo exp_name:', fields.get('exp_name'), expectedExporter(ctx.heap, ctx.target.hello.release, buf.backing))
    },
  }
}

const heapOpenedReadOnly: CaseDef = {
  id: 'alloc.heap-rdonly',
  title: 'a heap opened O_RDONLY can allocate (Android opens heaps that way; dma_heap_open does not check f_mode)',
  async run(ctx) {
    const h = await ctx.agent.call('heap_open', { name: ctx.heap.name, flags: 'O_RDONLY|O_CLOEXEC' })
    if (!ctx.check.succeeded(`open ${ctx.heap.name} O_RDONLY`, h)) return
    ctx.defer(() => ctx.agent.must('heap_close', { heap: h.heap }))
    const r = await ctx.agent.call('alloc', { heap: h.heap, len: 4096 })
    if (ctx.check.succeeded('ALLOC on a heap opened O_RDONLY', r)) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
  },
}

const repeated: CaseDef = {
  id: 'alloc.repeat.1024',
  title: '1024 allocations of one page, each closed before the next, all succeed (libdmabufheap RepeatedAllocate)',
  async run(ctx) {
    const r = await ctx.agent.must('alloc_repeat', { heap: ctx.heapHandle, len: Number(ctx.pageSize), count: 1024 })
    ctx.check.equal(`ALLOC+close cycles completed (first error: ${r.first_errno})`, r.done, 1024)
  },
}

const concurrent: CaseDef = {
  id: 'alloc.threads.100',
  title: '100 threads at once each allocate, map, sync, write, sync, unmap and close a page (libdmabufheap ConcurrentAllocTest)',
  skip: needsCpuAccess,
  async run(ctx) {
    const r = await ctx.agent.must('alloc_threads', { heap: ctx.heapHandle, len: Number(ctx.pageSize), threads: 100 })
    ctx.check.equal(`threads that completed (first error: ${r.first_errno} at ${r.first_step})`, r.ok, 100)
  },
}

function abiCase(structSize: 16 | 48): CaseDef {
  const older = structSize === 16
  return {
    id: `alloc.abi.${structSize}`,
    title: older
      ? 'a 16-byte (older) allocation struct succeeds: dma_heap_ioctl zero-fills the missing heap_flags'
      : 'a 48-byte (newer) struct with nonzero trailing bytes succeeds, and the trailing bytes come back unchanged',
    async run(ctx) {
      const trailing = 0x8888_8888n
      const r = await ctx.agent.call('alloc', {
        heap: ctx.heapHandle,
        len: 4096,
        struct_size: structSize,
        ...(older ? {} : { trailing: toWireU64(trailing) }),
      })
      if (!ctx.check.succeeded(`ALLOC with a ${structSize}-byte struct`, r)) return
      ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
      const seek = await ctx.agent.must('buf_size', { fd: r.fd })
      ctx.check.equal('size by lseek(SEEK_END)', fromWireU64(seek.size), pageAlign(4096n, ctx.pageSize))
      if (!older && r.trailing_intact !== undefined) ctx.check.equal('bytes past the 24-byte struct come back unchanged', r.trailing_intact, true)
    },
  }
}

const unknownNr: CaseDef = {
  id: 'alloc.ioctl-nr.1',
  title: 'an ioctl on the heap with _IOC_NR 1 (not ALLOC) fails with EINVAL (dma_heap_ioctl: nr >= ARRAY_SIZE)',
  async run(ctx) {
    const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: 4096, nr: 1 })
    if (r.ok) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
    ctx.check.failsWith('heap ioctl nr 1', r, 'EINVAL')
  },
}

const notAHeap = onFreshBuffer({
  id: 'alloc.not-a-heap',
  title: 'DMA_HEAP_IOCTL_ALLOC on a dma-buf fd (not a heap) fails with ENOTTY (kselftest "Error expected on invalid fd")',
  skip: needsRawIoctls,
  async run(ctx, buf) {
    // _IOWR('H', 0, struct dma_heap_allocation_data) = 0xc0184800
    const r = await ctx.agent.call('ioctl_raw', { fd: buf.fd, cmd: 0xc0184800 })
    ctx.check.failsWith('ALLOC ioctl on a buffer fd', r, 'ENOTTY')
  },
})

export const allocSuite: SuiteDef = {
  name: 'alloc',
  description: 'ALLOC at sizes from 1 byte to 16 MiB (size, fdinfo, read back), O_RDONLY heaps, repetition, 100 threads, struct ABI',
  cases: [
    ...ALLOC_SIZES.map(sizeCase),
    ...ALLOC_SIZES.map(fdinfoCase),
    heapOpenedReadOnly,
    repeated,
    concurrent,
    abiCase(16),
    abiCase(48),
    unknownNr,
    notAHeap,
  ],
}
