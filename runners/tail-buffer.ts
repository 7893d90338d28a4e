/**
 * The last bytes of a stream that may never stop: QEMU's stderr, an SSH
 * command's output, the console's line in progress. A target that prints
 * without end must cost a bounded amount of memory; what it printed last is
 * what explains a failure, so the tail is kept and the head dropped.
 */
export class TailBuffer {
  private chunks: Buffer[] = []
  private held = 0
  /** bytes dropped from the front so far */
  dropped = 0

  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (!b.length) return
    this.chunks.push(b)
    this.held += b.length
    // Trimmed only past twice the cap, so each byte is copied a bounded
    // number of times however small the chunks are.
    if (this.held > 2 * this.maxBytes) this.trim()
  }

  private trim(): void {
    const all = Buffer.concat(this.chunks, this.held)
    const keep = all.subarray(all.length - this.maxBytes)
    this.dropped += all.length - keep.length
    this.chunks = [Buffer.from(keep)]
    this.held = keep.length
  }

  get length(): number {
    return Math.min(this.held, this.maxBytes)
  }

  /** The kept tail as text; when bytes were dropped, the text says so first. */
  text(): string {
    if (this.held > this.maxBytes) this.trim()
    const body = Buffer.concat(this.chunks, this.held).toString('utf8')
    return this.dropped ? `[${this.dropped} earlier bytes dropped]\n${body}` : body
  }

  /** The kept tail as text, nothing added. */
  raw(): string {
    if (this.held > this.maxBytes) this.trim()
    return Buffer.concat(this.chunks, this.held).toString('utf8')
  }
}
