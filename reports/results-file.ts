/**
 * results.jsonl: one CaseResult per line, appended synchronously as each case
 * finishes, so a crash or a lost target mid-run loses nothing already
 * measured. Every other report is a view of this file.
 */
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from '../core/result.js'

export const RESULTS_FILE = 'results.jsonl'

export class ResultsFile {
  readonly path: string
  constructor(outputDir: string) {
    this.path = join(outputDir, RESULTS_FILE)
    writeFileSync(this.path, '')
  }
  append(r: CaseResult): void {
    appendFileSync(this.path, JSON.stringify(r) + '\n')
  }
}
