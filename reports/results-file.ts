/**
 * results.jsonl: one CaseResult per line, appended synchronously as each case
 * finishes, so a crash or a lost target mid-run loses nothing already
 * measured. Every other report is a view of this file.
 *
 * A line is written whole or not at all: when the disk fills mid-line the
 * file is cut back to its last complete line, so a reader never meets a
 * half-written result, and the run stops with a one-line error.
 */
import { closeSync, ftruncateSync, fstatSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { InfraError } from '../core/errors.js'
import type { CaseResult } from '../core/result.js'

export const RESULTS_FILE = 'results.jsonl'

export class ResultsFile {
  readonly path: string
  private readonly fd: number
  constructor(outputDir: string) {
    this.path = join(outputDir, RESULTS_FILE)
    this.fd = openSync(this.path, 'w')
  }
  append(r: CaseResult): void {
    const line = Buffer.from(JSON.stringify(r) + '\n')
    const before = fstatSync(this.fd).size
    try {
      let done = 0
      while (done < line.length) done += writeSync(this.fd, line, done)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e)
      try {
        ftruncateSync(this.fd, before)
      } catch {
        // nothing more can be done; the reader skips a cut-off last line
      }
      throw new InfraError(
        `cannot write ${this.path}: ${code}${code === 'ENOSPC' ? ' (the disk is full)' : ''}; the results before ${r.id} on ${r.heap} are kept`,
        'free space there or pass --output on another filesystem',
      )
    }
  }
  close(): void {
    closeSync(this.fd)
  }
}
