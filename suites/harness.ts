/**
 * How a conformance case is defined and run. A case is data plus a body: a
 * stable id, one line saying what it checks, an optional reason to skip on a
 * given heap, and a body that makes checks through the Checker. Each case
 * runs as a node-tap subtest named "<case id> <heap>"; every assertion line
 * inside repeats that name, so flat TAP parsers still see unique names.
 */
import type { Test } from 'tap'
import type { Agent } from '../core/agent.js'
import { InfraError, ProtocolError, UnexpectedErrno } from '../core/errors.js'
import type { Failure, Outcome, ProvokedFault } from '../core/protocol.js'
import type { CaseResult, CaseStatus, CheckRecord } from '../core/result.js'
import type { TargetInfo } from '../core/target.js'
import type { HeapUnderTest } from './heaps.js'
import type { KernelLog } from './kernel-log.js'
import type { HeapExpectations } from '../core/heap-expectations.js'
import type { HeapProfile } from './heap-profile.js'
import type { PhysRegion } from './physical-layout.js'
import { knownFailureOf, type KnownFailure } from '../core/known-failures.js'
import { crashedIn, knownOutcome } from './known-outcome.js'

/** What the user allowed for this run. */
export interface RunSettings {
  /** exhaustion and other cases that can stress a target's memory */
  destructive: boolean
  /** why destructive cases are (not) allowed, for skip messages */
  destructiveReason: string
  /** upper bound on what a destructive case may allocate, bytes */
  memoryBudget?: bigint
  /** what the user stated each heap must deliver (--expect, a board description) */
  expectations?: HeapExpectations
  /** where the expectations came from, for failure messages */
  expectationsSource?: string
  /** heap property profiles of a previous run, to catch capacity lost across runs */
  previousProfiles?: Record<string, HeapProfile>
  /** how long a case may take before it is ended as TIMEOUT (overrides each case's own) */
  caseTimeoutMs?: number
  /** faults to provoke at the start of given cases (the harness's reliability tests) */
  inject?: InjectedFault[]
  /** run --known-failures: a FAIL of a case named here is XFAIL, a PASS XPASS */
  knownFailures?: readonly KnownFailure[]
}

/** A fault provoked on the target when a case starts: `--inject PANIC@alloc.size.4096[@system]`. */
export interface InjectedFault {
  fault: ProvokedFault
  caseId: string
  /** only on this heap; every heap when absent */
  heap?: string
}

/** How long a case may run unless it says otherwise: exhaustion's rounds fit in it on TCG. */
export const DEFAULT_CASE_TIMEOUT_MS = 600_000

/** A case that did not finish in time: the target is stuck and must be brought back. */
export class CaseTimeout extends InfraError {
  override name = 'CaseTimeout'
}

/** What the suite runner learned about the target once, before any case. */
export interface TargetTraits {
  /** a vgem device to import buffers into */
  vgem: boolean
  /** the test importer's device, /dev/dmaheap_importer (native/importer) */
  importer: boolean
  /** init_on_alloc as it applies, and where that came from */
  initOnAlloc: string
  /** physical memory regions: /proc/iomem and the CMA / reserved-memory areas logged at boot */
  regions: PhysRegion[]
  /** kmemleak is there (CONFIG_DEBUG_KMEMLEAK): a scan after each suite */
  kmemleak?: boolean
}

/** What the suite runner learned about a heap before its cases ran. */
export interface HeapTraits {
  /** false for heaps whose buffers cannot be mapped (protected heaps) */
  cpuAccess: boolean
  /** the most the heap holds, where the target says so (a CMA heap's area) */
  bound?: HeapBound
}

export interface HeapBound {
  bytes: bigint
  /** where the figure comes from: the CMA area's boot line, or CmaTotal */
  source: string
}

export interface CaseEnv {
  agent: Agent
  heap: HeapUnderTest
  /** the agent's handle of the heap, opened O_RDWR|O_CLOEXEC for the suite */
  heapHandle: number
  target: TargetInfo
  pageSize: bigint
  settings: RunSettings
  traits: HeapTraits
  targetTraits: TargetTraits
  /** the reference heap's observations for a case id on this target */
  referenceObservations(caseId: string): Record<string, unknown> | undefined
  /** this heap's observations from a case that ran before in this run (one measurement serving another) */
  earlierObservations(caseId: string): Record<string, unknown> | undefined
}

