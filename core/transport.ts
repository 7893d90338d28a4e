/**
 * A transport carries protocol lines to one agent and back. The suites never
 * see it: they talk to an Agent (core/agent.ts), which sits on whichever
 * transport the target uses.
 */
import type { InfraError } from './errors.js'

export interface Transport {
  /** Sends one request line; resolves with its response line. */
  request(line: string, timeoutMs: number): Promise<string>
  /**
   * Marks the link lost (a reply broke the protocol): every waiting and
   * later request fails. Returns the error the link was lost with, the
   * first one when it was lost already.
   */
  fail(reason: string): InfraError
  /** Ends the link and releases what it holds. */
  close(): Promise<void>
}
