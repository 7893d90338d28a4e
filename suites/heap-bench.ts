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
import type { Agent } from '../core/agent.js'
import { mergeStats, median, ROUND_MIN_SAMPLES, ROUNDS, toStats, type BenchFigure, type Stats, type YardstickSpec } from '../core/bench-record.js'
import type { BenchKind, Responses, YardstickKind } from '../core/protocol.js'
import type { HeapUnderTest } from './heaps.js'

const KiB = 1024
const MiB = 1024 * KiB
export const BENCH_ALLOC_SIZES = [4 * KiB, 64 * KiB, MiB, 4 * MiB, 16 * MiB, 64 * MiB]
export const BENCH_THREAD_COUNTS = [1, 2, 4, 8]

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
    for (const len of BENCH_ALLOC_SIZES) {
      progress(`${heap.name}: alloc ${len} bytes`)
      const group = [of('alloc', len), ...(heap.kind === 'kernel' ? [of('alloc_bare', len)] : [])]
      figures.push(...(await paired(agent, heap.name, { kind: 'populate', len, threads: 1 }, group, budgetMs, true)))
    }
    progress(`${heap.name}: first-touch faults, sync`)
    figures.push(...(await paired(agent, heap.name, { kind: 'touch', len: MiB, threads: 1 }, [of('fault', MiB)], budgetMs, true)))
    // SYNC without attachments costs the same at any size: a page's yardstick.
    figures.push(...(await paired(agent, heap.name, { kind: 'populate', len: 4 * KiB, threads: 1 }, [of('sync', 4 * KiB), of('sync', MiB)], budgetMs, false)))
    for (const threads of BENCH_THREAD_COUNTS) {
      progress(`${heap.name}: ${threads} threads`)
      figures.push(...(await paired(agent, heap.name, { kind: 'populate', len: 4 * KiB, threads }, [of('threads', 4 * KiB, threads)], budgetMs, false)))
    }
  } finally {
    await agent.must('heap_close', { heap: handle })
  }
  return figures
}
