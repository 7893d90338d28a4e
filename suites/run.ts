/**
 * Runs suites on every heap of a started target, as node-tap subtests under
 * one root: "<suite> on <heap>", each with its cases, the reference heap
 * first so the kernel heaps' observations can be compared with it. Results
 * go to the sink as each case finishes. A broken target (InfraError) stops
 * the run at once.
 */
import type { Test } from 'tap'
import type { Agent } from '../core/agent.js'
import { InfraError } from '../core/errors.js'
import { countsText, emptyCounts, PASS_AND_FAIL, type CaseResult, type CaseStatus, type RunPlan } from '../core/result.js'
import type { SessionRecovery, TargetFacts, TargetSession } from '../core/target.js'
import { knownTodo, markKnown, runCase, type CaseDef, type CaseEnv, type HeapTraits, type RunSettings, type SuiteDef, type TargetTraits } from './harness.js'
import type { HeapUnderTest, MissingHeap } from './heaps.js'
import { KernelLog } from './kernel-log.js'
import { heapBound, meminfoBytes } from './buffers.js'
import { kernelCrash } from './kernel-crash.js'
import { buildProfiles, describeProfile, profileDifferences, type HeapProfile } from './heap-profile.js'
import { heapPresentCase } from './properties.js'
import { parseBootAreas, parseIomem, type PhysRegion } from './physical-layout.js'
import { BOOT_CASE, BOOT_LOG_FILE, BOOT_SUITE, bootResults, KERNEL_PSEUDO_HEAP, readBootLog } from './boot-log.js'
import { fdLeakCaseId } from './case-filter.js'
import { KMEMLEAK_MIN_AGE_MS, kmemleakResults, parseKmemleak } from './kmemleak.js'
import { KSELFTEST_CASE, KSELFTEST_SUITE, type SelftestCase } from './kselftest.js'
import type { BootRecord } from '../core/result.js'
import { knownOutcome } from './known-outcome.js'

/**
 * The OOM killer's line when it took the agent itself (not the sacrificial
 * child of the exhaustion cases, which runs at oom_score_adj 1000).
 */
const AGENT_OOM_KILLED = /Out of memory: Killed process \d+ \(dmaheap-agent\)(?!.*oom_score_adj:1000\b)/

/** The OOM report that ends in the agent's kill: from "invoked oom-killer" to the kill line. */
export function agentOomReport(consoleTail: string): { headline: string; excerpt: string } | undefined {
  const lines = consoleTail.split('\n')
  const lastIndex = (re: RegExp, end: number) => {
    for (let i = end - 1; i >= 0; i--) if (re.test(lines[i]!)) return i
    return -1
  }
  const at = lastIndex(AGENT_OOM_KILLED, lines.length)
  if (at < 0) return undefined
  const start = lastIndex(/invoked oom-killer/, at)
  const headline = lines[at]!.replace(/^\[\s*[\d.]+\]\s*/, '').replace(/ total-vm:.*/, '').trim()
  return { headline, excerpt: lines.slice(start >= 0 ? start : Math.max(0, at - 20), at + 1).join('\n') }
}

export interface MemorySnapshot {
  suite: string
  heap: string
  inUse: bigint
  total: bigint
}

/** A measured amount, to the MiB. */
const mib = (b: bigint) => `${b / (1024n * 1024n)} MiB`

export interface MemoryLoss {
  /** what was lost, for the case that met the OOM killer */
  text: string
  /** the suite and heap during which most of it went */
  suite: string
  heap: string
  bytes: bigint
}

/**
 * What memory was lost before the last snapshot (taken as a suite starts on
 * a heap), when more than a quarter of it was: in use then, against the
 * least in use at any earlier suite start, and the suite during which most
 * of it went.
 */
export function memoryLost(snapshots: MemorySnapshot[]): MemoryLoss | undefined {
  const now = snapshots.at(-1)
  if (!now || snapshots.length < 2) return undefined
  const base = snapshots.reduce((a, b) => (b.inUse < a.inUse ? b : a))
  if (now.inUse - base.inUse <= now.total / 4n) return undefined
  let worst = { at: snapshots[0]!, grew: -1n }
  for (let i = 1; i < snapshots.length; i++) {
    const grew = snapshots[i]!.inUse - snapshots[i - 1]!.inUse
    if (grew > worst.grew) worst = { at: snapshots[i - 1]!, grew }
  }
  return {
    text: `${mib(now.inUse - base.inUse)} of ${mib(now.total)} were in use and never given back before this suite began (${mib(worst.grew)} of it during ${worst.at.suite} on ${worst.at.heap}: a leak)`,
    suite: worst.at.suite,
    heap: worst.at.heap,
    bytes: worst.grew,
  }
}

export interface SuiteRunInput {
  root: Test
  session: TargetSession
  suites: SuiteDef[]
  heaps: HeapUnderTest[]
  settings: RunSettings
  /**
   * Brings the target up again after it broke during a case (a kernel
   * crash, a hang, the agent killed, QEMU gone), as its policy allows
   * (targets/lifecycle.ts); the run goes on with the next case. Absent: the
   * run stops at the first break.
   */
  recovery?: SessionRecovery
  /**
   * Heaps the target should have and does not: those the expectations name
   * (the properties suite fails them) and those a device-tree region should
   * make (failed whatever the suites, since the run would otherwise pass
   * without the heap it is for).
   */
  missingHeaps?: MissingHeap[]
  onResult(r: CaseResult): void
  /** keeps what the kernel printed since boot with the results (boot-kernel.log) */
  keepBootLog?(text: string): Promise<void>
  /** whether the boot case is reported (--case/--skip may leave it out); default true */
  bootCase?: boolean
  /** the upstream selftest, run as a case before the suites (--kselftest) */
  selftest?: SelftestCase
  /** told as each suite starts and ends on a heap, and as each case starts (the live status on stderr) */
  progress?: RunProgress
}

/** What a run's progress display is told; results themselves come through onResult. */
export interface RunProgress {
  suiteStarted(suite: string, heap: string, cases: number): void
  caseStarted(id: string): void
  suiteFinished(suite: string, heap: string, counts: Record<CaseStatus, number>, ms: number): void
}

export interface SuiteRunOutcome {
  counts: Record<CaseStatus, number>
  /** the session the run ended on (a new one after each recovery) */
  session: TargetSession
  /** each heap's property profile, when the properties suite ran */
  profiles: Record<string, HeapProfile>
  /** what the kernel said before the first case: where the log came from, the taint */
  boot?: BootRecord
  infra?: InfraError
}

/** Whether a fresh one-page buffer can be mapped: protected heaps cannot. */
async function probeTraits(agent: Agent, heapHandle: number, pageSize: bigint): Promise<HeapTraits> {
  const a = await agent.call('alloc', { heap: heapHandle, len: Number(pageSize) })
  if (!a.ok) return { cpuAccess: true } // the cases will report the failing ALLOC
  const m = await agent.call('mmap', { fd: a.fd, len: Number(pageSize) })
  if (m.ok) await agent.must('munmap', { map: m.map })
  await agent.must('close', { fd: a.fd })
  return { cpuAccess: m.ok || m.errno !== 'EINVAL' }
}

/**
 * init_on_alloc from the kernel command line; otherwise the kernel's default,
 * which only the target knows (facts.initOnAllocDefault, from its config).
 */
export function initOnAllocSetting(cmdline: string, configDefault: boolean | undefined): string {
  const m = /(?:^|\s)init_on_alloc=(\S+)/.exec(cmdline)
  if (m) return `${m[1]} (kernel command line)`
  if (typeof configDefault === 'boolean') return `${configDefault ? 1 : 0} (CONFIG_INIT_ON_ALLOC_DEFAULT_ON)`
  return 'unknown (not on the command line; the kernel config is not known here)'
}

/**
 * The physical memory map, read before any case: /proc/iomem, plus the CMA
 * and reserved-memory areas the kernel logged at boot (read now, before the
 * cases' log markers push those lines out of the ring buffer).
 */
async function physicalRegions(agent: Agent): Promise<PhysRegion[]> {
  const iomem = await agent.call('read_file', { path: '/proc/iomem' })
  const logged = await Promise.all(['Reserved', 'reserved mem:'].map((match) => agent.call('klog', { match })))
  return [
    ...parseBootAreas(logged.map((l) => (l.ok ? l.text : '')).join('')),
    ...parseIomem(iomem.ok ? iomem.text : ''),
  ]
}

