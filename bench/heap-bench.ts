/**
 * `dmaheap bench`: what a heap costs, measured on the target in native loops
 * (the agent's bench op), per heap, the reference heap included. Each figure
 * is a distribution (median, p90, p99, max, sample count) after a warm-up,
 * sampled for a time budget so fast calls get many samples and slow ones
 * still ROUNDS x ROUND_MIN_SAMPLES.
 *
 * Absolute times move with the machine: a guest on a busy host is slower at
 * everything. So every figure is also measured against a yardstick that
 * involves no heap (native/core/ops_yardstick.c: faulting in and clearing
 * anonymous memory of the figure's size), interleaved with it in the same
 * guest: the figure's budget is split into ROUNDS rounds and the yardstick
 * runs before the first and after each one, so the two are never more than
 * a round apart. A round's ratio is the figure's fastest tenth (p10: what a
 * busy host adds to a sample is time, never less) over the geometric mean
 * of the yardstick's p10 on either side of it; a figure's ratio is the
 * median of its rounds', and how far they spread is the noise the
 * comparison learns from the run (compareBench). The yardstick's length is
 * matched to the figure's duration where its cost scales with its length
 * (matchedLength).
 */
import { z } from 'zod'
import type { Agent } from '../core/agent.js'
import type { BenchKind, NsStats, Responses, YardstickKind } from '../core/protocol.js'
import type { HeapUnderTest } from '../suites/heaps.js'

