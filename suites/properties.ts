/**
 * properties: whether a heap delivers what its name promises, measured on
 * the physical side. Devices need contiguous, aligned buffers from a known
 * area (a display controller scans out of a CMA heap, a camera allocates from
 * its reserved region); the ioctls answering is not enough.
 *
 * Each case measures and keeps its finding with the result (the heap's
 * profile is a view of them, suites/heap-profile.ts). A case judges only what
 * someone stated: the user's expectations (--expect FILE or a board
 * description), CMA heaps being contiguous and inside a CMA area (by
 * construction: cma_alloc hands out one physically contiguous range of its
 * area), and a previous run's capacity. With nothing stated it ends DONE.
 *
 * Physical addresses come from /proc/self/pagemap (PFNs need CAP_SYS_ADMIN:
 * the agent runs as root on targets) after reading every page, since the
 * CMA heap inserts PFNs only when a page is first touched.
 */
import type { HeapExpectation } from '../core/heap-expectations.js'
import { fromWireU64, toWireU64, type Responses } from '../core/protocol.js'
import { formatSize } from '../core/sizes.js'
import { KiB, meminfoBytes, MiB, needsCpuAccess, onFreshBuffer, pageAlign } from './buffers.js'
import type { CaseContext, CaseDef, CaseEnv, SuiteDef } from './harness.js'
import { capacityLoss, type CapacityFinding, type LargestFinding } from './heap-profile.js'
import { isCmaHeap } from './heaps.js'
import { EXHAUSTION_CASE } from './exhaustion.js'
import { layoutOf, parseRuns, type BufferLayout, type PfnRun } from './physical-layout.js'

const SAMPLES = 3
const LAYOUT_SIZES: Array<[string, bigint]> = [
  ['64KiB', 64n * KiB],
  ['1MiB', MiB],
  ['4MiB', 4n * MiB],
  ['16MiB', 16n * MiB],
]
const EXHAUST_TIME_LIMIT_S = 120

interface Stated {
  exp: HeapExpectation
  /** where each stated property came from, by property */
  source: Partial<Record<keyof HeapExpectation, string>>
}

/** The user's expectations for this heap, plus what a CMA heap promises by construction. */
function stated(env: CaseEnv): Stated {
  const user = env.settings.expectations?.[env.heap.name] ?? {}
  const file = env.settings.expectationsSource ?? 'the expectations'
  const source: Stated['source'] = {}
  for (const k of Object.keys(user) as Array<keyof HeapExpectation>) source[k] = file
  if (isCmaHeap(env.heap, env.target.hello.release) && user.contiguous === undefined) {
    source.contiguous = 'a CMA heap: cma_alloc returns one contiguous range'
    return { exp: { contiguous: true, ...user }, source }
  }
  return { exp: user, source }
}

const hex = (b: bigint) => `0x${b.toString(16)}`

/** Fragmentation on a heap without a bound of its own (system) only needs to show holes do not stick. */
const UNBOUNDED_FRAGMENTATION_SIZE = 16n * MiB

/**
 * The size fragmentation must still get after its patterns: the largest
 * buffer properties.largest found when the heap bounds it (the search ended
 * on ENOMEM, or reached a CMA heap's whole area), else 16 MiB or less.
 */
function fragmentationSize(env: CaseEnv): bigint {
  const found = env.earlierObservations('properties.largest')?.['profile.largest'] as LargestFinding | undefined
  if (!found) return UNBOUNDED_FRAGMENTATION_SIZE
  const bytes = BigInt(found.bytes)
  const bounded = found.end.startsWith('refused: ENOMEM') || (found.end === 'cap' && isCmaHeap(env.heap, env.target.hello.release))
  return bounded || bytes < UNBOUNDED_FRAGMENTATION_SIZE ? bytes : UNBOUNDED_FRAGMENTATION_SIZE
}

async function memInfo(ctx: CaseContext, field: string): Promise<bigint> {
  return meminfoBytes((await ctx.agent.must('meminfo', {})).text, field) ?? 0n
}

