/**
 * importer: what a device sees of a heap's buffer. The test importer
 * (native/importer, a kernel module of the harness's own) attaches its own
 * device to the dma-buf, maps the attachment (dma_buf_map_attachment,
 * DMA_BIDIRECTIONAL) as a device driver does, and reports the scatterlist
 * the exporter handed over and the bytes read through its pages. vgem, the
 * upstream selftest's importer, attaches and maps but never looks, so a heap
 * whose table is empty, short, pageless or made of other pages passes
 * import.* and every userspace suite; here it fails.
 *
 * The pattern is the agent's prng pattern (a function of seed and buffer
 * offset, native/core/pattern.c), which the module computes the same way.
 */
import { fromWireU64, type Responses } from '../core/protocol.js'
import { formatSize } from '../core/sizes.js'
import { allocChecked, KiB, mapChecked, MiB, needsCpuAccess, sizeForHeap, verifyLabel } from './buffers.js'
import type { CaseContext, CaseDef, CaseEnv, SuiteDef } from './harness.js'
import { isCmaHeap } from './heaps.js'

function skipImporter(env: CaseEnv): string | undefined {
  if (!env.targetTraits.importer) {
    return (
      env.target.facts.importerMissing ??
      'no test importer on this target (/dev/dmaheap_importer): it is loaded on QEMU with Debian\'s kernel; on other kernels build native/importer against the kernel\'s build folder and load it'
    )
  }
  if (env.heap.kind === 'reference' && !env.target.hello.udmabuf) return 'the reference heap is modelled over a memfd here (no /dev/udmabuf: needs CONFIG_UDMABUF): only a real dma-buf can be imported'
  return needsCpuAccess(env)
}

type Report = Responses['importer_check']

/** The first bad byte of the device's view, for a failing check's label. */
function deviceLabel(what: string, r: Report): string {
  return verifyLabel(what, { mismatches: r.mismatches, first_bad: r.first_bad, expected: r.expected, observed: r.observed })
}

interface Imported {
  fd: number
  map: number
  size: bigint
  seed: number
}

/**
 * A buffer of `size` (at most what the heap holds) filled through mmap with
 * a pattern and synced, ready for the importer; undefined if ALLOC or mmap failed.
 */
async function filledBuffer(ctx: CaseContext, wanted: bigint, seed: number): Promise<Imported | undefined> {
  const size = sizeForHeap(ctx, wanted, ctx.pageSize)
  const buf = await allocChecked(ctx, size)
  if (!buf) return undefined
  const map = await mapChecked(ctx, buf.fd, size)
  if (map === undefined) return undefined
  await ctx.agent.must('sync', { fd: buf.fd, flags: 'START|WRITE' })
  await ctx.agent.must('fill', { map, pattern: 'prng', seed })
  await ctx.agent.must('sync', { fd: buf.fd, flags: 'END|WRITE' })
  return { fd: buf.fd, map, size, seed }
}

/** An importer case on a freshly filled buffer of `len` (the page size for 0n). */
function onFilled(def: { id: string; title: string; len: bigint; seed: number; run(ctx: CaseContext, b: Imported): Promise<void> }): CaseDef {
  return {
    id: def.id,
    title: def.title,
    skip: skipImporter,
    async run(ctx) {
      const b = await filledBuffer(ctx, def.len === 0n ? ctx.pageSize : def.len, def.seed)
      if (b) await def.run(ctx, b)
    },
  }
}

/** Attached and mapped: the checks every importer case starts with. */
function attached(ctx: CaseContext, r: Report): boolean {
  const a = ctx.check.equal('dma_buf_attach of the test device', r.attach_error, 'none')
  return ctx.check.equal('dma_buf_map_attachment(DMA_BIDIRECTIONAL)', r.map_error, 'none') && a
}

const SIZES: { name: string; len: bigint }[] = [
  { name: 'page', len: 0n },
  // 17 pages: not a power of two, so a heap built from large chunks ends with a partial one
  { name: '68k', len: 68n * KiB },
  { name: '4m', len: 4n * MiB },
]

function tableCase(name: string, len: bigint): CaseDef {
  return onFilled({
    id: `importer.sg.${name}`,
    len,
    seed: 11,
    title: `the mapped sg table covers the buffer (${name}): its entries add up to the buffer's size on the CPU and DMA side, every entry has a page and a DMA address`,
    async run(ctx, b) {
      const r = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed })
      if (!attached(ctx, r)) return
      ctx.check.equal('the dma-buf size the importer sees == the buffer size', fromWireU64(r.size), b.size)
      ctx.check.ok('the table has entries', r.orig_nents > 0 && r.nents > 0, { expected: 'at least one entry', observed: `${r.orig_nents} entries, ${r.nents} mapped` })
      ctx.check.equal('sum of the entries\' lengths (CPU side) == buffer size', fromWireU64(r.total_len), b.size)
      ctx.check.equal('sum of sg_dma_len over the mapped entries == buffer size', fromWireU64(r.dma_len), b.size)
      ctx.check.equal('entries without a page (NULL or not memory)', r.no_page, 0)
      ctx.check.equal('mapped entries with a zero DMA address or length', r.no_dma, 0)
      if (isCmaHeap(ctx.heap, ctx.target.hello.release)) ctx.check.equal('physically contiguous (a CMA heap)', r.contiguous, true)
      else ctx.check.observe('physically contiguous', r.contiguous)
      ctx.check.observe('entries', r.orig_nents)
    },
  })
}

