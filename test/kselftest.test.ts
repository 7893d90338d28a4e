// `dmaheap run --kselftest`: the upstream dmabuf-heaps selftest, built here
// statically from Debian's linux-source-6.12, sent to the QEMU guest by the
// agent and run beside our suites; its results join every view. The same
// real run checks that results.ktap reads back into the same results and
// that report.html plots a real `dmaheap bench`.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { resolveSource } from '../targets/kernel-build.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'
import type { CaseResult } from '../core/result.js'

/** The KTAP generation of the selftest, against the tree's own uAPI headers. */
async function buildSelftest(): Promise<string> {
  const src = await resolveSource('debian', () => {})
  const tmp = mkdtempSync(join(tmpdir(), 'dmaheap-ksft-'))
  await execa('make', ['-s', `O=${join(tmp, 'obj')}`, 'headers_install', `INSTALL_HDR_PATH=${join(tmp, 'hdr')}`], { cwd: src })
  const dir = join(src, 'tools', 'testing', 'selftests', 'dmabuf-heaps')
  const bin = join(tmp, 'dmabuf-heap')
  await execa('gcc', ['-static', '-O2', `-I${join(tmp, 'hdr', 'include')}`, '-I..', '-o', bin, 'dmabuf-heap.c'], { cwd: dir })
  return bin
}

const bin = await buildSelftest()
const out = tempOutput('kselftest')
const run = await dmaheap(['run', '--suite', 'zero-size,mmap', '--kselftest', bin, '--output', out])

t.test('the selftest runs on the target beside the suites and joins every view', async (t) => {
  t.equal(run.exitCode, 0, `exit 0 (stderr: ${run.stderr.slice(-1500)})`)
  t.match(run.stdout, /# Subtest: kselftest on kernel\n\s+# Subtest: kselftest\.run kernel\n/, 'a TAP subtest of its own, the run a case')
  t.match(readFileSync(join(out, 'kselftest.log'), 'utf8'), /^TAP version 13\n1\.\.11\n# Testing heap: system\n/, 'its raw output is kept')
  const all = readResults(out)
  const ks = all.filter((r) => r.suite === 'kselftest')
  t.equal(ks[0]?.id, 'kselftest.run', 'the run of the binary is a case of its own')
  t.equal(ks[0]?.heap, 'kernel')
  t.equal(ks[0]?.status, 'PASS')
  t.equal(ks[0]?.observations?.['exit status'], 0)
  t.ok(all.findIndex((r) => r.suite === 'kselftest') < all.findIndex((r) => r.suite === 'zero-size'), 'it runs before any suite')
  const points = ks.slice(1)
  t.equal(points.length, 11, '11 test points on the one kernel heap')
  t.ok(points.every((r) => r.status === 'PASS' && r.heap === 'system' && r.kernel.startsWith('6.12.')), 'all pass on system, Linux 6.12')
  t.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<testcase name="kselftest\.01-import_buffer \[system on qemu-x86_64\]"/)
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8'))
  t.ok(kcidb.tests.some((x: { path: string; status: string }) => x.path === 'dmaheap.kselftest.01-import_buffer.system' && x.status === 'PASS'))
  t.match(readFileSync(join(out, 'report.html'), 'utf8'), /<td class="cell cell-ok" data-suite="kselftest" data-heap="system" data-pass="11"/, 'a kselftest column in the matrix')
  const md = readFileSync(join(out, 'summary.md'), 'utf8')
  t.match(md, /\| heap \| boot \| kselftest \| zero-size \| mmap \|/, 'a column per suite in run order, the boot case first')
  t.match(md, /\n\| kernel \| ✅ 1 pass \|/, 'the boot case is the kernel pseudo-heap\'s row')
})

t.test('results.ktap reads back into the same results', async (t) => {
  const r = await dmaheap(['parse', join(out, 'results.ktap')])
  t.equal(r.exitCode, 0)
  const key = (x: CaseResult) => `${x.target} ${x.kernel} ${x.heap} ${x.id} ${x.status}`
  const back = r.stdout.split('\n').filter(Boolean).map((l) => key(JSON.parse(l) as CaseResult))
  t.same(back, readResults(out).map(key), 'every case, heap, status (DONE included), target and kernel')
})

t.test('a selftest that is not a program is refused before anything boots', async (t) => {
  const o = tempOutput('kselftest-bad')
  const r = await dmaheap(['run', '--kselftest', '/etc/hostname', '--output', o])
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /^dmaheap: error: \/etc\/hostname is not an ELF program \(build .*gcc -static/m)
  t.notOk(existsSync(join(o, 'results.jsonl')), 'nothing ran')
})

/** A static program standing in for a selftest that crashes: its header, a heap, then SIGSEGV. */
async function crashingSelftest(): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'dmaheap-ksft-crash-'))
  const src = join(tmp, 'crash.c')
  writeFileSync(src, '#include <stdio.h>\n#include <signal.h>\nint main(void){printf("TAP version 13\\n1..11\\n# Testing heap: system\\n");fflush(stdout);raise(SIGSEGV);return 0;}\n')
  await execa('gcc', ['-static', '-O2', '-o', join(tmp, 'crash'), src])
  return join(tmp, 'crash')
}

