// `dmaheap parse` and the KTAP/TAP reader: the upstream selftest's real logs
// of both generations (test/fixtures/kselftest/README.md says how they were
// made), then the reader's rules on small inputs, the compare classifier and
// kernel ranges. No target involved.
import t from 'tap'
import { join } from 'node:path'
import { parseTap } from '../../suites/ktap-parse.js'
import { kselftestResults } from '../../suites/kselftest-results.js'
import { classify } from '../../reports/compare.js'
import { inRange, rangeProblem } from '../../core/kernel-range.js'
import { referenceDiff } from '../../reports/reference-diff.js'
import { withMissing } from '../../reports/run-data.js'
import type { CaseResult } from '../../core/result.js'
import type { RunRecord } from '../../core/run-record.js'
import { dmaheap, repo } from '../helpers.js'

const fixture = (name: string) => join(repo, 'test', 'fixtures', 'kselftest', name)
const lines = (s: string) => s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CaseResult)

t.test('real KTAP log of the dmabuf-heaps selftest: 11 points on the system heap, stable ids', async (t) => {
  const r = await dmaheap(['parse', fixture('dmabuf-heap-ktap.qemu-debian-6.12.log'), '--target', 'qemu-x86_64', '--kernel', '6.12.117'])
  t.equal(r.exitCode, 0)
  const results = lines(r.stdout)
  t.equal(results.length, 11)
  t.ok(results.every((x) => x.status === 'PASS' && x.heap === 'system' && x.suite === 'kselftest' && x.kernel === '6.12.117'))
  const ids = results.map((x) => x.id)
  t.equal(new Set(ids).size, 11, 'repeated names get unique ids')
  t.equal(ids[0], 'kselftest.01-import_buffer', 'the return value is not part of the id')
  t.equal(ids[10], 'kselftest.11-error_expected_on_invalid_heap_flags')
  t.match(r.stderr, /dmaheap: PASS: 11 pass/)
})

t.test('real free-text log (before the ksft conversion): 6 tests on the system heap', async (t) => {
  const r = await dmaheap(['parse', fixture('dmabuf-heap-freetext.qemu-debian-6.12.log')])
  t.equal(r.exitCode, 0)
  const results = lines(r.stdout)
  t.same(results.map((x) => [x.id, x.heap, x.status]), [
    ['kselftest.01-allocation_and_importing', 'system', 'PASS'],
    ['kselftest.02-alloced_4k_buffers_are_zeroed', 'system', 'PASS'],
    ['kselftest.03-alloced_1024k_buffers_are_zeroed', 'system', 'PASS'],
    ['kselftest.04-theoretical_older_alloc_compat', 'system', 'PASS'],
    ['kselftest.05-theoretical_newer_alloc_compat', 'system', 'PASS'],
    ['kselftest.06-expected_error_cases', 'system', 'PASS'],
  ])
})

t.test('real logs without /dev/dma_heap: the KTAP generation skips, the free-text one is an error, never a pass', async (t) => {
  const skip = await dmaheap(['parse', fixture('dmabuf-heap-ktap.no-dma-heap.log'), '--exit-status', '4'])
  t.equal(skip.exitCode, 0)
  t.match(lines(skip.stdout), [{ status: 'SKIP', message: /KSFT_SKIP\): No \/dev\/dma_heap directory\?/ }])
  const unknown = await dmaheap(['parse', fixture('dmabuf-heap-ktap.no-dma-heap.log')])
  t.equal(unknown.exitCode, 2, 'with no exit status, a log without a test point is not a pass')
  t.match(lines(unknown.stdout), [{ status: 'ERROR', message: /no test point was printed/ }])
  const old = await dmaheap(['parse', fixture('dmabuf-heap-freetext.no-dma-heap.log'), '--exit-status', '255'])
  t.equal(old.exitCode, 2)
  t.match(lines(old.stdout), [{ status: 'ERROR', message: 'the program exited with 255: No /dev/dma_heap directory?' }])
  const none = await dmaheap(['parse', fixture('README.md')])
  t.equal(none.exitCode, 2)
  t.match(none.stderr, /^dmaheap: error: .*README\.md holds no TAP or KTAP result line/m)
  const missing = await dmaheap(['parse', fixture('no-such.log')])
  t.equal(missing.exitCode, 2)
})

