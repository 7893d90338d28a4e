/**
 * A heap's property profile, as a view of the properties suite's results:
 * contiguity by size, physical alignment, the region buffers come from, the
 * largest single buffer, capacity and time to exhaust it, zeroing, and
 * whether interleaved allocate/free patterns cost capacity. Pure functions:
 * built from results.jsonl, compared with the reference heap's and with a
 * previous run's (profiles.json).
 */
import type { CaseResult } from '../core/result.js'
import { formatSize } from '../core/sizes.js'

/** What properties.layout.<size> keeps (Checker.data 'profile.layout'). */
export interface SizeLayout {
  size: string
  samples: Array<{ runs: number; start: string; alignment: string; region?: string }>
}

/** What properties.largest keeps: the largest size that succeeded and what ended the search. */
export interface LargestFinding {
  bytes: string
  /** "refused: ENOMEM" (the next size failed) or "cap" (the search stopped at its bound) */
  end: string
  cap: string
}

export interface CapacityFinding {
  bytes: string
  stop: string
  ms: number
  chunk: string
}

export interface FragmentationFinding {
  unit: string
  largest: string
  /** per pattern: whether the largest buffer was still allocatable after it */
  rounds: Array<{ pattern: string; largestAfter: boolean }>
}

export interface HeapProfile {
  heap: string
  /** always / never / depends on size / unknown (no multi-page buffer was measured) */
  contiguity: 'always' | 'never' | 'depends on size' | 'unknown'
  /** the largest measured size at which every buffer was contiguous */
  contiguousUpTo?: string
  layouts: Array<{ size: string; contiguous: number; samples: number; minAlignment: string; regions: string[] }>
  largest?: LargestFinding
  capacity?: CapacityFinding
  zeroed?: boolean
  fragmentation?: FragmentationFinding
}

export interface ProfilesFile {
  target: string
  kernel: string
  profiles: Record<string, HeapProfile>
}

function minBig(values: bigint[]): bigint {
  return values.reduce((a, b) => (b < a ? b : a))
}

export function buildProfiles(results: CaseResult[], pageSize: bigint): Record<string, HeapProfile> {
  const out: Record<string, HeapProfile> = {}
  for (const r of results) {
    if (r.suite !== 'properties' || !r.observations) continue
    const p = (out[r.heap] ??= { heap: r.heap, contiguity: 'unknown', layouts: [] })
    const o = r.observations
    if (o['profile.layout']) {
      const l = o['profile.layout'] as SizeLayout
      if (!l.samples.length) continue
      p.layouts.push({
        size: l.size,
        contiguous: l.samples.filter((s) => s.runs === 1).length,
        samples: l.samples.length,
        minAlignment: minBig(l.samples.map((s) => BigInt(s.alignment))).toString(),
        regions: [...new Set(l.samples.map((s) => s.region ?? 'several regions'))],
      })
    }
    if (o['profile.largest']) p.largest = o['profile.largest'] as LargestFinding
    if (o['profile.capacity']) p.capacity = o['profile.capacity'] as CapacityFinding
    if (typeof o.zeroed === 'boolean') p.zeroed = o.zeroed
    if (o['profile.fragmentation']) p.fragmentation = o['profile.fragmentation'] as FragmentationFinding
  }
  for (const p of Object.values(out)) classifyContiguity(p, pageSize)
  return out
}

/** Single-page buffers are contiguous by construction: only larger ones count. */
function classifyContiguity(p: HeapProfile, pageSize: bigint): void {
  const multi = p.layouts.filter((l) => BigInt(l.size) > pageSize).sort((a, b) => Number(BigInt(a.size) - BigInt(b.size)))
  if (!multi.length) return
  const all = multi.every((l) => l.contiguous === l.samples)
  const none = multi.every((l) => l.contiguous === 0)
  p.contiguity = all ? 'always' : none ? 'never' : 'depends on size'
  const upTo = multi.filter((l) => l.contiguous === l.samples).at(-1)
  if (upTo) p.contiguousUpTo = upTo.size
}

const size = (b: string | undefined) => (b === undefined ? '?' : formatSize(BigInt(b)))

/** One line per property, for TAP comments and the terminal. */
export function describeProfile(p: HeapProfile): string[] {
  const lines: string[] = []
  const upTo = p.contiguity === 'depends on size' && p.contiguousUpTo ? ` (every buffer up to ${size(p.contiguousUpTo)})` : ''
  lines.push(`contiguous: ${p.contiguity}${upTo}`)
  if (p.layouts.length) {
    lines.push(
      `by size: ${p.layouts
        .map((l) => `${size(l.size)} ${l.contiguous}/${l.samples} contiguous, aligned ${size(l.minAlignment)}, in ${l.regions.join(' + ')}`)
        .join('; ')}`,
    )
  }
  if (p.largest) lines.push(`largest single buffer: ${p.largest.end === 'cap' ? '>= ' : ''}${size(p.largest.bytes)} (${p.largest.end === 'cap' ? `search capped at ${size(p.largest.cap)}` : p.largest.end})`)
  if (p.capacity) lines.push(`capacity: ${size(p.capacity.bytes)} in ${size(p.capacity.chunk)} buffers, exhausted in ${(p.capacity.ms / 1000).toFixed(2)} s (stopped by ${p.capacity.stop})`)
  if (p.zeroed !== undefined) lines.push(`zeroed on allocation: ${p.zeroed ? 'yes' : 'no'}`)
  if (p.fragmentation) {
    const lost = p.fragmentation.rounds.filter((r) => !r.largestAfter).map((r) => r.pattern)
    lines.push(`fragmentation: ${lost.length ? `largest buffer lost after ${lost.join(', ')}` : `largest buffer (${size(p.fragmentation.largest)}) still allocatable after every pattern`}`)
  }
  return lines
}

/** Headline properties that differ, "<property>: <a> vs <b>". */
export function profileDifferences(a: HeapProfile, b: HeapProfile): string[] {
  const diffs: string[] = []
  const cmp = (label: string, x: unknown, y: unknown) => {
    if (x !== undefined && y !== undefined && x !== y) diffs.push(`${label}: ${String(x)} vs ${String(y)}`)
  }
  cmp('contiguous', a.contiguity, b.contiguity)
  for (const la of a.layouts) {
    const lb = b.layouts.find((l) => l.size === la.size)
    if (lb) cmp(`alignment at ${size(la.size)}`, size(la.minAlignment), size(lb.minAlignment))
  }
  cmp('zeroed', a.zeroed, b.zeroed)
  return diffs
}

/** Capacity or largest buffer shrunk by more than 5% since a previous run: the slow leak. */
export function capacityLoss(previous: HeapProfile, now: HeapProfile): string[] {
  const lost: string[] = []
  const check = (label: string, before?: string, after?: string) => {
    if (before === undefined || after === undefined) return
    if (BigInt(after) * 100n < BigInt(before) * 95n) lost.push(`${label} ${size(before)} -> ${size(after)}`)
  }
  if (previous.capacity?.stop === now.capacity?.stop) check('capacity', previous.capacity?.bytes, now.capacity?.bytes)
  if (previous.largest?.end !== 'cap' && now.largest?.end !== 'cap') check('largest buffer', previous.largest?.bytes, now.largest?.bytes)
  return lost
}
