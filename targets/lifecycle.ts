/**
 * A target's sessions over one command, owned in one place: the first
 * start, a fresh start after the target broke mid-run (bounded by the
 * RecoveryPolicy), stopping on Ctrl-C or a crash (a start in progress is
 * aborted and what it made closed, a running session closed, nothing starts
 * after), and the close at the end. run, bench and list --heaps each hold
 * one; a farm runs each board in a process of its own, which holds its own.
 * The process's signal and crash handlers (cli/) stop every live one with
 * stopAllTargets().
 */
import { InfraError } from '../core/errors.js'
import type { Admission, SessionRecovery, StartContext, Target, TargetSession } from '../core/target.js'
import { deviceTreeCompatible } from './device-tree.js'

export interface RecoveryPolicy {
  /**
   * How often a run brings a target back after breaks the harness cannot
   * pin on the heap (the link lost, QEMU killed) before it gives up. A
   * break that is the heap's failure (a kernel crash, the OOM killer taking
   * the agent) never counts: a heap that fails every case still gets every
   * case.
   */
  maxRecoveries: number
  /** how long a target that broke may take to answer again (a board's reboot) */
  reconnectWithinMs: number
}

export const RECOVERY_POLICY: RecoveryPolicy = { maxRecoveries: 5, reconnectWithinMs: 180_000 }

/** Every lifecycle with a session starting or running: what Ctrl-C and a crash stop. */
const live = new Set<SessionLifecycle>()

/** Stops every target starting or running in this process (QEMU must not outlive us, a board's upload is removed). */
export function stopAllTargets(): Promise<unknown> {
  return Promise.all([...live].map((l) => l.stop()))
}

const STOPPED = 'the target was stopped (interrupted, or an internal error); it is not started again'

export class SessionLifecycle implements SessionRecovery {
  private current: TargetSession | undefined
  private starting: Promise<TargetSession> | undefined
  private readonly abort = new AbortController()
  private recoveries = 0
  private stopped = false

  constructor(
    readonly target: Target,
    private readonly ctx: Pick<StartContext, 'outputDir' | 'log'>,
    readonly policy: RecoveryPolicy = RECOVERY_POLICY,
  ) {}

  /** The session now: the first, or the fresh one after the last recovery. */
  get session(): TargetSession | undefined {
    return this.current
  }

  /** The first start; a Ctrl-C meanwhile aborts it (a board undoes its upload). */
  start(): Promise<TargetSession> {
    return this.open({})
  }

  admit(broke: InfraError, pinnedOnHeap: boolean): Admission {
    if (this.stopped) return { stop: new InfraError(`${broke.message}; ${STOPPED}`) }
    if (pinnedOnHeap) return { attempt: '' }
    if (this.recoveries >= this.policy.maxRecoveries) {
      return { stop: new InfraError(`${broke.message}; the target broke ${this.recoveries + 1} times without a kernel crash to show for it, giving up`) }
    }
    this.recoveries++
    return { attempt: ` (${this.recoveries} of ${this.policy.maxRecoveries})` }
  }

  /** Closes the broken session (again: it may be closed already) and starts a fresh one, which may take reconnectWithinMs to answer. */
  async restart(): Promise<TargetSession> {
    this.ctx.log('the target broke during a case; starting it again')
    await this.current?.close().catch(() => undefined)
    return this.open({ reconnectWithinMs: this.policy.reconnectWithinMs })
  }

  /** Ctrl-C or a crash: abort a start (closing what it made), close the session, start nothing after. */
  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    await this.starting?.then((s) => s.close(), () => undefined)
    await this.current?.close()
    live.delete(this)
  }

  /** The command is done: close the session it ended on. */
  async close(): Promise<void> {
    try {
      await this.current?.close()
    } finally {
      live.delete(this)
    }
  }

  private async open(extra: Pick<StartContext, 'reconnectWithinMs'>): Promise<TargetSession> {
    if (this.stopped) throw new InfraError(STOPPED)
    this.current = undefined // a broken one is closed already; Ctrl-C now waits for this start
    live.add(this)
    const starting = this.target.start({ ...this.ctx, ...extra, signal: this.abort.signal })
    this.starting = starting
    try {
      const session = await starting
      // A target that has a device tree says what machine it is (KCIDB's compatible).
      session.info.facts.compatible ??= await deviceTreeCompatible(session.agent).catch(() => undefined)
      if (this.stopped) throw new InfraError(STOPPED) // stop() closes what the start made
      this.current = session
      return session
    } catch (e) {
      if (!this.current) live.delete(this)
      throw e
    } finally {
      this.starting = undefined
    }
  }
}

/** A session of `target` for `work`, closed on every way out (bench, list --heaps). */
export async function withSession<T>(target: Target, ctx: Pick<StartContext, 'outputDir' | 'log'>, work: (session: TargetSession) => Promise<T>): Promise<T> {
  const lifecycle = new SessionLifecycle(target, ctx)
  const session = await lifecycle.start()
  try {
    return await work(session)
  } finally {
    await lifecycle.close()
  }
}