/**
 * Thrown from a case body that finds it cannot run here: the kernel lacks
 * what it needs (an option, a filesystem), or the heap has less memory than
 * the case needs. The case ends SKIP with the reason, unless a check already
 * failed: a missing feature or a small heap is never a heap failure.
 */
export class CaseCannotRun extends Error {
  override name = 'CaseCannotRun'
}

export interface CaseContext extends CaseEnv {
  check: Checker
  /** ends the case as SKIP with this reason (see CaseCannotRun) */
  cannotRun(reason: string): never
  /** runs after the body, pass or fail, in reverse order (close fds, munmap) */
  defer(cleanup: () => Promise<unknown>): void
}

export interface CaseDef {
  id: string
  /** what it checks, one line, with the expectation's source */
  title: string
  /** a reason this case cannot run on this heap, or undefined */
  skip?(env: CaseEnv): string | undefined
  /** behaviour that differs across kernels: recorded, compared, never failed */
  observeOnly?: boolean
  /** how long this case may take (default DEFAULT_CASE_TIMEOUT_MS; --case-timeout overrides) */
  timeoutMs?: number
  run(ctx: CaseContext): Promise<void>
}

export interface SuiteDef {
  name: string
  description: string
  cases: CaseDef[]
}

/** Turns bigints into strings so observations serialise as JSON. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'object' && v !== null) return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)))
  return v
}

/** An errno or signal with what it means: "SIGBUS: page 1 of 2 of the mapping raised SIGBUS (...)". */
const ERRNO_WITH_REASON = /^(E[A-Z0-9]+|SIG[A-Z0-9]+): \S/

/** Values in failure messages: bare where unambiguous (4096, EINVAL, SIGBUS: page 1 ...), quoted otherwise. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (typeof v === 'string') return v === '' || (/\s/.test(v) && !ERRNO_WITH_REASON.test(v)) ? JSON.stringify(v) : v
  if (typeof v === 'object' && v !== null) return JSON.stringify(v)
  return String(v)
}

/** A failed call as observed: its errno, and where a fault struck (`SIGBUS: page 1 of 2 ...`). */
export function observedFailure(f: Failure): string {
  return f.fault ? `${f.errno}: ${f.fault}` : f.errno
}

export class Checker {
  readonly records: CheckRecord[] = []
  readonly observations: Record<string, unknown> = {}
  /** set when the case found nothing to judge (no expectation applies): DONE, not PASS */
  verdictWithheld?: string
  /**
   * A known failure's TAP directive ("known failure: <reason>"): its failed
   * checks print as `not ok ... # TODO ...`, never as a plain `not ok`.
   */
  todo?: string

  constructor(
    private readonly t: Test,
    /** "<case id> <heap>", repeated in every assertion line */
    private readonly prefix: string,
    private readonly reference?: Record<string, unknown>,
  ) {}

  private record(label: string, pass: boolean, expected: unknown, observed: unknown): boolean {
    this.records.push({ label, pass, expected: plain(expected), observed: plain(observed) })
    const extra = { at: null, stack: '', expected: plain(expected), observed: plain(observed) }
    if (pass) this.t.pass(`${this.prefix}: ${label}`)
    else this.t.fail(`${this.prefix}: ${label}: expected ${show(expected)}, observed ${show(observed)}`, this.todo ? { ...extra, todo: this.todo } : extra)
    return pass
  }

  equal<T>(label: string, observed: T, expected: T): boolean {
    return this.record(label, observed === expected, expected, observed)
  }

  /**
   * A condition, with what was expected and what was seen. Named, not
   * positional: equal() and failsWith() take the observed value first, and
   * a condition's two descriptions must not be swapped by accident.
   */
  ok(label: string, pass: boolean, { expected, observed }: { expected: string; observed: unknown }): boolean {
    return this.record(label, pass, expected, observed)
  }

  /** The call must succeed; records the errno it failed with otherwise. */
  succeeded<T>(label: string, outcome: Outcome<T>): outcome is { ok: true } & T {
    return this.record(label, outcome.ok, 'success', outcome.ok ? 'success' : observedFailure(outcome))
  }

