// The boot log is a result: what the kernel printed before the first case,
// judged by boot.kernel-log. For real: a kernel whose CMA heap warns while it
// registers (Debian's linux-source-6.12 with test/kernel-patches/
// dma-heap-test-faults.patch, built as a variant with
// `kernel build --patch`, booted with dma_heap.test_faults=1) fails it on the kernel and on the CMA heap, with
// the WARNING in the excerpt, exit 1; Debian's kernel, the self-built x86_64
// and the arm64 kernel pass it. The report parsing is checked on its own first.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from '../core/result.js'
import { bootResults, decodeTaint, findReports, heapsNamedBy } from '../suites/boot-log.js'
import { dmaheap, TEST_FAULTS_PATCH, testFaults, plannedCount, readResults, tempOutput } from './helpers.js'

const BUILD_MS = 40 * 60_000

const HEAPS = [
  { name: 'dmaheap-reference', kind: 'reference' as const },
  { name: 'reserved', kind: 'kernel' as const },
  { name: 'system', kind: 'kernel' as const },
]

// As a 6.12 kernel prints them (kmsg text: no timestamps), trimmed.
const CMA_WARN = `dma_heap: something before
------------[ cut here ]------------
cma_heap: test warning while registering the CMA heap reserved
WARNING: CPU: 0 PID: 1 at drivers/dma-buf/heaps/cma_heap.c:385 __add_cma_heap+0x6b/0x90
Modules linked in:
CPU: 0 UID: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.57 #1
RIP: 0010:__add_cma_heap+0x6b/0x90
Call Trace:
 <TASK>
 add_default_cma_heap+0x1a/0x30
 do_one_initcall+0x56/0x2d0
 kernel_init+0x1a/0x130
 </TASK>
---[ end trace 0000000000000000 ]---
Freeing unused kernel image memory: 1000K`
const KASAN = `[    1.234567] ==================================================================
[    1.234568] BUG: KASAN: slab-out-of-bounds in system_heap_create+0x44/0x120
[    1.234569] Write of size 8 at addr ffff888003c1e7f8 by task swapper/0/1
[    1.234570] Call Trace:
[    1.234571]  kasan_report+0xb1/0xf0
[    1.234572]  system_heap_create+0x44/0x120
[    1.234573] ==================================================================`
const CORE_WARN = `------------[ cut here ]------------
WARNING: CPU: 1 PID: 1 at drivers/dma-buf/dma-heap.c:240 dma_heap_add+0x2a0/0x2f0
Call trace:
 dma_heap_add+0x2a0/0x2f0
 do_one_initcall+0x60/0x2a0
---[ end trace 0000000000000000 ]---`
const NOISE = `Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options.
RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!
cma: Reserved 16 MiB at 0x000000001f000000 on node -1
dma_heap: registered heap system`

t.test('reports in a boot log, and the heap each names', async (t) => {
  const [warn] = findReports(CMA_WARN)
  t.equal(findReports(CMA_WARN).length, 1, 'a WARN with its trace is one report')
  t.match(warn?.headline, /^WARNING: CPU: 0 PID: 1 at drivers\/dma-buf\/heaps\/cma_heap\.c:385 __add_cma_heap/)
  t.match(warn?.lines.at(-1), /end trace/, 'the report runs to its end marker')
  t.same(heapsNamedBy(warn!, HEAPS, '6.12.57'), ['reserved'], 'cma_heap.c / __add_cma_heap: the CMA heap (named reserved before 6.17)')
  t.same(heapsNamedBy(warn!, [HEAPS[0]!, { name: 'default_cma_region', kind: 'kernel' }, HEAPS[2]!], '6.17.0'), ['default_cma_region'], 'its name from 6.17')
  const twoAreas = [HEAPS[0]!, { name: 'reserved', kind: 'kernel' as const }, { name: 'cma-camera', kind: 'kernel' as const }, HEAPS[2]!]
  t.same(heapsNamedBy(warn!, twoAreas, '6.12.57'), ['reserved'], 'two CMA heaps share cma_heap.c: the one the report names')
  const [anonymous] = findReports(CMA_WARN.replace('the CMA heap reserved', 'a CMA heap'))
  t.same(heapsNamedBy(anonymous!, twoAreas, '6.12.57'), ['reserved', 'cma-camera'], 'naming none of them: every CMA heap')
  const [kasan] = findReports(KASAN)
  t.equal(kasan?.headline, 'BUG: KASAN: slab-out-of-bounds in system_heap_create+0x44/0x120', 'a KASAN report, console timestamps stripped')
  t.same(heapsNamedBy(kasan!, HEAPS, '6.12.57'), ['system'])
  t.same(heapsNamedBy(findReports(CORE_WARN)[0]!, HEAPS, '6.12.57'), ['reserved', 'system'], 'the dma-heap core naming no one heap: every kernel heap')
  t.same(findReports(NOISE), [], 'mitigation notices that say "WARNING:" are not kernel warnings')
  const other = findReports('BUG: kernel NULL pointer dereference, address: 0000000000000008\nCall Trace:\n virtio_dev_probe+0x1a/0x30\n')
  t.equal(other.length, 1)
  t.same(heapsNamedBy(other[0]!, HEAPS, '6.12.57'), [], 'a report in other code is on the kernel only')
})