async function probeTarget(agent: Agent, facts: TargetFacts): Promise<TargetTraits> {
  const vgem = await agent.call('vgem_open', {})
  if (vgem.ok) await agent.must('close', { fd: vgem.fd })
  const cmdline = await agent.call('read_file', { path: '/proc/cmdline' })
  const importer = await agent.call('read_file', { path: '/sys/class/misc/dmaheap_importer/dev' })
  // The first scan also clears what boot left unreferenced: each suite's
  // scan then shows only what is new.
  const kmemleak = await agent.call('kmemleak', {}, 300_000)
  return {
    kmemleak: kmemleak.ok,
    vgem: vgem.ok,
    importer: importer.ok,
    initOnAlloc: initOnAllocSetting(cmdline.ok ? cmdline.text : '', facts.initOnAllocDefault),
    regions: await physicalRegions(agent),
  }
}

/** Appended to every suite: the agent holds no more fds than before it. */
function fdLeakCase(suite: string, fdsBefore: () => number): CaseDef {
  return {
    id: fdLeakCaseId(suite),
    title: `every fd the ${suite} suite opened is closed again (count of /proc/self/fd)`,
    async run(ctx) {
      const now = await ctx.agent.must('count_fds', {})
      ctx.check.equal(`open fds after the ${suite} suite == before it`, now.count, fdsBefore())
    },
  }
}

/** The profiles as TAP comments: one line per property, and how each kernel heap differs from the reference heap. */
function commentProfiles(root: Test, profiles: Record<string, HeapProfile>, heaps: HeapUnderTest[]): void {
  const reference = heaps.find((h) => h.kind === 'reference')
  const ref = reference ? profiles[reference.name] : undefined
  for (const h of heaps) {
    const p = profiles[h.name]
    if (!p) continue
    root.comment(`profile of ${h.name}:\n${describeProfile(p).map((l) => `  ${l}`).join('\n')}`)
    if (ref && h.kind === 'kernel') {
      const diffs = profileDifferences(p, ref)
      root.comment(`profile of ${h.name} vs the reference heap: ${diffs.length ? diffs.join('; ') : 'no difference in contiguity, alignment or zeroing'}`)
    }
  }
}

/**
 * Every case id each heap is meant to run, for run.json: cases never reached
 * are MISS. The boot case runs first, once, on the kernel pseudo-heap (its
 * results on the heaps a boot report names come on top of the plan).
 */
export function planOf(suites: SuiteDef[], heaps: HeapUnderTest[], bootCase = true, selftest = false): RunPlan {
  return {
    heaps: heaps.map((h) => h.name),
    suites: [
      ...(bootCase ? [{ name: BOOT_SUITE, cases: [BOOT_CASE], heaps: [KERNEL_PSEUDO_HEAP] }] : []),
      ...(selftest ? [{ name: KSELFTEST_SUITE, cases: [KSELFTEST_CASE], heaps: [KERNEL_PSEUDO_HEAP] }] : []),
      ...suites.map((s) => ({ name: s.name, cases: [...s.cases.map((c) => c.id), fdLeakCaseId(s.name)] })),
    ],
  }
}

const NO_TRACE = { at: null, stack: '' } as object

/**
 * A result made outside runCase (the boot case, the selftest's test points)
 * as TAP under `parent`: "<id> <heap>", a line per check (or the verdict when
 * it made none), the kernel's report as comments.
 */
async function tapResult(parent: Test, r: CaseResult): Promise<void> {
  const name = `${r.id} ${r.heap}`
  if (r.status === 'SKIP') {
    await parent.test(name, { skip: r.message ?? 'skipped' }, async () => {})
    return
  }
  // A known failure's failed checks are TODO, and its line says so (markKnown, which needs options of its own).
  const todo = r.status === 'XFAIL' && r.known ? { todo: knownTodo(r.known.reason) } : {}
  await parent.test(name, { ...NO_TRACE }, async (t: Test) => {
    for (const [label, v] of Object.entries(r.observations ?? {})) t.comment(`${name}: observed ${label}: ${String(v)}`)
    for (const c of r.checks) {
      if (c.pass) t.pass(`${name}: ${c.label}`)
      else t.fail(`${name}: ${c.label}: expected ${String(c.expected)}, observed ${String(c.observed)}`, { ...NO_TRACE, ...todo, expected: c.expected, observed: c.observed })
    }
    if (!r.checks.length) {
      if (r.status === 'PASS' || r.status === 'DONE') t.pass(name)
      else t.fail(`${name}: ${r.status}: ${r.message ?? ''}`, NO_TRACE)
    }
    if (r.kernelLog) t.comment(`${name}: what the kernel printed:\n${r.kernelLog.split('\n').slice(0, 60).map((l) => `  ${l}`).join('\n')}`)
    markKnown(t, r)
  })
}

