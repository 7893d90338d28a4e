/** Helpers shared by suites: page alignment, fdinfo parsing, buffer setup. */
import { toWireU64 } from '../core/protocol.js'
import type { CaseContext } from './harness.js'

export const U64_MAX = 0xffff_ffff_ffff_ffffn

/** PAGE_ALIGN as the kernel computes it on a u64: it wraps to 0 near 2^64. */
export function pageAlign(len: bigint, page: bigint): bigint {
  return (len + page - 1n) & ~(page - 1n) & U64_MAX
}

/** fdinfo "key:\tvalue" lines as a map (pos, flags, size, count, exp_name, name). */
export function parseFdinfo(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  return m
}

/**
 * Allocates a buffer the contract says must succeed, recording the check, and
 * schedules its close. Returns the fd, or undefined when ALLOC failed.
 */
export async function allocChecked(ctx: CaseContext, len: bigint): Promise<number | undefined> {
  const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len), fd_flags: 'O_RDWR|O_CLOEXEC' })
  if (!ctx.check.succeeded(`ALLOC len=${len} O_RDWR|O_CLOEXEC`, r)) return undefined
  ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
  return r.fd
}

/** Maps [0, len) shared read/write, recording the check, and schedules the munmap. */
export async function mapChecked(ctx: CaseContext, fd: number, len: bigint): Promise<number | undefined> {
  const r = await ctx.agent.call('mmap', { fd, len: toWireU64(len), prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED' })
  if (!ctx.check.succeeded(`mmap ${len} bytes PROT_READ|PROT_WRITE MAP_SHARED`, r)) return undefined
  ctx.defer(() => ctx.agent.must('munmap', { map: r.map }))
  return r.map
}
