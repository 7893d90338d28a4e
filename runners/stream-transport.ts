/**
 * Line-delimited JSON over a byte stream: a unix socket to a QEMU
 * virtio-serial port, an agent process's stdin/stdout, an SSH channel.
 * Responses come back in request order, so pending requests form a queue.
 */
import type { Readable, Writable } from 'node:stream'
import { InfraError } from '../core/errors.js'
import type { Transport } from '../core/transport.js'

interface Pending {
  resolve(line: string): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

export class StreamTransport implements Transport {
  private pending: Pending[] = []
  private buffered = ''
  private lost: InfraError | null = null

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    /** names the link in errors, e.g. "QEMU virtio-serial port" */
    linkName: string,
    private readonly onClose?: () => Promise<void>,
  ) {
    input.setEncoding('utf8')
    input.on('data', (chunk: string) => this.onData(chunk))
    input.on('end', () => this.fail(`${linkName} closed`))
    input.on('error', (e) => this.fail(`${linkName} failed: ${e.message}`))
    output.on('error', (e) => this.fail(`${linkName} failed: ${e.message}`))
  }

  private onData(chunk: string): void {
    this.buffered += chunk
    let nl: number
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl)
      this.buffered = this.buffered.slice(nl + 1)
      // The agent's init announces a restart: its state is gone with it.
      if (line.startsWith('{"id":null,"event":')) {
        const why = /"why":"([^"]*)"/.exec(line)?.[1] ?? 'unknown'
        this.fail(`the agent was restarted on the target (${why})`)
        continue
      }
      const p = this.pending.shift()
      if (!p) continue // a reply nobody waits for (a request that timed out)
      clearTimeout(p.timer)
      p.resolve(line)
    }
  }

  /** Marks the link lost: every waiting and future request fails with it. */
  fail(reason: string): void {
    if (this.lost) return
    this.lost = new InfraError(`agent link lost: ${reason}`)
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer)
      p.reject(this.lost)
    }
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

  async close(): Promise<void> {
    this.fail('closed by the harness')
    this.output.end()
    this.input.destroy()
    await this.onClose?.()
  }
}
