// Results as LAVA test cases: names within LAVA's rules (no whitespace, `/`
// replaced, at most 100 characters, stable), every status mapped, one test
// set per suite, and the cases read back from lava-run's log lines giving
// the same verdicts.
import t from 'tap'
import type { CaseResult, CaseStatus } from '../../core/result.js'
import { heapVerdict } from '../../core/result.js'
import { fromLava, lavaServerResults, LAVA_NAME_MAX, lavaCaseName, lavaName, lavaResult, lavaResultTxt, lavaRunResults, lavaSignals } from '../../reports/lava.js'
import { SUITES } from '../../suites/index.js'

const result = (over: Partial<CaseResult>): CaseResult => ({ id: 'alloc.size.4097', suite: 'alloc', heap: 'system', target: 'qemu-x86_64', kernel: '6.12.0', status: 'PASS', checks: [], durationMs: 3, ...over })

t.test('names: LAVA\'s alphabet, at most 100 characters, stable and distinct', async (t) => {
  t.equal(lavaCaseName(result({})), 'alloc.size.4097.system')
  t.equal(lavaName('a b\tc/d,e@f'), 'a_b_c_d_e_f', 'whitespace, / and other characters become _')
  t.equal(lavaName(''), '_')
  const long = `x.${'y'.repeat(120)}`
  t.equal(lavaName(long).length, LAVA_NAME_MAX)
  t.equal(lavaName(long), lavaName(long), 'the same name every run')
  t.not(lavaName(long), lavaName(`${long}z`), 'two long names stay apart')
  // Every case the suites have, on a heap with a comma in its name: within the rules.
  for (const s of SUITES) {
    for (const c of s.cases) {
      const n = lavaCaseName({ id: c.id, heap: 'linux,cma' })
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(n)) t.fail(`${c.id}: ${n}`)
    }
  }
})

t.test('statuses: PASS/FAIL/SKIP as such, ERROR and MISS unknown, DONE pass, known failures by the heap\'s verdict', async (t) => {
  const all: Record<CaseStatus, string> = { PASS: 'pass', FAIL: 'fail', SKIP: 'skip', ERROR: 'unknown', MISS: 'unknown', DONE: 'pass', XFAIL: 'fail', XPASS: 'pass' }
  for (const [s, l] of Object.entries(all)) t.equal(lavaResult(s as CaseStatus), l, s)
})

t.test('signals: one test set per suite, a case per result with its measurement', async (t) => {
  const results = [
    result({}),
    result({ id: 'alloc.size.0', status: 'FAIL', durationMs: 7 }),
    result({ id: 'mmap.fault', suite: 'mmap', status: 'SKIP', durationMs: 0 }),
    result({ id: 'properties.zeroed', suite: 'properties', status: 'DONE', observations: { 'latency ns': 1200, note: 'x' } }),
  ]
  t.same(lavaSignals(results), [
    '<LAVA_SIGNAL_TESTSET START alloc>',
    '<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=alloc.size.4097.system RESULT=pass MEASUREMENT=3 UNITS=ms>',
    '<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=alloc.size.0.system RESULT=fail MEASUREMENT=7 UNITS=ms>',
    '<LAVA_SIGNAL_TESTSET STOP>',
    '<LAVA_SIGNAL_TESTSET START mmap>',
    '<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=mmap.fault.system RESULT=skip MEASUREMENT=0 UNITS=ms>',
    '<LAVA_SIGNAL_TESTSET STOP>',
    '<LAVA_SIGNAL_TESTSET START properties>',
    '<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=properties.zeroed.system RESULT=pass MEASUREMENT=1200 UNITS=latency_ns>',
    '<LAVA_SIGNAL_TESTSET STOP>',
  ])
  t.equal(lavaResultTxt(results.slice(0, 1)), 'alloc.alloc.size.4097.system pass 3 ms\n', "Linaro test-definitions' result.txt")
  t.same(lavaSignals([]), [])
})

