/**
 * zeroing (security): a heap hands out memory that holds nothing from its
 * previous user. Dirty N buffers, free them, allocate N again: every byte
 * must be zero (the system heap allocates with __GFP_ZERO, the CMA heap
 * clears after cma_alloc; unmerged carveout and chunk heaps forgot to).
 * init_on_alloc=1 zeroes every page in the allocator and would hide a heap
 * that forgets, so the setting each run used is recorded with the result.
 */
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { MiB, needsCpuAccess, verifyLabel } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'

const DIRT = 0xa5

function zeroingCase(label: string, size: (page: bigint) => bigint, count: number): CaseDef {
  return {
    id: `zeroing.${label}`,
    title: `${count} buffers of ${label} written with 0x${DIRT.toString(16)} and freed; ${count} new ones read back all zero`,
    skip: needsCpuAccess,
    async run(ctx) {
      const len = size(ctx.pageSize)
      ctx.check.observe('init_on_alloc', ctx.targetTraits.initOnAlloc)
      const dirty: Array<{ fd: number; map: number }> = []
      for (let i = 0; i < count; i++) {
        const a = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len) })
        if (!ctx.check.succeeded(`ALLOC ${len} bytes (dirty round, buffer ${i + 1})`, a)) break
        const m = await ctx.agent.must('mmap', { fd: a.fd, len: toWireU64(len) })
        await ctx.agent.must('sync', { fd: a.fd, flags: 'START|WRITE' })
        await ctx.agent.must('fill', { map: m.map, pattern: 'const', byte: DIRT })
        await ctx.agent.must('sync', { fd: a.fd, flags: 'END|WRITE' })
        dirty.push({ fd: a.fd, map: m.map })
      }
      for (const d of dirty) {
        await ctx.agent.must('munmap', { map: d.map })
        await ctx.agent.must('close', { fd: d.fd })
      }
      let dirtyBuffers = 0
      let firstBad = ''
      for (let i = 0; i < count; i++) {
        const a = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len) })
        if (!ctx.check.succeeded(`ALLOC ${len} bytes (check round, buffer ${i + 1})`, a)) break
        const m = await ctx.agent.must('mmap', { fd: a.fd, len: toWireU64(len), prot: 'PROT_READ' })
        await ctx.agent.must('sync', { fd: a.fd, flags: 'START|READ' })
        const v = await ctx.agent.must('verify', { map: m.map, pattern: 'const', byte: 0 })
        await ctx.agent.must('sync', { fd: a.fd, flags: 'END|READ' })
        await ctx.agent.must('munmap', { map: m.map })
        await ctx.agent.must('close', { fd: a.fd })
        if (fromWireU64(v.mismatches) > 0n) {
          dirtyBuffers++
          firstBad ||= verifyLabel(`buffer ${i + 1}`, v)
        }
      }
      ctx.check.equal(
        `new buffers holding nonzero bytes${firstBad ? ` (${firstBad})` : ''}`,
        dirtyBuffers,
        0,
      )
    },
  }
}

export const zeroingSuite: SuiteDef = {
  name: 'zeroing',
  description: 'memory freed dirty comes back zeroed, at one page, 1 MiB and 32 MiB (init_on_alloc recorded)',
  cases: [
    zeroingCase('page', (page) => page, 32),
    zeroingCase('1MiB', () => MiB, 16),
    // two at a time: 64 MiB live fits a modest CMA area
    zeroingCase('32MiB', () => 32n * MiB, 2),
  ],
}
