/**
 * `dmaheap bench`: what a heap costs, measured on the target in native loops
 * (the agent's bench op), per heap, the reference heap included. Each figure
 * is a distribution (median, p90, p99, max, sample count) after a warm-up,
 * sampled for a time budget so fast calls get many samples and slow ones
 * still at least 20.
 */
import type { Agent } from '../core/agent.js'
import type { BenchKind, NsStats, Responses } from '../core/protocol.js'
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

export interface BenchFigure {
  heap: string
  /** alloc: ALLOC+close per call; fault: first touch per page; sync: START+END pair; threads: ALLOC+close per call with `threads` at once */
  kind: Exclude<BenchKind, 'fill'>
  len: number
  threads?: number
  /** nanoseconds */
  stats: Stats
  /** threads: calls per second, all threads together */
  callsPerSecond?: number
  /** alloc: bytes allocated per second at the median */
  bytesPerSecond?: number
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

async function measure(agent: Agent, kind: BenchKind, heap: number, len: number, budgetMs: number, threads = 1): Promise<Responses['bench']> {
  // The request runs budget_ms per measurement plus set-up; allow for slow targets.
  return agent.must('bench', { kind, heap, len, budget_ms: budgetMs, threads }, 120_000 + budgetMs * 20)
}

export async function benchHeap(agent: Agent, heap: HeapUnderTest, budgetMs: number, progress: (m: string) => void): Promise<BenchFigure[]> {
  const { heap: handle } = await agent.must('heap_open', { name: heap.name })
  const figures: BenchFigure[] = []
  try {
    for (const len of ALLOC_SIZES) {
      progress(`${heap.name}: alloc ${len} bytes`)
      const r = await measure(agent, 'alloc', handle, len, budgetMs)
      const stats = toStats(r)
      figures.push({ heap: heap.name, kind: 'alloc', len, stats, bytesPerSecond: stats.p50 ? Math.round((len * 1e9) / stats.p50) : 0 })
      if (heap.kind === 'kernel') {
        const bare = await measure(agent, 'alloc_bare', handle, len, budgetMs)
        figures.push({ heap: heap.name, kind: 'alloc_bare', len, stats: toStats(bare) })
      }
    }
    progress(`${heap.name}: first-touch faults, sync`)
    figures.push({ heap: heap.name, kind: 'fault', len: MiB, stats: toStats(await measure(agent, 'fault', handle, MiB, budgetMs)) })
    for (const len of [4 * KiB, MiB]) {
      figures.push({ heap: heap.name, kind: 'sync', len, stats: toStats(await measure(agent, 'sync', handle, len, budgetMs)) })
    }
    for (const threads of THREAD_COUNTS) {
      progress(`${heap.name}: ${threads} threads`)
      const r = await measure(agent, 'threads', handle, 4 * KiB, budgetMs, threads)
      figures.push({ heap: heap.name, kind: 'threads', len: 4 * KiB, threads, stats: toStats(r), callsPerSecond: r.calls_per_s ?? 0 })
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

export interface BenchChange {
  key: string
  oldP50: number
  newP50: number
  /** relative change of the median, + slower */
  change: number
  /** the noise it had to beat: the wider interquartile range of the two, relative */
  noise: number
}

/**
 * Medians that moved by more than the measured noise: the change must exceed
 * both runs' interquartile range (relative to the median) and 5%.
 */
export function compareBench(old: BenchRun, now: BenchRun): { changed: BenchChange[]; missing: string[]; added: string[] } {
  const before = new Map(old.figures.map((f) => [figureKey(f), f]))
  const after = new Map(now.figures.map((f) => [figureKey(f), f]))
  const changed: BenchChange[] = []
  for (const [key, n] of after) {
    const o = before.get(key)
    if (!o || !o.stats.p50 || !n.stats.p50) continue
    const iqr = (s: Stats) => (s.p75 - s.p25) / s.p50
    const noise = Math.max(iqr(o.stats), iqr(n.stats), 0.05)
    const change = (n.stats.p50 - o.stats.p50) / o.stats.p50
    if (Math.abs(change) > noise) changed.push({ key, oldP50: o.stats.p50, newP50: n.stats.p50, change, noise })
  }
  return {
    changed,
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

/** The figures as a table for a terminal or a log. */
export function formatBench(run: BenchRun): string {
  const rows = [`# dmaheap bench on ${run.target}, Linux ${run.kernel} ${run.machine}, budget ${run.budgetMs} ms per figure`]
  rows.push(['heap', 'what', 'size', 'p50', 'p90', 'p99', 'max', 'n', 'extra'].join('\t'))
  for (const f of run.figures) {
    const what = f.kind === 'threads' ? `alloc x${f.threads} threads` : f.kind === 'fault' ? 'first touch /page' : f.kind === 'sync' ? 'sync start+end' : f.kind
    const extra = f.callsPerSecond ? `${f.callsPerSecond} calls/s` : f.bytesPerSecond ? `${(f.bytesPerSecond / 1e9).toFixed(2)} GB/s` : ''
    rows.push([f.heap, what, size(f.len), us(f.stats.p50), us(f.stats.p90), us(f.stats.p99), us(f.stats.max), String(f.stats.n), extra].join('\t'))
  }
  return rows.join('\n')
}

export function formatChanges(c: ReturnType<typeof compareBench>): string {
  if (!c.changed.length) return '# no change beyond the measured noise'
  return c.changed
    .map((x) => `${x.change > 0 ? 'SLOWER' : 'faster'}\t${x.key}\t${us(x.oldP50)} -> ${us(x.newP50)} (${(x.change * 100).toFixed(1)}%, noise ${(x.noise * 100).toFixed(1)}%)`)
    .join('\n')
}