/**
 * Whether a single buffer of len can be had now. The ALLOC runs in a
 * sacrificial child (the exhaust op, one buffer's worth, oom_score_adj 1000):
 * a large system-heap buffer can wake the OOM killer, and on a guest whose
 * agent is PID 1 the agent itself must never be its victim.
 */
async function tryAlloc(ctx: CaseContext, len: bigint): Promise<{ ok: true } | { ok: false; errno: string }> {
  const r = await ctx.agent.must(
    'exhaust',
    { heap: ctx.heapHandle, chunk: toWireU64(len), budget: toWireU64(len), time_limit_s: EXHAUST_TIME_LIMIT_S },
    (EXHAUST_TIME_LIMIT_S + 60) * 1000,
  )
  return fromWireU64(r.bytes) === len ? { ok: true } : { ok: false, errno: r.stop }
}

type Located = { runs: PfnRun[]; method: string } | { unseen: string; lacks?: string }

/**
 * The page frames behind a buffer. The mapping is read through
 * /proc/self/pagemap first: that is the buffer as the CPU sees it, in order.
 * dma-buf mappings are usually VM_PFNMAP (remap_pfn_range, vmf_insert_pfn),
 * which pagemap does not walk; then the frames the ALLOC was traced
 * allocating stand in (the system heap, the CMA heap and udmabuf lay pages
 * out in allocation order).
 */
async function locate(ctx: CaseContext, a: Responses['alloc_traced'], size: bigint): Promise<Located> {
  const pages = (size + ctx.pageSize - 1n) / ctx.pageSize
  const m = await ctx.agent.must('mmap', { fd: a.fd, len: toWireU64(size), prot: 'PROT_READ' })
  ctx.defer(() => ctx.agent.must('munmap', { map: m.map }))
  const p = await ctx.agent.must('pagemap', { map: m.map })
  if (p.signal) {
    ctx.check.ok('reading every page of the mapping', false, { expected: 'no fault', observed: p.signal })
    return { unseen: `reading the mapping raised ${p.signal}` }
  }
  if (p.present === Number(pages) && !p.pfns_hidden) return { runs: parseRuns(p.runs), method: 'pagemap of the mapping' }
  const why = p.pfns_hidden ? 'pagemap hides PFNs without CAP_SYS_ADMIN' : 'pagemap does not walk this (VM_PFNMAP) mapping'
  // The test importer sees the heap's sg table, pages the CPU mapping may
  // not show (a carveout's remap_pfn_range) and the tracepoints never see.
  if (ctx.targetTraits.importer) {
    const seen = await ctx.agent.call('importer_check', { fd: a.fd, read_seed: 0 })
    if (seen.ok && seen.attach_error === 'none' && seen.map_error === 'none' && seen.runs && seen.nruns <= 64 && seen.no_page === 0) {
      const runs = firstPages(parseRuns(seen.runs), pages)
      if (runs.reduce((n, r) => n + r.pages, 0n) === pages) return { runs, method: "the test importer's sg table" }
    }
  }
  if (a.source === 'unavailable') return { unseen: `${why}; no tracefs to trace the allocation (${a.trace_errno})`, lacks: 'CONFIG_FTRACE (tracefs, event tracing)' }
  if (a.source === 'none') return { unseen: `${why}; the ALLOC allocated no traced pages (memory from outside the page allocator and CMA)` }
  if (a.lost) return { unseen: `${why}; the trace buffer lost events` }
  if (BigInt(a.traced_pages ?? 0) < pages) return { unseen: `${why}; the trace saw ${a.traced_pages} of ${pages} pages` }
  // A heap may allocate more than it hands out (rounding up); the buffer is its first pages.
  return { runs: firstPages(parseRuns(a.runs ?? ''), pages), method: `${a.source} tracepoint` }
}

function firstPages(runs: PfnRun[], pages: bigint): PfnRun[] {
  const out: PfnRun[] = []
  let left = pages
  for (const r of runs) {
    if (left <= 0n) break
    const take = r.pages < left ? r.pages : left
    out.push({ pfn: r.pfn, pages: take })
    left -= take
  }
  return out
}

