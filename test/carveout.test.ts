// Device-tree heaps for real: an arm64 kernel built with the tests' own
// carveout heap (test/kernel-patches/carveout-heap.patch: one heap per
// reserved-memory region compatible with "dmaheap-test,carveout", named
// after the region's node, carveout_heap.bug= chosen at boot), booted with a
// region the harness adds to QEMU's tree (--reserved-memory), and with a tree
// written here (--dtb) that also feeds the in-tree CMA heap from a
// shared-dma-pool region instead of cma=. The correct heap passes every
// suite; each broken variant fails its cases on the @-named heap, with exit
// 1; a region that makes no heap is a FAIL naming the region.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { CaseResult } from '../core/result.js'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'

const CARVEOUT_PATCH = join(repo, 'test', 'kernel-patches', 'carveout-heap.patch')
const HEAP = 'carveout@50000000'
const REGION = 'carveout@0x50000000:64M:compatible=dmaheap-test,carveout,no-map'

let kernel = ''
t.before(async () => {
  // The same kernel test/importer.test.ts boots (.ci/run builds it first).
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'arm64', '--importer', '--patch', CARVEOUT_PATCH], 1_800_000)
  if (b.exitCode !== 0) throw new Error(`the arm64 kernel with the carveout heap did not build: ${b.stderr.slice(-1500)}`)
  kernel = b.stdout.trim().split('\n').pop()!
})

const on = (results: CaseResult[], heap: string) => results.filter((r) => r.heap === heap)
const failed = (results: CaseResult[]) => results.filter((r) => r.status === 'FAIL').map((r) => `${r.id} on ${r.heap}`)
const checkNamed = (r: CaseResult | undefined, pattern: RegExp) => r?.checks?.find((c) => pattern.test(c.label))

