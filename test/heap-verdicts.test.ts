// Verdicts a maintainer can trust, on real kernels: what a kernel lacks is a
// SKIP naming the option, a small heap is never a FAIL, and a heap whose
// buffers are missing pages FAILs the cases that touch them with every case
// run and the agent alive. The kernels are Debian's linux-source-6.12 built by
// `dmaheap kernel build` (a fragment that turns the optional parts off; the
// patches in test/kernel-patches/); .ci/run builds them first.
import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from '../core/result.js'
import { dmaheap, plannedCount, readResults, repo, tempOutput, TEST_FAULTS_PATCH, testFaults } from './helpers.js'

const BUILD_MS = 3_000_000

async function build(args: string[]): Promise<string> {
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', ...args], BUILD_MS)
  if (b.exitCode !== 0) throw new Error(`kernel build ${args.join(' ')} failed: ${b.stderr.slice(-2000)}`)
  return b.stdout.trim().split('\n').pop() ?? ''
}

const bad = (results: CaseResult[]) => results.filter((r) => r.status === 'FAIL' || r.status === 'ERROR')
const brief = (rs: CaseResult[]) => rs.map((r) => `${r.id} ${r.heap}: ${r.status} ${r.message ?? ''}`).join('\n')

let lastOutput = ''
/** A run that must pass whole: exit 0, every planned case, no FAIL and no ERROR. Returns its results. */
async function cleanRun(t: Test, what: string, args: string[]): Promise<CaseResult[]> {
  const out = tempOutput(what.replace(/\W+/g, '-'))
  lastOutput = out
  const r = await dmaheap(['run', ...args, '--output', out], 900_000)
  t.equal(r.exitCode, 0, `${what}: exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  t.equal(results.length, plannedCount(out), `${what}: every planned case ran`)
  t.same(brief(bad(results)), '', `${what}: no FAIL and no ERROR`)
  return results
}

t.test('a kernel without tracefs, vgem, udmabuf, sync_file, debugfs and dma-buf sysfs stats: every suite runs, 0 FAIL, each SKIP names its option', async (t) => {
  const image = await build(['--arch', 'x86_64', '--config', join(repo, 'test', 'kernel-configs', 'no-optional.config')])
  const results = await cleanRun(t, 'no optional parts, 64 MiB CMA', ['--kernel', image, '--cma', '64M'])
  t.match(readFileSync(join(lastOutput, 'summary.md'), 'utf8'), /## Stated expectations not checked\n(.*\n){3}\| `properties\.layout\.64KiB` \| reserved \| needs CONFIG_FTRACE .*stated expectation unchecked: contiguous/, 'the summary names the stated expectations left unchecked')
  const skips = results.filter((r) => r.status === 'SKIP')
  for (const s of skips) {
    // bit 19 of fd_flags is O_CLOEXEC itself: valid by definition, on every kernel.
    if (s.id === 'invalid-flags.fd_flags.bit19') continue
    // The test importer is no kernel option: its cases name how to build it in.
    const needs = s.suite === 'importer' ? /dmaheap kernel build --importer/ : /needs CONFIG_[A-Z0-9_]+/
    t.match(s.message, needs, `${s.id} on ${s.heap} names the option it needs: ${s.message}`)
  }
  const skipped = (id: RegExp, heap: string, option: string) =>
    t.ok(skips.some((s) => id.test(s.id) && s.heap === heap && s.message?.includes(option)), `${id.source} on ${heap} skips for ${option}`)
  skipped(/^properties\.layout\.1MiB$/, 'reserved', 'CONFIG_FTRACE')
  skipped(/^import\./, 'system', 'CONFIG_DRM_VGEM')
  skipped(/^sync\.sync-file$/, 'system', 'CONFIG_SYNC_FILE')
  skipped(/^sync\.sync-file$/, 'dmaheap-reference', 'CONFIG_UDMABUF')
  const injected = tempOutput('no-lkdtm')
  const inj = await dmaheap(['run', '--kernel', image, '--suite', 'zero-size', '--heap', 'system', '--inject', 'WARNING@zero-size.len-1', '--output', injected], 300_000)
  t.equal(inj.exitCode, 0, 'a fault to inject without LKDTM is no failure of the heap')
  t.match(readResults(injected).find((x) => x.id === 'zero-size.len-1'), { status: 'SKIP', message: /^needs CONFIG_LKDTM/ })
  const release = results.find((x) => x.id === 'release.close' && x.heap === 'system')
  t.match(release, { status: 'PASS', observations: { 'measured with': /meminfo/ } }, 'without debugfs, release is measured from meminfo')
})

t.test('CMA heaps of 16 MiB (x86_64, arm64) and 64 MiB (arm64; x86_64 in the first test): 0 FAIL; what does not fit is a SKIP saying what it needs', async (t) => {
  const x86 = await build(['--arch', 'x86_64'])
  const results = await cleanRun(t, 'x86_64, 16 MiB CMA', ['--kernel', x86, '--cma', '16M'])
  const cma = results.filter((x) => x.heap === 'reserved')
  t.match(cma.find((x) => x.id === 'alloc.size.16777216'), { status: 'SKIP', message: /^needs 16 MiB; the heap holds 16 MiB \(CMA area/ })
  t.match(cma.find((x) => x.id === 'zeroing.32MiB'), { status: 'SKIP', message: /needs 32MiB buffers; the heap holds 16 MiB/ })
  t.match(cma.find((x) => x.id === 'zeroing.1MiB'), { status: 'PASS', observations: { buffers: /^8 of 1MiB/ } }, 'zeroing holds fewer buffers and still judges')
  t.match(cma.find((x) => x.id === 'release.close'), { status: 'PASS', observations: { 'buffer size': /^8\.0 MiB/ } }, 'release scales its buffer')
  t.match(cma.find((x) => x.id === 'alloc.size.2097152'), { status: 'PASS' }, 'what fits still runs')

  const arm = await build(['--arch', 'arm64'])
  const armResults = await cleanRun(t, 'arm64, 64 MiB CMA', ['--kernel', arm, '--cma', '64M', '--suite', 'alloc,zeroing,release,properties'])
  t.match(armResults.find((x) => x.id === 'zeroing.32MiB' && x.heap === 'reserved'), { status: 'PASS', observations: { buffers: /^1 of 32MiB/ } })
  t.match(armResults.find((x) => x.id === 'alloc.size.16777216' && x.heap === 'reserved'), { status: 'PASS' })

  const arm16Results = await cleanRun(t, 'arm64, 16 MiB CMA', ['--kernel', arm, '--cma', '16M'])
  t.match(arm16Results.find((x) => x.id === 'exhaustion.refuse-and-recover' && x.heap === 'reserved'), { status: 'PASS', observations: { 'buffer size': '4 MiB' } }, 'exhaustion uses pieces the heap can give')
})

t.test('a CMA heap whose buffers miss every odd page: the cases that touch them FAIL naming the page, every case runs, exit 1', async (t) => {
  const image = await build(['--arch', 'x86_64', '--patch', TEST_FAULTS_PATCH])
  const out = tempOutput('missing-pages')
  const r = await dmaheap(['run', '--kernel', image, '--cma', '64M', '--cmdline', `dma_heap.test_faults=${testFaults.missingPages}`, '--heap', 'reserved', '--suite', 'alloc,mmap,zeroing,release,sync', '--output', out], 900_000)
  t.equal(r.exitCode, 1, `exit 1: the heap failed, the harness did not (stderr: ${r.stderr.slice(-1500)})`)
  t.notMatch(r.stderr, /giving up|did not come back|agent link lost/, 'the target never broke')
  const results = readResults(out)
  t.equal(results.length, plannedCount(out), 'every planned case ran')
  t.same(results.filter((x) => x.status === 'ERROR').map((x) => x.id), [], 'no ERROR: a heap bug is a FAIL')
  const on = (id: string) => results.find((x) => x.id === id && x.heap === 'reserved')
  t.match(on('alloc.size.8191'), { status: 'FAIL', message: /SIGBUS: page 1 of 2 of the mapping raised SIGBUS \(offset 4096/ })
  t.match(on('alloc.size.1048576'), { status: 'FAIL', message: /page 1 of 256 of the mapping raised SIGBUS/ })
  t.match(on('alloc.size.4096'), { status: 'PASS' }, 'a one-page buffer has no odd page: it passes')
  t.match(on('zeroing.1MiB'), { status: 'FAIL', message: /SIGBUS/ })
  t.match(on('alloc.no-fd-leak'), { status: 'PASS' }, 'the failing cases released what they held')
})

t.test('a heap that takes any length: the OOM killer takes the agent, the case FAILs with the OOM report, the run goes on', async (t) => {
  const image = await build(['--arch', 'x86_64', '--patch', TEST_FAULTS_PATCH])
  const out = tempOutput('any-length')
  const r = await dmaheap(['run', '--kernel', image, '--cmdline', `dma_heap.test_faults=${testFaults.anyLength}`, '--heap', 'system', '--suite', 'zero-size,alloc', '--output', out], 900_000)
  t.equal(r.exitCode, 1, `exit 1: the heap failed, the harness did not (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  t.equal(results.length, plannedCount(out), 'every planned case ran')
  t.same(results.filter((x) => x.status === 'ERROR').map((x) => x.id), [], 'no ERROR')
  const huge = results.find((x) => x.id === 'zero-size.len-u64-max' && x.heap === 'system')
  t.match(huge, { status: 'FAIL', message: /^the OOM killer killed the agent during the case .*Out of memory: Killed process \d+ \(dmaheap-agent\)/, kernelLog: /Killed process \d+ \(dmaheap-agent\)/ })
  t.match(results.find((x) => x.id === 'zero-size.len-0'), { status: 'PASS' }, 'len 0 is still refused')
  t.ok(results.filter((x) => x.suite === 'alloc').every((x) => x.status === 'PASS'), 'the cases after it pass on the target brought back')
})
