/**
 * import: a heap's buffer attached to a device. vgem (the upstream
 * selftest's stand-in device) imports it with DRM_IOCTL_PRIME_FD_TO_HANDLE;
 * then SYNC must still work (4c68e499bb9d: sync skips unmapped attachments)
 * and SET_NAME must work (EBUSY with attachments before ~5.16).
 */
import type { CaseContext, CaseDef, CaseEnv, SuiteDef } from './harness.js'
import { allocChecked } from './buffers.js'
import { expectation } from './expectations.js'

function skipImport(env: CaseEnv): string | undefined {
  if (!env.targetTraits.vgem) return 'no vgem device on this target (needs CONFIG_DRM_VGEM and vgem.ko loaded)'
  if (env.heap.kind === 'reference' && !env.target.hello.udmabuf) return 'the reference heap is modelled over a memfd here (no /dev/udmabuf): only a real dma-buf can be imported'
  return undefined
}

/** Allocates a page and imports it into vgem; everything is released after the case. */
async function imported(ctx: CaseContext): Promise<{ fd: number } | undefined> {
  const buf = await allocChecked(ctx, 4096n)
  if (!buf) return undefined
  const dev = await ctx.agent.must('vgem_open', {})
  ctx.defer(() => ctx.agent.must('close', { fd: dev.fd }))
  const h = await ctx.agent.call('prime_import', { dev: dev.fd, fd: buf.fd })
  if (!ctx.check.succeeded('DRM_IOCTL_PRIME_FD_TO_HANDLE into vgem', h)) return undefined
  ctx.defer(() => ctx.agent.must('gem_close', { dev: dev.fd, handle: h.handle }))
  return buf
}

const prime: CaseDef = {
  id: 'import.prime',
  title: 'vgem imports the buffer (PRIME fd to handle) and releases it (GEM_CLOSE)',
  skip: skipImport,
  async run(ctx) {
    const buf = await imported(ctx)
    if (buf) ctx.check.ok('the import gave a handle', true, 'a GEM handle', 'a GEM handle')
  },
}

const syncAttached: CaseDef = {
  id: 'import.sync-attached',
  title: 'SYNC START/END RW succeeds while vgem holds an attachment',
  skip: skipImport,
  async run(ctx) {
    const buf = await imported(ctx)
    if (!buf) return
    ctx.check.succeeded('SYNC START|RW while attached', await ctx.agent.call('sync', { fd: buf.fd, flags: 'START|RW' }))
    ctx.check.succeeded('SYNC END|RW while attached', await ctx.agent.call('sync', { fd: buf.fd, flags: 'END|RW' }))
  },
}

const nameAttached: CaseDef = {
  id: 'import.set-name-attached',
  title: 'SET_NAME while attached: succeeds from ~5.16, EBUSY before',
  skip: skipImport,
  async run(ctx) {
    const buf = await imported(ctx)
    if (!buf) return
    const r = await ctx.agent.call('set_name', { fd: buf.fd, name: 'dmaheap-attached' })
    const want = expectation('set_name_attached', ctx.target.hello.release)
    if (want === 'success') ctx.check.succeeded('SET_NAME after a vgem import', r)
    else ctx.check.failsWith('SET_NAME after a vgem import', r, want)
  },
}

export const importSuite: SuiteDef = {
  name: 'import',
  description: 'import into vgem (PRIME), sync while attached, SET_NAME after attach',
  cases: [prime, syncAttached, nameAttached],
}