export async function runSuites({ root, session: first, suites, heaps, settings, missingHeaps = [], recovery, onResult: sink, keepBootLog, bootCase = true, progress, selftest }: SuiteRunInput): Promise<SuiteRunOutcome> {
  const counts = emptyCounts()
  const propertyResults: CaseResult[] = []
  const onResult = (r: CaseResult) => {
    if (r.suite === 'properties') propertyResults.push(r)
    sink(r)
  }
  let session = first
  let agent = session.agent
  // The session's own: after a recovery, results carry the fresh session's facts and kernel.
  let info = session.info
  const pageSize = BigInt(info.hello.page_size)
  let kernelLog = await KernelLog.open(agent)
  if (!kernelLog.active) root.comment('the kernel log cannot be read on this target: cases are not checked for kernel warnings')
  const targetTraits = await probeTarget(agent, info.facts)
  root.comment(`target: vgem ${targetTraits.vgem ? 'present' : 'absent'}; test importer ${targetTraits.importer ? 'present' : 'absent'}; init_on_alloc=${targetTraits.initOnAlloc}`)
  const areas = targetTraits.regions.filter((r) => r.kind !== 'iomem')
  if (areas.length) root.comment(`target: memory areas reserved at boot: ${areas.map((r) => r.name).join('; ')}`)
  // What the kernel said before the first case (before the cases' markers push it out of the ring).
  const bootStarted = Date.now()
  const bootLog = await readBootLog(agent, session)
  if (bootLog.source !== 'none') await keepBootLog?.(bootLog.text)
  const boot: BootRecord = {
    ...(bootLog.source !== 'none' ? { log: BOOT_LOG_FILE } : {}),
    source: bootLog.source,
    complete: bootLog.complete,
    ...(bootLog.taint ? { taint: bootLog.taint } : {}),
  }
  root.comment(`target: taint at boot: ${bootLog.taint ? `${bootLog.taint.value}${bootLog.taint.flags ? ` (${bootLog.taint.described.join(', ')})` : ' (not tainted)'}` : 'unknown'}`)
  const bootCaseResults = bootCase ? bootResults({ log: bootLog, heaps, target: info.target, kernel: info.hello.release, durationMs: Date.now() - bootStarted }) : []
  for (const r of bootCaseResults.map((b) => knownOutcome(b, settings.knownFailures))) {
    await root.test(`${BOOT_SUITE} on ${r.heap}`, NO_TRACE, (g: Test) => tapResult(g, r))
    counts[r.status]++
    onResult(r)
  }
  // Every case's observations so far, by heap and case: the reference
  // heap's are shown beside the kernel heaps', and one case may reuse what
  // an earlier one measured on the same heap.
  const observed = new Map<string, Record<string, unknown>>()
  const key = (heap: string, id: string) => `${heap}\u0000${id}`
  const referenceHeap = heaps.find((h) => h.kind === 'reference')?.name ?? ''
  /** What the cases on a heap see of the target and of each other. */
  const envFor = (heap: HeapUnderTest, heapHandle: number, traits: HeapTraits): CaseEnv => ({
    agent,
    heap,
    heapHandle,
    target: info,
    pageSize,
    settings,
    traits,
    targetTraits,
    referenceObservations: (id) => observed.get(key(referenceHeap, id)),
    earlierObservations: (id) => observed.get(key(heap.name, id)),
  })
  let infra: InfraError | undefined

  /** Opens the heap on the current session and the environment its cases see. */
  const openHeap = async (heap: HeapUnderTest) => {
    const opened = await agent.call('heap_open', { name: heap.name, flags: 'O_RDWR|O_CLOEXEC' })
    const heapHandle = opened.ok ? opened.heap : -1
    const bound = opened.ok ? await heapBound(agent, heap, info.hello.release, targetTraits.regions, opened) : undefined
    const traits = opened.ok ? { ...(await probeTraits(agent, heapHandle, pageSize)), ...(bound ? { bound } : {}) } : { cpuAccess: true }
    const fdsBefore = (await agent.must('count_fds', {})).count
    return { opened, env: envFor(heap, heapHandle, traits), fdsBefore }
  }

  /**
   * Memory in use (MemTotal - MemAvailable) as each suite starts on a heap,
   * on the current session: when the OOM killer takes the agent, memory
   * that earlier suites never gave back is to blame, not the case that
   * happened to ask next.
   */
  let memoryAtStart: MemorySnapshot[] = []
  const noteMemory = async (suiteName: string, heapName: string) => {
    const m = await agent.call('meminfo', {})
    const total = m.ok ? meminfoBytes(m.text, 'MemTotal') : undefined
    const available = m.ok ? meminfoBytes(m.text, 'MemAvailable') : undefined
    if (total !== undefined && available !== undefined) memoryAtStart.push({ suite: suiteName, heap: heapName, inUse: total - available, total })
  }
  const memoryLostBefore = () => memoryLost(memoryAtStart)

  /**
   * The target broke during a case: the case says how (the kernel's crash
   * text when the console shows one), then a fresh session carries on with
   * the next case. Without a way to recover, or when it fails, the run stops.
   */
  const afterBreak = async (result: CaseResult, broke: InfraError): Promise<CaseResult> => {
    // Closed, the session's console holds its last lines (a crash's report).
    await session.close().catch(() => undefined)
    const tail = session.consoleTail(200)
    const crash = kernelCrash(tail.split('\n').slice(-80).join('\n'))
    const oom = crash || !/SIGKILL/.test(broke.message) ? undefined : agentOomReport(tail)
    const leak = oom && memoryLostBefore()
    if (leak) {
      // The memory went during an earlier suite: that suite's heap fails for
      // it (a result beside its suite's cases), not the case that asked next.
      const leaked: CaseResult = {
        id: `${leak.suite}.memory-given-back`,
        suite: leak.suite,
        heap: leak.heap,
        target: result.target,
        kernel: result.kernel,
        status: 'FAIL',
        message: `memory in use after the ${leak.suite} suite on ${leak.heap}: expected back near where it started, observed ${mib(leak.bytes)} more, never given back (the OOM killer then took the agent in ${result.id} on ${result.heap})`,
        checks: [{ label: `memory in use (MemTotal - MemAvailable) after the ${leak.suite} suite`, pass: false, expected: 'back near where it started', observed: `${mib(leak.bytes)} more` }],
        kernelLog: oom.excerpt,
        durationMs: 0,
      }
      counts.FAIL++
      onResult(leaked)
      root.comment(`${leaked.id} ${leaked.heap}: ${leaked.message}`)
    }
    const described: CaseResult = crash
      ? { ...result, status: 'FAIL', message: `kernel crash during the case: ${crash.headline} (then: ${broke.message})`, kernelLog: crash.excerpt }
      : leak
        ? { ...result, status: 'SKIP', message: `cannot run here: the OOM killer took the agent (${oom.headline}), and ${leak.text}`, kernelLog: oom.excerpt }
        : oom
          ? { ...result, status: 'FAIL', message: `the OOM killer killed the agent during the case (the heap gave memory it should have refused): ${oom.headline}`, kernelLog: oom.excerpt }
          : result
    const heapsFault = described.status === 'FAIL' || leak !== undefined
    const admitted = recovery ? recovery.admit(broke, heapsFault) : { stop: broke }
    if ('stop' in admitted) {
      infra = admitted.stop
      return described
    }
    root.comment(`${result.id} ${result.heap}: the target broke (${crash?.headline ?? oom?.headline ?? broke.message}); starting it again${admitted.attempt}`)
    try {
      session = await recovery!.restart()
      agent = session.agent
      info = session.info
      memoryAtStart = [] // a fresh target: what was lost is gone with the old one
      kernelLog = await KernelLog.open(agent)
    } catch (e) {
      if (!(e instanceof InfraError)) throw e
      infra = new InfraError(`after ${result.id} on ${result.heap} broke the target, it did not come back: ${e.message}`, e.hint)
    }
    return described
  }

  /** kmemleak after a suite, on every heap it ran on (suites/kmemleak.ts). */
  const scanForLeaks = async (suiteName: string) => {
    // What the suite's last case allocated is reported once it is old enough.
    await new Promise((r) => setTimeout(r, KMEMLEAK_MIN_AGE_MS))
    const scan = await agent.call('kmemleak', {}, 300_000)
    if (!scan.ok) return root.comment(`kmemleak after ${suiteName}: the scan failed (${scan.errno})`)
    const results = kmemleakResults(suiteName, parseKmemleak(scan.text), heaps, { target: info.target, kernel: info.hello.release })
    await root.test(`kmemleak after ${suiteName}`, NO_TRACE, async (t: Test) => {
      for (const r of results) {
        await tapResult(t, r)
        counts[r.status]++
        onResult(r)
      }
    })
  }

  if (selftest) {
    // Before any suite: a wrong binary or a crash shows at once, and a target
    // the selftest broke is brought back before our suites run.
    const pseudoHeap: HeapUnderTest = { name: KERNEL_PSEUDO_HEAP, kind: 'kernel' }
    await root.test(`${KSELFTEST_SUITE} on ${KERNEL_PSEUDO_HEAP}`, NO_TRACE, async (t: Test) => {
      progress?.suiteStarted(KSELFTEST_SUITE, KERNEL_PSEUDO_HEAP, 1)
      progress?.caseStarted(selftest.def.id)
      const out = await runCase({ parent: t, def: selftest.def, suite: KSELFTEST_SUITE, env: envFor(pseudoHeap, -1, { cpuAccess: false }), kernelLog })
      const result = out.infra ? await afterBreak(out.result, out.infra) : out.result
      counts[result.status]++
      onResult(result)
      const perHeap = emptyCounts()
      perHeap[result.status]++
      for (const r of selftest.points().map((p) => knownOutcome(p, settings.knownFailures))) {
        await tapResult(t, r)
        counts[r.status]++
        perHeap[r.status]++
        onResult(r)
      }
      progress?.suiteFinished(KSELFTEST_SUITE, KERNEL_PSEUDO_HEAP, perHeap, result.durationMs)
    })
  }

  for (const suite of suites) {
    for (const heap of heaps) {
      if (infra) break
      try {
        await noteMemory(suite.name, heap.name)
      } catch (e) {
        if (!(e instanceof InfraError)) throw e
        infra = e
        break
      }
      const perHeap = emptyCounts()
      const suiteStarted = Date.now()
      progress?.suiteStarted(suite.name, heap.name, suite.cases.length + 1)
      await root.test(`${suite.name} on ${heap.name}`, async (t: Test) => {
        try {
          let { opened, env, fdsBefore } = await openHeap(heap)
          const cases = [...suite.cases, fdLeakCase(suite.name, () => fdsBefore)]
          for (const def of cases) {
            const caseDef: CaseDef = opened.ok
              ? def
              : { ...def, skip: undefined, run: async (c) => void c.check.succeeded(`open /dev/dma_heap/${heap.name} O_RDWR`, opened) }
            progress?.caseStarted(def.id)
            const out = await runCase({ parent: t, def: caseDef, suite: suite.name, env, kernelLog })
            const result = out.infra ? await afterBreak(out.result, out.infra) : out.result
            counts[result.status]++
            perHeap[result.status]++
            if (result.observations) observed.set(key(heap.name, def.id), result.observations)
            onResult(result)
            if (infra) return
            if (out.infra) ({ opened, env, fdsBefore } = await openHeap(heap))
          }
          if (opened.ok) await agent.must('heap_close', { heap: env.heapHandle })
          const total = cases.length
          t.comment(
            `${suite.name} on ${heap.name}: ${total} cases: ${countsText(perHeap, PASS_AND_FAIL)}`,
          )
        } catch (e) {
          if (e instanceof InfraError) infra = e
          else throw e
        }
      })
      progress?.suiteFinished(suite.name, heap.name, perHeap, Date.now() - suiteStarted)
    }
    if (!infra && targetTraits.kmemleak) {
      try {
        await scanForLeaks(suite.name)
      } catch (e) {
        if (!(e instanceof InfraError)) throw e
        infra = e
      }
    }
  }
  const judgedMissing = missingHeaps.filter((m) => m.region || suites.some((s) => s.name === 'properties'))
  if (!infra && judgedMissing.length) {
    const present = heaps.filter((h) => h.kind === 'kernel').map((h) => h.name)
    for (const missing of judgedMissing) {
      await root.test(`properties on ${missing.name}`, async (t: Test) => {
        const env = envFor({ name: missing.name, kind: 'kernel', ...(missing.region ? { region: missing.region } : {}) }, -1, { cpuAccess: false })
        const out = await runCase({ parent: t, def: heapPresentCase(present, missing.region ? undefined : (settings.expectationsSource ?? 'the expectations')), suite: 'properties', env })
        counts[out.result.status]++
        onResult(out.result)
      })
    }
  }
  const profiles = buildProfiles(propertyResults, pageSize)
  if (!infra) commentProfiles(root, profiles, heaps)
  return infra ? { counts, profiles, session, boot, infra } : { counts, profiles, session, boot }
}
