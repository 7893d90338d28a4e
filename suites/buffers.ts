/** Helpers shared by suites: page alignment, fdinfo and meminfo parsing, buffer setup. */
import { fromWireU64, toWireU64, type Flags, type WireU64, type Outcome, type ReferenceBacking, type Responses } from '../core/protocol.js'
import type { Agent } from '../core/agent.js'
import { formatSize } from '../core/sizes.js'
import type { CaseContext, CaseDef, CaseEnv, HeapBound } from './harness.js'
import { isCmaHeap, type HeapUnderTest } from './heaps.js'
import type { PhysRegion } from './physical-layout.js'

export const U64_MAX = 0xffff_ffff_ffff_ffffn
export const KiB = 1024n
export const MiB = 1024n * KiB

/** PAGE_ALIGN as the kernel computes it on a u64: it wraps to 0 near 2^64. */
export function pageAlign(len: bigint, page: bigint): bigint {
  return (len + page - 1n) & ~(page - 1n) & U64_MAX
}

/** "key:\tvalue" lines as a map (fdinfo: pos, flags, size, count, exp_name, name). */
export function parseColonLines(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  return m
}

/** A /proc/meminfo field in bytes ("MemAvailable", "CmaFree"). */
export function meminfoBytes(text: string, field: string): bigint | undefined {
  const v = parseColonLines(text).get(field)
  const m = v ? /^(\d+)\s*kB$/.exec(v) : null
  return m ? BigInt(m[1]!) * KiB : undefined
}

/**
 * Memory a heap's buffers hold, as a gauge that rises on allocation and falls
 * on release: CmaTotal - CmaFree for a CMA heap; MemTotal - MemAvailable for
 * other kernel heaps and udmabuf-backed reference buffers (pinned by
 * udmabuf, they leave the Shmem count); Shmem for the reference heap's model
 * buffers, which counts their memfd pages exactly even on a busy machine
 * whose MemAvailable moves by more than a buffer.
 */
export async function memoryInUse(env: CaseEnv): Promise<bigint> {
  const text = (await env.agent.must('meminfo', {})).text
  const field = (f: string) => {
    const v = meminfoBytes(text, f)
    if (v === undefined) throw new Error(`/proc/meminfo has no ${f}`)
    return v
  }
  if (isCmaHeap(env.heap, env.target.hello.release)) return field('CmaTotal') - field('CmaFree')
  if (env.heap.kind === 'reference' && !env.target.hello.udmabuf) return field('Shmem')
  return field('MemTotal') - field('MemAvailable')
}

/**
 * Bytes held by live buffers, as exactly as the target allows: the dma-buf
 * debugfs total (dma_buf_release removes a buffer from it, which is when a
 * heap frees its memory); Shmem for the reference heap's model buffers;
 * failing both, memoryInUse. Returns the gauge's name with the value.
 */
export async function liveBufferBytes(ctx: CaseEnv): Promise<{ gauge: string; bytes: bigint }> {
  if (ctx.heap.kind === 'reference' && !ctx.target.hello.udmabuf) {
    return { gauge: 'Shmem', bytes: await memoryInUse(ctx) }
  }
  const info = await ctx.agent.call('read_file', { path: '/sys/kernel/debug/dma_buf/bufinfo' })
  const total = info.ok ? /Total \d+ objects, (\d+) bytes/.exec(info.text) : null
  if (total) return { gauge: 'dma_buf/bufinfo', bytes: BigInt(total[1]!) }
  return { gauge: 'memory in use (meminfo)', bytes: await memoryInUse(ctx) }
}

/**
 * The most a heap holds, where the target says so before any case: a CMA
 * heap's area (the one CMA area the kernel logged, else CmaTotal), the
 * reference heap's capacity (its heap_open answer). Other
 * heaps give no bound until a case runs out (see allocForCase). Read once
 * as the suite opens the heap (HeapTraits.bound), not per case.
 */
export async function heapBound(agent: Agent, heap: HeapUnderTest, release: string, regions: PhysRegion[], opened?: { capacity?: WireU64 }): Promise<HeapBound | undefined> {
  if (heap.kind === 'reference' && opened?.capacity !== undefined) return { bytes: fromWireU64(opened.capacity), source: "the reference heap's capacity" }
  if (heap.region) return { bytes: BigInt(heap.region.size), source: `its device-tree region ${heap.region.node}` }
  if (!isCmaHeap(heap, release)) return undefined
  const areas = regions.filter((r) => r.kind === 'cma')
  if (areas.length === 1) return { bytes: areas[0]!.end - areas[0]!.start + 1n, source: areas[0]!.name }
  const total = meminfoBytes((await agent.must('meminfo', {})).text, 'CmaTotal')
  return total ? { bytes: total, source: 'CmaTotal' } : undefined
}

/**
 * What a case may hold at once on a heap with a known bound: half of a CMA
 * area, since the kernel's own DMA allocations and pinned pages share it.
 */
export function usableMemory(env: CaseEnv): { bytes: bigint; why: string } | undefined {
  const bound = env.traits.bound
  return bound && { bytes: bound.bytes / 2n, why: `the heap holds ${formatSize(bound.bytes)} (${bound.source}), and a case uses at most half of a bounded heap` }
}

/** Ends the case SKIP when it needs more than the heap can hold at once. */
export function requireMemory(ctx: CaseContext, need: bigint): void {
  const usable = usableMemory(ctx)
  if (usable && need > usable.bytes) ctx.cannotRun(`needs ${formatSize(need)}; ${usable.why}`)
}