let correctRun = ''
t.test('a correct carveout heap over a --reserved-memory region passes every suite; each view names it exactly', async (t) => {
  const out = tempOutput('carveout-correct')
  const r = await dmaheap(['run', '--kernel', kernel, '--reserved-memory', REGION, '--output', out], 1_200_000)
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  t.match(r.stderr, /reserved-memory region carveout@50000000 \(--reserved-memory\): 64 MiB at 0x50000000; should make the heap carveout@50000000/, 'the region is announced with the heap it should make')
  const results = readResults(out)
  const mine = on(results, HEAP)
  t.ok(mine.length >= 60, `the heap was tested (${mine.length} results on ${HEAP})`)
  t.same(failed(results), [], 'no FAIL on any heap')
  t.ok(mine.filter((x) => x.status === 'PASS').length >= 50, 'most of its cases pass')
  for (const suite of ['alloc', 'invalid-flags', 'mmap', 'sync', 'zero-size', 'zeroing', 'exhaustion', 'properties', 'import', 'importer']) {
    t.ok(mine.some((x) => x.suite === suite && x.status === 'PASS'), `${suite} ran and passed on ${HEAP}`)
  }
  // Tied to its region: every buffer inside it, no more capacity than it has.
  const layout = mine.find((x) => x.id === 'properties.layout.4MiB')
  t.equal(checkNamed(layout, /inside its region carveout@50000000 \(0x50000000-0x53ffffff\)/)?.pass, true, 'properties.layout: every buffer inside the region')
  t.equal(checkNamed(mine.find((x) => x.id === 'properties.capacity'), /capacity at most its region carveout@50000000 \(64 MiB\)/)?.pass, true, 'properties.capacity: at most the region')
  t.match(mine.find((x) => x.id === 'exhaustion.refuse-and-recover')?.observations, { 'memory gauge': /not counted in \/proc\/meminfo/ }, 'exhaustion: the second round, not meminfo, says the memory came back')
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
  t.match(run.target.facts.reservedMemory, [{ node: HEAP, base: '0x50000000', size: 64 << 20, compatible: 'dmaheap-test,carveout', noMap: true, heap: HEAP }], 'run.json keeps the region')
  // Every view keeps the name intact: nothing escapes or mangles its @.
  for (const file of ['results.tap', 'results.ktap', 'junit.xml', 'kcidb.json', 'summary.md', 'report.html']) {
    t.match(readFileSync(join(out, file), 'utf8'), HEAP, `${file} names ${HEAP}`)
  }
  t.match(readFileSync(join(out, 'results.ktap'), 'utf8'), /^\s*# Subtest: alloc on carveout@50000000$/m, 'KTAP: the subtest names the heap')
  // KCIDB's path alphabet has no @: the name is escaped reversibly there, and kept whole beside it.
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8'))
  const kt = kcidb.tests.find((x: { path: string }) => x.path === 'dmaheap.alloc.size.4096.carveout_4050000000')
  t.match(kt, { environment: { misc: { heap: HEAP } } }, 'kcidb.json: the escaped path, the name itself in misc')
  correctRun = out
})

const BROKEN: Array<{ bug: string; suites: string; fails: RegExp; must: string }> = [
  { bug: 'nozero', suites: 'zeroing,alloc', fails: /^zeroing\./, must: 'zeroing.1MiB' },
  { bug: 'mmap-offset', suites: 'mmap,alloc', fails: /^mmap\./, must: 'mmap.sub-ranges' },
  { bug: 'size', suites: 'alloc', fails: /^alloc\./, must: 'alloc.size.8191' },
]
for (const { bug, suites, fails, must } of BROKEN) {
  t.test(`carveout_heap.bug=${bug}: its cases FAIL on ${HEAP}, nothing else, exit 1`, async (t) => {
    const out = tempOutput(`carveout-${bug}`)
    const r = await dmaheap(['run', '--kernel', kernel, '--reserved-memory', REGION, '--cmdline', `carveout_heap.bug=${bug}`, '--suite', suites, '--output', out], 900_000)
    t.equal(r.exitCode, 1, `exit 1 (stderr: ${r.stderr.slice(-1500)})`)
    const results = readResults(out)
    const bad = failed(results)
    t.ok(bad.length > 0, `${bug}: something fails (${bad.join(', ')})`)
    t.same(bad.filter((f) => !f.endsWith(` on ${HEAP}`)), [], 'only the carveout heap fails')
    t.same(bad.filter((f) => !fails.test(f)), [], `only ${fails} cases fail`)
    if (must) t.ok(bad.includes(`${must} on ${HEAP}`), `${must} fails`)
    if (bug === 'nozero' && correctRun) {
      // Two runs of the @-named heap compared: the regressions are named by case and heap.
      const cmp = await dmaheap(['compare', correctRun, out, '--gate'])
      t.equal(cmp.exitCode, 1, 'compare --gate: a regression')
      t.match(cmp.stdout, new RegExp(`^  zeroing\\.1MiB on ${HEAP} \\(qemu-arm64\\): PASS -> FAIL: new buffers holding nonzero bytes`, 'm'), 'compare names the case on the heap')
    }
  })
}

t.test('a region meant for a heap that makes none is a FAIL naming the region', async (t) => {
  const out = tempOutput('carveout-no-heap')
  // A compatible no driver knows: what a typo in a heap's binding does.
  const r = await dmaheap(['run', '--kernel', kernel, '--reserved-memory', 'typo@0x54000000:16M:compatible=dmaheap-test,carveut', '--suite', 'zero-size', '--output', out], 600_000)
  t.equal(r.exitCode, 1, `exit 1 (stderr: ${r.stderr.slice(-1500)})`)
  const present = readResults(out).find((x) => x.id === 'properties.present' && x.heap === 'typo@54000000')
  t.equal(present?.status, 'FAIL', 'properties.present FAILs on the heap the region should have made')
  t.match(present?.message, /region typo@54000000 \(16 MiB at 0x54000000, compatible "dmaheap-test,carveut", from --reserved-memory\) produced the heap \/dev\/dma_heap\/typo@54000000/)
  t.match(present?.message, /absent \(the target has: .*system/)
})

t.test('--dtb: a tree written here, with a carveout and the default CMA area as shared-dma-pool regions', async (t) => {
  const dir = tempOutput('carveout-dtb')
  const base = join(dir, '..', 'virt.dtb')
  // QEMU's own tree for the machine the harness boots, then our regions in it.
  execFileSync('qemu-system-aarch64', ['-M', `virt,dumpdtb=${base}`, '-cpu', 'max', '-m', '512M', '-smp', '1', '-nographic', '-nodefaults'], { stdio: 'ignore' })
  const source = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', base], { encoding: 'utf8' })
  const regions = `
/ {
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		carveout@50000000 {
			compatible = "dmaheap-test,carveout";
			reg = <0x0 0x50000000 0x0 0x2000000>;
			no-map;
		};
		linux,cma@58000000 {
			compatible = "shared-dma-pool";
			reg = <0x0 0x58000000 0x0 0x2000000>;
			reusable;
			linux,cma-default;
		};
	};
};
`
  const dts = join(dir, '..', 'mine.dts')
  const dtb = join(dir, '..', 'mine.dtb')
  writeFileSync(dts, source + regions)
  execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', dtb, dts])
  const r = await dmaheap(['run', '--kernel', kernel, '--dtb', dtb, '--suite', 'alloc,properties', '--output', dir], 900_000)
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  t.match(r.stderr, /reserved-memory region linux,cma@58000000 \([^)]*mine\.dtb\): 32 MiB at 0x58000000; should make the heap linux,cma@58000000/)
  const results = readResults(dir)
  t.same(failed(results), [], 'no FAIL')
  for (const heap of [HEAP, 'linux,cma@58000000']) {
    t.ok(on(results, heap).some((x) => x.suite === 'alloc' && x.status === 'PASS'), `${heap} is there and its alloc cases pass`)
    t.equal(checkNamed(on(results, heap).find((x) => x.id === 'properties.layout.4MiB'), /inside its region/)?.pass, true, `${heap}: buffers inside its region`)
  }
  // The CMA heap over the DT pool is judged as a CMA heap: inside the area the kernel logged.
  t.equal(checkNamed(on(results, 'linux,cma@58000000').find((x) => x.id === 'properties.layout.4MiB'), /inside a CMA area the kernel reserved at boot/)?.pass, true, 'the DT pool is the CMA area')
  const facts = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).target.facts
  t.match(facts.reservedMemory, [{ node: HEAP, noMap: true }, { node: 'linux,cma@58000000', reusable: true, compatible: 'shared-dma-pool' }])
})

t.test('--cma beside a linux,cma-default region: one line, since cma= makes the kernel ignore the region', async (t) => {
  const out = tempOutput('carveout-cma-clash')
  const r = await dmaheap(['run', '--kernel', kernel, '--cma', '16M', '--reserved-memory', 'pool@0x58000000:32M:compatible=shared-dma-pool,reusable,linux,cma-default', '--output', out], 120_000)
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /^dmaheap: error: the region pool@58000000 is the default CMA area \(linux,cma-default\), and --cma 16M puts cma= on the command line/m)
})