function layoutCase(label: string, size: bigint): CaseDef {
  return {
    id: `properties.layout.${label}`,
    title: `${SAMPLES} buffers of ${label} (one on the reference heap with nothing stated): their physical pages (/proc/self/pagemap, an allocation tracepoint, or the test importer's sg table): contiguous, start alignment, the memory region they lie in`,
    skip: needsCpuAccess,
    async run(ctx) {
      const { exp, source } = stated(ctx)
      // The reference heap's layout is only a profile for the diff (nothing
      // judges it unless a layout is stated for it): one buffer shows it;
      // three traced 16 MiB allocations cost a second under TCG.
      const count = ctx.heap.kind === 'reference' && !exp.contiguous && !exp.align ? 1 : SAMPLES
      const samples: BufferLayout[] = []
      const spans: PfnRun[][] = []
      const methods = new Set<string>()
      let unseen = ''
      let lacks: string | undefined
      for (let i = 0; i < count; i++) {
        const a = await ctx.agent.call('alloc_traced', { heap: ctx.heapHandle, len: toWireU64(size) })
        if (!a.ok && a.errno === 'ENOMEM' && samples.length === 0 && !unseen) {
          ctx.check.observe('ALLOC', `${label} refused with ENOMEM: larger than this heap can give`)
          ctx.check.withholdVerdict(`the heap cannot allocate ${label}`)
          return
        }
        if (!a.ok && a.errno === 'ENOMEM' && i > 0) {
          // A small heap holds fewer buffers of this size at once: judge those it gave.
          ctx.check.observe('buffers', `${i} of ${label} at once (buffer ${i + 1}: ENOMEM)`)
          break
        }
        if (!ctx.check.succeeded(`ALLOC ${label} (buffer ${i + 1})`, a)) return
        ctx.defer(() => ctx.agent.must('close', { fd: a.fd }))
        const located = await locate(ctx, a, size)
        if ('unseen' in located) {
          unseen = located.unseen
          lacks = located.lacks
          continue
        }
        methods.add(located.method)
        samples.push(layoutOf(located.runs, ctx.pageSize, ctx.targetTraits.regions))
        spans.push(located.runs)
      }
      if (!samples.length) {
        ctx.check.observe('page frames', `not visible: ${unseen}`)
        // Not seeing the frames is the harness's limit, never the heap's fault.
        const wanted = [exp.contiguous && `contiguous (stated by ${source.contiguous})`, exp.align && `${formatSize(exp.align.to)}-aligned (stated by ${source.align})`].filter(Boolean)
        if (lacks) ctx.cannotRun(`needs ${lacks} to read the page frames${wanted.length ? `; stated expectation unchecked: ${wanted.join(', ')}` : ''} (${unseen})`)
        if (wanted.length) ctx.cannotRun(`the page frames are not visible (${unseen}); stated expectation unchecked: ${wanted.join(', ')}`)
        ctx.check.withholdVerdict(`the page frames are not visible (${unseen})`)
        return
      }
      ctx.check.observe('page frames from', [...methods].join(' + '))
      const minAlign = samples.map((s) => s.alignment).reduce((a, b) => (b < a ? b : a))
      ctx.check.observe('contiguous', `${samples.filter((s) => s.contiguous).length} of ${samples.length}`)
      ctx.check.observe('physical alignment', formatSize(minAlign))
      ctx.check.observe('region', [...new Set(samples.map((s) => s.region ?? 'several regions'))].join(' + '))
      ctx.check.data('profile.layout', {
        size: size.toString(),
        samples: samples.map((s) => ({ runs: s.runs, start: hex(s.start), alignment: s.alignment.toString(), ...(s.region ? { region: s.region } : {}) })),
      })
      let judged = false
      if (exp.contiguous && size > ctx.pageSize) {
        judged = true
        samples.forEach((s, i) =>
          ctx.check.ok(`buffer ${i + 1} physically contiguous (stated by ${source.contiguous})`, s.contiguous, { expected: 'one run of consecutive PFNs', observed: `${s.runs} runs` }),
        )
      }
      if (exp.align && size >= exp.align.from) {
        judged = true
        const to = exp.align.to
        samples.forEach((s, i) =>
          ctx.check.ok(
            `buffer ${i + 1} starts ${formatSize(to)}-aligned (stated by ${source.align}${exp.align!.from ? ` for sizes >= ${formatSize(exp.align!.from)}` : ''})`,
            s.alignment >= to,
            { expected: `a physical start aligned to ${formatSize(to)}`, observed: `${hex(s.start)} (aligned to ${formatSize(s.alignment)})` },
          ),
        )
      }
      const cmaAreas = ctx.targetTraits.regions.filter((r) => r.kind === 'cma')
      if (isCmaHeap(ctx.heap, ctx.target.hello.release) && cmaAreas.length) {
        judged = true
        const names = new Set(cmaAreas.map((r) => r.name))
        samples.forEach((s, i) =>
          ctx.check.ok(`buffer ${i + 1} inside a CMA area the kernel reserved at boot`, s.region !== undefined && names.has(s.region), { expected: [...names].join(' or '), observed: s.region ?? 'pages in several regions' }),
        )
      }
      const region = ctx.heap.region
      if (region) {
        // The device tree says where this heap's memory is: every page of every buffer lies there.
        judged = true
        const lo = BigInt(region.base)
        const hi = lo + BigInt(region.size)
        spans.forEach((runs, i) => {
          const outside = runs.find((r) => r.pfn * ctx.pageSize < lo || (r.pfn + r.pages) * ctx.pageSize > hi)
          ctx.check.ok(`buffer ${i + 1} inside its region ${region.node} (${hex(lo)}-${hex(hi - 1n)})`, !outside, {
            expected: `every page in ${hex(lo)}-${hex(hi - 1n)}`,
            observed: outside ? `${outside.pages} pages at ${hex(outside.pfn * ctx.pageSize)}` : 'inside',
          })
        })
      }
      if (!judged) ctx.check.withholdVerdict('no layout is stated for this heap')
    },
  }
}