t.test('taint flags: problem reports fail, build and module facts are shown', async (t) => {
  t.match(decodeTaint('512\n'), { value: 512, flags: 'W', problems: 'W', described: ['W (kernel issued warning)'] })
  t.match(decodeTaint('8192'), { flags: 'E', problems: '' }, 'an unsigned module (Debian loads vgem): shown, not a failure')
  t.match(decodeTaint('4097'), { flags: 'PO', problems: '' })
  t.match(decodeTaint('16544'), { flags: 'BDL', problems: 'BDL' })
  t.match(decodeTaint('0'), { flags: '', problems: '' })
  t.equal(decodeTaint('x'), undefined)
  const base = { heaps: HEAPS, target: 'qemu-x86_64', kernel: '6.12.57', durationMs: 1 }
  const tainted = bootResults({ ...base, log: { text: 'clean\n', source: 'kernel log', complete: true, taint: decodeTaint('512')! } })
  t.match(tainted, [{ heap: 'kernel', status: 'FAIL', message: /tainted by a problem report.*observed 512 \(W\)/ }], 'W alone fails the kernel, on no heap')
  const clean = bootResults({ ...base, log: { text: 'clean\n', source: 'kernel log', complete: true, taint: decodeTaint('8192')! } })
  t.match(clean, [{ heap: 'kernel', status: 'PASS', observations: { 'taint at boot': /8192 \(E\)/ } }])
  t.match(bootResults({ ...base, log: { text: '', source: 'none', complete: false } }), [{ status: 'SKIP' }], 'nothing readable: a skip with the reason')
})

async function build(args: string[]): Promise<string> {
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', ...args], BUILD_MS)
  if (b.exitCode !== 0) throw new Error(`kernel build ${args.join(' ')} failed: ${b.stderr.slice(-2000)}`)
  return b.stdout.trim().split('\n').pop() ?? ''
}

const boots = (results: CaseResult[]) => results.filter((r) => r.id === 'boot.kernel-log')
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8')

