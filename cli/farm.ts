/**
 * `dmaheap run --farm FILE|DIR`: every board of a farm, at most --jobs at
 * once. Each board is its own `dmaheap run --board` process with its own
 * results folder, so one board that cannot be reached, or that breaks
 * mid-run, is that board's infrastructure error and the others go on.
 * Progress is a line per event on stderr, each naming its board; the farm's
 * folder gets farm.json (per board: status, counts, duration, exit code) and
 * the exit code sums the boards up: 2 if any board had an infrastructure
 * error, else 1 if any case failed, else 0.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { ExitCode } from '../core/errors.js'
import { packageRoot } from '../core/paths.js'
import type { CaseStatus } from '../core/result.js'
import { loadFarm, type BoardDescription } from '../targets/board.js'
import { makeOutputDir } from './output.js'
import { log } from './log.js'

export interface FarmOptions {
  farm: string
  jobs: number
  output?: string | undefined
  /** `dmaheap run` arguments every board gets (suites, heaps, host key flags) */
  runArgs: string[]
}

export type BoardStatus = 'pass' | 'fail' | 'infra-error' | 'interrupted'

export interface BoardOutcome {
  board: string
  file: string
  status: BoardStatus
  exitCode: number
  durationMs: number
  output: string
  counts?: Record<CaseStatus, number>
  /** the one-line error of a board that did not finish */
  error?: string
}

function statusOf(code: number): BoardStatus {
  return code === ExitCode.pass ? 'pass' : code === ExitCode.testFailed ? 'fail' : code === ExitCode.interrupted ? 'interrupted' : 'infra-error'
}

/** 2 if any board had an infrastructure error (or was interrupted), else 1 if any failed, else 0. */
export function farmExitCode(outcomes: Pick<BoardOutcome, 'status'>[]): number {
  if (outcomes.some((o) => o.status === 'infra-error' || o.status === 'interrupted')) return ExitCode.infrastructure
  if (outcomes.some((o) => o.status === 'fail')) return ExitCode.testFailed
  return ExitCode.pass
}

async function runBoard(board: BoardDescription, dir: string, opts: FarmOptions, running: Set<ResultPromise>): Promise<BoardOutcome> {
  const out = join(dir, board.name)
  mkdirSync(out, { recursive: true })
  const started = Date.now()
  const say = (m: string) => process.stderr.write(`dmaheap: [${board.name}] ${m}\n`)
  say('starting')
  const logFile = createWriteStream(join(out, 'dmaheap.log'))
  const child = execa(process.execPath, [join(packageRoot, 'bin', 'dmaheap.js'), 'run', '--board', board.file, '--output', out, ...opts.runArgs], {
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore', // the TAP is in the board's results.tap
    stderr: 'pipe',
    buffer: false,
    // Ctrl-C reaches each board's process, which cleans its board up itself.
    cleanup: false,
  })
  running.add(child)
  let partial = ''
  let lastError: string | undefined
  child.stderr?.on('data', (c: Buffer) => {
    logFile.write(c)
    const lines = (partial + c.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const l of lines.filter(Boolean)) {
      if (l.startsWith('dmaheap: error: ')) lastError = l.slice('dmaheap: error: '.length)
      say(l.replace(/^dmaheap: /, ''))
    }
  })
  const r = await child
  running.delete(child)
  await new Promise<void>((resolve) => logFile.end(resolve))
  const exitCode = r.exitCode ?? (r.signal === 'SIGINT' || r.signal === 'SIGTERM' ? ExitCode.interrupted : ExitCode.infrastructure)
  let counts: Record<CaseStatus, number> | undefined
  const runJson = join(out, 'run.json')
  if (existsSync(runJson)) counts = (JSON.parse(readFileSync(runJson, 'utf8')) as { summary: { counts: Record<CaseStatus, number> } }).summary.counts
  const outcome: BoardOutcome = {
    board: board.name,
    file: board.file,
    status: statusOf(exitCode),
    exitCode,
    durationMs: Date.now() - started,
    output: out,
    ...(counts ? { counts } : {}),
    ...(lastError && exitCode !== ExitCode.pass && exitCode !== ExitCode.testFailed ? { error: lastError } : {}),
  }
  const tally = counts ? `: ${counts.PASS} pass, ${counts.FAIL} fail, ${counts.SKIP} skip, ${counts.ERROR} error` : outcome.error ? `: ${outcome.error}` : ''
  say(`${outcome.status.toUpperCase()} in ${(outcome.durationMs / 1000).toFixed(1)} s${tally}`)
  return outcome
}

export async function farmCommand(opts: FarmOptions): Promise<number> {
  const boards = loadFarm(opts.farm)
  const dir = makeOutputDir(opts.output, 'farm')
  const jobs = Math.max(1, Math.min(opts.jobs, boards.length))
  const started = new Date()
  log(`farm of ${boards.length} board${boards.length > 1 ? 's' : ''}, ${jobs} at a time; output: ${dir}`)

  const running = new Set<ResultPromise>()
  let interrupted = false
  const onSignal = () => {
    interrupted = true
    log('interrupted; stopping the boards (each removes what it uploaded)')
    for (const c of running) c.kill('SIGTERM')
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const outcomes: BoardOutcome[] = []
  let next = 0
  const worker = async () => {
    while (next < boards.length && !interrupted) {
      const board = boards[next++]!
      outcomes.push(await runBoard(board, dir, opts, running))
      log(`${outcomes.length}/${boards.length} boards done`)
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker))
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)

  const order = new Map(boards.map((b, i) => [b.name, i]))
  outcomes.sort((a, b) => order.get(a.board)! - order.get(b.board)!)
  const exitCode = interrupted ? ExitCode.interrupted : farmExitCode(outcomes)
  await writeFile(
    join(dir, 'farm.json'),
    JSON.stringify({ farm: opts.farm, jobs, started: started.toISOString(), finished: new Date().toISOString(), durationMs: Date.now() - started.getTime(), exitCode, boards: outcomes }, null, 2) + '\n',
  )
  for (const o of outcomes) {
    const c = o.counts
    process.stdout.write(`${o.board}\t${o.status}\t${(o.durationMs / 1000).toFixed(1)} s\t${c ? `${c.PASS} pass ${c.FAIL} fail ${c.SKIP} skip ${c.ERROR} error` : (o.error ?? '')}\n`)
  }
  log(`farm done in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s, exit ${exitCode}; farm.json in ${dir}`)
  return exitCode
}
