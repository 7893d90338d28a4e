/**
 * sync: DMA_BUF_IOCTL_SYNC (dma_buf_ioctl) accepts START or END with READ,
 * WRITE or RW; any bit outside RW|END, or neither READ nor WRITE, is EINVAL.
 * An unknown dma-buf ioctl is ENOTTY. DMA_BUF_SET_NAME (both the _A and _B
 * numbers) takes up to 31 characters (strndup_user with DMA_BUF_NAME_LEN 32)
 * and shows the name in fdinfo. EXPORT/IMPORT_SYNC_FILE exist from 6.0 with
 * CONFIG_SYNC_FILE.
 */
import { toWireU64 } from '../core/protocol.js'
import { needsRawIoctls, onFreshBuffer, parseColonLines } from './buffers.js'
import type { CaseDef, SuiteDef } from './harness.js'
import { kernelBehaviour } from './kernel-behaviour.js'

const DIRECTIONS = ['READ', 'WRITE', 'RW'] as const

function pairedSync(dir: (typeof DIRECTIONS)[number]): CaseDef {
  return onFreshBuffer({
    id: `sync.${dir.toLowerCase()}`,
    title: `DMA_BUF_IOCTL_SYNC START|${dir} then END|${dir} both succeed`,
    async run(ctx, buf) {
      ctx.check.succeeded(`SYNC START|${dir}`, await ctx.agent.call('sync', { fd: buf.fd, flags: `START|${dir}` }))
      ctx.check.succeeded(`SYNC END|${dir}`, await ctx.agent.call('sync', { fd: buf.fd, flags: `END|${dir}` }))
    },
  })
}

/**
 * dma-buf keeps no START/END pairing state, but an exporter may: udmabuf's
 * end_cpu_access is EINVAL until a begin_cpu_access built its sg table.
 * Observed, not judged.
 */
const unpairedEnd = onFreshBuffer({
  id: 'sync.end-unpaired',
  title: 'SYNC END|RW on a fresh buffer with no START before it (no pairing rule in dma-buf; exporters differ)',
  observeOnly: true,
  async run(ctx, buf) {
    const r = await ctx.agent.call('sync', { fd: buf.fd, flags: 'END|RW' })
    ctx.check.observe('SYNC END|RW without START', r.ok ? 'success' : r.errno)
  },
})

/** SYNC with flags dma_buf_ioctl must refuse with EINVAL. */
function refusedSync(id: string, what: string, flags: string | number): CaseDef {
  return onFreshBuffer({
    id: `sync.${id}`,
    title: `DMA_BUF_IOCTL_SYNC with ${what} is EINVAL`,
    async run(ctx, buf) {
      ctx.check.failsWith(`SYNC flags=${what}`, await ctx.agent.call('sync', { fd: buf.fd, flags }), 'EINVAL')
    },
  })
}

const unknownIoctl = onFreshBuffer({
  id: 'sync.unknown-ioctl',
  title: "an unknown dma-buf ioctl ('b', nr 0x40) is ENOTTY",
  skip: needsRawIoctls,
  async run(ctx, buf) {
    // _IOW('b', 0x40, __u64)
    ctx.check.failsWith("ioctl _IOW('b', 0x40, u64)", await ctx.agent.call('ioctl_raw', { fd: buf.fd, cmd: 0x40086240 }), 'ENOTTY')
  },
})

function setName(variant: 'A' | 'B'): CaseDef {
  return onFreshBuffer({
    id: `sync.set-name.${variant}`,
    title: `DMA_BUF_SET_NAME_${variant}: a 31-character name is taken and shown in fdinfo; 32 characters are EINVAL`,
    async run(ctx, buf) {
      const name31 = `dmaheap-${variant}-`.padEnd(31, 'x')
      ctx.check.succeeded('SET_NAME with 31 characters', await ctx.agent.call('set_name', { fd: buf.fd, name: name31, variant }))
      const info = await ctx.agent.must('fdinfo', { fd: buf.fd })
      ctx.check.equal('fdinfo name:', parseColonLines(info.text).get('name'), name31)
      ctx.check.failsWith('SET_NAME with 32 characters', await ctx.agent.call('set_name', { fd: buf.fd, name: name31 + 'y', variant }), 'EINVAL')
    },
  })
}

const syncFileSkip: CaseDef['skip'] = ({ target, heap }) =>
  kernelBehaviour('sync_file_ioctls', target.hello.release) === 'ENOTTY'
    ? 'the sync_file ioctls exist from Linux 6.0'
    : heap.kind === 'reference' && !target.hello.udmabuf
      ? 'the reference heap is modelled over a memfd here (no /dev/udmabuf: needs CONFIG_UDMABUF): a sync_file needs a real dma-buf'
      : undefined

const exportImport = onFreshBuffer({
  id: 'sync.sync-file',
  title: 'EXPORT_SYNC_FILE gives a sync_file fd, IMPORT_SYNC_FILE takes it back; flags without READ or WRITE are EINVAL',
  skip: syncFileSkip,
  async run(ctx, buf) {
    const e = await ctx.agent.call('export_sync_file', { fd: buf.fd, flags: 'RW' })
    // dma-buf core (not the heap) answers this ioctl, and only when built
    // with CONFIG_SYNC_FILE: ENOTTY from 6.0 on says the kernel lacks it.
    if (!e.ok && e.errno === 'ENOTTY') ctx.cannotRun('needs CONFIG_SYNC_FILE (EXPORT_SYNC_FILE answered ENOTTY)')
    if (!ctx.check.succeeded('EXPORT_SYNC_FILE RW', e)) return
    ctx.defer(() => ctx.agent.must('close', { fd: e.sync_fd }))
    ctx.check.ok('the exported sync_file fd is valid', e.sync_fd >= 0, { expected: 'an fd >= 0', observed: e.sync_fd })
    ctx.check.succeeded('IMPORT_SYNC_FILE of that fd, WRITE', await ctx.agent.call('import_sync_file', { fd: buf.fd, sync_fd: e.sync_fd, flags: 'WRITE' }))
    const bad = await ctx.agent.call('export_sync_file', { fd: buf.fd, flags: 0 })
    if (bad.ok) ctx.defer(() => ctx.agent.must('close', { fd: bad.sync_fd }))
    ctx.check.failsWith('EXPORT_SYNC_FILE with flags 0', bad, 'EINVAL')
  },
})

export const syncSuite: SuiteDef = {
  name: 'sync',
  description: 'DMA_BUF_IOCTL_SYNC flags, unknown ioctls, SET_NAME (_A and _B), EXPORT/IMPORT_SYNC_FILE',
  cases: [
    ...DIRECTIONS.map(pairedSync),
    unpairedEnd,
    // bits 0-2 are READ, WRITE and END; each higher bit alone with RW
    ...[...Array(61).keys()].map((i) => refusedSync(`invalid-bit.${i + 3}`, `RW|1<<${i + 3}`, toWireU64((1n << BigInt(i + 3)) | 3n))),
    refusedSync('no-direction', '0 (neither READ nor WRITE)', 0),
    refusedSync('end-no-direction', 'END alone (neither READ nor WRITE)', 'END'),
    unknownIoctl,
    setName('A'),
    setName('B'),
    exportImport,
  ],
}