  /** The call must fail with exactly this errno. */
  failsWith(label: string, outcome: Outcome<unknown>, errno: string): boolean {
    return this.record(label, !outcome.ok && outcome.errno === errno, errno, outcome.ok ? 'success' : observedFailure(outcome))
  }

  /** Records what happened without judging it, next to what the reference heap did. */
  observe(label: string, value: unknown): void {
    this.observations[label] = plain(value)
    const ref = this.reference?.[label]
    const vs = this.reference === undefined ? '' : ref === plain(value) ? ' (same as the reference heap)' : ` (reference heap: ${show(ref)})`
    this.t.comment(`${this.prefix}: observed ${label}: ${show(plain(value))}${vs}`)
  }

  /** Keeps structured data with the result (no TAP line): PFN runs, profiles. */
  data(label: string, value: unknown): void {
    this.observations[label] = plain(value)
  }

  /** The case measured but has nothing to judge: it ends DONE (observed), unless a check failed. */
  withholdVerdict(reason: string): void {
    this.verdictWithheld ??= reason
  }

  get failed(): CheckRecord | undefined {
    return this.records.find((r) => !r.pass)
  }
}

export interface CaseRunInput {
  parent: Test
  def: CaseDef
  suite: string
  env: CaseEnv
  kernelLog?: KernelLog
}

export interface CaseOutcome {
  result: CaseResult
  /** set when the target broke during the case: the run must stop */
  infra?: InfraError
}

const NO_TRACE = { at: null, stack: '' }

/** The TAP directives of a known failure: TAP's TODO is kselftest's XFAIL ("not ok # TODO") and XPASS ("ok # TODO"). */
export const knownTodo = (reason: string) => `known failure: ${reason}`
export const xpassTodo = (reason: string) => `XPASS: known to fail (${reason}), but passed`

/**
 * Ends a case's subtest line with its known-failure directive. An XFAIL's
 * line must read `not ok`, though its failed checks were TODO (which node-tap
 * does not count): its parser is told the subtest failed, which the parent
 * then excuses for the TODO. The subtest must have been given an options
 * object of its own: node-tap keeps that object as t.options, so a shared
 * one would make every later subtest TODO (and skip it).
 */
export function markKnown(t: Test, r: CaseResult): void {
  if (!r.known) return
  ;(t.options as { todo?: string }).todo = r.status === 'XFAIL' ? knownTodo(r.known.reason) : xpassTodo(r.known.reason)
  if (r.status === 'XFAIL') t.parser.ok = false
}