/** How far the largest-buffer search may go: the CMA area, the reference heap's capacity, or half of what is available outside CMA. */
async function searchCap(ctx: CaseContext): Promise<bigint> {
  const cma = isCmaHeap(ctx.heap, ctx.target.hello.release)
  const bound = ctx.heap.kind === 'reference' ? ctx.traits.bound : undefined
  if (bound) return ((ctx.settings.memoryBudget !== undefined && ctx.settings.memoryBudget < bound.bytes ? ctx.settings.memoryBudget : bound.bytes) / MiB) * MiB
  // MemAvailable counts a CMA area's free pages, which only movable
  // allocations may use: a non-CMA heap gets half of what is left.
  const available = (await memInfo(ctx, 'MemAvailable')) - (await memInfo(ctx, 'CmaFree'))
  let cap = cma ? await memInfo(ctx, 'CmaTotal') : available > 0n ? available / 2n : 0n
  if (ctx.settings.memoryBudget !== undefined && ctx.settings.memoryBudget < cap) cap = ctx.settings.memoryBudget
  return (cap / MiB) * MiB
}

/**
 * Compares one finding (the largest buffer or the capacity) with a previous
 * run's on the same target and kernel; whether there was one to compare.
 */
function checkSincePrevious(ctx: CaseContext, key: 'largest' | 'capacity', now: LargestFinding | CapacityFinding, what: string): boolean {
  const before = ctx.settings.previousProfiles?.[ctx.heap.name]?.[key]
  if (!before) return false
  const blank = { heap: ctx.heap.name, contiguity: 'unknown' as const, layouts: [] }
  const lost = capacityLoss({ ...blank, [key]: before }, { ...blank, [key]: now })
  ctx.check.ok(
    `${what} did not shrink since the previous run (5% tolerance)`,
    lost.length === 0,
    { expected: `at least 95% of ${formatSize(BigInt(before.bytes))}`, observed: lost.join('; ') || formatSize(BigInt(now.bytes)) },
  )
  return true
}