t.test('the CMA heap warns while it registers: boot.kernel-log fails on the kernel and on the CMA heap, exit 1', async (t) => {
  const image = await build(['--patch', TEST_FAULTS_PATCH])
  t.match(image, /kbuild\/x86_64-[0-9a-f]+\/arch\/x86(_64)?\/boot\/bzImage$/)
  const out = tempOutput('boot-warn')
  const r = await dmaheap(['run', '--kernel', image, '--cma', '16M', '--cmdline', `dma_heap.test_faults=${testFaults.warnAtRegistration}`, '--suite', 'zero-size', '--output', out], 600_000)
  t.equal(r.exitCode, 1, `exit 1: a test failure (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  const [kernel, cma, ...more] = boots(results)
  // The self-built kernels have no KALLSYMS: the trace is addresses, the WARNING line names the file.
  t.match(kernel, { heap: 'kernel', status: 'FAIL', message: /no WARNING, BUG.*observed WARNING: CPU: \d+ PID: \d+ at drivers\/dma-buf\/heaps\/cma_heap\.c:\d+ .*in the code of heap reserved/ })
  t.match(cma, { heap: 'reserved', status: 'FAIL', kernelLog: /cma_heap: test warning while registering the CMA heap reserved\nWARNING: CPU: \d+ PID: \d+ at drivers\/dma-buf\/heaps\/cma_heap\.c:\d+ / })
  t.match(cma?.kernelLog, /Call Trace:\n(.*\n)*---\[ end trace [0-9a-f]+ \]---$/, 'the excerpt holds the trace to its end')
  t.same(more, [], 'not on the system heap or the reference heap')
  t.match(kernel?.checks.find((c) => /tainted/.test(c.label)), { pass: false, observed: /^512 \(W\)$/ }, 'the taint W fails it too')
  t.same(results.filter((x) => x.id !== 'boot.kernel-log' && x.status !== 'PASS'), [], 'the cases themselves pass: the warning was before them')
  t.ok(read(out, 'boot-kernel.log').includes('cma_heap: test warning while registering the CMA heap reserved'), 'boot-kernel.log holds the whole boot')
  const run = JSON.parse(read(out, 'run.json'))
  t.match(run.boot, { log: 'boot-kernel.log', source: 'kernel log', complete: true, taint: { value: 512, flags: 'W', problems: 'W' } })
  t.equal(results.length, plannedCount(out) + 1, 'the plan holds the boot case once (on kernel); the CMA heap\'s comes on top')

  // Every view shows it, and a run folder read again keeps both results.
  t.match(r.stdout, /not ok \d+ - boot\.kernel-log reserved: the kernel printed no report in the code of heap reserved while booting/)
  t.match(read(out, 'results.ktap'), /# Subtest: boot on reserved\n {2}1\.\.1\n( {2}#[^\n]*\n)* {2}# kernel: WARNING: CPU: [^\n]*cma_heap\.c[^\n]*\n( {2}#[^\n]*\n)* {2}not ok 1 boot\.kernel-log\n/)
  t.match(read(out, 'junit.xml'), /<testcase name="boot\.kernel-log \[reserved on qemu-x86_64\]"[^>]*>\s*<failure type="FAIL"[^>]*>[^<]*WARNING: CPU:/)
  const kcidb = JSON.parse(read(out, 'kcidb.json'))
  t.match(kcidb.tests.find((x: { path: string }) => x.path === 'dmaheap.boot.kernel-log.reserved'), { status: 'FAIL', log_excerpt: /heaps\/cma_heap\.c/ })
  t.match(kcidb.tests.find((x: { path: string }) => x.path === 'dmaheap.boot.kernel-log.kernel'), { status: 'FAIL' })
  const html = read(out, 'report.html')
  t.match(html, /<section class="failure" data-case="boot\.kernel-log" data-heap="reserved"[ >]/)
  t.match(html, /id="boot">Kernel at boot: taint <span class="s-FAIL">512: W \(kernel issued warning\) — W fails boot\.kernel-log/)
  t.match(read(out, 'summary.md'), /\| `boot\.kernel-log` \| reserved \| FAIL \|/)
  const again = await dmaheap(['report', out])
  t.equal(again.exitCode, 1, 'dmaheap report: still a failure')
  t.equal(JSON.parse(read(out, 'kcidb.json')).tests.length, results.length, 'no MISS invented for the attributed result')

  // Known boot noise of a platform: listed, the gate passes; unlisted, it fails.
  const cleanOut = tempOutput('boot-clean-x86')
  const clean = await dmaheap(['run', '--kernel', await build(['--arch', 'x86_64']), '--cma', '16M', '--suite', 'zero-size', '--output', cleanOut], 600_000)
  t.equal(clean.exitCode, 0, `the same kernel without the patch passes (stderr: ${clean.stderr.slice(-1500)})`)
  t.match(boots(readResults(cleanOut)), [{ heap: 'kernel', status: 'PASS' }])
  t.equal(boots(readResults(cleanOut)).length, 1)
  const gate = await dmaheap(['compare', cleanOut, out, '--gate'])
  t.equal(gate.exitCode, 1, 'compare --gate: the boot warning is a regression')
  t.match(gate.stdout, /boot\.kernel-log on kernel \(qemu-x86_64\): PASS -> FAIL/)
  const known = join(out, '..', 'known-failures.yaml')
  writeFileSync(known, 'known-failures:\n  - case: boot.kernel-log\n    heaps: [kernel, reserved]\n    kernel: "6.12"\n    reason: this platform\'s CMA heap warns while registering (test patch)\n')
  const explained = await dmaheap(['compare', cleanOut, out, '--gate', '--known-failures', known])
  t.equal(explained.exitCode, 0, `a known failure explains it: the gate passes (${explained.stdout.slice(0, 600)})`)
  t.match(explained.stdout, /boot\.kernel-log on kernel \(qemu-x86_64\): PASS -> FAIL.*\[known: this platform's CMA heap warns/)
})

t.test("Debian's kernel (the default target) passes boot.kernel-log, its taint shown", async (t) => {
  const out = tempOutput('boot-debian')
  const r = await dmaheap(['run', '--suite', 'zero-size', '--output', out], 600_000)
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const [kernel, ...more] = boots(readResults(out))
  t.match(kernel, { heap: 'kernel', status: 'PASS', observations: { 'boot log': /^boot-kernel\.log: \d+ lines from the kernel log$/ } })
  t.same(more, [])
  t.match(read(out, 'boot-kernel.log'), /^Linux version 6\.12\./, 'the boot log from its first line')
  const run = JSON.parse(read(out, 'run.json'))
  t.match(run.boot, { source: 'kernel log', complete: true, taint: { problems: '' } })
  t.ok(existsSync(run.artifacts.bootLog), 'listed with the artifacts')
  t.match(r.stdout, /^# target: taint at boot: \d+/m)
})

t.test('the self-built arm64 kernel passes boot.kernel-log', async (t) => {
  const out = tempOutput('boot-arm64')
  const r = await dmaheap(['run', '--kernel', await build(['--arch', 'arm64']), '--cma', '16M', '--suite', 'zero-size', '--output', out], 600_000)
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  t.match(boots(readResults(out)), [{ heap: 'kernel', status: 'PASS' }])
  t.equal(boots(readResults(out)).length, 1)
  t.match(read(out, 'boot-kernel.log'), /Booting Linux on physical CPU/)
  t.match(JSON.parse(read(out, 'run.json')).boot, { complete: true, taint: { value: 0 } })
})
