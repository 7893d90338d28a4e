// dmaheap bench: distributions that hold together, on the reference heap
// locally and on system + reference in QEMU; the comparison flags only what
// moved beyond the noise (pure logic on made-up runs).
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compareBench, type BenchFigure, type BenchRun, type Stats } from '../bench/heap-bench.js'
import { dmaheap, tempOutput } from './helpers.js'

function checkFigures(t: Test, run: BenchRun, heaps: string[]) {
  t.same([...new Set(run.figures.map((f) => f.heap))].sort(), [...heaps].sort(), `figures for ${heaps.join(', ')}`)
  for (const f of run.figures) {
    const s = f.stats
    const ordered = s.min <= s.p10 && s.p10 <= s.p25 && s.p25 <= s.p50 && s.p50 <= s.p75 && s.p75 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max
    t.ok(ordered && s.n >= 20 && s.p50 > 0, `${f.heap} ${f.kind} ${f.len}${f.threads ? ` x${f.threads}` : ''}: ${s.n} samples, ordered percentiles`)
    if (f.kind === 'threads') t.ok((f.callsPerSecond ?? 0) > 0, 'a call rate')
  }
  for (const kind of ['alloc', 'fault', 'sync', 'threads']) t.ok(run.figures.some((f) => f.kind === kind), `has ${kind} figures`)
}

t.test('bench on the reference heap through the addon', async (t) => {
  const out = tempOutput('bench-local')
  const r = await dmaheap(['bench', '--target', 'local', '--heap', 'dmaheap-reference', '--budget-ms', '30', '--output', out])
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  t.match(r.stdout, /^dmaheap-reference\talloc\t4 KiB\t/m, 'a table on stdout')
  checkFigures(t, JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')), ['dmaheap-reference'])
})

t.test('bench on system and the reference heap in QEMU, with the bare-loop yardstick', async (t) => {
  const out = tempOutput('bench-qemu')
  const r = await dmaheap(['bench', '--budget-ms', '30', '--output', out], 600_000)
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  const run = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchRun
  checkFigures(t, run, ['dmaheap-reference', 'system'])
  t.ok(run.figures.some((f) => f.heap === 'system' && f.kind === 'alloc_bare'), 'system has bare-loop figures')
})

function fig(p50: number, spread: number, heap = 'system'): BenchFigure {
  const s: Stats = { n: 100, min: p50 - spread, p10: p50 - spread, p25: p50 - spread / 2, p50, p75: p50 + spread / 2, p90: p50 + spread, p99: p50 + spread, max: p50 + spread, mean: p50 }
  return { heap, kind: 'alloc', len: 4096, stats: s }
}
const runOf = (figures: BenchFigure[]): BenchRun => ({ target: 't', kernel: 'k', machine: 'm', started: '', budgetMs: 1, figures })

t.test('a change within the noise is not flagged; beyond it, it is', async (t) => {
  // IQR 20% of the median: a 10% move is noise, a 50% one is not.
  t.same(compareBench(runOf([fig(1000, 400)]), runOf([fig(1100, 400)])).changed, [])
  const slower = compareBench(runOf([fig(1000, 400)]), runOf([fig(1500, 400)])).changed
  t.equal(slower.length, 1)
  t.ok(slower[0]!.change > 0.4)
  // A quiet figure still needs more than 5% to count.
  t.same(compareBench(runOf([fig(1000, 0)]), runOf([fig(1040, 0)])).changed, [])
  t.equal(compareBench(runOf([fig(1000, 0)]), runOf([fig(900, 0)])).changed.length, 1, 'faster counts too')
  const c = compareBench(runOf([fig(1, 0, 'a')]), runOf([fig(1, 0, 'b')]))
  t.same([c.missing, c.added], [['a alloc 4096'], ['b alloc 4096']])
})
