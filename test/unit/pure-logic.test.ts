// Unit tests of pure logic: no target involved.
import t from 'tap'
import { fromWireU64, toWireU64 } from '../../core/protocol.js'
import { pageAlign, parseColonLines, U64_MAX } from '../../suites/buffers.js'
import { expectedExporter } from '../../suites/heaps.js'
import { kernelVersion, versionAtLeast } from '../../suites/kernel-behaviour.js'
import { newestPackage } from '../../targets/debian-kernel.js'
import { diagnoseBoot } from '../../runners/qemu.js'
import { ALLOC_SIZES, allocSuite } from '../../suites/alloc.js'
import { kernelBehaviour } from '../../suites/kernel-behaviour.js'
import { initOnAllocSetting } from '../../suites/run.js'
import { moduleDepends } from '../../targets/modules.js'
import { KERNEL_PROBLEM } from '../../suites/kernel-log.js'
import { unmetOptions } from '../../targets/kernel-build.js'
import { SUITES } from '../../suites/index.js'

t.test('wire u64: exact numbers stay numbers, larger values become strings', async (t) => {
  t.equal(toWireU64(4096n), 4096)
  t.equal(toWireU64(U64_MAX), '18446744073709551615')
  t.equal(fromWireU64('18446744073709551615'), U64_MAX)
  t.throws(() => toWireU64(-1n))
  t.throws(() => toWireU64(U64_MAX + 1n))
})

t.test('PAGE_ALIGN wraps to 0 near 2^64 as the kernel computes it', async (t) => {
  t.equal(pageAlign(1n, 4096n), 4096n)
  t.equal(pageAlign(4096n, 4096n), 4096n)
  t.equal(pageAlign(4097n, 65536n), 65536n)
  t.equal(pageAlign(U64_MAX, 4096n), 0n)
  t.equal(pageAlign(U64_MAX - 4095n + 1n, 4096n), 0n)
  t.equal(pageAlign(U64_MAX - 4096n - 4095n, 4096n), U64_MAX - 4095n - 4096n)
})

t.test('fdinfo parsing', async (t) => {
  const f = parseColonLines('pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1045\nsize:\t8192\ncount:\t1\nexp_name:\tsystem\n')
  t.equal(f.get('size'), '8192')
  t.equal(f.get('exp_name'), 'system')
  t.equal(f.get('name'), undefined)
})

t.test('kernel versions and the exporter name by version', async (t) => {
  t.same(kernelVersion('6.12.117+deb12-amd64'), [6, 12, 117])
  t.same(kernelVersion('5.10.0-rc1'), [5, 10, 0])
  t.ok(versionAtLeast('6.12.0', 5, 13))
  t.notOk(versionAtLeast('5.10.200', 5, 13))
  t.equal(expectedExporter({ name: 'system', kind: 'kernel' }, '6.12.1'), 'system')
  t.equal(expectedExporter({ name: 'dmaheap-reference', kind: 'reference' }, '6.12.1', 'udmabuf'), 'udmabuf')
  t.equal(expectedExporter({ name: 'dmaheap-reference+nozero', kind: 'reference' }, '6.12.1', 'model'), 'dmaheap-reference')
  t.equal(expectedExporter({ name: 'system', kind: 'kernel' }, '5.10.1'), undefined)
})

t.test('version-dependent expectations are data with ranges', async (t) => {
  t.equal(kernelBehaviour('cma_heap_name', '6.12.117+deb12-amd64'), 'reserved')
  t.equal(kernelBehaviour('cma_heap_name', '6.17.0'), 'default_cma_region')
  t.equal(kernelBehaviour('set_name_attached', '5.15.0'), 'EBUSY')
  t.equal(kernelBehaviour('set_name_attached', '5.16.0'), 'success')
  t.equal(kernelBehaviour('exp_name', '5.12.9'), 'module name')
  t.equal(kernelBehaviour('sync_file_ioctls', '5.19.0'), 'ENOTTY')
  t.equal(kernelBehaviour('sync_file_ioctls', '6.0.0'), 'present')
})

t.test('init_on_alloc is read from the command line, else the config default', async (t) => {
  t.equal(initOnAllocSetting('console=ttyS0 init_on_alloc=0 quiet', true), '0 (kernel command line)')
  t.equal(initOnAllocSetting('console=ttyS0', true), '1 (CONFIG_INIT_ON_ALLOC_DEFAULT_ON)')
  t.match(initOnAllocSetting('console=ttyS0', undefined), /unknown/)
})