function readCase(name: string, len: bigint): CaseDef {
  return onFilled({
    id: `importer.read.${name}`,
    len,
    seed: 23,
    title: `the device reads what the CPU wrote (${name}): every byte written through mmap (then SYNC END) is what the importer finds in the table's pages`,
    async run(ctx, b) {
      const r = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed })
      if (!attached(ctx, r)) return
      ctx.check.equal(`bytes the device could read (of ${formatSize(b.size)})`, fromWireU64(r.checked), b.size)
      ctx.check.equal(deviceLabel('bytes the device reads that differ from what the CPU wrote', r), fromWireU64(r.mismatches), 0n)
    },
  })
}

function writeCase(name: string, len: bigint): CaseDef {
  return onFilled({
    id: `importer.write.${name}`,
    len,
    seed: 31,
    title: `the CPU reads what the device wrote (${name}): after the importer writes through the table's pages and unmaps, SYNC START|READ and mmap show its bytes`,
    async run(ctx, b) {
      const writeSeed = 37
      const r = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed, write_seed: writeSeed, write: true })
      if (!attached(ctx, r)) return
      ctx.check.equal(`bytes the device wrote (of ${formatSize(b.size)})`, fromWireU64(r.written), b.size)
      await ctx.agent.must('sync', { fd: b.fd, flags: 'START|READ' })
      const v = await ctx.agent.must('verify', { map: b.map, pattern: 'prng', seed: writeSeed })
      await ctx.agent.must('sync', { fd: b.fd, flags: 'END|READ' })
      ctx.check.equal(verifyLabel('bytes read through mmap that differ from what the device wrote', v), fromWireU64(v.mismatches), 0n)
    },
  })
}

/** dma_buf_vmap is optional for an exporter; where it is offered it must show the buffer's bytes. */
const vmapCase = onFilled({
  id: 'importer.vmap',
  title: 'dma_buf_vmap, where the exporter offers it, shows the bytes the device wrote',
  len: 68n * KiB,
  seed: 41,
  async run(ctx, b) {
    const r = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed, write_seed: 43, write: true, vmap: true })
    if (!attached(ctx, r)) return
    ctx.check.observe('dma_buf_vmap', r.vmap === 'refused' ? `refused (${r.vmap_error})` : 'offered')
    if (r.vmap === 'refused') return
    ctx.check.ok('the vmap shows the bytes the device wrote', r.vmap === 'agrees', {
      expected: 'every byte the device wrote',
      observed: r.vmap === 'differs' ? `first differing byte at offset ${r.vmap_first_bad}` : r.vmap,
    })
  },
})

/**
 * Attach, map, unmap, detach again and again on one buffer: every round
 * sees the same table and the same bytes (an exporter that builds the
 * table once per attachment, or caches it, must not hand out a stale one).
 */
const repeatCase = onFilled({
  id: 'importer.repeat',
  title: '32 rounds of attach, map, read, unmap, detach on one buffer: each sees the same table and the same bytes',
  len: 68n * KiB,
  seed: 47,
  async run(ctx, b) {
    const first = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed })
    if (!attached(ctx, first)) return
    let differing = 0
    let firstDiff = ''
    for (let i = 1; i < 32; i++) {
      const r = await ctx.agent.must('importer_check', { fd: b.fd, read_seed: b.seed })
      const same = r.attach_error === 'none' && r.map_error === 'none' && r.orig_nents === first.orig_nents && r.total_len === first.total_len && r.dma_len === first.dma_len && r.mismatches === first.mismatches
      if (!same && !differing++) firstDiff = `round ${i + 1}: ${r.attach_error}/${r.map_error}, ${r.orig_nents} entries, ${r.total_len} bytes, ${r.mismatches} bytes differing`
    }
    ctx.check.ok('every round saw what the first did', differing === 0, {
      expected: `${first.orig_nents} entries, ${first.total_len} bytes, ${first.mismatches} bytes differing, in all 32 rounds`,
      observed: differing ? `${differing} rounds differed, first ${firstDiff}` : 'all the same',
    })
    ctx.check.equal(deviceLabel('bytes the device reads that differ from what the CPU wrote', first), fromWireU64(first.mismatches), 0n)
  },
})

export const importerSuite: SuiteDef = {
  name: 'importer',
  description: 'what a device sees: the test importer attaches, maps and reads the buffer (sg table, bytes both ways, vmap)',
  cases: [...SIZES.flatMap(({ name, len }) => [tableCase(name, len), readCase(name, len), writeCase(name, len)]), vmapCase, repeatCase],
}
