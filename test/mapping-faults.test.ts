// A heap whose buffer is missing pages makes a touch of its mapping raise a
// real SIGBUS. That must be a FAIL of the case naming the op and the page,
// with the process that touched it alive: Node itself on the local target
// (the addon), the agent on a QEMU guest. The reference heap's `holes`
// fault profile cuts each buffer's memfd back to its first page.
import t, { type Test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentBinary } from '../core/paths.js'
import type { CaseResult } from '../core/result.js'
import { spawnAgentProcess } from '../runners/process.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

const HEAP = 'dmaheap-reference+holes'
const PAGE_FAULT = /page 1 of \d+ of the mapping raised SIGBUS \(offset 4096, address 0x[0-9a-f]+\)/

/** The cases that map and touch more than one page, and the ones that stay within one. */
const MULTI_PAGE = [/^alloc\.size\.(4097|8191|12288|65535|65536|65537|1048576|1048577|2097152|16777215|16777216)$/, /^mmap\.sub-ranges$/]
const ONE_PAGE = [/^alloc\.size\.(1|4095|4096)$/, /^alloc\.threads\.100$/, /^mmap\.(mremap-grow|touch-past-end)$/]

function checkRun(t: Test, r: { exitCode?: number; stderr: string; stdout: string }, out: string): CaseResult[] {
  t.equal(r.exitCode, 1, `exit 1: a test failed, not an infrastructure error (stderr: ${r.stderr.slice(-1500)})`)
  const all = readResults(out)
  // A suite may name its own heaps in the plan (one run on the kernel itself).
  const plan = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { plan: { heaps: string[]; suites: Array<{ cases: string[]; heaps?: string[] }> } }).plan
  const planned = plan.suites.flatMap((s) => (s.heaps ?? plan.heaps).flatMap((h) => s.cases.map((id) => `${id} ${h}`)))
  t.same(planned.filter((p) => !all.some((x) => `${x.id} ${x.heap}` === p)), [], `each of the ${planned.length} planned cases has a result`)
  t.same(all.filter((x) => x.status === 'ERROR' || x.status === 'MISS'), [], 'no ERROR and no MISS')
  const results = all.filter((x) => x.heap === HEAP)
  t.ok(results.length > 0, `results on ${HEAP}`)
  for (const x of results.filter((x) => MULTI_PAGE.some((re) => re.test(x.id)))) {
    t.equal(x.status, 'FAIL', `${x.id} fails`)
    t.match(x.message, new RegExp(`^fill: expected success, observed SIGBUS: ${PAGE_FAULT.source}$`), `${x.id} names the op and the page: ${x.message}`)
  }
  for (const x of results.filter((x) => ONE_PAGE.some((re) => re.test(x.id)))) t.equal(x.status, 'PASS', `${x.id} (one page) passes`)
  t.notMatch(r.stderr + r.stdout, /agent link lost|restarted|killed by SIG/, 'the target was never lost nor restarted')
  return results
}

t.test('local target: fill on a buffer with missing pages FAILs the case and Node lives on', async (t) => {
  const out = tempOutput('holes-local')
  const r = await dmaheap(['run', '--target', 'local', '--suite', 'alloc', '--suite', 'mmap', '--reference-faults', 'holes', '--output', out])
  const results = checkRun(t, r, out)
  t.equal(results.filter((x) => x.status === 'FAIL').length, 12, '12 multi-page cases fail (11 alloc sizes, mmap.sub-ranges)')
  t.match(r.stdout, /^\s+not ok \d+ - alloc\.size\.4097 dmaheap-reference\+holes: fill: expected success, observed SIGBUS: page 1 of 2 /m, 'the TAP line names the page')
})

t.test('the agent answers a faulting touch as a failure and stays alive', async (t) => {
  const bin = agentBinary('x86_64')
  t.ok(existsSync(bin), 'the x86_64 agent is built (npm run build)')
  const { agent } = spawnAgentProcess(bin, [])
  t.teardown(() => agent.close())
  const { pid } = await agent.must('hello', {})
  const { heap } = await agent.must('heap_open', { name: HEAP })
  const fdsBefore = (await agent.must('count_fds', {})).count

  const { fd } = await agent.must('alloc', { heap, len: 3 * 4096 })
  t.match(await agent.must('buf_size', { fd }), { size: 3 * 4096 }, 'lseek still gives the whole buffer')
  const { map } = await agent.must('mmap', { fd, len: 3 * 4096 })
  t.match(await agent.must('fill', { map, pattern: 'const', byte: 7, len: 4096 }), { ns: Number }, 'the first page is there')
  const fill = await agent.call('fill', { map, pattern: 'prng', seed: 1 })
  t.match(fill, { ok: false, errno: 'SIGBUS', errnum: 0, fault: /^page 1 of 3 of the mapping raised SIGBUS \(offset 4096, address 0x/ }, 'fill')
  const verify = await agent.call('verify', { map, pattern: 'const', byte: 0, offset: 8192 })
  t.match(verify, { ok: false, errno: 'SIGBUS', fault: /^page 2 of 3 of the mapping raised SIGBUS \(offset 8192,/ }, 'verify of the third page names it')
  await agent.must('munmap', { map })
  await agent.must('close', { fd })

  const threads = await agent.call('alloc_threads', { heap, len: 2 * 4096, threads: 8 })
  t.match(threads, { ok: false, errno: 'SIGBUS', errnum: 0, fault: /^thread \d of 8: page 1 of 2 of the mapping raised SIGBUS/ }, 'alloc_threads: the thread that faulted says so')
  for (const kind of ['fault', 'sync'] as const) {
    const b = await agent.call('bench', { kind, heap, len: 4 * 4096, budget_ms: 50 })
    t.match(b, { ok: false, errno: 'SIGBUS', fault: PAGE_FAULT }, `bench ${kind}`)
  }
  t.equal((await agent.must('count_fds', {})).count, fdsBefore, 'every buffer was closed (threads joined, nothing leaked)')
  t.equal((await agent.must('hello', {})).pid, pid, 'the same agent process answers')
  const one = await agent.must('alloc_threads', { heap, len: 4096, threads: 8 })
  t.match(one, { ok: 8, first_errno: 'none' }, 'one-page buffers still work in threads')
})

t.test('QEMU target: the guest agent survives and the cases FAIL', async (t) => {
  const out = tempOutput('holes-qemu')
  const r = await dmaheap(['run', '--suite', 'alloc', '--heap', HEAP, '--reference-faults', 'holes', '--output', out], 600_000)
  const results = checkRun(t, r, out)
  t.equal(results.filter((x) => x.status === 'FAIL').length, 11, 'the 11 multi-page alloc sizes fail')
})
