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

  private async taint(): Promise<string> {
    const t = await this.agent.call('read_file', { path: '/proc/sys/kernel/tainted' })
    return t.ok ? t.text.trim() : ''
  }

  async begin(label: string): Promise<void> {
    if (!this.enabled) return
    await this.agent.call('kmsg', { text: `dmaheap: begin ${label}` })
    await this.agent.call('kmsg_drain', {})
    this.taintBefore = await this.taint()
  }

  async end(label: string): Promise<KernelLogVerdict> {
    if (!this.enabled) return { problems: [], excerpt: '' }
    await this.agent.call('kmsg', { text: `dmaheap: end ${label}` })
    const drained = await this.agent.call('kmsg_drain', {})
    const lines = drained.ok ? drained.text.split('\n').filter((l) => l && !l.startsWith('dmaheap: ')) : []
    const problems = lines.filter((l) => KERNEL_PROBLEM.test(l))
    const after = await this.taint()
    if (after !== this.taintBefore) problems.push(`kernel taint changed from ${this.taintBefore} to ${after}`)
    const text = lines.join('\n')
    return { problems, excerpt: text.length > EXCERPT_MAX ? text.slice(-EXCERPT_MAX) : text }
  }
}