t.test('a selftest is a case: a wrong architecture is its ERROR before any suite, a crash its FAIL', async (t) => {
  const arm = join(mkdtempSync(join(tmpdir(), 'dmaheap-ksft-arm-')), 'dmabuf-heap')
  await execa('aarch64-linux-gnu-gcc', ['-static', '-O2', '-o', arm, '-x', 'c', '-'], { input: 'int main(void){return 0;}\n' })
  const wrong = tempOutput('kselftest-arch')
  const w = await dmaheap(['run', '--suite', 'zero-size', '--heap', 'system', '--kselftest', arm, '--output', wrong])
  t.equal(w.exitCode, 2, 'a harness input problem, not a heap failure')
  const wr = readResults(wrong)
  const runCase = wr.find((r) => r.id === 'kselftest.run')
  t.equal(runCase?.status, 'ERROR')
  t.match(runCase?.message, /is an aarch64 program; the target is x86_64: build it for x86_64, e\.g\. gcc -static/)
  t.equal(wr.findIndex((r) => r.id === 'kselftest.run'), 1, 'right after the boot case, before any suite')
  t.ok(wr.filter((r) => r.suite === 'zero-size').every((r) => r.status === 'PASS'), 'the suites still ran')
  t.match(w.stderr, /  ERROR kselftest\.run on kernel: .*aarch64 program/, 'named at the end')
  t.ok(existsSync(join(wrong, 'report.html')), 'every view written')

  const crash = tempOutput('kselftest-crash')
  const c = await dmaheap(['run', '--suite', 'zero-size', '--heap', 'system', '--kselftest', await crashingSelftest(), '--output', crash])
  t.equal(c.exitCode, 1, 'a program killed while testing a heap is a failure')
  const cr = readResults(crash).find((r) => r.id === 'kselftest.run')
  t.equal(cr?.status, 'FAIL')
  t.match(cr?.message, /the selftest ended by itself, not by a signal: expected "an exit status", observed "killed by (SIGSEGV|Segmentation fault) while testing heap system/)
})

t.test('report.html plots a real benchmark as inline SVG', async (t) => {
  const b = tempOutput('bench-plot')
  const bench = await dmaheap(['bench', '--heap', 'system', '--budget-ms', '20', '--output', b])
  t.equal(bench.exitCode, 0, `bench ran (${bench.stderr.slice(-800)})`)
  const r = await dmaheap(['report', out, '--bench', join(b, 'bench.json')])
  t.equal(r.exitCode, 0)
  const html = readFileSync(join(out, 'report.html'), 'utf8')
  const plots = [...html.matchAll(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*class="plot">[\s\S]*?<\/svg>/g)].map((m) => m[0])
  t.ok(plots.length >= 2, `${plots.length} plots`)
  t.match(plots[0], /ALLOC \+ close latency by size/)
  t.ok(plots.every((p) => /<polyline points="[\d., ]+"/.test(p)), 'every plot has a line')
  t.match(plots[0], />system</, 'the line is named by its heap')
  t.notMatch(html, /(src|href)="https?:/, 'nothing is loaded from elsewhere')
  const missing = await dmaheap(['report', out, '--bench', join(b, 'nope.json')])
  t.equal(missing.exitCode, 2, 'a benchmark file that is not there is bad input')
})