t.test('module dependencies come from .modinfo', async (t) => {
  const ko = Buffer.concat([Buffer.from('\0license=GPL\0depends=drm,drm_shmem-helper\0name=vgem\0')])
  t.same(moduleDepends(ko), ['drm', 'drm_shmem_helper'])
  t.same(moduleDepends(Buffer.from('\0depends=\0')), [])
})

t.test('the newest Debian kernel package is chosen by patch level, not text order', async (t) => {
  t.equal(
    newestPackage([
      'linux-image-6.12.99+deb12-amd64-unsigned',
      'linux-image-6.12.117+deb12-amd64-unsigned',
      'linux-image-6.12.111+deb12-amd64-unsigned',
    ]),
    'linux-image-6.12.117+deb12-amd64-unsigned',
  )
  t.equal(newestPackage([]), undefined)
})

t.test('boot failures are diagnosed from the console', async (t) => {
  t.match(diagnoseBoot('', 'KVM internal error. Suberror: 1', false), /KVM/)
  t.match(diagnoseBoot('', '', false), /printed nothing/)
  t.match(diagnoseBoot('', 'qemu-system-x86_64: linux kernel too old', true), /QEMU failed: .*too old/)
  t.match(diagnoseBoot('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', '', true), /no init from the initramfs/)
  t.match(diagnoseBoot('Failed to execute /x (error -2)\nKernel panic - not syncing: VFS: Unable to mount root fs', '', true), /init in the initramfs failed/)
  t.match(diagnoseBoot('Kernel panic - not syncing: Attempted to kill init!', '', true), /init/)
  t.match(diagnoseBoot('Linux version 6.12\nrandom', '', false), /never answered/)
})

t.test('case ids are stable, unique and prefixed by their suite', async (t) => {
  const ids = SUITES.flatMap((s) => s.cases.map((c) => c.id))
  t.equal(new Set(ids).size, ids.length, 'unique')
  for (const s of SUITES) t.ok(s.cases.every((c) => c.id.startsWith(`${s.name}.`)), `${s.name} ids start with "${s.name}."`)
  const alloc = allocSuite.cases.map((c) => c.id)
  t.ok(alloc.includes('alloc.size.4097'))
  t.ok(alloc.includes('alloc.fdinfo.16777216'))
  t.equal(alloc.filter((id) => id.startsWith('alloc.size.')).length, ALLOC_SIZES.length)
})

t.test('kernel config fragments: what did not end up set', async (t) => {
  const frag = '# heaps\nCONFIG_DMABUF_HEAPS_CMA=y\nCONFIG_MODULES=n\n# CONFIG_SWAP is not set\nCONFIG_NR_CPUS=4\n'
  const final = 'CONFIG_DMABUF_HEAPS=y\n# CONFIG_DMABUF_HEAPS_CMA is not set\n# CONFIG_MODULES is not set\nCONFIG_NR_CPUS=8\n'
  t.same(
    unmetOptions([{ path: 'f.config', text: frag }], final).map((u) => `${u.option}:${u.wanted}->${u.got}`),
    ['CONFIG_DMABUF_HEAPS_CMA:y->n', 'CONFIG_NR_CPUS:4->8'],
  )
})

t.test('kernel problems are recognised in the log, ordinary lines are not', async (t) => {
  for (const bad of [
    '------------[ cut here ]------------',
    'WARNING: CPU: 0 PID: 1 at drivers/dma-buf/heaps/cma_heap.c:123 cma_heap_allocate+0x1/0x2',
    'BUG: KASAN: slab-out-of-bounds in dma_buf_fd',
    'kernel BUG at mm/page_alloc.c:1000!',
    'Oops: 0000 [#1] PREEMPT SMP',
    'UBSAN: shift-out-of-bounds in drivers/dma-buf/dma-heap.c:100:1',
  ]) t.ok(KERNEL_PROBLEM.test(bad), bad)
  for (const fine of ['cma: cma_alloc: reserved: alloc failed, req-size: 4096 pages, ret: -12', 'dmaheap-agent[1]: invoked oom-killer', 'udmabuf: module loaded'])
    t.notOk(KERNEL_PROBLEM.test(fine), fine)
})
