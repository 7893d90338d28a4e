// Cases give back what they took when they end early: real suite cases
// (zeroing, release, mmap) through runCase, on the reference heap of the
// real x86_64 agent, with one call made to fail part-way. Afterwards every
// fd the case was handed must be closed and every mapping unmapped, so the
// suite's fd-leak check never blames the next case. Only the failure is
// injected: the agent, the heap and the cases are the real ones.
import t from 'tap'
import { throwawayParent } from '../support/unit-case.js'
import { Agent } from '../../core/agent.js'
import { ProtocolError } from '../../core/errors.js'
import type { Op, Outcome, Requests, Responses } from '../../core/protocol.js'
import type { TargetInfo } from '../../core/target.js'
import { agentBinary } from '../../core/paths.js'
import { spawnAgentProcess } from '../../runners/process.js'
import { runCase, type CaseDef, type CaseEnv } from '../../suites/harness.js'
import { mmapSuite } from '../../suites/mmap.js'
import { releaseSuite } from '../../suites/release.js'
import { zeroingSuite } from '../../suites/zeroing.js'

const { agent: real } = spawnAgentProcess(agentBinary('x86_64'), [])
t.teardown(() => real.close())

/** The real agent, but the nth call of one op answers EIO (after running, when `after`). */
class FailingAgent extends Agent {
  readonly fds = new Set<number>()
  readonly maps = new Set<number>()
  private seen = 0

  constructor(
    private readonly inner: Agent,
    private readonly fault: { op: Op; nth: number; after?: boolean },
  ) {
    super(undefined as never)
  }

  override async call<O extends Op>(op: O, req: Requests[O], timeoutMs?: number): Promise<Outcome<Responses[O]>> {
    const fails = op === this.fault.op && ++this.seen === this.fault.nth
    if (fails && !this.fault.after) return { ok: false, errno: 'EIO', errnum: 5 }
    const r = await this.inner.call(op, req, timeoutMs)
    if (r.ok && op === 'alloc') this.fds.add((r as unknown as Responses['alloc']).fd)
    if (r.ok && op === 'mmap') this.maps.add((r as unknown as Responses['mmap']).map)
    return fails ? { ok: false, errno: 'EIO', errnum: 5 } : r
  }
}

async function runFailing(def: CaseDef, fault: { op: Op; nth: number; after?: boolean }) {
  const hello = await real.must('hello', {})
  const { heap } = await real.must('heap_open', { name: 'dmaheap-reference' })
  const agent = new FailingAgent(real, fault)
  const target: TargetInfo = { target: 'local-agent', hello, facts: { disposable: false, destructiveAllowed: false, rawIoctls: true, transport: 'stdio' } }
  const env: CaseEnv = {
    agent,
    heap: { name: 'dmaheap-reference', kind: 'reference' },
    heapHandle: heap,
    target,
    pageSize: BigInt(hello.page_size),
    settings: { destructive: false, destructiveReason: 'test' },
    traits: { cpuAccess: true },
    targetTraits: { vgem: false, importer: false, initOnAlloc: '0', regions: [] },
    referenceObservations: () => undefined,
    earlierObservations: () => undefined,
  }
  const parent = throwawayParent() // the case's own FAIL stays out of this file's count
  const { result } = await runCase({ parent, def, suite: 'unit', env })
  parent.end()
  await real.must('heap_close', { heap })
  return { result, agent }
}

/** What the case was handed and did not give back. */
async function leftBehind(agent: FailingAgent): Promise<string[]> {
  const left: string[] = []
  for (const fd of agent.fds) {
    const r = await real.call('fd_flags', { fd })
    if (r.ok || r.errno !== 'EBADF') left.push(`fd ${fd}`)
  }
  for (const map of agent.maps) {
    const r = await real.call('munmap', { map }).catch((e: unknown) => e)
    if (!(r instanceof ProtocolError && /no mapping/.test(r.message))) left.push(`map ${map}`)
  }
  return left
}

const byId = (suite: { cases: CaseDef[] }, id: string) => suite.cases.find((c) => c.id === id)!

const scenarios: Array<{ what: string; def: CaseDef; fault: { op: Op; nth: number; after?: boolean }; message: RegExp }> = [
  { what: 'zeroing: the 5th dirty buffer\'s fill fails', def: byId(zeroingSuite, 'zeroing.page'), fault: { op: 'fill', nth: 5 }, message: /fill: expected success, observed EIO/ },
  { what: 'zeroing: a check-round verify fails', def: byId(zeroingSuite, 'zeroing.1MiB'), fault: { op: 'verify', nth: 3 }, message: /verify: expected success, observed EIO/ },
  // the munmap ran, then failed: the buffers after it must still be released
  { what: 'zeroing: a munmap while giving the dirty round back fails', def: byId(zeroingSuite, 'zeroing.page'), fault: { op: 'munmap', nth: 2, after: true }, message: /munmap: expected success, observed EIO/ },
  { what: 'release: the fill of the mapped buffer fails', def: byId(releaseSuite, 'release.mapping-holds'), fault: { op: 'fill', nth: 1 }, message: /fill: expected success, observed EIO/ },
  { what: 'mmap: a sub-range verify fails', def: byId(mmapSuite, 'mmap.sub-ranges'), fault: { op: 'verify', nth: 3 }, message: /verify: expected success, observed EIO/ },
]

for (const s of scenarios) {
  t.test(`${s.what}: the case FAILs and leaves no fd or mapping behind`, async (t) => {
    const fdsBefore = (await real.must('count_fds', {})).count
    const { result, agent } = await runFailing(s.def, s.fault)
    t.equal(result.status, 'FAIL')
    t.match(result.message, s.message)
    t.ok(agent.fds.size > 0, `the case was handed buffers (${agent.fds.size})`)
    t.same(await leftBehind(agent), [], 'fds and mappings left behind')
    t.equal((await real.must('count_fds', {})).count, fdsBefore, 'the agent holds as many fds as before the case')
  })
}
