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
import type { Outcome } from '../core/protocol.js'
import type { CaseResult, CaseStatus, CheckRecord } from '../core/result.js'
import type { TargetInfo } from '../core/target.js'
import type { HeapUnderTest } from './heaps.js'

export interface CaseContext {
  agent: Agent
  heap: HeapUnderTest
  /** the agent's handle of the heap, opened O_RDWR|O_CLOEXEC for the suite */
  heapHandle: number
  target: TargetInfo
  pageSize: bigint
  check: Checker
  /** runs after the body, pass or fail, in reverse order (close fds, munmap) */
  defer(cleanup: () => Promise<unknown>): void
}

export interface CaseDef {
  id: string
  /** what it checks, one line, with the expectation's source */
  title: string
  /** a reason this case cannot run on this heap, or undefined */
  skip?(ctx: Omit<CaseContext, 'check' | 'defer'>): string | undefined
  run(ctx: CaseContext): Promise<void>
}

export interface SuiteDef {
  name: string
  description: string
  cases: CaseDef[]
}

/** Turns bigints into strings so observations serialise as JSON. */
function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v
}

/** Values in failure messages: bare where unambiguous (4096, EINVAL), quoted otherwise. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (typeof v === 'string') return v === '' || /\s/.test(v) ? JSON.stringify(v) : v
  return String(v)
}

export class Checker {
  readonly records: CheckRecord[] = []

  constructor(
    private readonly t: Test,
    /** "<case id> <heap>", repeated in every assertion line */
    private readonly prefix: string,
  ) {}

  private record(label: string, pass: boolean, expected: unknown, observed: unknown): boolean {
    this.records.push({ label, pass, expected: plain(expected), observed: plain(observed) })
    const extra = { at: null, stack: '', expected: plain(expected), observed: plain(observed) }
    if (pass) this.t.pass(`${this.prefix}: ${label}`)
    else this.t.fail(`${this.prefix}: ${label}: expected ${show(expected)}, observed ${show(observed)}`, extra)
    return pass
  }

  equal<T>(label: string, observed: T, expected: T): boolean {
    return this.record(label, observed === expected, expected, observed)
  }

  /** The call must succeed; records the errno it failed with otherwise. */
  succeeded<T>(label: string, outcome: Outcome<T>): outcome is { ok: true } & T {
    return this.record(label, outcome.ok, 'success', outcome.ok ? 'success' : outcome.errno)
  }

  /** The call must fail with exactly this errno. */
  failsWith(label: string, outcome: Outcome<unknown>, errno: string): boolean {
    return this.record(label, !outcome.ok && outcome.errno === errno, errno, outcome.ok ? 'success' : outcome.errno)
  }

  get failed(): CheckRecord | undefined {
    return this.records.find((r) => !r.pass)
  }
}

export interface CaseRunInput {
  parent: Test
  def: CaseDef
  suite: string
  ctx: Omit<CaseContext, 'check' | 'defer'>
}

export interface CaseOutcome {
  result: CaseResult
  /** set when the target broke during the case: the run must stop */
  infra?: InfraError
}

/** Runs one case on one heap. An InfraError makes the case ERROR and is handed back. */
export async function runCase({ parent, def, suite, ctx }: CaseRunInput): Promise<CaseOutcome> {
  const name = `${def.id} ${ctx.heap.name}`
  const started = Date.now()
  const base = { id: def.id, suite, heap: ctx.heap.name, target: ctx.target.target, kernel: ctx.target.hello.release }
  const finish = (status: CaseStatus, checks: CheckRecord[], message?: string): CaseResult => ({
    ...base,
    status,
    ...(message === undefined ? {} : { message }),
    checks,
    durationMs: Date.now() - started,
  })

  const skipReason = def.skip?.(ctx)
  if (skipReason) {
    await parent.test(name, { skip: skipReason }, async () => {})
    return { result: finish('SKIP', [], skipReason) }
  }

  let result: CaseResult | undefined
  let infra: InfraError | undefined
  await parent.test(name, { at: null, stack: '' } as object, async (t: Test) => {
    const check = new Checker(t, name)
    const cleanups: Array<() => Promise<unknown>> = []
    let error: string | undefined
    try {
      await def.run({ ...ctx, check, defer: (c) => cleanups.push(c) })
    } catch (e) {
      if (e instanceof InfraError) infra = e
      else if (e instanceof UnexpectedErrno) check.succeeded(e.op, { ok: false, errno: e.errno, errnum: 0 })
      else error = e instanceof ProtocolError ? `harness error: ${e.message}` : `harness error: ${String(e)}`
    }
    for (const c of cleanups.reverse()) {
      if (infra) break
      try {
        await c()
      } catch (e) {
        if (e instanceof InfraError) infra = e
        else if (e instanceof UnexpectedErrno) check.succeeded(`cleanup ${e.op}`, { ok: false, errno: e.errno, errnum: 0 })
        else error ??= `harness error in cleanup: ${String(e)}`
      }
    }
    if (infra) {
      t.fail(`${name}: infrastructure error: ${infra.message}`, { at: null, stack: '' })
      result = finish('ERROR', check.records, `infrastructure error: ${infra.message}`)
    } else if (error) {
      t.fail(`${name}: ${error}`, { at: null, stack: '' })
      result = finish('ERROR', check.records, error)
    } else if (check.records.length === 0) {
      // A case that checked nothing proves nothing: never a pass.
      t.fail(`${name}: the case made no checks`, { at: null, stack: '' })
      result = finish('ERROR', [], 'harness error: the case made no checks')
    } else {
      const bad = check.failed
      result = bad
        ? finish('FAIL', check.records, `${bad.label}: expected ${show(bad.expected)}, observed ${show(bad.observed)}`)
        : finish('PASS', check.records)
    }
  })
  return infra ? { result: result!, infra } : { result: result! }
}
