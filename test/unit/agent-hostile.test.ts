// The real x86_64 agent under input a broken or hostile host could send: one
// reply per request line whatever the line holds, and a thread it cannot
// start is an errno in the reply, never a dead agent.
import t, { type Test } from 'tap'
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { agentBinary } from '../../core/paths.js'
import { spawnAgentProcess } from '../../runners/process.js'

const bin = agentBinary('x86_64')

/** Feeds the agent these bytes on stdin and returns the lines it answered. */
async function replies(t: Test, input: string): Promise<Array<Record<string, unknown>>> {
  const r = await execa(bin, [], { input, reject: false, timeout: 60_000, maxBuffer: 64 << 20 })
  t.equal(r.exitCode, 0, `the agent ends cleanly at EOF${r.stderr ? `: ${r.stderr}` : ''}`)
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

t.test('a request line over the 1 MiB limit gets exactly one reply, and the next request its own', async (t) => {
  const long = `{"id":7,"op":"hello","pad":"${'x'.repeat(1536 * 1024)}"}`
  const got = await replies(t, `${long}\n{"id":8,"op":"hello"}\n`)
  t.equal(got.length, 2, 'two lines in, two replies out')
  t.match(got[0], { id: 7, ok: false, error: /request line too long/ }, 'the long line is refused under its own id')
  t.match(got[1], { id: 8, ok: true, protocol: 1 }, 'the next request is answered as itself')
})

t.test('a line of exactly the limit is a request; one byte more is too long', async (t) => {
  const line = (n: number, id: number) => {
    const head = `{"id":${id},"op":"hello","pad":"`
    return `${head}${'y'.repeat(n - head.length - 2)}"}`
  }
  const got = await replies(t, `${line(1 << 20, 1)}\n${line((1 << 20) + 1, 2)}\n{"id":3,"op":"hello"}\n`)
  t.equal(got.length, 3)
  t.match(got[0], { id: 1, ok: true })
  t.match(got[1], { id: 2, ok: false, error: /too long/ })
  t.match(got[2], { id: 3, ok: true })
})

t.test('malformed lines each get one reply, under the id they start with', async (t) => {
  const lines = [
    '{"id":1,"op":"hello",}', // trailing comma
    '{"id":2,"op":"hello","x":{"nested":1}}',
    '{"id":3,"op":"hello","s":"\\u0000"}',
    '{"id":-4,"op":"hello"}', // echoed raw, this made the reply invalid JSON
    '{"id":5e0,"op":"hello"}',
    'not json at all',
    '{"id":6,"op":"alloc","heap":1,"len":"010x"}',
    '{"id":7,"op":"hello"}',
  ]
  const got = await replies(t, `${lines.join('\n')}\n\n`)
  t.equal(got.length, lines.length, 'one reply per line; the empty line is no request')
  t.same(
    got.map((r) => r.id),
    [1, 2, 3, null, null, null, 6, 7],
  )
  t.ok(
    got.slice(0, -1).every((r) => r.ok === false && typeof r.error === 'string'),
    'every malformed line is refused with a reason',
  )
  t.match(got.at(-1), { ok: true })
})

t.test('under RLIMIT_NPROC a thread that cannot start is EAGAIN in the reply; the agent lives on', async (t) => {
  t.equal(process.getuid?.(), 0, 'the test runs as root, to start the agent as nobody (root ignores RLIMIT_NPROC)')
  // nobody may read a copy in a folder of its own
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-nproc-'))
  chmodSync(dir, 0o755)
  const copy = join(dir, 'dmaheap-agent')
  copyFileSync(bin, copy)
  chmodSync(copy, 0o755)
  // 3 tasks for nobody: the agent and two threads; the third thread fails.
  const { agent } = spawnAgentProcess('prlimit', ['--nproc=3', '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', copy])
  t.teardown(() => agent.close())
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference' })
  t.match(await agent.call('alloc_threads', { heap, len: 4096, threads: 8 }), { ok: false, errno: 'EAGAIN', errnum: 11 }, 'alloc_threads')
  t.match(await agent.call('bench', { kind: 'threads', heap, len: 4096, budget_ms: 5, threads: 8 }), { ok: false, errno: 'EAGAIN' }, 'bench threads')
  // the threads that did start were let go: two of them still fit
  t.match(await agent.must('alloc_threads', { heap, len: 4096, threads: 2 }), { ok: 2, threads: 2, first_errno: 'none' }, 'as many threads as the limit allows run')
  t.match(await agent.must('hello', {}), { protocol: 1 }, 'the agent still answers')
})

t.test('munmap after mremap shrank a mapping unmaps only what is still the mapping\'s', async (t) => {
  // Anonymous shared mappings (MAP_SHARED|MAP_ANONYMOUS): the fd is ignored.
  const anon = { fd: 1000, flags: 0x21 }
  const got = await replies(t, [
    { id: 1, op: 'mmap', ...anon, len: 65536 },
    { id: 2, op: 'mremap', map: 1, new_len: 4096, may_move: false },
    // the tail mremap gave back is free address space: the next mapping may land there
    { id: 3, op: 'mmap', ...anon, len: 4096 },
    { id: 4, op: 'munmap', map: 1 },
    { id: 5, op: 'fill', map: 2, pattern: 'const', byte: 1 },
  ].map((r) => `${JSON.stringify(r)}\n`).join(''))
  t.same(got.map((r) => r.ok), [true, true, true, true, true], JSON.stringify(got.at(-1)))
})
