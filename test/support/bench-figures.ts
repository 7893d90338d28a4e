/** What every figure of a `dmaheap bench` run must hold: ordered percentiles, enough samples, its yardstick and ratios. */
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROUND_MIN_SAMPLES, ROUNDS, type BenchRun } from '../../core/bench-record.js'

export function checkFigures(t: Test, run: BenchRun, heaps: string[]) {
  t.same([...new Set(run.figures.map((f) => f.heap))].sort(), [...heaps].sort(), `figures for ${heaps.join(', ')}`)
  for (const f of run.figures) {
    const s = f.stats
    const ordered = s.min <= s.p10 && s.p10 <= s.p25 && s.p25 <= s.p50 && s.p50 <= s.p75 && s.p75 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max
    const name = `${f.heap} ${f.kind} ${f.len}${f.threads ? ` x${f.threads}` : ''}`
    t.ok(ordered && s.n >= ROUNDS * ROUND_MIN_SAMPLES && s.p50 > 0, `${name}: ${s.n} samples, ordered percentiles`)
    t.ok(f.yardstick && f.yardstick.stats.n >= (ROUNDS + 1) * ROUND_MIN_SAMPLES && f.yardstick.stats.p10 > 0, `${name}: a yardstick (${f.yardstick?.kind} ${f.yardstick?.len})`)
    t.ok((f.ratio ?? 0) > 0 && f.ratios?.length === ROUNDS, `${name}: a ratio to it and one per round`)
    if (f.kind === 'threads') t.ok((f.callsPerSecond ?? 0) > 0, 'a call rate')
  }
  for (const kind of ['alloc', 'fault', 'sync', 'threads']) t.ok(run.figures.some((f) => f.kind === kind), `has ${kind} figures`)
}

/** The bench.json an output folder holds. */
export const readRun = (out: string) => JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchRun

