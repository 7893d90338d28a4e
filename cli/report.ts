/** `dmaheap report DIR`: write every view of a run again from its results.jsonl and run.json. */
import { ExitCode } from '../core/errors.js'
import { countAll } from '../reports/groups.js'
import { countsText } from '../core/result.js'
import { verdictOf } from '../reports/markdown.js'
import { loadRun } from '../reports/run-data.js'
import { writeViewsOf } from '../reports/views.js'

export interface ReportOptions {
  dir: string
  bench?: string
}

export function reportCommand(opts: ReportOptions): number {
  const data = loadRun(opts.dir)
  const files = writeViewsOf(data, opts.bench ? { bench: opts.bench } : {})
  const c = countAll(data.results)
  const verdict = verdictOf(c, data.run?.summary.infraError)
  process.stderr.write(`dmaheap: ${verdict}: ${countsText(c)}\n`)
  for (const f of files) console.log(f)
  return verdict === 'PASS' ? ExitCode.pass : verdict === 'FAIL' ? ExitCode.testFailed : ExitCode.infrastructure
}
