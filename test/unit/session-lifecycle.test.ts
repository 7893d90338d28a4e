// The session lifecycle's recovery policy (bounded recoveries, breaks the
// heap is to blame for never counted, a stopped target never started
// again) against a fake target that only counts its starts (pure logic);
// then the suite runner through the lifecycle on this machine's agent: the
// results after a break carry the fresh session's facts.
import t from 'tap'
import type { Agent } from '../../core/agent.js'
import { InfraError } from '../../core/errors.js'
import type { StartContext, Target, TargetSession } from '../../core/target.js'
import type { SuiteDef } from '../../suites/harness.js'
import { heapsOf } from '../../suites/heaps.js'
import { runSuites } from '../../suites/run.js'
import { parseCompatible } from '../../targets/device-tree.js'
import { SessionLifecycle, stopAllTargets } from '../../targets/lifecycle.js'
import { localTarget } from '../../targets/local.js'
import { throwawayParent } from '../support/unit-case.js'

interface FakeTarget extends Target {
  starts: StartContext[]
  closed: number[]
  /** a start waits for this when set */
  gate?: Promise<void>
  compatible?: string
}

function fakeTarget(): FakeTarget {
  const target: FakeTarget = {
    name: 'fake',
    description: 'a target that only counts its starts',
    starts: [],
    closed: [],
    async start(ctx) {
      target.starts.push(ctx)
      const n = target.starts.length
      await target.gate
      const agent = { call: async () => (target.compatible ? { ok: true, text: target.compatible } : { ok: false, errno: 'ENOENT' }) } as unknown as Agent
      const session: TargetSession = {
        info: { target: 'fake', hello: { release: `6.12.${n}` } as TargetSession['info']['hello'], facts: { disposable: true, destructiveAllowed: true, rawIoctls: true, transport: 'none', bootMs: n } },
        agent,
        artifacts: {},
        consoleTail: () => '',
        close: async () => void target.closed.push(n),
      }
      return session
    },
  }
  return target
}

const ctx = { outputDir: '/nonexistent', log: () => {} }
const broke = new InfraError('agent link lost')

t.test('breaks not pinned on the heap are bounded; those the heap is to blame for never count', async (t) => {
  const l = new SessionLifecycle(fakeTarget(), ctx, { maxRecoveries: 3, reconnectWithinMs: 1000 })
  await l.start()
  const seen = [l.admit(broke, false), l.admit(broke, true), l.admit(broke, false), l.admit(broke, true), l.admit(broke, false)]
  t.same(seen, [{ attempt: ' (1 of 3)' }, { attempt: '' }, { attempt: ' (2 of 3)' }, { attempt: '' }, { attempt: ' (3 of 3)' }])
  const fourth = l.admit(broke, false)
  t.ok('stop' in fourth && fourth.stop instanceof InfraError, 'the fourth unexplained break stops the run')
  t.match('stop' in fourth ? fourth.stop.message : '', /^agent link lost; the target broke 4 times without a kernel crash to show for it, giving up$/)
  t.same(l.admit(broke, true), { attempt: '' }, 'a kernel crash still gets its recovery: the heap gets every case')
  await l.close()
})

t.test('a restart closes the broken session and brings a fresh one with its own facts', async (t) => {
  const target = fakeTarget()
  const said: string[] = []
  const l = new SessionLifecycle(target, { ...ctx, log: (m) => said.push(m) }, { maxRecoveries: 5, reconnectWithinMs: 4321 })
  const first = await l.start()
  t.equal(target.starts[0]!.reconnectWithinMs, undefined, 'a first start fails fast')
  const fresh = await l.restart()
  t.same(target.closed, [1], 'the broken one is closed')
  t.same(said, ['the target broke during a case; starting it again'], 'said on stderr')
  t.equal(target.starts[1]!.reconnectWithinMs, 4321, 'the fresh start may wait for the target to come back')
  t.not(fresh, first)
  t.equal(l.session, fresh)
  t.same([fresh.info.facts.bootMs, fresh.info.hello.release], [2, '6.12.2'], "the fresh session's own facts")
  await l.close()
  t.same(target.closed, [1, 2], 'close ends the session the command ended on')
})

