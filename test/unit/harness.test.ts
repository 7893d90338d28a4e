// How a case becomes a verdict. The agent here is a stand-in: this tests the
// harness's bookkeeping (pure logic), not a heap.
import t from 'tap'
import { InfraError, UnexpectedErrno } from '../../core/errors.js'
import { runCase, type CaseDef } from '../../suites/harness.js'
import { throwawayParent, unitEnv } from '../support/unit-case.js'

const env = unitEnv({ referenceObservations: () => ({ 'MAP_PRIVATE': 'EINVAL' }) })

function def(run: CaseDef['run'], skip?: CaseDef['skip']): CaseDef {
  return { id: 'unit.case', title: 'a unit case', run, ...(skip ? { skip } : {}) }
}

function observed(run: CaseDef['run']): CaseDef {
  return { id: 'unit.observed', title: 'an observed-only case', observeOnly: true, run }
}

// Each verdict is produced inside its own throwaway parent, so the failures
// the harness is supposed to emit do not fail this test file.
async function verdict(d: CaseDef) {
  const parent = throwawayParent()
  const out = await runCase({ parent, def: d, suite: 'unit', env })
  parent.end()
  return out
}

t.test('all checks pass: PASS', async (t) => {
  const { result } = await verdict(def(async (c) => void c.check.equal('size', 4096n, 4096n)))
  t.equal(result.status, 'PASS')
  t.equal(result.checks.length, 1)
  t.equal(result.id, 'unit.case')
  t.equal(result.heap, 'system')
})

t.test('a failed check: FAIL naming expected and observed', async (t) => {
  const { result } = await verdict(def(async (c) => {
    c.check.equal('size by lseek', 4096n, 8192n)
    c.check.failsWith('ALLOC len=0', { ok: false, errno: 'ENOMEM', errnum: 12 }, 'EINVAL')
  }))
  t.equal(result.status, 'FAIL')
  t.equal(result.message, 'size by lseek: expected 8192, observed 4096')
  t.same(result.checks.map((c) => c.pass), [false, false])
  t.same(result.checks[1], { label: 'ALLOC len=0', pass: false, expected: 'EINVAL', observed: 'ENOMEM' })
})

t.test('a case that checks nothing is never a pass', async (t) => {
  const { result } = await verdict(def(async () => {}))
  t.equal(result.status, 'ERROR')
  t.match(result.message, /made no checks/)
})

t.test('an errno from a call that had to succeed: FAIL', async (t) => {
  const { result } = await verdict(def(async (c) => {
    c.check.equal('first', 1, 1)
    throw new UnexpectedErrno('munmap', 'EINVAL')
  }))
  t.equal(result.status, 'FAIL')
  t.match(result.message, /munmap: expected success, observed EINVAL/)
})

t.test('a lost target: ERROR, and the run is told to stop', async (t) => {
  const { result, infra } = await verdict(def(async () => {
    throw new InfraError('agent link lost: QEMU exited')
  }))
  t.equal(result.status, 'ERROR')
  t.match(result.message, /infrastructure error: agent link lost/)
  t.ok(infra)
})

t.test('cleanups run after a failure, in reverse order', async (t) => {
  const order: string[] = []
  const { result } = await verdict(def(async (c) => {
    c.defer(async () => order.push('close'))
    c.defer(async () => order.push('munmap'))
    c.check.equal('x', 1, 2)
  }))
  t.equal(result.status, 'FAIL')
  t.same(order, ['munmap', 'close'])
})

t.test('skip: SKIP with the reason, body not run', async (t) => {
  let ran = false
  const { result } = await verdict(def(async () => void (ran = true), () => 'no CPU access'))
  t.equal(result.status, 'SKIP')
  t.equal(result.message, 'no CPU access')
  t.notOk(ran)
})

t.test('observed-only: DONE with the observation, never a verdict', async (t) => {
  const { result } = await verdict(observed(async (c) => c.check.observe('MAP_PRIVATE', 'success')))
  t.equal(result.status, 'DONE')
  t.same(result.observations, { MAP_PRIVATE: 'success' })
})

t.test('observed-only with a failed check is still a FAIL', async (t) => {
  const { result } = await verdict(observed(async (c) => {
    c.check.succeeded('ALLOC', { ok: false, errno: 'ENOMEM', errnum: 12 })
    c.check.observe('MAP_PRIVATE', 'EINVAL')
  }))
  t.equal(result.status, 'FAIL')
})
