/**
 * release: a buffer's memory goes back only in dma_buf_release, on the last
 * file reference: every fd closed and every mapping unmapped (a VMA holds the
 * file). Measured with liveBufferBytes (the dma-buf debugfs total where there
 * is one) and a buffer large enough to stand out of any noise.
 */
import { toWireU64 } from '../core/protocol.js'
import { liveBufferBytes, MiB, needsCpuAccess } from './buffers.js'
import type { CaseContext, CaseDef, SuiteDef } from './harness.js'

const SIZE = 64n * MiB
/** A quarter of the buffer: far above vmstat drift, far below the buffer. */
const TOLERANCE = SIZE / 4n

function mib(b: bigint): string {
  return `${(Number(b) / 2 ** 20).toFixed(1)} MiB`
}

/** Memory counters settle within a moment; poll briefly until the condition holds. */
async function settle(ctx: CaseContext, ok: (used: bigint) => boolean): Promise<bigint> {
  let used = (await liveBufferBytes(ctx)).bytes
  for (let i = 0; i < 20 && !ok(used); i++) {
    await new Promise((r) => setTimeout(r, 100))
    used = (await liveBufferBytes(ctx)).bytes
  }
  return used
}

async function gauge(ctx: CaseContext): Promise<bigint> {
  const g = await liveBufferBytes(ctx)
  ctx.check.observe('measured with', g.gauge)
  return g.bytes
}

async function allocFilled(ctx: CaseContext): Promise<{ fd: number; map?: number } | undefined> {
  const a = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(SIZE) })
  if (!ctx.check.succeeded(`ALLOC ${mib(SIZE)}`, a)) return undefined
  return { fd: a.fd }
}

const closeReleases: CaseDef = {
  id: 'release.close',
  title: `closing the only fd of a ${mib(SIZE)} buffer returns its memory (MemAvailable)`,
  async run(ctx) {
    const before = await gauge(ctx)
    const buf = await allocFilled(ctx)
    if (!buf) return
    const held = await settle(ctx, (u) => u - before >= SIZE - TOLERANCE)
    ctx.check.ok('the buffer is accounted while its fd is open', held - before >= SIZE - TOLERANCE, `about ${mib(SIZE)} more in use`, `${mib(held - before)} more`)
    await ctx.agent.must('close', { fd: buf.fd })
    const after = await settle(ctx, (u) => u - before <= TOLERANCE)
    ctx.check.ok('its memory is back after close', after - before <= TOLERANCE, `back within ${mib(TOLERANCE)}`, `${mib(after - before)} still in use`)
  },
}

const mappingHolds: CaseDef = {
  id: 'release.mapping-holds',
  title: `a mapping keeps a ${mib(SIZE)} buffer alive after its fd is closed; unmapping returns the memory`,
  skip: needsCpuAccess,
  async run(ctx) {
    const before = await gauge(ctx)
    const buf = await allocFilled(ctx)
    if (!buf) return
    const m = await ctx.agent.call('mmap', { fd: buf.fd, len: toWireU64(SIZE) })
    if (!ctx.check.succeeded(`mmap ${mib(SIZE)}`, m)) {
      await ctx.agent.must('close', { fd: buf.fd })
      return
    }
    await ctx.agent.must('fill', { map: m.map, pattern: 'const', byte: 1 })
    await ctx.agent.must('close', { fd: buf.fd })
    const held = (await liveBufferBytes(ctx)).bytes
    ctx.check.ok('after close, the mapping still holds the buffer', held - before >= SIZE - TOLERANCE, `about ${mib(SIZE)} still in use`, `${mib(held - before)} in use`)
    await ctx.agent.must('munmap', { map: m.map })
    const after = await settle(ctx, (u) => u - before <= TOLERANCE)
    ctx.check.ok('its memory is back after munmap', after - before <= TOLERANCE, `back within ${mib(TOLERANCE)}`, `${mib(after - before)} still in use`)
  },
}

export const releaseSuite: SuiteDef = {
  name: 'release',
  description: 'memory comes back only when every fd is closed and every mapping unmapped; no fd leaks',
  cases: [closeReleases, mappingHolds],
}
