/**
 * Two bench.json files compared (`dmaheap bench --compare`), and the
 * figures as a table: each figure judged by its ratio to the yardstick
 * measured beside it, so a busy machine is not a slower heap.
 */
import { formatSize } from '../core/sizes.js'
import { figureKey, ratioSpread, ROUNDS, yardstickNs, type BenchFigure, type BenchRun, type Stats } from '../core/bench-record.js'

/**
 * The least a ratio must move to count, whatever the runs say: a busy host
 * still shifts it this much (it delays a figure and its yardstick alike
 * only on average; on a shared 2-core machine beside kernel builds, an
 * unchanged kernel moved a ratio by up to 62% where its yardstick moved
 * 76%, and by up to 41% where neither run looked noisy), and what a gate is
 * for is a heap that does markedly more work (a system heap clearing every
 * page five times moves allocation ratios by 60% at 4 KiB and 300-500% from
 * 64 KiB).
 */
export const RATIO_NOISE_FLOOR = 0.5
/** The least an absolute median must move, with runs that have no yardstick (the IQR rule). */
export const ABSOLUTE_NOISE_FLOOR = 0.05

export interface BenchChange {
  key: string
  oldP50: number
  newP50: number
  /** what was judged: the ratio to the yardstick when both runs have one, else the absolute median */
  basis: 'yardstick' | 'absolute'
  oldRatio?: number
  newRatio?: number
  /** relative change of what was judged, + slower */
  change: number
  /** relative change of the absolute median, for information */
  absolute: number
  /**
   * the band it had to leave. With yardsticks: the spreads of the two runs'
   * round ratios (ratioSpread) plus how far the yardstick itself moved
   * between the runs (yardstickMoved), at least RATIO_NOISE_FLOOR.
   * Without, the wider interquartile range of the two distributions, at
   * least 5%.
   */
  noise: number
  /**
   * how much faster or slower the machine was in one run than in the other,
   * as the yardstick saw it (the larger of the two times over the smaller,
   * less one): the ratio takes out most of that, not all, so a change must
   * also be larger than it
   */
  yardstickMoved?: number
}

export interface BenchComparison {
  /** every figure both runs have */
  compared: BenchChange[]
  /** those beyond their noise band, + slower */
  changed: BenchChange[]
  missing: string[]
  added: string[]
}

function compareFigure(key: string, o: BenchFigure, n: BenchFigure): BenchChange | undefined {
  if (!o.stats.p50 || !n.stats.p50) return undefined
  const absolute = (n.stats.p50 - o.stats.p50) / o.stats.p50
  const base = { key, oldP50: o.stats.p50, newP50: n.stats.p50, absolute }
  const [oldRatio, newRatio] = [o.ratio, n.ratio]
  if (oldRatio && newRatio) {
    const [yo, yn] = [yardstickNs(o), yardstickNs(n)]
    const yardstickMoved = yo > 0 && yn > 0 ? Math.max(yn / yo, yo / yn) - 1 : 0
    // The two errors add: a round's ratio scatters by its spread, and the
    // ratio takes out most of a machine's move, not all of it. (Taking the
    // larger of the two instead let an unchanged kernel beside a CPU-heavy
    // job cross the band: rounds spreading 58%, the yardstick 30% faster,
    // the ratio +75%.)
    const noise = Math.max(ratioSpread(o) + ratioSpread(n) + yardstickMoved, RATIO_NOISE_FLOOR)
    return { ...base, basis: 'yardstick', oldRatio, newRatio, change: newRatio / oldRatio - 1, noise, yardstickMoved }
  }
  const iqr = (s: Stats) => (s.p75 - s.p25) / s.p50
  return { ...base, basis: 'absolute', change: absolute, noise: Math.max(iqr(o.stats), iqr(n.stats), ABSOLUTE_NOISE_FLOOR) }
}

/**
 * What moved beyond the noise. Where both runs measured the yardstick, the
 * figure's ratio to it is judged, so a machine that is slower at everything
 * moves nothing. The band is learned from the two runs: how far each run's
 * rounds spread plus how far the machine moved between them
 * (yardstickMoved), at least RATIO_NOISE_FLOOR. A figure of a run without a yardstick (an
 * older bench.json) is judged on its absolute median against both runs'
 * interquartile range (and 5%), as before.
 */
