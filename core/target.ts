/**
 * The one interface every place a suite can run implements: the local
 * machine, a QEMU guest, a board over SSH. Starting a target yields a session
 * with a live agent; the suites only ever see the session.
 */
import type { Agent } from './agent.js'
import type { Responses } from './protocol.js'

export interface TargetInfo {
  /** the target's name as the user selects it, e.g. "qemu-x86_64" */
  target: string
  /** what the agent reported at hello: kernel release, arch, page size */
  hello: Responses['hello']
  /** facts about how it was brought up (accelerator, kernel image, boot time) */
  facts: Record<string, string | number | boolean>
}

export interface TargetSession {
  readonly info: TargetInfo
  readonly agent: Agent
  /** the last lines the target's console printed, for diagnosing a lost link */
  consoleTail(lines?: number): string
  /** files kept with the results (console log), by role */
  readonly artifacts: Record<string, string>
  close(): Promise<void>
}

export interface StartContext {
  /** the run's output folder; targets keep their logs there */
  outputDir: string
  /** progress lines for a human, on stderr */
  log(message: string): void
  signal?: AbortSignal
  /**
   * Set when the target is brought back after it broke mid-run: how long it
   * may take to answer again (a board rebooting), connection attempts
   * repeated meanwhile. Absent: one attempt, a first start fails fast.
   */
  reconnectWithinMs?: number
}

export interface Target {
  readonly name: string
  readonly description: string
  start(ctx: StartContext): Promise<TargetSession>
}