t.test('KTAP: 2-space nesting, directives, diagnostics, printk lines ignored', async (t) => {
  const log = parseTap(`KTAP version 1
1..2
  KTAP version 1
  # Subtest: alloc on system
  1..3
  # expected 4096, observed 8192
  not ok 1 alloc.size.1
[   12.345] dma_heap: some printk line
  ok 2 alloc.size.2 # SKIP not here
  ok 3 alloc.size.3 # TIMEOUT 45 seconds
not ok 1 alloc on system
ok 2 lonely # XFAIL known
`)
  t.equal(log.version, 'KTAP version 1')
  t.equal(log.plan, 2)
  t.equal(log.tests.length, 2)
  const [group, lonely] = log.tests
  t.equal(group!.subtests.length, 3)
  t.match(group!.subtests[0], { ok: false, name: 'alloc.size.1', diagnostics: ['expected 4096, observed 8192'] })
  t.match(group!.subtests[1], { ok: true, directive: 'SKIP', reason: 'not here' })
  t.match(group!.subtests[2], { directive: 'TIMEOUT' })
  t.match(lonely, { ok: true, directive: 'XFAIL' })
  const results = kselftestResults(`KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: alloc on system\n  1..2\n  not ok 1 alloc.size.1\n  ok 2 mmap.private # DONE observed only\nnot ok 1 alloc on system\n`, { target: 'x', kernel: 'k' })
  t.same(results.map((r) => [r.suite, r.heap, r.id, r.status]), [
    ['alloc', 'system', 'alloc.size.1', 'FAIL'],
    ['alloc', 'system', 'mmap.private', 'DONE'],
  ], 'our own KTAP reads back by suite, heap and id')
})

t.test('TAP 14 4-space nesting and kselftest runner "# " nesting', async (t) => {
  const tap14 = parseTap('TAP version 14\n1..1\n# Subtest: a\n    ok 1 - x\n    not ok 2 - y\n    1..2\nnot ok 1 - a\n')
  t.same(tap14.tests[0]!.subtests.map((s) => [s.name, s.ok]), [['x', true], ['y', false]])
  const ksft = parseTap(`TAP version 13
1..1
# timeout set to 45
# selftests: dmabuf-heaps: dmabuf-heap
# TAP version 13
# 1..2
# # Testing heap: system
# ok 1 Import buffer 0
# not ok 2 Allocate and validate all buffers are zeroed
# # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0
not ok 1 selftests: dmabuf-heaps: dmabuf-heap # exit=1
`)
  t.equal(ksft.tests.length, 1)
  t.match(ksft.tests[0], { ok: false, name: 'selftests: dmabuf-heaps: dmabuf-heap', reason: 'exit=1' })
  t.same(ksft.tests[0]!.subtests.map((s) => [s.name, s.ok]), [['Import buffer 0', true], ['Allocate and validate all buffers are zeroed', false]])
})

t.test('a bail out leaves the planned points not run (MISS), and a failing free-text test is a FAIL', async (t) => {
  const r = kselftestResults('TAP version 13\n1..4\n# Testing heap: system\nok 1 Import buffer 0\nBail out! open /dev/dma_heap/x failed: Permission denied\n', { target: 'x', kernel: 'k' })
  t.same(r.map((x) => x.status), ['PASS', 'MISS', 'MISS', 'MISS'])
  t.match(r[1], { message: 'not run: the program bailed out: open /dev/dma_heap/x failed: Permission denied' })
  const old = kselftestResults('Testing heap: reserved\n=====\n  Testing allocation and importing:   OK\n  Testing alloced 4k buffers are zeroed:  FAIL (Allocated buffer not zeroed @ 12)\n', { target: 'x', kernel: 'k' })
  t.same(old.map((x) => [x.heap, x.status, x.message]), [['reserved', 'PASS', undefined], ['reserved', 'FAIL', 'Allocated buffer not zeroed @ 12']])
  const cut = kselftestResults('Testing heap: system\n  Testing allocation and importing:  ', { target: 'x', kernel: 'k' })
  t.match(cut, [{ status: 'ERROR', message: /printed no verdict/ }], 'a test that printed no verdict is not a pass')
})

