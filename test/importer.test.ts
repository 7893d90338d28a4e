// The importer suite for real: the test importer (native/importer) loaded
// into Debian's kernel (built against Debian's headers) and built into a
// kernel of `dmaheap kernel build --importer`; a system heap whose
// attachments get a broken sg table (test/kernel-patches/system-heap-sg-bugs.patch,
// `system_heap.test_sg_bugs=N`) fails exactly the importer cases that see
// the bug, while every userspace suite passes on it: what proves the suite
// sees further than mmap and the ioctls do.
import t from 'tap'
import { join } from 'node:path'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'

const SG_BUGS_PATCH = join(repo, 'test', 'kernel-patches', 'system-heap-sg-bugs.patch')
const CARVEOUT_PATCH = join(repo, 'test', 'kernel-patches', 'carveout-heap.patch')
const SIZES = ['page', '68k', '4m']
const IMPORTER_CASES = [...SIZES.flatMap((s) => [`importer.sg.${s}`, `importer.read.${s}`, `importer.write.${s}`]), 'importer.vmap', 'importer.repeat']

t.test('Debian\'s kernel: the importer, built against its headers, passes on system and the reference heap (udmabuf)', async (t) => {
  const out = tempOutput('importer-debian')
  const r = await dmaheap(['run', '--suite', 'importer', '--output', out], 600_000)
  t.equal(r.exitCode, 0, r.stderr.slice(-1500))
  const results = readResults(out).filter((x) => x.suite === 'importer')
  for (const heap of ['system', 'dmaheap-reference']) {
    const mine = results.filter((x) => x.heap === heap)
    t.same(mine.filter((x) => x.status === 'PASS').map((x) => x.id).sort(), [...IMPORTER_CASES, 'importer.no-fd-leak'].sort(), `every importer case passes on ${heap}`)
  }
  t.match(r.stdout, /test importer present/, 'the target says it has the importer')
})

t.test('a kernel without the importer: every importer case skips saying how to build it in', async (t) => {
  const out = tempOutput('importer-none')
  const plain = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64'], 1_800_000)
  t.equal(plain.exitCode, 0, plain.stderr.slice(-1000))
  const r = await dmaheap(['run', '--kernel', plain.stdout.trim().split('\n').pop()!, '--heap', 'system', '--suite', 'importer', '--output', out], 600_000)
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  const cases = readResults(out).filter((x) => x.suite === 'importer' && x.id !== 'importer.no-fd-leak')
  t.equal(cases.length, IMPORTER_CASES.length)
  t.ok(cases.every((x) => x.status === 'SKIP' && /dmaheap kernel build --importer/.test(x.message ?? '')), 'SKIP with the way to build it in')
})

t.test('a system heap whose attachments get a broken sg table fails the importer cases that see it, and nothing else', async (t) => {
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64', '--importer', '--patch', SG_BUGS_PATCH], 1_800_000)
  t.equal(b.exitCode, 0, 'the kernel with the importer and the bugs builds', { stderr: b.stderr.slice(-1500) })
  const image = b.stdout.trim().split('\n').pop() ?? ''
  const run = async (bugs: number, extra: string[]) => {
    const out = tempOutput(`importer-bugs-${bugs}`)
    const r = await dmaheap(['run', '--kernel', image, '--cmdline', `system_heap.test_sg_bugs=${bugs}`, '--heap', 'system', '--output', out, ...extra], 900_000)
    return { r, results: readResults(out) }
  }
  const failing = (results: ReturnType<typeof readResults>) => results.filter((x) => x.status === 'FAIL').map((x) => x.id).sort()

  await t.test('the heap without bugs passes every suite, the importer included', async (t) => {
    const { r, results } = await run(0, [])
    t.equal(r.exitCode, 0, r.stderr.slice(-1000))
    t.same(failing(results), [])
    t.equal(results.filter((x) => x.suite === 'importer' && x.status === 'PASS').length, IMPORTER_CASES.length + 1)
  })

  // Both keep their lengths and pages real, so dma_map_sgtable maps them and
  // only a look at the table or the bytes shows the bug.
  const quiet = [
    {
      bugs: 4,
      what: 'a table one page short',
      fails: [...SIZES.flatMap((s) => [`importer.sg.${s}`, `importer.read.${s}`, `importer.write.${s}`]), 'importer.vmap'],
    },
    {
      bugs: 8,
      what: 'the entries in reverse order (other pages than mmap shows)',
      // a one-page buffer has one entry: reversed, it is the same
      fails: ['importer.read.68k', 'importer.write.68k', 'importer.read.4m', 'importer.write.4m', 'importer.vmap', 'importer.repeat'],
    },
  ]
  for (const q of quiet) {
    await t.test(`${q.what}: the importer cases fail, every userspace suite passes`, async (t) => {
      const { r, results } = await run(q.bugs, [])
      t.equal(r.exitCode, 1, 'exit 1: the heap failed')
      t.same(failing(results), [...q.fails].sort(), `exactly these fail: ${failing(results).join(', ')}`)
      const userspace = results.filter((x) => x.suite !== 'importer')
      t.ok(userspace.length > 100 && userspace.every((x) => x.status !== 'FAIL' && x.status !== 'ERROR'), `${userspace.length} userspace cases, none FAIL (import.* with vgem included)`)
    })
  }

  // An entry with no page, or a table never filled: dma_map_sgtable itself
  // reads the missing page and the kernel oopses inside the importer's map
  // (vgem's import would too): a FAIL of the heap, the target brought back.
  for (const [bugs, what] of [[2, 'an entry with no page'], [1, 'a table never filled']] as const) {
    await t.test(`${what}: the mapping oopses the kernel, a FAIL of the heap`, async (t) => {
      const { r, results } = await run(bugs, ['--suite', 'importer', '--case', 'importer.sg.68k'])
      t.equal(r.exitCode, 1, r.stderr.slice(-800))
      const c = results.find((x) => x.id === 'importer.sg.68k')
      t.equal(c?.status, 'FAIL')
      t.match(c?.message ?? '', /kernel crash during the case: BUG: kernel NULL pointer dereference/)
    })
  }
})

t.test('arm64: the importer built in, its device non-coherent as most SoC devices are: every importer case passes on system and the CMA heap', async (t) => {
  // The arm64 kernel .ci/run builds once for this test and test/carveout.test.ts.
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'arm64', '--importer', '--patch', CARVEOUT_PATCH], 1_800_000)
  t.equal(b.exitCode, 0, b.stderr.slice(-1000))
  const out = tempOutput('importer-arm64')
  const r = await dmaheap(['run', '--kernel', b.stdout.trim().split('\n').pop()!, '--cma', '64M', '--suite', 'importer', '--output', out], 600_000)
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  const results = readResults(out).filter((x) => x.suite === 'importer')
  for (const heap of ['system', 'reserved']) {
    t.equal(results.filter((x) => x.heap === heap && x.status === 'PASS').length, IMPORTER_CASES.length + 1, `every importer case passes on ${heap}`)
  }
})
