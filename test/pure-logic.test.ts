// Unit tests of pure logic: no target involved.
import t from 'tap'
import { fromWireU64, toWireU64 } from '../core/protocol.js'
import { pageAlign, parseFdinfo, U64_MAX } from '../suites/buffers.js'
import { expectedExporter, kernelVersion, versionAtLeast } from '../suites/heaps.js'
import { newestPackage } from '../targets/debian-kernel.js'
import { diagnoseBoot } from '../runners/qemu.js'
import { ALLOC_SIZES, allocSuite } from '../suites/alloc.js'

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
  const f = parseFdinfo('pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1045\nsize:\t8192\ncount:\t1\nexp_name:\tsystem\n')
  t.equal(f.get('size'), '8192')
  t.equal(f.get('exp_name'), 'system')
  t.equal(f.get('name'), undefined)
})

t.test('kernel versions and the exporter name by version', async (t) => {
  t.same(kernelVersion('6.12.117+deb12-amd64'), [6, 12, 117])
  t.same(kernelVersion('5.10.0-rc1'), [5, 10, 0])
  t.ok(versionAtLeast('6.12.0', 5, 13))
  t.notOk(versionAtLeast('5.10.200', 5, 13))
  const hello = { udmabuf: true, release: '6.12.1' } as Parameters<typeof expectedExporter>[1]
  t.equal(expectedExporter({ name: 'system', kind: 'kernel' }, hello), 'system')
  t.equal(expectedExporter({ name: 'dmaheap-reference', kind: 'reference' }, hello), 'udmabuf')
  t.equal(expectedExporter({ name: 'system', kind: 'kernel' }, { ...hello, release: '5.10.1' }), undefined)
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
  t.match(diagnoseBoot('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', '', true), /initramfs/)
  t.match(diagnoseBoot('Kernel panic - not syncing: Attempted to kill init!', '', true), /init/)
  t.match(diagnoseBoot('Linux version 6.12\nrandom', '', false), /never answered/)
})

t.test('alloc case ids are stable and unique', async (t) => {
  const ids = allocSuite.cases.map((c) => c.id)
  t.equal(new Set(ids).size, ids.length)
  t.ok(ids.includes('alloc.size.4097'))
  t.ok(ids.includes('alloc.fdinfo.16777216'))
  t.equal(ids.length, ALLOC_SIZES.length * 2)
})
