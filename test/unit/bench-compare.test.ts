// dmaheap bench without a kernel: the agent's yardstick op, bench on the
// reference heap through the addon, and the comparison's logic on made-up
// runs: with a yardstick the ratio is judged in a band learned from the runs
// (a machine slower at everything moves nothing), without one the old IQR
// rule; a bench.json that is not one is a one-line error.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { parseBenchRun, type BenchFigure, type BenchRun, type Stats } from '../../core/bench-record.js'
import { compareBench, formatChanges } from '../../reports/bench-compare.js'
import { agentBinary } from '../../core/paths.js'
import { dmaheap, tempOutput } from '../helpers.js'
import { checkFigures, readRun } from '../support/bench-figures.js'

t.test('the agent\'s yardstick op: anonymous memory faulted in and cleared, per call or per page; bad fields refused', async (t) => {
  const requests = [
    { op: 'yardstick', kind: 'populate', len: 1 << 20, budget_ms: 5, min_samples: 7 },
    { op: 'yardstick', kind: 'touch', len: 1 << 20, budget_ms: 5 },
    { op: 'yardstick', kind: 'populate', len: 4096, budget_ms: 5, threads: 3 },
    { op: 'yardstick', kind: 'memset', len: 4096 },
    { op: 'yardstick', kind: 'touch', len: 0 },
    { op: 'yardstick', kind: 'touch', threads: 0 },
    { op: 'yardstick', kind: 'touch', min_samples: 0 },
    { op: 'bench', kind: 'sync', heap: 1, min_samples: 0 },
  ]
  const input = [JSON.stringify({ id: 1, op: 'heap_open', name: 'dmaheap-reference' }), ...requests.map((r, i) => JSON.stringify({ id: i + 2, ...r }))].join('\n') + '\n'
  const r = await execa(agentBinary('x86_64'), [], { input, reject: false, timeout: 60_000 })
  t.equal(r.exitCode, 0, r.stderr)
  const got = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string | boolean>)
  const [populate, touch, threads] = got.slice(1)
  for (const [what, x] of [['populate', populate], ['touch', touch], ['threads', threads]] as const) {
    const ps = ['ns_min', 'ns_p10', 'ns_p25', 'ns_p50', 'ns_p75', 'ns_p90', 'ns_p99', 'ns_max'].map((k) => Number(x?.[k]))
    t.ok(x?.ok === true && ps.every((p, i) => p > 0 && (i === 0 || p >= ps[i - 1]!)), `${what}: ordered percentiles (${JSON.stringify(x)})`)
  }
  t.ok(Number(populate?.ns_n) >= 7, 'min_samples is the fewest samples')
  t.ok(Number(touch?.ns_p50) < Number(populate?.ns_p50) / 16, 'touch is per page (a 256th of a mapping), populate per call')
  t.ok(Number(threads?.ns_n) >= 3 * 20, 'three threads pool their samples')
  t.match(got.slice(4), [
    { ok: false, error: /'kind': expected populate or touch/ },
    { ok: false, error: /'len': must be 1\.\./ },
    { ok: false, error: /'threads': must be 1\.\.256/ },
    { ok: false, error: /'min_samples': must be 1\.\.1000/ },
    { ok: false, error: /'min_samples': must be 1\.\.1000/ },
  ])
})

t.test('bench on the reference heap through the addon', async (t) => {
  const out = tempOutput('bench-local')
  const r = await dmaheap(['bench', '--target', 'local', '--heap', 'dmaheap-reference', '--budget-ms', '30', '--output', out])
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  t.match(r.stdout, /^dmaheap-reference\talloc\t4 KiB\t/m, 'a table on stdout')
  checkFigures(t, readRun(out), ['dmaheap-reference'])
})

/** A figure with p50 `p50` ns and `spread` ns either side; with `ratios`, a yardstick of `yardNs` (p10) and those round ratios. */
function fig(p50: number, spread: number, heap = 'system', ratios: number[] | null = null, yardNs = 1000): BenchFigure {
  const s: Stats = { n: 100, min: p50 - spread, p10: p50 - spread, p25: p50 - spread / 2, p50, p75: p50 + spread / 2, p90: p50 + spread, p99: p50 + spread, max: p50 + spread, mean: p50 }
  const f: BenchFigure = { heap, kind: 'alloc', len: 4096, stats: s }
  const y: Stats = { ...s, min: yardNs, p10: yardNs, p25: yardNs, p50: yardNs, p75: yardNs }
  if (ratios) Object.assign(f, { yardstick: { kind: 'populate', len: 4096, threads: 1, stats: y }, ratio: [...ratios].sort((a, b) => a - b)[ratios.length >> 1], ratios })
  return f
}
const runOf = (figures: BenchFigure[]): BenchRun => ({ target: 't', kernel: 'k', machine: 'm', started: '', budgetMs: 1, figures })

t.test('without a yardstick (an older bench.json): a change within the IQR is not flagged; beyond it, it is', async (t) => {
  // IQR 20% of the median: a 10% move is noise, a 50% one is not.
  t.same(compareBench(runOf([fig(1000, 400)]), runOf([fig(1100, 400)])).changed, [])
  const slower = compareBench(runOf([fig(1000, 400)]), runOf([fig(1500, 400)])).changed
  t.equal(slower.length, 1)
  t.ok(slower[0]!.change > 0.4)
  t.equal(slower[0]!.basis, 'absolute')
  // A quiet figure still needs more than 5% to count.
  t.same(compareBench(runOf([fig(1000, 0)]), runOf([fig(1040, 0)])).changed, [])
  t.equal(compareBench(runOf([fig(1000, 0)]), runOf([fig(900, 0)])).changed.length, 1, 'faster counts too')
  const c = compareBench(runOf([fig(1, 0, 'a')]), runOf([fig(1, 0, 'b')]))
  t.same([c.missing, c.added], [['a alloc 4096'], ['b alloc 4096']])
  // One run with a yardstick and one without: the absolute rule.
  t.equal(compareBench(runOf([fig(1000, 0)]), runOf([fig(1500, 0, 'system', [1, 1, 1, 1, 1])])).changed[0]?.basis, 'absolute')
})

