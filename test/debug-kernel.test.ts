// `dmaheap kernel build --debug` for real: the kernel's checkers on (KASAN,
// DEBUG_SG, DMA_API_DEBUG, lockdep, kmemleak) with the test importer built
// in. The plain heaps pass every suite on it; a system heap whose vmap
// writes one byte past a kmalloc'd array
// (test/kernel-patches/system-heap-vmap-overflow.patch,
// `system_heap.test_vmap_overflow=1`) is caught by KASAN as a FAIL of the one
// case that called vmap, importer.vmap, and of no other; with
// `system_heap.test_vmap_overflow=2` the array is leaked instead, and the
// kmemleak scan after the importer suite fails it on the system heap.
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
    t.equal(results.filter((x) => x.suite === 'importer' && x.heap !== 'kernel' && x.status === 'PASS').length, 24, 'the importer passed on both heaps')
    // kmemleak scanned after every suite: nothing from a heap's code.
    const suites = [...new Set(results.map((x) => x.suite))].filter((s) => s !== 'boot')
    t.same(suites.filter((s) => !results.some((x) => x.id === `${s}.kmemleak`)), [], 'a kmemleak result after every suite')
  })

  await t.test('a leak: vmap\'s page array never freed is a kmemleak FAIL on the system heap, naming where it was allocated', async (t) => {
    const out = tempOutput('debug-leak')
    const r = await dmaheap(['run', '--kernel', image, '--cmdline', 'system_heap.test_vmap_overflow=2', '--heap', 'system', '--suite', 'importer,alloc', '--output', out], 900_000)
    t.equal(r.exitCode, 1, `exit 1: the heap failed (${r.stderr.slice(-800)})`)
    const results = readResults(out)
    const failed = results.filter((x) => x.status === 'FAIL')
    // A pointer left on a stack can hide the object from the scan right after
    // the importer suite (suites/kmemleak.ts): the scan after alloc may be the one.
    t.ok(failed.length >= 1, 'kmemleak found it')
    t.same(failed.filter((x) => !(/^(importer|alloc)\.kmemleak$/.test(x.id) && x.heap === 'system')).map((x) => `${x.id} ${x.heap}`), [], 'only kmemleak results fail, on the system heap')
    const leak = failed[0]
    t.match(leak?.message ?? '', /kmemleak's scan after the (importer|alloc) suite found no unreferenced object from the heap's code: expected none, observed \d+ objects? \(\d+ bytes\) allocated by system_heap_(do_)?vmap/, 'the message names the allocating function')
    t.match(leak?.kernelLog ?? '', /unreferenced object 0x[0-9a-f]+ \(size \d+\)/, 'the report is kept')
    t.equal(results.find((x) => x.id === 'importer.vmap')?.status, 'PASS', 'the vmap itself is right: the leak is the only fault')
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
