/**
 * zeroing (security): a heap hands out memory that holds nothing from its
 * previous user. Dirty N buffers, free them, allocate N again: every byte
 * must be zero (the system heap allocates with __GFP_ZERO, the CMA heap
 * clears after cma_alloc; unmerged carveout and chunk heaps forgot to).
 * init_on_alloc=1 zeroes every page in the allocator and would hide a heap
 * that forgets, so the setting each run used is recorded with the result.
 */
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { allocForCase, MiB, needsCpuAccess, usableMemory, verifyLabel } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'
import { Held } from './held.js'

const DIRT = 0xa5

function zeroingCase(label: string, size: (page: bigint) => bigint, count: number): CaseDef {
  return {
    id: `zeroing.${label}`,
    title: `${count} buffers of ${label} written with 0x${DIRT.toString(16)} and freed; ${count} new ones read back all zero`,
    skip: needsCpuAccess,
    async run(ctx) {
      const len = size(ctx.pageSize)
      // A heap that holds fewer buffers at once gets fewer: one dirty buffer
      // freed and allocated again checks zeroing just as well.
      const usable = usableMemory(ctx)
      const fit = usable ? Number(usable.bytes / len) : count
      if (fit < 1) ctx.cannotRun(`needs ${label} buffers; ${usable!.why}`)
      const buffers = Math.min(count, fit)
      if (buffers < count) ctx.check.observe('buffers', `${buffers} of ${label} (${usable!.why})`)
      ctx.check.observe('init_on_alloc', ctx.targetTraits.initOnAlloc)
      // Each round gives its buffers back before the next; whatever is still
      // held when the case ends early (a SKIP, an unexpected errno) is given
      // back by Held's deferred cleanup.
      const held = new Held(ctx)
      for (let i = 0; i < buffers; i++) {
        const a = await allocForCase(ctx, len, `ALLOC ${len} bytes (dirty round, buffer ${i + 1})`)
        if (!a.ok) break
        const fd = held.fd(a.fd)
        const map = held.map((await ctx.agent.must('mmap', { fd, len: toWireU64(len) })).map)
        await ctx.agent.must('sync', { fd, flags: 'START|WRITE' })
        await ctx.agent.must('fill', { map, pattern: 'const', byte: DIRT })
        await ctx.agent.must('sync', { fd, flags: 'END|WRITE' })
      }
      await held.releaseAll()
      let dirtyBuffers = 0
      let firstBad = ''
      for (let i = 0; i < buffers; i++) {
        // The dirty round held all of these at once and gave them back: an
        // ENOMEM now is memory the heap did not free, a failure, not a SKIP.
        const a = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len) })
        if (!ctx.check.succeeded(`ALLOC ${len} bytes (check round, buffer ${i + 1})`, a)) break
        const fd = held.fd(a.fd)
        const map = held.map((await ctx.agent.must('mmap', { fd, len: toWireU64(len), prot: 'PROT_READ' })).map)
        await ctx.agent.must('sync', { fd, flags: 'START|READ' })
        const v = await ctx.agent.must('verify', { map, pattern: 'const', byte: 0 })
        await ctx.agent.must('sync', { fd, flags: 'END|READ' })
        await held.releaseAll()
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
    // two at a time (one on a heap that holds less than 64 MiB at once)
    zeroingCase('32MiB', () => 32n * MiB, 2),
  ],
}