t.test('with a yardstick, the ratio is judged, in a band learned from the runs', async (t) => {
  const steady = [0.5, 0.51, 0.5, 0.52, 0.5]
  const x = (k: number) => steady.map((r) => r * k)
  // Absolute times doubled and the yardstick with them (a busy host), the ratio the same: no change.
  const busy = compareBench(runOf([fig(1000, 100, 'system', steady, 2000)]), runOf([fig(2000, 200, 'system', steady, 4000)]))
  t.same(busy.changed, [], 'twice as slow in absolute time, same against the yardstick')
  t.equal(busy.compared[0]?.basis, 'yardstick')
  t.ok(busy.compared[0]!.absolute > 0.9, 'the absolute change is still reported')
  t.match(formatChanges(busy), /^# no change beyond the measured noise \(1 figures compared, 1 against the yardstick\)$/m)
  t.match(formatChanges(busy), /^# absolute medians moved \+100\.0% to \+100\.0%, ratios to the yardstick \+0\.0% to \+0\.0%$/m)
  // The same time, the ratio three times (the yardstick got faster): the heap does more work than the machine explains.
  const heavier = compareBench(runOf([fig(1000, 100, 'system', steady)]), runOf([fig(1000, 100, 'system', x(3))]))
  t.equal(heavier.changed.length, 1)
  t.ok(heavier.changed[0]!.change > 1.9 && heavier.changed[0]!.change < 2.1, `+200% (${heavier.changed[0]!.change})`)
  t.match(formatChanges(heavier), /^SLOWER\tsystem alloc 4096\t1\.0 us -> 1\.0 us \(\+0\.0%\)\tvs yardstick 0\.500 -> 1\.500 \(\+200\.0%, noise 50\.0%\)$/m)
  // +60%: beyond the floor when the rounds agree and the machine did not move...
  t.equal(compareBench(runOf([fig(1000, 0, 'system', steady)]), runOf([fig(1000, 0, 'system', x(1.6))])).changed.length, 1, '+60% on a steady machine is SLOWER')
  // ...within the band when the new run's rounds spread widely (a noisy run),
  const noisy = [0.6, 1.3, 0.8, 0.7, 1.1]
  const n = compareBench(runOf([fig(1000, 0, 'system', steady)]), runOf([fig(1000, 0, 'system', noisy)]))
  t.same(n.changed, [], `+60% within the rounds' spread (noise ${n.compared[0]?.noise})`)
  t.ok(n.compared[0]!.noise > 0.85, 'the band is the two runs\' spreads added, wider than the floor')
  // ...or when the machine itself was twice as slow (the yardstick moved 100%).
  const m = compareBench(runOf([fig(1000, 0, 'system', steady, 1000)]), runOf([fig(1000, 0, 'system', x(1.6), 2000)]))
  t.same(m.changed, [], '+60% where the machine moved by 100%')
  t.equal(m.compared[0]?.yardstickMoved, 1)
  // The spreads and the machine's move add up: an unchanged kernel beside a CPU-heavy job in CI
  // had rounds spreading 29% in each run and a yardstick 30% faster (moved 43%), its ratio +75%.
  const wide = [0.4, 0.45, 0.5, 0.55, 0.545]
  const ci = compareBench(runOf([fig(1000, 0, 'system', wide, 1430)]), runOf([fig(1230, 0, 'system', wide.map((r) => r * 1.75), 1000)]))
  t.same(ci.changed, [], `+75% within spreads 29% + 29% and the machine's 43% (noise ${ci.compared[0]?.noise})`)
  t.ok(ci.compared[0]!.noise > 1, 'the band is the sum')
  // A heap doing several times the work still leaves that band.
  t.equal(compareBench(runOf([fig(1000, 0, 'system', wide, 1430)]), runOf([fig(4000, 0, 'system', wide.map((r) => r * 4), 1000)])).changed.length, 1, '+300% is SLOWER in the same band')
  // Within the floor whatever the runs say.
  t.same(compareBench(runOf([fig(1000, 0, 'system', steady)]), runOf([fig(1000, 0, 'system', x(1.4))])).changed, [], '+40% is within the floor')
})

t.test('a bench.json to compare with that is not one is a one-line error naming it, before anything boots', async (t) => {
  t.equal(typeof parseBenchRun(JSON.stringify(runOf([fig(1000, 0, 'system', [1, 1, 1, 1, 1])]))), 'object', 'a run reads back')
  t.match(parseBenchRun('{"target":"t"}'), /^kernel: /, 'a missing field is named')
  t.match(parseBenchRun(JSON.stringify({ ...runOf([]), figures: [{ ...fig(1, 0), ratios: [-1] }] })), /^figures\.0\.ratios\.0: /)
  const bad = join(tempOutput('bench-bad'), '..', 'bench.json')
  writeFileSync(bad, '{"figures": 3}')
  const r = await dmaheap(['bench', '--target', 'local', '--heap', 'dmaheap-reference', '--compare', bad, '--gate'])
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /bench\.json is not a bench\.json: target: /)
  const b = await dmaheap(['bench', '--target', 'local', '--budget-ms', '0.5'])
  t.equal(b.exitCode, 2)
  t.match(b.stderr, /--budget-ms 0\.5: expected whole milliseconds from 3 to 3600000/)
})

