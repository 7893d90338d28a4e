/**
 * `dmaheap bench`: start the target once, measure every heap (the reference
 * heap first), print a table on stdout, save bench.json in the output folder,
 * and with --compare flag what moved beyond the measured noise: each
 * figure against the yardstick measured beside it (suites/heap-bench.ts), so a
 * busy machine is not a slower heap. --gate exits 1 on a figure judged
 * SLOWER.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExitCode, UsageError } from '../core/errors.js'
import { parseBenchRun, type BenchRun } from '../core/bench-record.js'
import { compareBench, formatBench, formatChanges } from '../reports/bench-compare.js'
import { benchHeap } from '../suites/heap-bench.js'
import { chooseTarget, type TargetChoice } from '../targets/registry.js'
import { makeOutputDir } from './output.js'
import { selectHeaps } from '../suites/select-heaps.js'
import { withSession } from '../targets/lifecycle.js'
import { log } from './log.js'

/** Where to measure: --target, or a board (--board) as `run` takes it. */
export interface BenchOptions {
  where: TargetChoice
  heap?: string[]
  output?: string
  budgetMs: number
  compare?: string
  /** exit 1 when a figure got slower beyond the noise */
  gate?: boolean
}

async function readBaseline(path: string): Promise<BenchRun> {
  const fix = 'pass --compare with a bench.json from an earlier `dmaheap bench`'
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read the benchmark to compare with, ${path}: ${(e as Error).message}`, fix)
  }
  const run = parseBenchRun(text)
  if (typeof run === 'string') throw new UsageError(`${path} is not a bench.json: ${run}`, fix)
  return run
}

export async function benchCommand(opts: BenchOptions): Promise<number> {
  if (!Number.isInteger(opts.budgetMs) || opts.budgetMs < 3 || opts.budgetMs > 3_600_000) {
    throw new UsageError(`--budget-ms ${opts.budgetMs}: expected whole milliseconds from 3 to 3600000`, 'pass --budget-ms with the sampling time per figure, e.g. --budget-ms 300')
  }
  const target = chooseTarget(opts.where)
  const baseline = opts.compare ? await readBaseline(opts.compare) : undefined
  const outputDir = makeOutputDir(opts.output, `${target.name}-bench`)
  return withSession(target, { outputDir, log }, async (session) => {
    const heaps = await selectHeaps(session, opts.heap)
    const run: BenchRun = {
      target: session.info.target,
      kernel: session.info.hello.release,
      machine: session.info.hello.machine,
      started: new Date().toISOString(),
      budgetMs: opts.budgetMs,
      figures: [],
    }
    for (const heap of heaps) run.figures.push(...(await benchHeap(session.agent, heap, opts.budgetMs, log)))
    await writeFile(join(outputDir, 'bench.json'), JSON.stringify(run, null, 2) + '\n')
    console.log(formatBench(run))
    log(`figures saved to ${join(outputDir, 'bench.json')}`)
    if (!baseline) return ExitCode.pass
    const changes = compareBench(baseline, run)
    console.log(formatChanges(changes))
    const slower = changes.changed.filter((c) => c.change > 0)
    return opts.gate && slower.length ? ExitCode.testFailed : ExitCode.pass
  })
}
