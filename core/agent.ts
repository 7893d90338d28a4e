/**
 * The typed client of the agent protocol: what the suites call. It knows
 * nothing of transports, so a suite runs the same on a QEMU guest, a board
 * or the local machine.
 */
import { ProtocolError, UnexpectedErrno } from './errors.js'
import type { Op, Outcome, Requests, Responses, WireResponse } from './protocol.js'
import type { Transport } from './transport.js'

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000

export class Agent {
  private nextId = 1

  constructor(
    private readonly transport: Transport,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  /** One request; a syscall error is an Outcome, not an exception. */
  async call<O extends Op>(op: O, req: Requests[O], timeoutMs = this.timeoutMs): Promise<Outcome<Responses[O]>> {
    const id = this.nextId++
    const line = JSON.stringify({ id, op, ...req })
    const reply = await this.transport.request(line, timeoutMs)
    let res: WireResponse
    try {
      res = JSON.parse(reply) as WireResponse
    } catch {
      throw new ProtocolError(`agent sent a line that is not JSON for ${op}: ${reply.slice(0, 200)}`)
    }
    if (res.id !== id) throw new ProtocolError(`agent answered id ${res.id} to request ${id} (${op})`)
    if (res.ok) return res as unknown as Outcome<Responses[O]>
    if ('error' in res) throw new ProtocolError(`agent refused ${op}: ${res.error}`)
    return { ok: false, errno: res.errno, errnum: res.errnum, ...(res.fault === undefined ? {} : { fault: res.fault }) }
  }

  /** For calls the contract says succeed (setup, cleanup): an errno throws UnexpectedErrno. */
  async must<O extends Op>(op: O, req: Requests[O], timeoutMs?: number): Promise<Responses[O]> {
    const r = await this.call(op, req, timeoutMs)
    if (!r.ok) throw new UnexpectedErrno(op, r.errno, r.fault)
    return r as unknown as Responses[O]
  }

  close(): Promise<void> {
    return this.transport.close()
  }
}
