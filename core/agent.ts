/**
 * The typed client of the agent protocol: what the suites call. It knows
 * nothing of transports, so a suite runs the same on a QEMU guest, a board
 * or the local machine.
 */
import { ProtocolError, UnexpectedErrno } from './errors.js'
import { decodeReply, type Op, type Outcome, type Requests, type Responses } from './protocol.js'
import type { Transport } from './transport.js'

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000

export class Agent {
  private nextId = 1

  constructor(
    private readonly transport: Transport,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  /**
   * One request; a syscall error is an Outcome, not an exception. A reply
   * that breaks the protocol (not JSON, the wrong id, a field of the wrong
   * type) loses the link: replies pair with requests by order, so after one
   * bad line no later reply can be trusted to answer its own request.
   */
  async call<O extends Op>(op: O, req: Requests[O], timeoutMs = this.timeoutMs): Promise<Outcome<Responses[O]>> {
    const id = this.nextId++
    const line = JSON.stringify({ id, op, ...req })
    const reply = await this.transport.request(line, timeoutMs)
    const decoded = decodeReply(op, id, reply)
    if ('violation' in decoded) throw this.transport.fail(`the agent broke the protocol: ${decoded.violation}`)
    // The agent is fine, the request was not: a bug in the harness.
    if ('refused' in decoded) throw new ProtocolError(`agent refused ${op}: ${decoded.refused}`)
    return decoded.outcome
  }

  /** For calls the contract says succeed (setup, cleanup): an errno throws UnexpectedErrno. */
  async must<O extends Op>(op: O, req: Requests[O], timeoutMs?: number): Promise<Responses[O]> {
    const r = await this.call(op, req, timeoutMs)
    // ok === false, not !ok: alloc_threads' own `ok` is a count, and 0 is a result.
    if (r.ok === false) throw new UnexpectedErrno(op, r.errno, r.fault)
    return r as unknown as Responses[O]
  }

  close(): Promise<void> {
    return this.transport.close()
  }
}
