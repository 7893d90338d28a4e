/**
 * `dmaheap parse FILE`: a saved KTAP/TAP log (ours, kselftest's, the
 * upstream dmabuf-heaps selftest's in either generation) read into the
 * result model: results as JSON lines on stdout, or with --output a run
 * folder with results.jsonl and every view of it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExitCode, UsageError } from '../core/errors.js'
import type { CaseResult } from '../core/result.js'
import { countAll } from '../reports/groups.js'
import { kselftestResults } from '../suites/kselftest-results.js'
import { countsText } from '../core/result.js'
import { verdictOf } from '../reports/markdown.js'
import { ResultsFile } from '../reports/results-file.js'
import { writeViewsOf } from '../reports/views.js'
import { makeOutputDir } from './output.js'

export interface ParseOptions {
  file: string
  target?: string
  kernel?: string
  suite?: string
  exitStatus?: number
  output?: string
}

export function parseResultsOf(opts: ParseOptions): CaseResult[] {
  if (!existsSync(opts.file)) throw new UsageError(`${opts.file} does not exist`, 'pass a saved KTAP or TAP log')
  const text = readFileSync(opts.file, 'utf8')
  const results = kselftestResults(text, {
    target: opts.target ?? 'unknown',
    kernel: opts.kernel ?? 'unknown',
    ...(opts.suite ? { suite: opts.suite } : {}),
    ...(opts.exitStatus !== undefined ? { exitStatus: opts.exitStatus } : {}),
  })
  if (!results.length) {
    throw new UsageError(`${opts.file} holds no TAP or KTAP result line and no selftest verdict`, 'pass the output of a kselftest or of `dmaheap run` (results.ktap or results.tap)')
  }
  return results
}

export function parseCommand(opts: ParseOptions): number {
  const results = parseResultsOf(opts)
  if (opts.output) {
    const dir = makeOutputDir(opts.output, 'parse')
    const file = new ResultsFile(dir)
    for (const r of results) file.append(r)
    writeViewsOf({ dir, results })
    process.stderr.write(`dmaheap: results and views saved to ${dir} (${join(dir, 'report.html')})\n`)
  } else {
    for (const r of results) console.log(JSON.stringify(r))
  }
  const c = countAll(results)
  const verdict = verdictOf(c)
  process.stderr.write(`dmaheap: ${verdict}: ${countsText(c)}\n`)
  return verdict === 'PASS' ? ExitCode.pass : verdict === 'FAIL' ? ExitCode.testFailed : ExitCode.infrastructure
}