t.test("lava-run's log read back: the same verdicts, LAVA's own results left out", async (t) => {
  const results = [
    result({}),
    result({ id: 'alloc.size.0', status: 'FAIL', durationMs: 7 }),
    result({ id: 'mmap.fault', suite: 'mmap', status: 'SKIP' }),
    result({ id: 'mmap.len', suite: 'mmap', status: 'ERROR' }),
    result({ id: 'properties.zeroed', suite: 'properties', status: 'DONE', observations: { bytes: 4096 } }),
    result({ id: 'properties.other', suite: 'properties', status: 'DONE', durationMs: 9 }),
    result({ id: 'alloc.size.1', status: 'XFAIL' }),
  ]
  // What lava-run prints for each signal: YAML flow maps, with tagged strings.
  const log = [
    '- {"dt": "2026-12-02T16:00:00.000000", "lvl": "info", "msg": "start: 1 tmpfs-deploy"}',
    '- {"dt": "2026-12-02T16:00:01.000000", "lvl": "results", "msg": {"case": "job", "definition": "lava", "result": "pass"}}',
    ...lavaSignals(results).filter((l) => l.includes('TESTCASE')).map((l, i) => {
      const m = /TEST_CASE_ID=(\S+) RESULT=(\S+) MEASUREMENT=(\S+) UNITS=(\S+)>/.exec(l)!
      const set = results[i]!.suite
      return `- {"dt": "2026-12-02T16:00:0${i}.000000", "lvl": "results", "msg": {"case": "${m[1]}", "definition": "0_dmaheap", "measurement": ! "${m[3]}", "result": "${m[2]}", "set": "${set}", "units": "${m[4]}"}}`
    }),
    // As lava-run 2023.01 printed one (its tags on endtc, starttc and measurement).
    '{"dt": "2026-12-02T15:54:22.678835", "lvl": "results", "msg": {"case": "zero-size.len-0.dmaheap-reference_acceptzero", "definition": "0_dmaheap", "endtc": ! "1008", "measurement": ! "33.0", "result": "fail", "set": "zero-size", "starttc": ! "1008", "units": "ms"}}',
    '- {"dt": "2026-12-02T16:00:09.000000", "lvl": "results", "msg": {"case": "harness-exit", "definition": "0_dmaheap", "result": "pass", "measurement": ! "1", "units": "exit"}}',
    '- {"dt": "2026-12-02T16:00:0', // cut short
  ].join('\n')
  const reported = lavaRunResults(log)
  t.equal(reported.length, results.length + 3, "every case, LAVA's job result and the harness's exit")
  const back = fromLava(reported, { target: 'lava', kernel: '6.12.0' })
  t.same(back.pop(), { id: 'zero-size.len-0', suite: 'zero-size', heap: 'dmaheap-reference_acceptzero', target: 'lava', kernel: '6.12.0', status: 'FAIL', message: 'failed in the LAVA job (LAVA keeps no check messages: see the job log)', checks: [], durationMs: 33 }, "lava-run's own line")
  t.same(back.map((r) => [r.suite, r.id, r.heap, r.status]), results.map((r) => [r.suite, r.id, r.heap, r.status === 'ERROR' || r.status === 'MISS' ? 'ERROR' : heapVerdict(r.status)]))
  t.equal(back[0]!.durationMs, 3, 'the duration comes back')
  t.same(back[4]!.observations, { bytes: 4096 }, "a DONE case's measurement comes back as its observation")
  t.equal(back[5]!.durationMs, 9)
  t.match(back[1]!.message, /see the job log/, 'a FAIL says where its reason is')
})

t.test("a LAVA server's test rows read back: the set from their metadata", async (t) => {
  // As lava-server 2023.01's /api/v0.2/jobs/N/tests/ listed them.
  const rows = [
    { id: 1, result: 'pass', unit: '', name: 'validate', measurement: null, metadata: 'case: validate\ndefinition: lava\nresult: pass\n', suite: 1, test_set: null },
    { id: 9, result: 'fail', unit: 'ms', name: 'zero-size.len-0.dmaheap-reference_acceptzero', measurement: '33.0000000000', metadata: 'case: zero-size.len-0.dmaheap-reference_acceptzero\ndefinition: 0_dmaheap\nmeasurement: \'33.0\'\nresult: fail\nset: zero-size\nunits: ms\n', suite: 2, test_set: 1 },
  ]
  const reported = lavaServerResults(rows)
  t.same(reported[1], { definition: '0_dmaheap', case: 'zero-size.len-0.dmaheap-reference_acceptzero', result: 'fail', set: 'zero-size', measurement: 33, units: 'ms' })
  t.same(fromLava(reported, { target: 'lava', kernel: 'k' }).map((r) => [r.suite, r.id, r.heap, r.status, r.durationMs]), [['zero-size', 'zero-size.len-0', 'dmaheap-reference_acceptzero', 'FAIL', 33]], "LAVA's own rows left out")
})
