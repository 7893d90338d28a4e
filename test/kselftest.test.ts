// `dmaheap run --kselftest`: the upstream dmabuf-heaps selftest, built here
// statically from Debian's linux-source-6.12, sent to the QEMU guest by the
// agent and run beside our suites; its results join every view. The same
// real run checks that results.ktap reads back into the same results and
// that report.html plots a real `dmaheap bench`.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
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
  t.match(run.stdout, /# Subtest: kselftest dmabuf-heaps\n\s+# exit status 0;/, 'a TAP subtest with its exit status')
  t.match(readFileSync(join(out, 'kselftest.log'), 'utf8'), /^TAP version 13\n1\.\.11\n# Testing heap: system\n/, 'its raw output is kept')
  const ks = readResults(out).filter((r) => r.suite === 'kselftest')
  t.equal(ks.length, 11, '11 test points on the one kernel heap')
  t.ok(ks.every((r) => r.status === 'PASS' && r.heap === 'system' && r.kernel.startsWith('6.12.')), 'all pass on system, Linux 6.12')
  t.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<testcase name="kselftest\.01-import_buffer \[system on qemu-x86_64\]"/)
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8'))
  t.ok(kcidb.tests.some((x: { path: string; status: string }) => x.path === 'dmaheap.kselftest.01-import_buffer.system' && x.status === 'PASS'))
  t.match(readFileSync(join(out, 'report.html'), 'utf8'), /<td class="cell cell-ok" data-suite="kselftest" data-heap="system" data-pass="11"/, 'a kselftest column in the matrix')
  const md = readFileSync(join(out, 'summary.md'), 'utf8')
  t.match(md, /\| heap \| boot \| zero-size \| mmap \| kselftest \|/, 'a column per suite, the boot case first')
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
