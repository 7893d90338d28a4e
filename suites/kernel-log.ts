/**
 * The kernel log around each case: a start and an end marker in /dev/kmsg,
 * everything the kernel printed between them, and the taint flags before and
 * after. A WARNING, BUG, Oops, KASAN report or a new taint during a case
 * fails that case, even if every check passed: a heap that warns is broken.
 */
import type { Agent } from '../core/agent.js'

/** What marks a kernel problem (the patterns LAVA and KernelCI scan for). */
export const KERNEL_PROBLEM = new RegExp(
  [
    '-+\\[ cut here \\]-+',
    '\\bWARNING:',
    '\\bBUG:',
    'kernel BUG at',
    '\\bOops\\b',
    'KASAN:',
    'UBSAN:',
    'KFENCE:',
    'general protection fault',
    'Unable to handle kernel',
    'Kernel panic',
  ].join('|'),
)

export interface KernelLogVerdict {
  /** the lines that matched KERNEL_PROBLEM, and taint changes */
  problems: string[]
  /** what the kernel printed during the case, capped */
  excerpt: string
}

const EXCERPT_MAX = 16 * 1024

export class KernelLog {
  private taintBefore = ''
  private enabled = true

  private constructor(private readonly agent: Agent) {}

  /** Starts watching; a target whose log cannot be read gets a disabled watch. */
  static async open(agent: Agent): Promise<KernelLog> {
    const log = new KernelLog(agent)
    const first = await agent.call('kmsg_drain', {})
    log.enabled = first.ok
    return log
  }

  get active(): boolean {
    return this.enabled
  }

  async begin(label: string): Promise<void> {
    if (!this.enabled) return
    const m = await this.agent.must('log_mark', { text: `dmaheap: begin ${label}` })
    this.taintBefore = m.tainted
  }

  async end(label: string): Promise<KernelLogVerdict> {
    if (!this.enabled) return { problems: [], excerpt: '' }
    const m = await this.agent.must('log_mark', { text: `dmaheap: end ${label}` })
    // The begin marker opens the drained text; everything after it is the case's.
    const lines = m.text.split('\n').filter((l) => l && !l.startsWith('dmaheap: '))
    const problems = lines.filter((l) => KERNEL_PROBLEM.test(l))
    if (m.tainted !== this.taintBefore) problems.push(`kernel taint changed from ${this.taintBefore} to ${m.tainted}`)
    const text = lines.join('\n')
    return { problems, excerpt: text.length > EXCERPT_MAX ? text.slice(-EXCERPT_MAX) : text }
  }
}