export function compareBench(old: BenchRun, now: BenchRun): BenchComparison {
  const before = new Map(old.figures.map((f) => [figureKey(f), f]))
  const after = new Map(now.figures.map((f) => [figureKey(f), f]))
  const compared: BenchChange[] = []
  for (const [key, n] of after) {
    const o = before.get(key)
    const c = o && compareFigure(key, o, n)
    if (c) compared.push(c)
  }
  return {
    compared,
    changed: compared.filter((c) => Math.abs(c.change) > c.noise),
    missing: [...before.keys()].filter((k) => !after.has(k)),
    added: [...after.keys()].filter((k) => !before.has(k)),
  }
}

function us(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} us`
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`

/** A ratio to the yardstick, with enough digits for small ones (a fault per page against a whole mapping's). */
function ratio(x: number): string {
  return x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(3) : x.toPrecision(3)
}

/** The figures as a table for a terminal or a log. */
export function formatBench(run: BenchRun): string {
  const rows = [`# dmaheap bench on ${run.target}, Linux ${run.kernel} ${run.machine}, budget ${run.budgetMs} ms per figure in ${ROUNDS} rounds, each between two yardsticks`]
  rows.push(['heap', 'what', 'size', 'p50', 'p90', 'p99', 'max', 'n', 'vs yardstick', 'extra'].join('\t'))
  for (const f of run.figures) {
    const what = f.kind === 'threads' ? `alloc x${f.threads} threads` : f.kind === 'fault' ? 'first touch /page' : f.kind === 'sync' ? 'sync start+end' : f.kind
    const extra = f.callsPerSecond ? `${f.callsPerSecond} calls/s` : f.bytesPerSecond ? `${(f.bytesPerSecond / 1e9).toFixed(2)} GB/s` : ''
    const r = f.ratio
    const vs = r === undefined ? '' : `${ratio(r)} (spread ${(ratioSpread(f) * 100).toFixed(0)}%)`
    rows.push([f.heap, what, formatSize(f.len), us(f.stats.p50), us(f.stats.p90), us(f.stats.p99), us(f.stats.max), String(f.stats.n), vs, extra].join('\t'))
  }
  return rows.join('\n')
}

/** The verdict of a comparison: a line per figure beyond its band, then what was compared and how. */
export function formatChanges(c: BenchComparison): string {
  const rows = c.changed.map((x) => {
    const verdict = x.change > 0 ? 'SLOWER' : 'faster'
    const abs = `${us(x.oldP50)} -> ${us(x.newP50)} (${pct(x.absolute)})`
    const judged =
      x.basis === 'yardstick'
        ? `vs yardstick ${ratio(x.oldRatio!)} -> ${ratio(x.newRatio!)} (${pct(x.change)}, noise ${(x.noise * 100).toFixed(1)}%)`
        : `absolute, the old run has no yardstick (noise ${(x.noise * 100).toFixed(1)}%)`
    return `${verdict}\t${x.key}\t${abs}\t${judged}`
  })
  const byYardstick = c.compared.filter((x) => x.basis === 'yardstick').length
  const how = `${c.compared.length} figures compared, ${byYardstick} against the yardstick${byYardstick < c.compared.length ? `, ${c.compared.length - byYardstick} on absolute time (no yardstick in one run)` : ''}`
  rows.push(c.changed.length ? `# ${how}` : `# no change beyond the measured noise (${how})`)
  const range = (xs: number[]) => (xs.length ? `${pct(Math.min(...xs))} to ${pct(Math.max(...xs))}` : 'none')
  const judged = c.compared.filter((x) => x.basis === 'yardstick')
  if (judged.length) rows.push(`# absolute medians moved ${range(c.compared.map((x) => x.absolute))}, ratios to the yardstick ${range(judged.map((x) => x.change))}`)
  if (c.missing.length) rows.push(`# not measured now: ${c.missing.join(', ')}`)
  if (c.added.length) rows.push(`# new: ${c.added.join(', ')}`)
  return rows.join('\n')
}