/**
 * The size a case that means the same at any size uses: `wanted`, or on a
 * heap that holds less, the largest power of two from `min` that fits
 * (`pieces` times, for a case that needs several at once).
 */
export function sizeForHeap(ctx: CaseContext, wanted: bigint, min: bigint, pieces = 1n): bigint {
  const usable = usableMemory(ctx)
  if (usable === undefined || wanted <= usable.bytes / pieces) return wanted
  const room = usable.bytes / pieces
  let size = min
  while (size * 2n <= room && size * 2n <= wanted) size *= 2n
  if (size > room) ctx.cannotRun(`needs ${formatSize(min)} at least; ${usable.why}`)
  return size
}

/**
 * ALLOC for a case that needs the buffer. ENOMEM on a large buffer is first
 * explained: a bounded probe (a sacrificial child allocating 1 MiB pieces up
 * to what the case asked for) measures what the heap still has; when that is
 * less than the case needs (twice the buffer on a CMA heap, which needs one
 * free run that long), the case SKIPs: a small heap is not a broken one.
 * Otherwise the refusal stands and the check fails.
 */
export async function allocForCase(ctx: CaseContext, len: bigint, label: string, fdFlags?: Flags): Promise<Outcome<Responses['alloc']>> {
  const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len), ...(fdFlags ? { fd_flags: fdFlags } : {}) })
  if (r.ok || r.errno !== 'ENOMEM' || len < MiB) {
    ctx.check.succeeded(label, r)
    return r
  }
  const cma = isCmaHeap(ctx.heap, ctx.target.hello.release)
  const need = cma ? 2n * len : len
  const budget = ((need + MiB - 1n) / MiB) * MiB
  const probe = await ctx.agent.must('exhaust', { heap: ctx.heapHandle, chunk: toWireU64(MiB), budget: toWireU64(budget), time_limit_s: 30 }, 90_000)
  const has = fromWireU64(probe.bytes)
  if (probe.stop !== 'budget' && has < need) {
    ctx.cannotRun(`needs ${formatSize(len)}${cma ? ` in one piece (${formatSize(need)} free in a CMA area)` : ''}; the heap has ${formatSize(has)} left (${label}: ENOMEM; then 1 MiB pieces until ${probe.stop})`)
  }
  ctx.check.succeeded(`${label} (the heap still had ${formatSize(has)} in 1 MiB pieces)`, r)
  return r
}

/** Skip reason for cases that issue arbitrary ioctl numbers, where the target cannot. */
export function needsRawIoctls(env: CaseEnv): string | undefined {
  return !env.target.facts.rawIoctls
    ? `${env.target.target} does not pass unknown ioctl numbers to the kernel (the emulator answers ENOSYS itself)`
    : undefined
}

/** Skip reason for cases that map buffers, on heaps without CPU access. */
export function needsCpuAccess(env: CaseEnv): string | undefined {
  return env.traits.cpuAccess ? undefined : 'no CPU access: this heap\'s buffers cannot be mapped (mmap of a fresh buffer fails with EINVAL)'
}

export interface Buffer {
  fd: number
  backing?: ReferenceBacking
}

/**
 * Allocates a buffer the contract says must succeed, recording the check, and
 * schedules its close. Returns undefined when ALLOC failed.
 */
export async function allocChecked(ctx: CaseContext, len: bigint, fdFlags: Flags = 'O_RDWR|O_CLOEXEC'): Promise<Buffer | undefined> {
  requireMemory(ctx, len)
  const r = await allocForCase(ctx, len, `ALLOC len=${len} ${fdFlags}`, fdFlags)
  if (!r.ok) return undefined
  ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
  return r.backing ? { fd: r.fd, backing: r.backing } : { fd: r.fd }
}

/** Maps [offset, offset+len) shared, recording the check, and schedules the munmap. */
export async function mapChecked(
  ctx: CaseContext,
  fd: number,
  len: bigint,
  opts: { offset?: bigint; prot?: Flags } = {},
): Promise<number | undefined> {
  const prot = opts.prot ?? 'PROT_READ|PROT_WRITE'
  const offset = opts.offset ?? 0n
  const r = await ctx.agent.call('mmap', { fd, len: toWireU64(len), prot, flags: 'MAP_SHARED', offset: toWireU64(offset) })
  if (!ctx.check.succeeded(`mmap ${len} bytes at offset ${offset} ${prot} MAP_SHARED`, r)) return undefined
  ctx.defer(() => ctx.agent.must('munmap', { map: r.map }))
  return r.map
}

/** Label for a verify result: names the first bad byte when there is one. */
export function verifyLabel(what: string, v: { mismatches: unknown; first_bad?: unknown; observed?: number; expected?: number }): string {
  return Number(v.mismatches) === 0
    ? what
    : `${what} (first bad byte at offset ${v.first_bad}: 0x${v.observed?.toString(16)} where 0x${v.expected?.toString(16)} was expected)`
}

/**
 * A case that starts from one freshly allocated buffer (a page unless `len`
 * says otherwise): the ALLOC is checked, the buffer closed afterwards.
 */
export function onFreshBuffer(
  def: Omit<CaseDef, 'run'> & { len?: bigint; fdFlags?: Flags; run(ctx: CaseContext, buf: Buffer): Promise<void> },
): CaseDef {
  const { len, fdFlags, run, ...rest } = def
  return {
    ...rest,
    async run(ctx) {
      const buf = await allocChecked(ctx, len ?? ctx.pageSize, fdFlags)
      if (buf) await run(ctx, buf)
    },
  }
}
