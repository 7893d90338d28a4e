/** Helpers shared by suites: page alignment, fdinfo and meminfo parsing, buffer setup. */
import { toWireU64, type Flags, type ReferenceBacking } from '../core/protocol.js'
import type { CaseContext, CaseDef, CaseEnv } from './harness.js'
import { isCmaHeap } from './heaps.js'

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

/** Skip reason for cases that issue arbitrary ioctl numbers, where the target cannot. */
export function needsRawIoctls(env: CaseEnv): string | undefined {
  return env.target.facts.rawIoctls === false
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
  const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len), fd_flags: fdFlags })
  if (!ctx.check.succeeded(`ALLOC len=${len} ${fdFlags}`, r)) return undefined
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