t.test('a stopped lifecycle starts nothing again, and a start in progress is undone', async (t) => {
  const target = fakeTarget()
  const l = new SessionLifecycle(target, ctx)
  await l.start()
  await stopAllTargets()
  t.same(target.closed, [1], 'Ctrl-C closes the running session')
  const after = l.admit(broke, true)
  t.match('stop' in after ? after.stop.message : '', /not started again/, 'no recovery after a stop, even for a kernel crash')
  await t.rejects(l.restart(), InfraError)
  t.equal(target.starts.length, 1)

  let open!: () => void
  const slow = fakeTarget()
  slow.gate = new Promise<void>((r) => (open = r))
  const m = new SessionLifecycle(slow, ctx)
  const starting = m.start()
  const stopping = m.stop()
  t.equal(slow.starts[0]!.signal?.aborted, true, 'the start is told (a board undoes its upload)')
  open()
  await t.rejects(starting, /stopped/)
  await stopping
  t.same(slow.closed, [1], 'what the start made anyway is closed')
})

t.test('the device tree compatible strings become a fact when the target did not state them', async (t) => {
  t.same(parseCompatible('linux,dummy-virt\u0000'), ['linux,dummy-virt'])
  t.same(parseCompatible('radxa,rock-5b\u0000rockchip,rk3588\u0000'), ['radxa,rock-5b', 'rockchip,rk3588'])
  const dt = fakeTarget()
  dt.compatible = 'radxa,rock-5b\u0000rockchip,rk3588\u0000'
  const l = new SessionLifecycle(dt, ctx)
  t.same((await l.start()).info.facts.compatible, ['radxa,rock-5b', 'rockchip,rk3588'])
  await l.close()
  const none = new SessionLifecycle(fakeTarget(), ctx)
  t.equal((await none.start()).info.facts.compatible, undefined, 'no device tree, no fact')
  await none.close()
})

t.test('after a break, the run goes on with the next case on the fresh session, and its results carry its facts', async (t) => {
  // This machine's agent (the addon), each session saying which one it is.
  let n = 0
  const local: Target = {
    name: 'unit-local',
    description: 'the local target, numbered',
    async start(c) {
      const s = await localTarget.start(c)
      n++
      return { ...s, info: { ...s.info, hello: { ...s.info.hello, release: `session-${n}` }, facts: { ...s.info.facts, bootMs: n } } }
    },
  }
  const lifecycle = new SessionLifecycle(local, ctx)
  const session = await lifecycle.start()
  const suite: SuiteDef = {
    name: 'unit',
    description: 'a break, then a case after it',
    cases: [
      {
        id: 'unit.breaks',
        title: 'loses the link on the first session',
        async run(c) {
          if (c.target.hello.release === 'session-1') throw new InfraError('agent link lost (provoked)')
        },
      },
      { id: 'unit.after', title: 'runs on whatever session there is', run: async (c) => void c.check.ok('ran', true, { expected: 'to run', observed: 'ran' }) },
    ],
  }
  const results: { id: string; kernel: string; status: string }[] = []
  const outcome = await runSuites({
    root: throwawayParent(),
    session,
    suites: [suite],
    heaps: heapsOf([]),
    settings: { destructive: false, destructiveReason: 'unit' },
    recovery: lifecycle,
    bootCase: false,
    onResult: (r) => results.push({ id: r.id, kernel: r.kernel, status: r.status }),
  })
  await lifecycle.close()
  t.equal(outcome.infra, undefined, 'the run did not stop')
  t.same(results, [
    { id: 'unit.breaks', kernel: 'session-1', status: 'ERROR' },
    { id: 'unit.after', kernel: 'session-2', status: 'PASS' },
    { id: 'unit.no-fd-leak', kernel: 'session-2', status: 'PASS' },
  ])
  t.equal(outcome.session.info.facts.bootMs, 2, 'the outcome is the fresh session, with its facts')
  t.equal(outcome.session, lifecycle.session)
})
