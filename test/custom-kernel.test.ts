// A self-built kernel (Debian's linux-source-6.12, tinyconfig + the harness's
// fragments, built out of tree and cached) booted with a CMA area: the CMA
// heap appears and every suite runs on it, on system and on the reference
// heap. The build is reused between runs; a clean one takes minutes.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SUITES } from '../suites/index.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

const BUILD_MS = 40 * 60_000

t.test('x86_64: kernel build from Debian\'s source, then every suite on the CMA heap', async (t) => {
  const build = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64'], BUILD_MS)
  t.equal(build.exitCode, 0, `kernel build exit 0 (stderr: ${build.stderr.slice(-2000)})`)
  const image = build.stdout.trim().split('\n').pop() ?? ''
  t.ok(existsSync(image), `the image exists: ${image}`)
  t.notMatch(build.stderr, /did not end up set/, 'every requested option is set')

  const out = tempOutput('cma')
  const r = await dmaheap(['run', '--kernel', image, '--cma', '256M', '--output', out], 600_000)
  t.equal(r.exitCode, 0, `run exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  t.match(r.stderr, /heaps: dmaheap-reference, reserved, system;/, 'the CMA heap ("reserved" before 6.17) is there')
  const results = readResults(out)
  const caseCount = SUITES.reduce((n, s) => n + s.cases.length + 1, 0)
  const cma = results.filter((x) => x.heap === 'reserved')
  t.equal(cma.length, caseCount, `${caseCount} results on the CMA heap`)
  t.same(results.filter((x) => x.status === 'FAIL' || x.status === 'ERROR'), [], 'nothing failed on any heap')
  const exhaustion = cma.find((x) => x.id === 'exhaustion.refuse-and-recover')
  t.equal(exhaustion?.status, 'PASS', 'the CMA heap refuses cleanly when its area is used up')
  t.match(String(exhaustion?.observations?.['first round']), /stopped by ENOMEM/, 'with ENOMEM, not the OOM killer')
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
  t.match(run.target.facts, { arch: 'x86_64', cmdline: /cma=256M/ })
})

t.test('arm64: kernel build (cross), boot under qemu-system-aarch64, every suite', async (t) => {
  const build = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'arm64'], BUILD_MS)
  t.equal(build.exitCode, 0, `kernel build exit 0 (stderr: ${build.stderr.slice(-2000)})`)
  const image = build.stdout.trim().split('\n').pop() ?? ''
  const out = tempOutput('arm64')
  const r = await dmaheap(['run', '--kernel', image, '--cma', '256M', '--output', out], 600_000)
  t.equal(r.exitCode, 0, `run exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  const results = readResults(out)
  t.same(results.filter((x) => x.status === 'FAIL' || x.status === 'ERROR'), [], 'nothing failed')
  t.ok(results.filter((x) => x.id.startsWith('alloc.') && x.status === 'PASS').length === 3 * 36, 'every alloc case passed on each heap')
  t.same([...new Set(results.filter((x) => x.suite !== 'boot').map((x) => x.heap))].sort(), ['dmaheap-reference', 'reserved', 'system'], 'on all three heaps')
  t.match(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).target, { hello: { machine: 'aarch64' }, facts: { arch: 'arm64', compatible: ['linux,dummy-virt'] } }, "the virt machine's device tree compatible is a fact")
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8')) as { tests: { environment: { compatible?: string[] } }[] }
  t.same(kcidb.tests[0]?.environment.compatible, ['linux,dummy-virt'], 'and KCIDB reports it as the environment')
})
