/**
 * Every report a run leaves besides results.jsonl and run.json, written from
 * those two files alone: at the end of `dmaheap run` (also when it stopped at
 * an infrastructure error), by `dmaheap report DIR`, and by anything else that
 * produces a run folder.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseBenchRun, type BenchRun } from '../core/bench-record.js'
import { UsageError } from '../core/errors.js'
import { toHtml } from './html.js'
import { toJunit } from './junit.js'
import { toKcidb } from './kcidb.js'
import { toKtap } from './ktap.js'
import { toMarkdown } from './markdown.js'
import { referenceDiff } from './reference-diff.js'
import { loadRun, type RunData } from './run-data.js'

export const VIEW_FILES = ['results.ktap', 'junit.xml', 'kcidb.json', 'summary.md', 'report.html', 'reference-diff.json'] as const

export interface ViewOptions {
  /** a bench.json to plot; by default the folder's own, if it has one */
  bench?: string
}

function readBench(path: string): BenchRun {
  const fix = 'pass a bench.json written by `dmaheap bench`'
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read the benchmark ${path}: ${(e as Error).message}`, fix)
  }
  const run = parseBenchRun(text)
  if (typeof run === 'string') throw new UsageError(`${path} is not a bench.json: ${run}`, fix)
  return run
}

export function writeViewsOf(data: RunData, opts: ViewOptions = {}): string[] {
  const { dir, results, run } = data
  const diff = referenceDiff(results)
  const benchPath = opts.bench ?? join(dir, 'bench.json')
  const bench = opts.bench || existsSync(benchPath) ? readBench(benchPath) : undefined
  const files: Record<(typeof VIEW_FILES)[number], string> = {
    'results.ktap': toKtap(results, diff),
    'junit.xml': toJunit(results, diff, run),
    'kcidb.json': JSON.stringify(toKcidb(results, diff, run), null, 1) + '\n',
    'summary.md': toMarkdown(results, diff, run),
    'report.html': toHtml(results, diff, run, bench),
    'reference-diff.json': JSON.stringify(diff, null, 1) + '\n',
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return VIEW_FILES.map((f) => join(dir, f))
}

/** Regenerates every view of the run in an output folder. */
export function writeViews(outputDir: string, opts: ViewOptions = {}): string[] {
  return writeViewsOf(loadRun(outputDir), opts)
}
