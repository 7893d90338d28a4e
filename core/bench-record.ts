/**
 * bench.json: what `dmaheap bench` measured (suites/heap-bench.ts), as the
 * comparison and the report read it (reports/bench-compare.ts,
 * reports/bench-plots.ts), and the statistics over its rounds. Each figure
 * is a distribution after a warm-up, measured in ROUNDS rounds interleaved
 * with a yardstick that involves no heap; a figure's ratio to it is what a
 * comparison judges.
 */
import { z } from 'zod'
import type { BenchKind, NsStats, YardstickKind } from './protocol.js'

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

/** The key a figure is compared by across runs. */
export function figureKey(f: BenchFigure): string {
  return `${f.heap} ${f.kind} ${f.len}${f.threads ? ` x${f.threads}` : ''}`
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
