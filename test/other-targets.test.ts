// The same suites through the other front ends: the aarch64 agent under
// qemu-aarch64-static, and the Node addon (local target) on this machine.
// Neither has kernel heaps here, so both run on the reference heap.
import t from 'tap'
import { ALLOC_SIZES } from '../suites/alloc.js'
import { BOOT_SUITE, KERNEL_PSEUDO_HEAP } from '../suites/boot-log.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

for (const target of ['qemu-user-aarch64', 'local']) {
  t.test(`alloc on the reference heap through ${target}`, async (t) => {
    const out = tempOutput(target)
    const r = await dmaheap(['run', '--target', target, '--suite', 'alloc', '--heap', 'dmaheap-reference', '--output', out])
    t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-2000)})`)
    const all = readResults(out)
    // The boot case is the run's (this machine's kernel log), once on the kernel pseudo-heap.
    t.same(all.filter((x) => x.suite === BOOT_SUITE).map((x) => `${x.heap} ${x.status}`), [`${KERNEL_PSEUDO_HEAP} PASS`], 'the boot case once, on the kernel pseudo-heap')
    const results = all.filter((x) => x.suite !== BOOT_SUITE)
    t.ok(results.every((x) => x.heap === 'dmaheap-reference'), 'only the reference heap (no /dev/dma_heap here)')
    const size = results.filter((x) => x.id.startsWith('alloc.size.'))
    t.equal(size.length, ALLOC_SIZES.length)
    const expectedSkips = target === 'qemu-user-aarch64' ? ['alloc.not-a-heap'] : []
    t.same(results.filter((x) => x.status !== 'PASS').map((x) => x.id), expectedSkips, 'every alloc case passed (qemu-user: raw ioctls skip)')
    // No /dev/udmabuf on this machine: the reference heap's model answers
    // fdinfo with its own name as the exporter.
    const fdinfo = results.filter((x) => x.id.startsWith('alloc.fdinfo.'))
    t.ok(fdinfo.length === ALLOC_SIZES.length && fdinfo.every((x) => x.checks.some((c) => c.label === 'fdinfo exp_name:' && c.observed === 'dmaheap-reference')), 'fdinfo shows the model exporter')
    if (target === 'qemu-user-aarch64') t.match(r.stderr, /heaps: dmaheap-reference/)
  })
}

t.test('bad names are one-line errors before anything starts', async (t) => {
  const suite = await dmaheap(['run', '--target', 'local', '--suite', 'nope'])
  t.equal(suite.exitCode, 2)
  t.match(suite.stderr, /^dmaheap: error: unknown suite "nope" \(choose from: alloc/m)
  const target = await dmaheap(['run', '--target', 'nope'])
  t.equal(target.exitCode, 2)
  t.match(target.stderr, /^dmaheap: error: option '-t, --target <name>' argument 'nope' is invalid\. Allowed choices are qemu, local/m)
})
