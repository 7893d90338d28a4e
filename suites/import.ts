/**
 * import: a heap's buffer attached to a device. vgem (the upstream
 * selftest's stand-in device) imports it with DRM_IOCTL_PRIME_FD_TO_HANDLE;
 * then SYNC must still work (4c68e499bb9d: sync skips unmapped attachments)
 * and SET_NAME must work (EBUSY with attachments before ~5.16).
 */
import type { CaseContext, CaseDef, CaseEnv, SuiteDef } from './harness.js'
import { onFreshBuffer } from './buffers.js'
import { kernelBehaviour } from './kernel-behaviour.js'

function skipImport(env: CaseEnv): string | undefined {
  if (!env.targetTraits.vgem) return 'no vgem device on this target (needs CONFIG_DRM_VGEM and vgem.ko loaded)'
  if (env.heap.kind === 'reference' && !env.target.hello.udmabuf) return 'the reference heap is modelled over a memfd here (no /dev/udmabuf: needs CONFIG_UDMABUF): only a real dma-buf can be imported'
  return undefined
}

/**
 * A case on a one-page buffer imported into vgem: the ALLOC and the import
 * are checked; the GEM handle, the vgem fd and the buffer are released after.
 */
function onImported(def: Omit<CaseDef, 'run' | 'skip'> & { run(ctx: CaseContext, fd: number, handle: number): Promise<void> }): CaseDef {
  return onFreshBuffer({
    ...def,
    skip: skipImport,
    async run(ctx, buf) {
      const dev = await ctx.agent.must('vgem_open', {})
      ctx.defer(() => ctx.agent.must('close', { fd: dev.fd }))
      const h = await ctx.agent.call('prime_import', { dev: dev.fd, fd: buf.fd })
      if (!ctx.check.succeeded('DRM_IOCTL_PRIME_FD_TO_HANDLE into vgem', h)) return
      ctx.defer(() => ctx.agent.must('gem_close', { dev: dev.fd, handle: h.handle }))
      await def.run(ctx, buf.fd, h.handle)
    },
  })
}

const prime = onImported({
  id: 'import.prime',
  title: 'vgem imports the buffer (PRIME fd to handle) and releases it (GEM_CLOSE)',
  async run(ctx, _fd, handle) {
    ctx.check.ok('the GEM handle is valid', handle > 0, { expected: 'a nonzero handle', observed: handle })
  },
})

const syncAttached = onImported({
  id: 'import.sync-attached',
  title: 'SYNC START/END RW succeeds while vgem holds an attachment',
  async run(ctx, fd) {
    ctx.check.succeeded('SYNC START|RW while attached', await ctx.agent.call('sync', { fd, flags: 'START|RW' }))
    ctx.check.succeeded('SYNC END|RW while attached', await ctx.agent.call('sync', { fd, flags: 'END|RW' }))
  },
})

const nameAttached = onImported({
  id: 'import.set-name-attached',
  title: 'SET_NAME while attached: succeeds from ~5.16, EBUSY before',
  async run(ctx, fd) {
    const r = await ctx.agent.call('set_name', { fd, name: 'dmaheap-attached' })
    const want = kernelBehaviour('set_name_attached', ctx.target.hello.release)
    if (want === 'success') ctx.check.succeeded('SET_NAME after a vgem import', r)
    else ctx.check.failsWith('SET_NAME after a vgem import', r, want)
  },
})

export const importSuite: SuiteDef = {
  name: 'import',
  description: 'import into vgem (PRIME), sync while attached, SET_NAME after attach',
  cases: [prime, syncAttached, nameAttached],
}