const largestCase: CaseDef = {
  id: 'properties.largest',
  title: 'the largest single buffer (each try in a sacrificial child): the CMA area or half of MemAvailable outside CMA, else sizes doubling from 1 MiB, then bisection (destructive)',
  skip: (env) => (env.settings.destructive || stated(env).exp.largest !== undefined ? undefined : env.settings.destructiveReason),
  async run(ctx) {
    const { exp, source } = stated(ctx)
    let judged = false
    if (exp.largest !== undefined) {
      judged = true
      const r = await tryAlloc(ctx, exp.largest)
      ctx.check.ok(`one buffer of ${formatSize(exp.largest)} (stated by ${source.largest})`, r.ok, { expected: 'success', observed: r.ok ? 'success' : r.errno })
    }
    if (!ctx.settings.destructive) return
    const cap = await searchCap(ctx)
    let lo = 0n
    let hi: bigint | undefined
    let refusal = ''
    const attempt = async (len: bigint) => {
      const r = await tryAlloc(ctx, len)
      if (r.ok) lo = len
      else {
        hi = len
        refusal = r.errno
      }
      return r.ok
    }
    // The cap first: most heaps give it at once (one try). Otherwise sizes
    // doubling from 1 MiB up to the refusal, then bisection.
    if (cap >= MiB && !(await attempt(cap))) {
      for (let len = MiB; hi !== undefined && len < hi && (await attempt(len)); len *= 2n);
    }
    // Bisection to 1/16 of the size found (at least 1 MiB): each attempt
    // clears up to the whole buffer, slow on an emulated target.
    const step = lo / 16n > MiB ? (lo / 16n / MiB) * MiB : MiB
    while (hi !== undefined && hi - lo > step) {
      const mid = ((lo + hi) / 2n / MiB) * MiB
      if (mid <= lo) break
      await attempt(mid)
    }
    const finding: LargestFinding = {
      bytes: lo.toString(),
      end: hi === undefined ? 'cap' : `refused: ${refusal} at ${formatSize(hi)}`,
      cap: cap.toString(),
    }
    ctx.check.observe('largest single buffer', hi === undefined ? `>= ${formatSize(lo)} (search capped at ${formatSize(cap)})` : `${formatSize(lo)} (${finding.end})`)
    ctx.check.data('profile.largest', finding)
    ctx.check.ok('a 1 MiB buffer can be allocated', lo >= MiB || cap < MiB, { expected: 'at least 1 MiB', observed: formatSize(lo) })
    if (checkSincePrevious(ctx, 'largest', finding, 'the largest buffer')) judged = true
    if (!judged) ctx.check.withholdVerdict('no largest size is stated for this heap')
  },
}

