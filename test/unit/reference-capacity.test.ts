// The reference heap's capacity: past it the heap refuses with ENOMEM, as a
// carveout does; a closed buffer (by close, or by a child's exit) gives its
// room back; the leak fault's hidden reference keeps holding it. On the
// real x86_64 agent binary on this machine.
import t from 'tap'
import { agentBinary } from '../../core/paths.js'
import { fromWireU64, toWireU64 } from '../../core/protocol.js'
import { spawnAgentProcess } from '../../runners/process.js'

const MiB = 1n << 20n
const { agent } = spawnAgentProcess(agentBinary('x86_64'), [])
t.teardown(() => agent.close())

t.test('heap_open states the capacity; it is reached with ENOMEM and comes back on close', async (t) => {
  const opened = await agent.must('heap_open', { name: 'dmaheap-reference' })
  t.ok(opened.capacity !== undefined, 'heap_open answers the capacity')
  const capacity = fromWireU64(opened.capacity!)
  t.equal(capacity, 64n * MiB)
  const piece = capacity / 4n
  const fds: number[] = []
  for (let i = 0; i < 4; i++) fds.push((await agent.must('alloc', { heap: opened.heap, len: toWireU64(piece) })).fd)
  t.match(await agent.call('alloc', { heap: opened.heap, len: 4096 }), { ok: false, errno: 'ENOMEM' }, 'one page more than the capacity: ENOMEM')
  await agent.must('close', { fd: fds.pop()! })
  const again = await agent.call('alloc', { heap: opened.heap, len: toWireU64(piece) })
  t.ok(again.ok, 'the closed buffer gave its room back')
  if (again.ok) fds.push(again.fd)
  for (const fd of fds) await agent.must('close', { fd })
  const ex = await agent.must('exhaust', { heap: opened.heap, chunk: toWireU64(16n * MiB), time_limit_s: 60 })
  t.match(ex, { stop: 'ENOMEM', chunks: 4 }, 'everything closed: exhaustion gets the whole capacity and a clean ENOMEM')
  const ex2 = await agent.must('exhaust', { heap: opened.heap, chunk: toWireU64(16n * MiB), time_limit_s: 60 })
  t.match(ex2, { stop: 'ENOMEM', chunks: 4 }, "the exhausting child's exit gave it all back")
})

t.test('the leak fault keeps holding its room after close', async (t) => {
  const { heap } = await agent.must('heap_open', { name: 'dmaheap-reference+leak' })
  for (let i = 0; i < 4; i++) await agent.must('close', { fd: (await agent.must('alloc', { heap, len: toWireU64(16n * MiB) })).fd })
  t.match(await agent.call('alloc', { heap, len: toWireU64(16n * MiB) }), { ok: false, errno: 'ENOMEM' }, 'four leaked 16 MiB buffers fill 64 MiB')
})
