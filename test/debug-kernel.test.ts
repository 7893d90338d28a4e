// `dmaheap kernel build --debug` for real: the kernel's checkers on (KASAN,
// DEBUG_SG, DMA_API_DEBUG, lockdep, kmemleak) with the test importer built
// in. The plain heaps pass every suite on it; a system heap whose vmap
// writes one byte past a kmalloc'd array
// (test/kernel-patches/system-heap-vmap-overflow.patch,
// `system_heap.test_vmap_overflow=1`) is caught by KASAN as a FAIL of the one
// case that called vmap, importer.vmap, and of no other.
import t from 'tap'
import { join } from 'node:path'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'

const OVERFLOW_PATCH = join(repo, 'test', 'kernel-patches', 'system-heap-vmap-overflow.patch')

t.test('a debug kernel: every suite passes on it, and a one-byte overflow in the system heap is a KASAN report that fails the case that made it', async (t) => {
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64', '--debug', '--importer', '--patch', OVERFLOW_PATCH], 3_600_000)
  t.equal(b.exitCode, 0, 'the debug kernel builds', { stderr: b.stderr.slice(-1500) })
  const image = b.stdout.trim().split('\n').pop() ?? ''
  t.match(image, /\+debug\//, 'a build folder of its own')

  // The kernel heaps only: on the reference heap, udmabuf's own SYNC is a
  // DMA_API_DEBUG report in 6.12 (it syncs its table with another direction
  // than it mapped it with), a finding about udmabuf, and the whole run
  // under these checkers takes ten minutes under TCG.
  await t.test('every suite on the system and CMA heaps, the checkers watching', async (t) => {
    const out = tempOutput('debug-all')
    const r = await dmaheap(['run', '--kernel', image, '--cma', '64M', '--heap', 'system,reserved', '--output', out], 1_800_000)
    t.equal(r.exitCode, 0, r.stderr.slice(-1500))
    const results = readResults(out)
    t.same(results.filter((x) => x.status === 'FAIL' || x.status === 'ERROR').map((x) => `${x.id} ${x.heap}: ${x.message}`), [])
    t.equal(new Set(results.map((x) => x.suite)).size, 12, 'every suite ran, the boot check included')
    t.equal(results.filter((x) => x.suite === 'importer' && x.status === 'PASS').length, 24, 'the importer passed on both heaps')
  })

  await t.test('the overflow: KASAN names it, importer.vmap on system FAILs, nothing else does', async (t) => {
    const out = tempOutput('debug-overflow')
    const r = await dmaheap(['run', '--kernel', image, '--cmdline', 'system_heap.test_vmap_overflow=1', '--heap', 'system', '--suite', 'importer', '--output', out], 900_000)
    t.equal(r.exitCode, 1, 'exit 1: the heap failed')
    const results = readResults(out)
    t.same(results.filter((x) => x.status === 'FAIL').map((x) => x.id), ['importer.vmap'])
    const vmap = results.find((x) => x.id === 'importer.vmap')
    t.match(vmap?.message ?? '', /KASAN: slab-out-of-bounds/, 'the message is the KASAN report')
    t.match(vmap?.kernelLog ?? '', /system_heap_(do_)?vmap/, 'which names the heap\'s function (do_vmap inlines into vmap)')
  })
})