const capacityCase: CaseDef = {
  id: 'properties.capacity',
  title: 'total capacity: buffers (1 MiB for a CMA heap, MemTotal/64 otherwise, or the exhaustion suite\'s round) until the heap refuses, and the time it took (destructive)',
  skip: (env) => (env.settings.destructive ? undefined : env.settings.destructiveReason),
  async run(ctx) {
    const { exp, source } = stated(ctx)
    const cma = isCmaHeap(ctx.heap, ctx.target.hello.release)
    // The exhaustion suite already drove this heap to its refusal in this
    // run: its first round is the capacity (not for a CMA heap, whose area
    // wants finer buffers than exhaustion's 16 MiB).
    const earlier = cma ? undefined : (ctx.earlierObservations(EXHAUSTION_CASE)?.capacity as CapacityFinding | undefined)
    let finding: CapacityFinding
    if (earlier) {
      finding = earlier
    } else {
      const total = await memInfo(ctx, 'MemTotal')
      const chunk = cma ? MiB : pageAlign(total / 64n > MiB ? total / 64n : MiB, MiB)
      const budget = ctx.settings.memoryBudget ?? total * 2n
      const r = await ctx.agent.must(
        'exhaust',
        { heap: ctx.heapHandle, chunk: toWireU64(chunk), budget: toWireU64(budget), time_limit_s: EXHAUST_TIME_LIMIT_S },
        (EXHAUST_TIME_LIMIT_S + 60) * 1000,
      )
      finding = { bytes: fromWireU64(r.bytes).toString(), stop: r.stop, ms: Math.round(r.ns / 1e6), chunk: chunk.toString() }
    }
    const bytes = BigInt(finding.bytes)
    const chunks = bytes / BigInt(finding.chunk)
    ctx.check.observe(
      'capacity',
      `${formatSize(bytes)} in ${chunks} buffers of ${formatSize(BigInt(finding.chunk))}, ${(finding.ms / 1000).toFixed(2)} s, stopped by ${finding.stop}${earlier ? ' (the exhaustion suite\'s first round)' : ''}`,
    )
    ctx.check.data('profile.capacity', finding)
    let judged = false
    if (exp.capacity !== undefined && bytes < exp.capacity && (finding.stop === 'budget' || finding.stop === 'time')) {
      // The run's own bound ended the measurement, not the heap.
      ctx.cannotRun(`the ${finding.stop === 'budget' ? 'memory budget' : 'time limit'} stopped the measurement at ${formatSize(bytes)}; stated expectation unchecked: capacity at least ${formatSize(exp.capacity)} (stated by ${source.capacity})`)
    }
    if (exp.capacity !== undefined) {
      judged = true
      ctx.check.ok(`capacity at least ${formatSize(exp.capacity)} (stated by ${source.capacity})`, bytes >= exp.capacity, { expected: `>= ${formatSize(exp.capacity)}`, observed: `${formatSize(bytes)} (stopped by ${finding.stop})` })
    }
    const region = ctx.heap.region
    if (region) {
      // A heap over a region can give no more than the region holds.
      judged = true
      ctx.check.ok(`capacity at most its region ${region.node} (${formatSize(BigInt(region.size))})`, bytes <= BigInt(region.size), { expected: `<= ${formatSize(BigInt(region.size))}`, observed: formatSize(bytes) })
    }
    if (checkSincePrevious(ctx, 'capacity', finding, 'capacity')) judged = true
    if (!judged) ctx.check.withholdVerdict('no capacity is stated for this heap')
  },
}

/** Allocate/free patterns that leave holes; each returns with everything freed. */
const PATTERNS: Array<{ name: string; run(alloc: (len: bigint) => Promise<number | undefined>, close: (fd: number) => Promise<unknown>, unit: bigint, page: bigint): Promise<void> }> = [
  {
    name: 'every other buffer freed, holes refilled with half-size buffers',
    async run(alloc, close, unit, page) {
      const held: number[] = []
      for (let i = 0; i < 16; i++) {
        const fd = await alloc(unit)
        if (fd === undefined) break
        held.push(fd)
      }
      const kept: number[] = []
      for (const [i, fd] of held.entries()) {
        if (i % 2 === 0) await close(fd)
        else kept.push(fd)
      }
      const half = pageAlign(unit / 2n, page)
      for (let i = 0; i < 16; i++) {
        const fd = await alloc(half)
        if (fd === undefined) break
        kept.push(fd)
      }
      for (const fd of kept) await close(fd)
    },
  },
  {
    name: 'small and large buffers interleaved, the large ones freed first',
    async run(alloc, close, unit, page) {
      const small: number[] = []
      const large: number[] = []
      const smallLen = pageAlign(unit / 8n, page)
      for (let i = 0; i < 14; i++) {
        const s = await alloc(smallLen)
        if (s !== undefined) small.push(s)
        const l = await alloc(unit)
        if (l === undefined) break
        large.push(l)
      }
      for (const fd of large) await close(fd)
      for (const fd of small) await close(fd)
    },
  },
  {
    name: 'buffers of mixed sizes freed in reverse order',
    async run(alloc, close, unit, page) {
      const held: number[] = []
      for (let i = 0; i < 24; i++) {
        const fd = await alloc(pageAlign((unit * BigInt(1 + (i % 3))) / 2n, page))
        if (fd === undefined) break
        held.push(fd)
      }
      for (const fd of held.reverse()) await close(fd)
    },
  },
]

