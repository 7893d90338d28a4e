/**
 * What a case holds on the target and gives back part-way through: zeroing
 * frees its dirty round before the check round, release closes the fd under
 * test. Each fd and mapping is released exactly once: by the case, or, when
 * the case ends first (an unexpected errno, a SKIP), by the cleanup this
 * registers with ctx.defer. So a case never leaves buffers behind for the
 * suite's fd-leak check to blame on a neighbour, or memory for the next case
 * to miss.
 */
import type { CaseContext } from './harness.js'

export class Held {
  /** what is still held, in the order it was taken: key -> how to give it back */
  private readonly undo = new Map<string, () => Promise<unknown>>()

  constructor(private readonly ctx: CaseContext) {
    ctx.defer(() => this.releaseAll())
  }

  /** A buffer fd to close. */
  fd(fd: number): number {
    this.undo.set(`fd ${fd}`, () => this.ctx.agent.must('close', { fd }))
    return fd
  }

  /** A mapping to unmap. */
  map(map: number): number {
    this.undo.set(`map ${map}`, () => this.ctx.agent.must('munmap', { map }))
    return map
  }

  /** Closes a held fd now. */
  close(fd: number): Promise<void> {
    return this.give(`fd ${fd}`)
  }

  /** Unmaps a held mapping now. */
  unmap(map: number): Promise<void> {
    return this.give(`map ${map}`)
  }

  /**
   * Gives back everything still held, newest first (a mapping before its
   * buffer's fd). One that fails does not keep the rest: the first error is
   * thrown once all were tried.
   */
  async releaseAll(): Promise<void> {
    let first: unknown
    for (const key of [...this.undo.keys()].reverse()) {
      try {
        await this.give(key)
      } catch (e) {
        first ??= e
      }
    }
    if (first !== undefined) throw first
  }

  private async give(key: string): Promise<void> {
    const undo = this.undo.get(key)
    if (!undo) throw new Error(`${key} is not held by this case`)
    // Forgotten first: a close that failed is not tried again by the cleanup.
    this.undo.delete(key)
    await undo()
  }
}
