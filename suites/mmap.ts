/**
 * mmap: a heap's buffers map whole and in page-offset sub-ranges that show the
 * same bytes (a heap that ignores vm_pgoff is caught), never past their end
 * (dma_buf_mmap_internal: vm_pgoff + pages > size -> EINVAL), never grow
 * (VM_DONTEXPAND: mremap growth fails), and a touch past a mapping's end
 * faults without returning data. MAP_PRIVATE and PROT_EXEC behave
 * differently across kernel versions: they are observed, not judged.
 */
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { allocChecked, mapChecked, needsCpuAccess, onFreshBuffer, verifyLabel } from './buffers.js'
import type { CaseContext, CaseDef, SuiteDef } from './harness.js'
import { Held } from './held.js'

const PAGES = 16n
const SEED = 4242

const fullAndSubRanges: CaseDef = {
  id: 'mmap.sub-ranges',
  title: `a ${PAGES}-page buffer: every mapping at a page offset shows the same bytes as the full mapping there`,
  skip: needsCpuAccess,
  async run(ctx) {
    const size = PAGES * ctx.pageSize
    const buf = await allocChecked(ctx, size)
    if (!buf) return
    const full = await mapChecked(ctx, buf.fd, size)
    if (full === undefined) return
    await ctx.agent.must('fill', { map: full, pattern: 'prng', seed: SEED })
    const held = new Held(ctx)
    for (let k = 1n; k < PAGES; k++) {
      const offset = k * ctx.pageSize
      const m = await ctx.agent.call('mmap', { fd: buf.fd, len: toWireU64(size - offset), offset: toWireU64(offset) })
      if (!ctx.check.succeeded(`mmap ${PAGES - k} pages at page offset ${k}`, m)) continue
      const map = held.map(m.map)
      const v = await ctx.agent.must('verify', { map, pattern: 'prng', seed: SEED, base: toWireU64(offset) })
      await held.unmap(map)
      ctx.check.equal(verifyLabel(`the mapping at page offset ${k} shows buffer bytes ${offset}..${size - 1n}`, v), fromWireU64(v.mismatches), 0n)
    }
  },
}

const pastTheEnd: CaseDef = {
  id: 'mmap.past-end',
  title: 'a mapping that reaches past the end of the buffer is refused with EINVAL (dma_buf_mmap_internal)',
  skip: needsCpuAccess,
  async run(ctx) {
    const size = 4n * ctx.pageSize
    const buf = await allocChecked(ctx, size)
    if (!buf) return
    const attempts: Array<[string, bigint, bigint]> = [
      ['5 pages of a 4-page buffer', 5n * ctx.pageSize, 0n],
      ['2 pages at page offset 3', 2n * ctx.pageSize, 3n * ctx.pageSize],
      ['1 page at page offset 4', ctx.pageSize, 4n * ctx.pageSize],
    ]
    for (const [what, len, offset] of attempts) {
      const m = await ctx.agent.call('mmap', { fd: buf.fd, len: toWireU64(len), offset: toWireU64(offset) })
      if (m.ok) ctx.defer(() => ctx.agent.must('munmap', { map: m.map }))
      ctx.check.failsWith(`mmap ${what}`, m, 'EINVAL')
    }
  },
}

/** A case on a one-page buffer mapped whole, on heaps with CPU access. */
function onMappedPage(def: Omit<CaseDef, 'run' | 'skip'> & { run(ctx: CaseContext, map: number): Promise<void> }): CaseDef {
  return onFreshBuffer({
    ...def,
    skip: needsCpuAccess,
    async run(ctx, buf) {
      const map = await mapChecked(ctx, buf.fd, ctx.pageSize)
      if (map !== undefined) await def.run(ctx, map)
    },
  })
}

const noGrowth = onMappedPage({
  id: 'mmap.mremap-grow',
  title: 'mremap cannot grow a mapping beyond the buffer; if it does, the new part faults and never shows data',
  async run(ctx, map) {
    const r = await ctx.agent.call('mremap', { map, new_len: toWireU64(2n * ctx.pageSize) })
    ctx.check.ok('mremap to 2 pages of a 1-page buffer is refused', !r.ok, { expected: 'an error (EFAULT with VM_DONTEXPAND)', observed: r.ok ? 'success' : r.errno })
    if (r.ok) {
      // The CMA heap's off-by-one (ea5ff5d351b5) handed out a page here.
      const p = await ctx.agent.must('probe', { map, offset: toWireU64(ctx.pageSize) })
      ctx.check.ok('a touch of the grown page faults', p.signal !== null, { expected: 'SIGBUS or SIGSEGV', observed: p.signal ?? `data 0x${p.value?.toString(16)}` })
    }
  },
})

const touchPastEnd = onMappedPage({
  id: 'mmap.touch-past-end',
  title: 'a touch one byte past the end of a mapping faults in the probe and returns no data; the last byte reads fine',
  async run(ctx, map) {
    const last = await ctx.agent.must('probe', { map, offset: toWireU64(ctx.pageSize - 1n) })
    ctx.check.equal('the last byte of the mapping reads without a fault', last.signal, null)
    for (const access of ['read', 'write'] as const) {
      const p = await ctx.agent.must('probe', { map, offset: toWireU64(ctx.pageSize), access })
      ctx.check.ok(`a ${access} one byte past the end faults`, p.signal !== null, { expected: 'a fault (SIGSEGV or SIGBUS)', observed: p.signal ?? `data 0x${p.value?.toString(16)}` })
    }
  },
})

function observedMapping(id: string, title: string, attempts: Array<[string, 'MAP_PRIVATE' | 'MAP_SHARED', string, bigint]>): CaseDef {
  return {
    id,
    title,
    observeOnly: true,
    skip: needsCpuAccess,
    async run(ctx) {
      const buf = await allocChecked(ctx, 4n * ctx.pageSize)
      if (!buf) return
      const held = new Held(ctx)
      for (const [label, flags, prot, pages] of attempts) {
        const m = await ctx.agent.call('mmap', { fd: buf.fd, len: toWireU64(pages * ctx.pageSize), prot, flags })
        if (m.ok) await held.unmap(held.map(m.map))
        ctx.check.observe(label, m.ok ? 'success' : m.errno)
      }
    },
  }
}

export const mmapSuite: SuiteDef = {
  name: 'mmap',
  description: 'sub-range mappings honour the offset; no mapping past the end; no growth; faults past the end; MAP_PRIVATE and PROT_EXEC observed',
  cases: [
    fullAndSubRanges,
    pastTheEnd,
    noGrowth,
    touchPastEnd,
    observedMapping('mmap.private', 'MAP_PRIVATE of one page and of four pages (EINVAL on CMA; depends on the kernel for system)', [
      ['MAP_PRIVATE 1 page', 'MAP_PRIVATE', 'PROT_READ|PROT_WRITE', 1n],
      ['MAP_PRIVATE 4 pages', 'MAP_PRIVATE', 'PROT_READ|PROT_WRITE', 4n],
    ]),
    observedMapping('mmap.exec', 'PROT_EXEC shared mapping (not refused by dma-buf; may become EPERM with SB_I_NOEXEC)', [
      ['PROT_READ|PROT_EXEC shared', 'MAP_SHARED', 'PROT_READ|PROT_EXEC', 1n],
    ]),
  ],
}