export interface Stats {
  n: number
  min: number
  p10: number
  p25: number
  p50: number
  p75: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** What a figure is judged against: `kind` on `len` bytes of anonymous memory, in `threads` threads at once. */
export interface YardstickSpec {
  kind: YardstickKind
  len: number
  threads: number
}

export interface BenchFigure {
  heap: string
  /** alloc: ALLOC+close per call; fault: first touch per page; sync: START+END pair; threads: ALLOC+close per call with `threads` at once */
  kind: Exclude<BenchKind, 'fill'>
  len: number
  threads?: number
  /** nanoseconds; each percentile the median over the rounds, min and max over all of them, n their total */
  stats: Stats
  /** threads: calls per second, all threads together (median over the rounds) */
  callsPerSecond?: number
  /** alloc: bytes allocated per second at the median */
  bytesPerSecond?: number
  /**
   * the yardstick, with its distribution over its ROUNDS + 1 measurements
   * (as `stats`); scaledTo: the length its times are scaled to when it
   * measured another (matchedLength)
   */
  yardstick?: YardstickSpec & { scaledTo?: number; stats: Stats }
  /** what the figure is judged by: the median of `ratios` */
  ratio?: number
  /** per round: the figure's p10 over the geometric mean of the (scaled) yardstick p10s before and after that round; their spread is the noise */
  ratios?: number[]
}

export interface BenchRun {
  target: string
  kernel: string
  machine: string
  started: string
  budgetMs: number
  figures: BenchFigure[]
}

const KiB = 1024
const MiB = 1024 * KiB
export const ALLOC_SIZES = [4 * KiB, 64 * KiB, MiB, 4 * MiB, 16 * MiB, 64 * MiB]
export const THREAD_COUNTS = [1, 2, 4, 8]
/** rounds per figure, each between two yardsticks */
export const ROUNDS = 5
/** the fewest samples of a round (figure or yardstick) whatever its budget: a slow figure's rounds stay short, its yardsticks close */
export const ROUND_MIN_SAMPLES = 2

export function toStats(r: NsStats): Stats {
  return {
    n: r.ns_n,
    min: r.ns_min ?? 0,
    p10: r.ns_p10 ?? 0,
    p25: r.ns_p25 ?? 0,
    p50: r.ns_p50 ?? 0,
    p75: r.ns_p75 ?? 0,
    p90: r.ns_p90 ?? 0,
    p99: r.ns_p99 ?? 0,
    max: r.ns_max ?? 0,
    mean: r.ns_mean ?? 0,
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Several measurements of one thing as one: each percentile the median over them (still ordered), min and max over them all, n the total, the mean weighted by n. */
export function mergeStats(all: Stats[]): Stats {
  const n = all.reduce((a, s) => a + s.n, 0)
  const at = (k: keyof Stats) => Math.round(median(all.map((s) => s[k])))
  return {
    n,
    min: Math.min(...all.map((s) => s.min)),
    p10: at('p10'),
    p25: at('p25'),
    p50: at('p50'),
    p75: at('p75'),
    p90: at('p90'),
    p99: at('p99'),
    max: Math.max(...all.map((s) => s.max)),
    mean: n ? Math.round(all.reduce((a, s) => a + s.mean * s.n, 0) / n) : 0,
  }
}

/** How far a figure's round ratios spread, relative to their median: (max - min) / median. */
export function ratioSpread(f: BenchFigure): number {
  const r = f.ratios ?? []
  const m = median(r)
  return r.length > 1 && m ? (Math.max(...r) - Math.min(...r)) / m : 0
}

/** The yardstick's p10 scaled to the figure's length (populate), or per page (touch): what it cost in that run. */
export function yardstickNs(f: BenchFigure): number {
  const y = f.yardstick
  if (!y) return 0
  return y.kind === 'populate' && y.scaledTo ? (y.stats.p10 * y.scaledTo) / y.len : y.stats.p10
}

async function measure(agent: Agent, kind: BenchKind, heap: number, len: number, budgetMs: number, threads = 1): Promise<Responses['bench']> {
  // The request runs budget_ms per measurement plus set-up; allow for slow targets.
  return agent.must('bench', { kind, heap, len, budget_ms: budgetMs, threads, min_samples: ROUND_MIN_SAMPLES }, 120_000 + budgetMs * 20)
}

async function measureYardstick(agent: Agent, y: YardstickSpec, budgetMs: number): Promise<Stats> {
  return toStats(await agent.must('yardstick', { kind: y.kind, len: y.len, threads: y.threads, budget_ms: budgetMs, min_samples: ROUND_MIN_SAMPLES }, 120_000 + budgetMs * 20))
}

type Measured = Pick<BenchFigure, 'kind' | 'len' | 'threads'> & { run: (budgetMs: number) => Promise<Responses['bench']> }

/**
 * The yardstick's length for a figure whose samples take `figureNs` where
 * the yardstick's on `len` bytes take `yardNs`: `len` times the power of two
 * that brings the two closest. A busy host stretches a sample by the time
 * its vCPU waits for a CPU, and how likely that is depends on how long the
 * sample is: a 1 ms figure against a 4 ms yardstick would see the yardstick
 * hit more often, and the ratio move with the load.
 *
 * populate is matched from 256 KiB up (below, the fixed cost of mmap would
 * not scale with the length: smaller figures keep their own length, and are
 * far shorter than a host's time slice anyway), never above 64 MiB (the
 * guest's memory); its times are then scaled to `len`. touch is per page
 * whatever the length: from one page up to `len`.
 */
export function matchedLength(kind: YardstickKind, len: number, figureNs: number, yardNs: number): number {
  const [lo, hi] = kind === 'touch' ? [4 * KiB, len] : [256 * KiB, Math.max(len, 64 * MiB)]
  if (!(figureNs > 0 && yardNs > 0) || len < lo) return len
  const k = Math.max(-8, Math.min(8, Math.round(Math.log2(figureNs / yardNs))))
  return Math.max(lo, Math.min(hi, Math.round((len * 2 ** k) / (4 * KiB)) * 4 * KiB))
}

/**
 * Figures that share a yardstick, interleaved with it: Y F.. Y F.. Y F.. Y,
 * each F a round of every figure of the group on its share of the budget.
 * With `match`, a first round of the group's first figure (a warm-up, not
 * kept) and one of the yardstick choose the yardstick's length
 * (matchedLength).
 */
async function paired(agent: Agent, heap: string, nominal: YardstickSpec, group: Measured[], budgetMs: number, match: boolean): Promise<BenchFigure[]> {
  const share = Math.max(1, Math.round(budgetMs / ROUNDS))
  let yard = nominal
  if (match) {
    const f = toStats(await group[0]!.run(share))
    const y = await measureYardstick(agent, nominal, share)
    yard = { ...nominal, len: matchedLength(nominal.kind, nominal.len, f.p10, y.p10) }
  }
  // populate is per call (scaled to the nominal length), touch per page already.
  const scale = nominal.kind === 'populate' ? nominal.len / yard.len : 1
  const yards: Stats[] = [await measureYardstick(agent, yard, share)]
  const rounds: Responses['bench'][][] = group.map(() => [])
  for (let i = 0; i < ROUNDS; i++) {
    for (const [k, m] of group.entries()) rounds[k]!.push(await m.run(share))
    yards.push(await measureYardstick(agent, yard, share))
  }
  const yardstick = { ...yard, ...(scale !== 1 ? { scaledTo: nominal.len } : {}), stats: mergeStats(yards) }
  return group.map((m, k) => {
    const { run: _run, ...what } = m
    const per = rounds[k]!.map(toStats)
    const stats = mergeStats(per)
    const ratios = per.map((s, i) => s.p10 / (Math.sqrt(yards[i]!.p10 * yards[i + 1]!.p10) * scale))
    const f: BenchFigure = { heap, ...what, stats, yardstick }
    if (ratios.every((r) => Number.isFinite(r) && r > 0)) Object.assign(f, { ratio: median(ratios), ratios })
    if (m.kind === 'alloc') f.bytesPerSecond = stats.p50 ? Math.round((m.len * 1e9) / stats.p50) : 0
    if (m.kind === 'threads') f.callsPerSecond = Math.round(median(rounds[k]!.map((r) => r.calls_per_s ?? 0)))
    return f
  })
}

export async function benchHeap(agent: Agent, heap: HeapUnderTest, budgetMs: number, progress: (m: string) => void): Promise<BenchFigure[]> {
  const { heap: handle } = await agent.must('heap_open', { name: heap.name })
  const figures: BenchFigure[] = []
  const of = (kind: Measured['kind'], len: number, threads = 1): Measured => ({
    kind,
    len,
    ...(kind === 'threads' ? { threads } : {}),
    run: (ms) => measure(agent, kind, handle, len, ms, threads),
  })
  try {
    for (const len of ALLOC_SIZES) {
      progress(`${heap.name}: alloc ${len} bytes`)
      const group = [of('alloc', len), ...(heap.kind === 'kernel' ? [of('alloc_bare', len)] : [])]
      figures.push(...(await paired(agent, heap.name, { kind: 'populate', len, threads: 1 }, group, budgetMs, true)))
    }
    progress(`${heap.name}: first-touch faults, sync`)
    figures.push(...(await paired(agent, heap.name, { kind: 'touch', len: MiB, threads: 1 }, [of('fault', MiB)], budgetMs, true)))
    // SYNC without attachments costs the same at any size: a page's yardstick.
    figures.push(...(await paired(agent, heap.name, { kind: 'populate', len: 4 * KiB, threads: 1 }, [of('sync', 4 * KiB), of('sync', MiB)], budgetMs, false)))
    for (const threads of THREAD_COUNTS) {
      progress(`${heap.name}: ${threads} threads`)
      figures.push(...(await paired(agent, heap.name, { kind: 'populate', len: 4 * KiB, threads }, [of('threads', 4 * KiB, threads)], budgetMs, false)))
    }
  } finally {
    await agent.must('heap_close', { heap: handle })
  }
  return figures
}

/** The key a figure is compared by across runs. */
export function figureKey(f: BenchFigure): string {
  return `${f.heap} ${f.kind} ${f.len}${f.threads ? ` x${f.threads}` : ''}`
}

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
   * the band it had to leave. With yardsticks, the widest of: the spreads of
   * the two runs' round ratios added (ratioSpread), how far the yardstick
   * itself moved between the runs (yardstickMoved), and RATIO_NOISE_FLOOR.
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
    const noise = Math.max(ratioSpread(o) + ratioSpread(n), yardstickMoved, RATIO_NOISE_FLOOR)
    return { ...base, basis: 'yardstick', oldRatio, newRatio, change: newRatio / oldRatio - 1, noise, yardstickMoved }
  }
  const iqr = (s: Stats) => (s.p75 - s.p25) / s.p50
  return { ...base, basis: 'absolute', change: absolute, noise: Math.max(iqr(o.stats), iqr(n.stats), ABSOLUTE_NOISE_FLOOR) }
}

/**
 * What moved beyond the noise. Where both runs measured the yardstick, the
 * figure's ratio to it is judged, so a machine that is slower at everything
 * moves nothing. The band is learned from the two runs: how far each run's
 * rounds spread, and how far the machine moved between them (yardstickMoved),
 * at least RATIO_NOISE_FLOOR. A figure of a run without a yardstick (an
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

function size(b: number): string {
  return b >= MiB ? `${b / MiB} MiB` : `${b / KiB} KiB`
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
    rows.push([f.heap, what, size(f.len), us(f.stats.p50), us(f.stats.p90), us(f.stats.p99), us(f.stats.max), String(f.stats.n), vs, extra].join('\t'))
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

const statsSchema = z.object({ n: z.number(), min: z.number(), p10: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p90: z.number(), p99: z.number(), max: z.number(), mean: z.number() })
/** A bench.json, as read back: older files (no yardstick) are still valid. */
export const benchRunSchema = z.object({
  target: z.string(),
  kernel: z.string(),
  machine: z.string(),
  started: z.string(),
  budgetMs: z.number(),
  figures: z.array(
    z.object({
      heap: z.string(),
      kind: z.enum(['alloc', 'alloc_bare', 'fault', 'sync', 'threads']),
      len: z.number(),
      threads: z.number().optional(),
      stats: statsSchema,
      callsPerSecond: z.number().optional(),
      bytesPerSecond: z.number().optional(),
      yardstick: z.object({ kind: z.enum(['populate', 'touch']), len: z.number(), threads: z.number(), scaledTo: z.number().optional(), stats: statsSchema }).optional(),
      ratio: z.number().positive().optional(),
      ratios: z.array(z.number().positive()).optional(),
    }),
  ),
})

/** Reads a bench.json: the run, or the first thing wrong with it as "field: message". */
export function parseBenchRun(text: string): BenchRun | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return `not JSON (${(e as Error).message})`
  }
  const r = benchRunSchema.safeParse(value)
  if (r.success) return r.data
  const i = r.error.issues[0]
  return i ? `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}` : 'not a bench.json'
}
