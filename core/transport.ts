/**
 * A transport carries protocol lines to one agent and back. The suites never
 * see it: they talk to an Agent (core/agent.ts), which sits on whichever
 * transport the target uses.
 */
export interface Transport {
  /** Sends one request line; resolves with its response line. */
  request(line: string, timeoutMs: number): Promise<string>
  /** Ends the link and releases what it holds. */
  close(): Promise<void>
}