t.test('compare classes', async (t) => {
  t.equal(classify(['PASS'], 'FAIL'), 'regression')
  t.equal(classify(['PASS', 'DONE'], 'ERROR'), 'regression')
  t.equal(classify(['FAIL'], 'PASS'), 'fixed')
  t.equal(classify(['FAIL'], 'FAIL'), 'persistent-failure')
  t.equal(classify(['PASS', 'FAIL'], 'PASS'), 'unstable')
  t.equal(classify([], 'FAIL'), 'new')
  t.equal(classify(['SKIP'], 'PASS'), 'new', 'no verdict before is new')
  t.equal(classify(['PASS'], undefined), 'missing')
  t.equal(classify(['PASS'], 'MISS'), 'missing')
  t.equal(classify(['PASS'], 'PASS'), 'unchanged')
})

t.test('kernel ranges', async (t) => {
  t.ok(inRange('6.12.117+deb12-amd64', '6.12'))
  t.notOk(inRange('6.1.12', '6.12'), '6.1.12 is not in the 6.12 series')
  t.ok(inRange('6.12.117', '>=6.1 <6.13'))
  t.notOk(inRange('6.13.0', '>=6.1 <6.13'))
  t.notOk(inRange('unknown', '>=6.1'))
  t.equal(rangeProblem('>=6.1 <6.13'), undefined)
  t.match(rangeProblem('6.x'), /"6\.x" is not a version comparator/)
})

const result = (heap: string, id: string, status: CaseResult['status'], extra: Partial<CaseResult> = {}): CaseResult => ({ id, suite: id.split('.')[0]!, heap, target: 't', kernel: 'k', status, checks: [], durationMs: 1, ...extra })

t.test('reference diff rules', async (t) => {
  const ref = 'dmaheap-reference'
  const diff = referenceDiff([
    result(ref, 'a.x', 'PASS', { checks: [{ label: 'exp_name', pass: true, expected: ref, observed: ref }, { label: 'errno', pass: true, expected: 'EINVAL', observed: 'EINVAL' }] }),
    result('cma', 'a.x', 'FAIL', { checks: [{ label: 'exp_name', pass: true, expected: 'cma', observed: 'cma' }, { label: 'errno', pass: false, expected: 'EINVAL', observed: 'success' }] }),
    result(ref, 'a.fd', 'PASS', { checks: [{ label: 'fds', pass: true, expected: 5, observed: 5 }] }),
    result('cma', 'a.fd', 'PASS', { checks: [{ label: 'fds', pass: true, expected: 6, observed: 6 }] }),
    result(ref, 'm.private', 'DONE', { observations: { 'MAP_PRIVATE': 'EINVAL' } }),
    result('cma', 'm.private', 'DONE', { observations: { 'MAP_PRIVATE': 'success' } }),
  ])
  t.same(diff.map((d) => [d.id, d.kind, d.label, d.observed, d.reference]), [
    ['a.x', 'verdict', 'status', 'FAIL', 'PASS'],
    ['a.x', 'check', 'errno', 'success', 'EINVAL'],
    ['m.private', 'observation', 'MAP_PRIVATE', 'success', 'EINVAL'],
  ], 'the heap\'s own name and fd numbers are not differences; verdicts, errnos and observations are')
})

t.test('MISS from the plan', async (t) => {
  const run = { target: { target: 't', hello: { release: 'k' } }, summary: { counts: {}, infraError: 'agent lost' }, plan: { heaps: ['r', 's'], suites: [{ name: 'a', cases: ['a.1', 'a.2'] }] } } as unknown as RunRecord
  const out = withMissing([result('r', 'a.1', 'PASS')], run)
  t.same(out.map((r) => [r.heap, r.id, r.status]), [['r', 'a.1', 'PASS'], ['r', 'a.2', 'MISS'], ['s', 'a.1', 'MISS'], ['s', 'a.2', 'MISS']])
  t.match(out[1], { message: 'not run: the run stopped at an infrastructure error: agent lost' })
})
