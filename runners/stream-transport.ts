/**
 * Line-delimited JSON over a byte stream: a unix socket to a QEMU
 * virtio-serial port, an agent process's stdin/stdout, an SSH channel.
 * Responses come back in request order, so pending requests form a queue.
 *
 * The other end is a remote machine that may be broken or hostile, so
 * nothing it sends can grow without bound or shift the pairing: a line
 * longer than MAX_REPLY_LINE_BYTES, or a line no request waits for, loses
 * the link (an InfraError), and so does everything after.
 */
import type { Readable, Writable } from 'node:stream'
import { InfraError } from '../core/errors.js'
import { MAX_REPLY_LINE_BYTES, showWire } from '../core/protocol.js'
import type { Transport } from '../core/transport.js'
import { formatSize } from '../core/sizes.js'

interface Pending {
  resolve(line: string): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

const NEWLINE = 0x0a
const RESTART_EVENT = '{"id":null,"event":'

export class StreamTransport implements Transport {
  private pending: Pending[] = []
  /** the line in progress: chunks received since the last newline */
  private partial: Buffer[] = []
  private partialBytes = 0
  private lost: InfraError | null = null
  private closing: Promise<void> | undefined

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    /** names the link in errors, e.g. "QEMU virtio-serial port" */
    private readonly linkName: string,
    private readonly onClose?: () => Promise<void>,
    /** the longest line accepted; past it the link is lost */
    private readonly maxLineBytes = MAX_REPLY_LINE_BYTES,
  ) {
    // Bytes, not text: the cap counts bytes, and a newline byte never sits
    // inside a UTF-8 sequence, so lines are cut before they are decoded.
    input.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk))
    input.on('end', () => this.fail(`${linkName} closed`))
    input.on('error', (e) => this.fail(`${linkName} failed: ${e.message}`))
    output.on('error', (e) => this.fail(`${linkName} failed: ${e.message}`))
  }

  private onData(chunk: Buffer): void {
    if (this.lost) return // nothing said after the link is lost can be paired with anything
    let start = 0
    let nl: number
    while ((nl = chunk.indexOf(NEWLINE, start)) >= 0) {
      if (this.partialBytes + (nl - start) > this.maxLineBytes) return this.tooLong(chunk.subarray(start, nl))
      const piece = chunk.subarray(start, nl)
      const line = this.partialBytes ? Buffer.concat([...this.partial, piece]).toString('utf8') : piece.toString('utf8')
      this.partial = []
      this.partialBytes = 0
      start = nl + 1
      this.onLine(line)
      if (this.lost) return
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start)
      if (this.partialBytes + rest.length > this.maxLineBytes) return this.tooLong(rest)
      this.partial.push(rest)
      this.partialBytes += rest.length
    }
  }

  private tooLong(last: Buffer): void {
    const head = (this.partial[0] ?? last).subarray(0, 200).toString('utf8')
    this.partial = []
    this.partialBytes = 0
    this.fail(`${this.linkName} sent a line longer than ${formatSize(BigInt(this.maxLineBytes))} (the cap on one reply line): ${showWire(head)}...`)
  }

  private onLine(line: string): void {
    // The agent's init announces a restart: its state is gone with it.
    if (line.startsWith(RESTART_EVENT)) {
      const why = /"why":"([^"]{0,200})"/.exec(line)?.[1] ?? 'unknown'
      this.fail(`the agent was restarted on the target (${why})`)
      return
    }
    const p = this.pending.shift()
    // A line with no request waiting is a surplus reply: every later reply
    // would pair with the request before its own.
    if (!p) return void this.fail(`${this.linkName} sent a line no request waits for: ${showWire(line)}`)
    clearTimeout(p.timer)
    p.resolve(line)
  }

  /** Marks the link lost: every waiting and future request fails with it. Returns the error it was lost with. */
  fail(reason: string): InfraError {
    if (this.lost) return this.lost
    this.lost = new InfraError(`agent link lost: ${reason}`)
    this.partial = []
    this.partialBytes = 0
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer)
      p.reject(this.lost)
    }
    return this.lost
  }

  request(line: string, timeoutMs: number): Promise<string> {
    if (this.lost) return Promise.reject(this.lost)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // The agent answers in order; a late answer would pair with the wrong
        // request, so a timeout makes the whole link unusable.
        this.fail(`no answer within ${timeoutMs} ms to ${line.slice(0, 120)}`)
      }, timeoutMs)
      this.pending.push({ resolve, reject, timer })
      this.output.write(line + '\n')
    })
  }

  /**
   * Once: a session may be closed twice (after a break, then as the run
   * ends), and its onClose must not wait a second time for what the first
   * wait already gave up on (an agent whose exit never showed).
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.fail('closed by the harness')
      this.output.end()
      this.input.destroy()
      await this.onClose?.()
    })())
  }
}
