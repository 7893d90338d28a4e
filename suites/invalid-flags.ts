/**
 * invalid-flags: dma_heap_ioctl_allocate refuses, with EINVAL, any fd_flags
 * bit outside DMA_HEAP_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE), any heap_flags
 * bit (DMA_HEAP_VALID_HEAP_FLAGS is 0), and a nonzero input .fd. The fd it
 * returns carries exactly the close-on-exec and access mode asked for
 * (dma_buf_fd, dma_buf_getfile), and mm enforces that mode on mmap.
 */
import { toWireU64 } from '../core/protocol.js'
import { allocChecked, needsCpuAccess, onFreshBuffer } from './buffers.js'
import type { CaseDef, CaseEnv, SuiteDef } from './harness.js'

/** fd_flags bits outside O_ACCMODE (bits 0-1) and O_CLOEXEC, on this target. */
function invalidFdFlagBits(env: CaseEnv): number[] {
  const valid = env.target.hello.o_cloexec | 3
  return [...Array(32).keys()].filter((b) => !((valid >>> b) & 1))
}

function fdFlagBitCase(bit: number): CaseDef {
  return {
    id: `invalid-flags.fd_flags.bit${bit}`,
    title: `fd_flags O_RDWR|(1<<${bit}) is refused with EINVAL (outside O_CLOEXEC|O_ACCMODE)`,
    skip: (env) => (invalidFdFlagBits(env).includes(bit) ? undefined : `bit ${bit} is O_CLOEXEC or O_ACCMODE on this target`),
    async run(ctx) {
      const flags = (2 | (1 << bit)) >>> 0
      const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: 4096, fd_flags: flags })
      if (r.ok) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
      ctx.check.failsWith(`ALLOC fd_flags=0x${flags.toString(16)}`, r, 'EINVAL')
    },
  }
}

function heapFlagBitCase(bit: number): CaseDef {
  return {
    id: `invalid-flags.heap_flags.bit${bit}`,
    title: `heap_flags 1<<${bit} is refused with EINVAL (DMA_HEAP_VALID_HEAP_FLAGS is 0)`,
    async run(ctx) {
      const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: 4096, heap_flags: toWireU64(1n << BigInt(bit)) })
      if (r.ok) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
      ctx.check.failsWith(`ALLOC heap_flags=1<<${bit}`, r, 'EINVAL')
    },
  }
}

const nonzeroFd: CaseDef = {
  id: 'invalid-flags.fd-in',
  title: 'a nonzero input .fd is refused with EINVAL (callers must zero it)',
  async run(ctx) {
    for (const fdIn of [1, 0xffffffff]) {
      const r = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: 4096, fd_in: fdIn })
      if (r.ok) ctx.defer(() => ctx.agent.must('close', { fd: r.fd }))
      ctx.check.failsWith(`ALLOC with .fd=${fdIn}`, r, 'EINVAL')
    }
  },
}

function cloexecCase(asked: boolean): CaseDef {
  const flags = asked ? 'O_RDWR|O_CLOEXEC' : 'O_RDWR'
  return onFreshBuffer({
    id: `invalid-flags.cloexec.${asked ? 'set' : 'clear'}`,
    title: `fd_flags ${flags}: the buffer fd has FD_CLOEXEC ${asked ? 'set' : 'clear'} (dma_buf_fd)`,
    fdFlags: flags,
    async run(ctx, buf) {
      const f = await ctx.agent.must('fd_flags', { fd: buf.fd })
      ctx.check.equal('FD_CLOEXEC on the buffer fd', f.cloexec, asked)
    },
  })
}

const ACCMODES = ['O_RDONLY', 'O_WRONLY', 'O_RDWR'] as const

function accmodeCase(mode: (typeof ACCMODES)[number]): CaseDef {
  return onFreshBuffer({
    id: `invalid-flags.accmode.${mode}`,
    title: `fd_flags ${mode}: the buffer's access mode is ${mode} (dma_buf_getfile: f_flags = flags & O_ACCMODE)`,
    fdFlags: `${mode}|O_CLOEXEC`,
    async run(ctx, buf) {
      const f = await ctx.agent.must('fd_flags', { fd: buf.fd })
      ctx.check.equal('access mode of the buffer fd (F_GETFL)', f.accmode, mode)
    },
  })
}

const readOnlyMapping: CaseDef = {
  id: 'invalid-flags.rdonly-map',
  title: 'an O_RDONLY buffer refuses a PROT_WRITE shared mapping with EACCES and allows a PROT_READ one',
  skip: needsCpuAccess,
  async run(ctx) {
    const buf = await allocChecked(ctx, 4096n, 'O_RDONLY|O_CLOEXEC')
    if (!buf) return
    const rw = await ctx.agent.call('mmap', { fd: buf.fd, len: 4096, prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED' })
    if (rw.ok) ctx.defer(() => ctx.agent.must('munmap', { map: rw.map }))
    ctx.check.failsWith('mmap PROT_READ|PROT_WRITE MAP_SHARED of an O_RDONLY buffer', rw, 'EACCES')
    const ro = await ctx.agent.call('mmap', { fd: buf.fd, len: 4096, prot: 'PROT_READ', flags: 'MAP_SHARED' })
    if (ro.ok) ctx.defer(() => ctx.agent.must('munmap', { map: ro.map }))
    ctx.check.succeeded('mmap PROT_READ MAP_SHARED of an O_RDONLY buffer', ro)
  },
}

const writeOnlyMapping: CaseDef = {
  id: 'invalid-flags.wronly-map',
  title: 'an O_WRONLY buffer refuses every mapping with EACCES (mmap needs FMODE_READ)',
  skip: needsCpuAccess,
  async run(ctx) {
    const buf = await allocChecked(ctx, 4096n, 'O_WRONLY|O_CLOEXEC')
    if (!buf) return
    for (const prot of ['PROT_READ', 'PROT_WRITE', 'PROT_READ|PROT_WRITE']) {
      const m = await ctx.agent.call('mmap', { fd: buf.fd, len: 4096, prot, flags: 'MAP_SHARED' })
      if (m.ok) ctx.defer(() => ctx.agent.must('munmap', { map: m.map }))
      ctx.check.failsWith(`mmap ${prot} MAP_SHARED of an O_WRONLY buffer`, m, 'EACCES')
    }
  },
}

export const invalidFlagsSuite: SuiteDef = {
  name: 'invalid-flags',
  description: 'every invalid fd_flags and heap_flags bit and a nonzero .fd give EINVAL; the fd gets the close-on-exec and access mode asked',
  cases: [
    // bits 0 and 1 are O_ACCMODE everywhere; O_CLOEXEC's bit is skipped per target
    ...[...Array(30).keys()].map((i) => fdFlagBitCase(i + 2)),
    ...[...Array(64).keys()].map(heapFlagBitCase),
    nonzeroFd,
    cloexecCase(true),
    cloexecCase(false),
    ...ACCMODES.map(accmodeCase),
    readOnlyMapping,
    writeOnlyMapping,
  ],
}