const fragmentationCase: CaseDef = {
  id: 'properties.fragmentation',
  title: 'interleaved allocate/free patterns, everything freed: the largest single buffer (of a bounded heap; 16 MiB otherwise) is still allocatable after each (destructive)',
  skip: (env) => (env.settings.destructive ? undefined : env.settings.destructiveReason),
  async run(ctx) {
    const largest = fragmentationSize(ctx)
    const unit = pageAlign(largest / 16n > ctx.pageSize ? largest / 16n : ctx.pageSize, ctx.pageSize)
    const open = new Set<number>()
    ctx.defer(async () => {
      for (const fd of open) await ctx.agent.must('close', { fd })
    })
    const alloc = async (len: bigint) => {
      const a = await ctx.agent.call('alloc', { heap: ctx.heapHandle, len: toWireU64(len) })
      if (!a.ok) return undefined // a full heap refusing is part of the pattern
      open.add(a.fd)
      return a.fd
    }
    const close = async (fd: number) => {
      open.delete(fd)
      return ctx.agent.must('close', { fd })
    }
    const rounds: Array<{ pattern: string; largestAfter: boolean }> = []
    for (const p of PATTERNS) {
      await p.run(alloc, close, unit, ctx.pageSize)
      const r = await tryAlloc(ctx, largest)
      rounds.push({ pattern: p.name, largestAfter: r.ok })
      ctx.check.ok(`after "${p.name}": one buffer of the largest size (${formatSize(largest)}) again`, r.ok, { expected: 'success', observed: r.ok ? 'success' : r.errno })
    }
    ctx.check.data('profile.fragmentation', { unit: unit.toString(), largest: largest.toString(), rounds })
  },
}

const zeroedCase: CaseDef = onFreshBuffer({
  id: 'properties.zeroed',
  title: 'a fresh 1 MiB buffer reads as zero (the profile\'s "zeroed"; the zeroing suite is the security check)',
  len: MiB,
  skip: needsCpuAccess,
  async run(ctx, buf) {
    const m = await ctx.agent.must('mmap', { fd: buf.fd, len: toWireU64(MiB), prot: 'PROT_READ' })
    ctx.defer(() => ctx.agent.must('munmap', { map: m.map }))
    await ctx.agent.must('sync', { fd: buf.fd, flags: 'START|READ' })
    const v = await ctx.agent.must('verify', { map: m.map, pattern: 'const', byte: 0 })
    await ctx.agent.must('sync', { fd: buf.fd, flags: 'END|READ' })
    const zeroed = fromWireU64(v.mismatches) === 0n
    ctx.check.observe('zeroed', zeroed)
    const { exp, source } = stated(ctx)
    if (exp.zeroed !== undefined) ctx.check.equal(`a fresh buffer reads as zero: ${exp.zeroed} (stated by ${source.zeroed})`, zeroed, exp.zeroed)
    else ctx.check.withholdVerdict('zeroing is not stated for this heap')
  },
})

/**
 * For a heap the target should have and does not: one the expectations
 * name (stated by `source`), or one the heap's device-tree region should
 * have made (source undefined, the region on the heap).
 */
export function heapPresentCase(listed: string[], source: string | undefined): CaseDef {
  return {
    id: 'properties.present',
    title: 'a heap the expectations name, or a device-tree region should make, is in /dev/dma_heap',
    async run(ctx) {
      const r = ctx.heap.region
      const claim = r
        ? `region ${r.node} (${formatSize(BigInt(r.size))} at ${r.base}${r.compatible ? `, compatible "${r.compatible}"` : ''}, from ${r.from ?? 'the device tree'}) produced the heap /dev/dma_heap/${ctx.heap.name}`
        : `/dev/dma_heap/${ctx.heap.name} exists (stated by ${source})`
      ctx.check.ok(claim, false, { expected: 'present', observed: `absent (the target has: ${listed.join(', ') || 'no heaps'})` })
    },
  }
}

export const propertiesSuite: SuiteDef = {
  name: 'properties',
  description: 'physical layout (contiguity, alignment, region via pagemap), largest buffer, capacity, fragmentation, zeroing: a profile per heap, judged against stated expectations',
  cases: [...LAYOUT_SIZES.map(([label, size]) => layoutCase(label, size)), zeroedCase, largestCase, capacityCase, fragmentationCase],
}
