/**
 * release: a buffer's memory goes back only in dma_buf_release, on the last
 * file reference: every fd closed and every mapping unmapped (a VMA holds the
 * file). Measured with liveBufferBytes (the dma-buf debugfs total where there
 * is one) and a buffer large enough to stand out of any noise.
 */
import { toWireU64 } from '../core/protocol.js'
import { allocForCase, liveBufferBytes, MiB, needsCpuAccess, sizeForHeap } from './buffers.js'
import type { CaseContext, CaseDef, SuiteDef } from './harness.js'
import { Held } from './held.js'
import { isCmaHeap } from './heaps.js'

/** Large enough to stand out of any noise; a smaller heap gets the largest power of two it holds, from 4 MiB. */
const SIZE = 64n * MiB
const MIN_SIZE = 4n * MiB

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
  // CMA frees a buffer page by page onto the per-CPU free lists, which
  // CmaFree and MemAvailable do not count until they drain: only the
  // dma-buf debugfs total sees the release when it happens.
  if (g.gauge !== 'dma_buf/bufinfo' && isCmaHeap(ctx.heap, ctx.target.hello.release)) {
    ctx.cannotRun('needs CONFIG_DEBUG_FS (dma_buf/bufinfo) to see a CMA buffer released: freed CMA pages wait on per-CPU lists that CmaFree does not count')
  }
  ctx.check.observe('measured with', g.gauge)
  return g.bytes
}

/**
 * The buffer under test, held: the case closes the fd itself (the close is
 * what is tested), and Held closes it only if the case ended first.
 */
async function allocBuffer(ctx: CaseContext, held: Held): Promise<{ fd: number; size: bigint } | undefined> {
  const size = sizeForHeap(ctx, SIZE, MIN_SIZE)
  if (size !== SIZE) ctx.check.observe('buffer size', `${mib(size)} (the heap holds less than ${mib(2n * SIZE)})`)
  const a = await allocForCase(ctx, size, `ALLOC ${mib(size)}`)
  if (!a.ok) return undefined
  return { fd: held.fd(a.fd), size }
}

/**
 * The gauges see the dma-buf released, not the heap's pages freed (a heap
 * that forgets cma_release still leaves bufinfo): the same size must be
 * allocatable again, which only memory really given back allows.
 */
async function allocatesAgain(ctx: CaseContext, held: Held, size: bigint): Promise<void> {
  const again = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(size) })
  if (ctx.check.succeeded(`ALLOC ${mib(size)} again once it was released`, again)) await held.close(held.fd(again.fd))
}

/** A quarter of the buffer: far above vmstat drift, far below the buffer. */
const tolerance = (size: bigint) => size / 4n

const closeReleases: CaseDef = {
  id: 'release.close',
  title: `closing the only fd of a ${mib(SIZE)} buffer (less on a smaller heap) returns its memory (MemAvailable)`,
  async run(ctx) {
    const before = await gauge(ctx)
    const held = new Held(ctx)
    const buf = await allocBuffer(ctx, held)
    if (!buf) return
    const { size } = buf
    const inUse = await settle(ctx, (u) => u - before >= size - tolerance(size))
    ctx.check.ok('the buffer is accounted while its fd is open', inUse - before >= size - tolerance(size), { expected: `about ${mib(size)} more in use`, observed: `${mib(inUse - before)} more` })
    await held.close(buf.fd)
    const after = await settle(ctx, (u) => u - before <= tolerance(size))
    ctx.check.ok('its memory is back after close', after - before <= tolerance(size), { expected: `back within ${mib(tolerance(size))}`, observed: `${mib(after - before)} still in use` })
    await allocatesAgain(ctx, held, size)
  },
}

const mappingHolds: CaseDef = {
  id: 'release.mapping-holds',
  title: `a mapping keeps a ${mib(SIZE)} buffer (less on a smaller heap) alive after its fd is closed; unmapping returns the memory`,
  skip: needsCpuAccess,
  async run(ctx) {
    const before = await gauge(ctx)
    const held = new Held(ctx)
    const buf = await allocBuffer(ctx, held)
    if (!buf) return
    const { size } = buf
    const m = await ctx.agent.call('mmap', { fd: buf.fd, len: toWireU64(size) })
    if (!ctx.check.succeeded(`mmap ${mib(size)}`, m)) return
    const map = held.map(m.map)
    await ctx.agent.must('fill', { map, pattern: 'const', byte: 1 })
    await held.close(buf.fd)
    const inUse = (await liveBufferBytes(ctx)).bytes
    ctx.check.ok('after close, the mapping still holds the buffer', inUse - before >= size - tolerance(size), { expected: `about ${mib(size)} still in use`, observed: `${mib(inUse - before)} in use` })
    await held.unmap(map)
    const after = await settle(ctx, (u) => u - before <= tolerance(size))
    ctx.check.ok('its memory is back after munmap', after - before <= tolerance(size), { expected: `back within ${mib(tolerance(size))}`, observed: `${mib(after - before)} still in use` })
    await allocatesAgain(ctx, held, size)
  },
}

export const releaseSuite: SuiteDef = {
  name: 'release',
  description: 'memory comes back only when every fd is closed and every mapping unmapped; no fd leaks',
  cases: [closeReleases, mappingHolds],
}