/** Runs one case on one heap. An InfraError makes the case ERROR and is handed back. */
export async function runCase({ parent, def, suite, env, kernelLog }: CaseRunInput): Promise<CaseOutcome> {
  const name = `${def.id} ${env.heap.name}`
  const started = Date.now()
  const base = { id: def.id, suite, heap: env.heap.name, target: env.target.target, kernel: env.target.hello.release }
  const finish = (status: CaseStatus, checks: CheckRecord[], message?: string, extra: Partial<CaseResult> = {}): CaseResult => ({
    ...base,
    status,
    ...(message === undefined ? {} : { message }),
    checks,
    ...extra,
    durationMs: Date.now() - started,
  })

  const skipReason = def.skip?.(env)
  if (skipReason) {
    await parent.test(name, { skip: skipReason }, async () => {})
    return { result: finish('SKIP', [], skipReason) }
  }

  let result: CaseResult | undefined
  let infra: InfraError | undefined
  // Options of its own: markKnown sets the subtest's TODO on them, and node-tap keeps the object it is given.
  await parent.test(name, { ...NO_TRACE } as object, async (t: Test) => {
    // Kernel heaps' observations are shown beside the reference heap's.
    const check = new Checker(t, name, env.heap.kind === 'kernel' ? env.referenceObservations(def.id) : undefined)
    const known = env.settings.knownFailures?.length ? knownFailureOf(env.settings.knownFailures, base) : undefined
    if (known) check.todo = knownTodo(known.reason)
    const cleanups: Array<() => Promise<unknown>> = []
    let error: string | undefined
    let cannotRun: string | undefined
    const harnessError = (e: unknown, where: string) => {
      if (e instanceof InfraError) infra ??= e
      else if (e instanceof CaseCannotRun) cannotRun ??= e.message
      else if (e instanceof UnexpectedErrno) check.succeeded(`${where}${e.op}`, { ok: false, errno: e.errno, errnum: 0, ...(e.fault ? { fault: e.fault } : {}) })
      else error ??= `harness error${where ? ` in ${where.trim()}` : ''}: ${e instanceof ProtocolError ? e.message : String(e)}`
    }
    const timeoutMs = env.settings.caseTimeoutMs ?? def.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS
    const injected = env.settings.inject?.find((f) => f.caseId === def.id && (f.heap === undefined || f.heap === env.heap.name))
    let timer: NodeJS.Timeout | undefined
    try {
      await kernelLog?.begin(name)
      const body = (async () => {
        if (injected) {
          t.comment(`${name}: provoking ${injected.fault} on the target (--inject)`)
          const provoked = await env.agent.call('provoke', { what: injected.fault })
          if (!provoked.ok && provoked.errno === 'ENOENT') throw new CaseCannotRun(`needs CONFIG_LKDTM (debugfs provoke-crash) to provoke ${injected.fault}`)
          if (!provoked.ok) throw new UnexpectedErrno('provoke', provoked.errno)
        }
        await def.run({
          ...env,
          check,
          defer: (c) => cleanups.push(c),
          cannotRun: (reason) => {
            throw new CaseCannotRun(reason)
          },
        })
      })()
      body.catch(() => undefined) // after a timeout it settles when the link is closed
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CaseTimeout(`TIMEOUT: ${name} did not finish within ${timeoutMs / 1000} s`, 'raise it with --case-timeout SECONDS if the case is only slow')),
          timeoutMs,
        )
      })
      await Promise.race([body, expired])
    } catch (e) {
      harnessError(e, '')
    }
    clearTimeout(timer)
    for (const c of cleanups.reverse()) {
      if (infra) break
      try {
        await c()
      } catch (e) {
        harnessError(e, 'cleanup ')
      }
    }
    let log = { problems: [] as string[], excerpt: '' }
    if (!infra && kernelLog) {
      try {
        log = await kernelLog.end(name)
      } catch (e) {
        harnessError(e, '')
      }
    }
    if (log.problems.length) {
      // A kernel problem during the case fails it, whatever the checks said;
      // a crash is never a known failure (knownOutcome), so it reads as one.
      if (crashedIn(log.excerpt)) delete check.todo
      check.ok('the kernel printed no WARNING, BUG, Oops or taint', false, { expected: 'a clean kernel log', observed: log.problems.join(' | ') })
    }
    const logExtra = log.problems.length ? { kernelLog: log.excerpt } : {}
    const observations = Object.keys(check.observations).length ? { observations: check.observations } : {}
    if (infra) {
      t.fail(`${name}: infrastructure error: ${infra.message}`, NO_TRACE)
      result = finish('ERROR', check.records, `infrastructure error: ${infra.message}`)
    } else if (error) {
      t.fail(`${name}: ${error}`, NO_TRACE)
      result = finish('ERROR', check.records, error, logExtra)
    } else if (check.failed) {
      const bad = check.failed
      result = finish('FAIL', check.records, `${bad.label}: expected ${show(bad.expected)}, observed ${show(bad.observed)}`, {
        ...observations,
        ...logExtra,
      })
    } else if (cannotRun) {
      t.pass(`${name}: cannot run here`, { skip: cannotRun })
      result = finish('SKIP', check.records, cannotRun, { ...observations, ...logExtra })
    } else if ((def.observeOnly || check.verdictWithheld) && Object.keys(check.observations).length) {
      t.pass(`${name}: observed (no verdict: ${check.verdictWithheld ?? 'this behaviour differs across kernel versions'})`)
      result = finish('DONE', check.records, undefined, observations)
    } else if (check.records.length === 0) {
      // A case that checked nothing proves nothing: never a pass.
      t.fail(`${name}: the case made no checks`, NO_TRACE)
      result = finish('ERROR', [], 'harness error: the case made no checks')
    } else {
      result = finish('PASS', check.records, undefined, observations)
    }
    result = knownOutcome(result, env.settings.knownFailures)
    markKnown(t, result)
  })
  return infra ? { result: result!, infra } : { result: result! }
}
