// The real x86_64 agent binary on this machine, over its stdin/stdout: the
// protocol, and the reference heap's contract (no /dev/dma_heap needed).
import t from 'tap'
import { existsSync } from 'node:fs'
import { agentBinary } from '../../core/paths.js'
import { spawnAgentProcess } from '../../runners/process.js'
import { ProtocolError } from '../../core/errors.js'
import { toWireU64 } from '../../core/protocol.js'
import { U64_MAX } from '../../suites/buffers.js'

const bin = agentBinary('x86_64')
t.ok(existsSync(bin), 'the x86_64 agent is built (npm run build)')

const { agent } = spawnAgentProcess(bin, [])
t.teardown(() => agent.close())

t.test('hello names the protocol and the reference heap', async (t) => {
  const h = await agent.must('hello', {})
  t.equal(h.protocol, 1)
  t.equal(h.reference_heap, 'dmaheap-reference')
  t.equal(h.machine, 'x86_64')
})

t.test('malformed requests are protocol errors, not errnos', async (t) => {
  await t.rejects(agent.call('no_such_op' as never, {} as never), ProtocolError)
  await t.rejects(agent.call('alloc', { heap: 99, len: 1 }), /no open heap/)
  await t.rejects(agent.call('alloc', { heap: 1, len: -5 } as never), ProtocolError)
})

t.test('the reference heap follows the ALLOC contract, errno by name', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference' })
  const alloc = (extra: object) => agent.call('alloc', { heap, len: 4096, ...extra })
  t.match(await alloc({ len: 0 }), { ok: false, errno: 'EINVAL', errnum: 22 }, 'len 0')
  t.match(await alloc({ len: toWireU64(U64_MAX) }), { ok: false, errno: 'EINVAL' }, 'len 2^64-1 wraps to 0')
  t.match(await alloc({ len: toWireU64(U64_MAX - 4095n + 1n) }), { ok: false, errno: 'EINVAL' }, 'len 2^64-4095 wraps')
  t.match(await alloc({ fd_flags: 'O_RDWR|O_NONBLOCK' }), { ok: false, errno: 'EINVAL' }, 'O_NONBLOCK')
  t.match(await alloc({ heap_flags: 1 }), { ok: false, errno: 'EINVAL' }, 'heap_flags')
  t.match(await alloc({ fd_in: 3 }), { ok: false, errno: 'EINVAL' }, 'nonzero .fd')
  t.match(await alloc({ nr: 1 }), { ok: false, errno: 'EINVAL' }, 'unknown ioctl nr')
  t.match(await alloc({ len: toWireU64(1n << 62n) }), { ok: false, errno: 'ENOMEM' }, 'impossible size')
  const ok = await agent.must('alloc', { heap, len: 4097 })
  t.equal((await agent.must('buf_size', { fd: ok.fd })).size, 8192)
  t.match(await agent.must('fd_flags', { fd: ok.fd }), { cloexec: true, accmode: 'O_RDWR' })
  await agent.must('close', { fd: ok.fd })
  const ro = await agent.must('alloc', { heap, len: 4096, fd_flags: 'O_RDONLY' })
  t.match(await agent.must('fd_flags', { fd: ro.fd }), { cloexec: false, accmode: 'O_RDONLY' })
  t.match(await agent.call('mmap', { fd: ro.fd, len: 4096, prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED' }), {
    ok: false,
    errno: 'EACCES',
  })
  await agent.must('close', { fd: ro.fd })
})

t.test('fill and verify in native loops; a mismatch names the first bad byte', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference' })
  const { fd } = await agent.must('alloc', { heap, len: 1 << 20 })
  const { map } = await agent.must('mmap', { fd, len: 1 << 20 })
  t.match(await agent.must('verify', { map, pattern: 'const', byte: 0 }), { mismatches: 0, checked: 1 << 20 }, 'zeroed')
  await agent.must('fill', { map, pattern: 'prng', seed: 42 })
  t.match(await agent.must('verify', { map, pattern: 'prng', seed: 42 }), { mismatches: 0 })
  // A sub-range mapping shows the same bytes as the full one at its offset.
  const sub = await agent.must('mmap', { fd, len: 8192, offset: 65536 })
  t.match(await agent.must('verify', { map: sub.map, pattern: 'prng', seed: 42, base: 65536 }), { mismatches: 0 })
  await agent.must('fill', { map, pattern: 'const', byte: 7, offset: 1000, len: 1 })
  t.match(await agent.must('verify', { map, pattern: 'prng', seed: 42 }), { mismatches: 1, first_bad: 1000, observed: 7 })
  await agent.must('munmap', { map: sub.map })
  await agent.must('munmap', { map })
  await agent.must('close', { fd })
})

t.test('a fault in a probe kills a forked child, never the agent', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference' })
  const { fd } = await agent.must('alloc', { heap, len: 4096 })
  // Mapping past the end of a buffer is refused, as dma_buf_mmap_internal does.
  t.match(await agent.call('mmap', { fd, len: 8192 }), { ok: false, errno: 'EINVAL' })
  const { map } = await agent.must('mmap', { fd, len: 4096 })
  t.match(await agent.must('probe', { map, offset: 4095 }), { signal: null, value: 0 })
  // The page after every mapping is a PROT_NONE guard: one byte past the end faults.
  t.match(await agent.must('probe', { map, offset: 4096 }), { signal: 'SIGSEGV' })
  t.match(await agent.must('probe', { map, offset: 4096, access: 'write' }), { signal: 'SIGSEGV' })
  t.match(await agent.must('hello', {}), { protocol: 1 }, 'the agent is still alive')
  t.match(await agent.call('mremap', { map, new_len: 8192 }), { ok: false, errno: 'EFAULT' }, 'no growth')
  await agent.must('munmap', { map })
  await agent.must('close', { fd })
})

t.test('a fault profile breaks exactly its rule', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference+nozero' })
  const a = await agent.must('alloc', { heap, len: 4096 })
  const m = await agent.must('mmap', { fd: a.fd, len: 4096 })
  await agent.must('fill', { map: m.map, pattern: 'const', byte: 0xee })
  await agent.must('munmap', { map: m.map })
  await agent.must('close', { fd: a.fd })
  const b = await agent.must('alloc', { heap, len: 4096 })
  const m2 = await agent.must('mmap', { fd: b.fd, len: 4096 })
  t.match(await agent.must('verify', { map: m2.map, pattern: 'const', byte: 0 }), { mismatches: 4096, observed: 0xee }, 'dirty memory handed out again')
  await agent.must('munmap', { map: m2.map })
  await agent.must('close', { fd: b.fd })
  await t.rejects(agent.call('heap_open', { name: 'dmaheap-reference+nosuchfault' }), /unknown reference heap fault/)
})

t.test('native loops: repeat, threads, exhaustion in a sacrificial child', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference' })
  t.match(await agent.must('alloc_repeat', { heap, len: 4096, count: 1024 }), { done: 1024, first_errno: 'none' })
  t.match(await agent.must('alloc_threads', { heap, len: 4096, threads: 100 }), { ok: 100, threads: 100, first_errno: 'none' })
  const before = (await agent.must('count_fds', {})).count
  t.match(await agent.must('exhaust', { heap, chunk: 1 << 20, budget: 64 << 20 }), { bytes: 64 << 20, chunks: 64, stop: 'budget' })
  t.equal((await agent.must('count_fds', {})).count, before, 'the child took its buffers with it')
})
