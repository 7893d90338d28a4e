/**
 * `dmaheap run`: start the target once, run the suites on every heap (the
 * reference heap included), print TAP on stdout and keep everything in the
 * run's output folder: results.jsonl, results.tap, run.json, console.log,
 * and the views of them (reports/views.ts). The target's sessions are the
 * lifecycle's (targets/lifecycle.ts): started, brought back after a break,
 * stopped on Ctrl-C, closed at the end.
 */
import { createWriteStream } from 'node:fs'
import { rm, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExitCode, InfraError } from '../core/errors.js'
import { countsText, PASS_AND_FAIL, type CaseResult, type RunSummary } from '../core/result.js'
import { loadKnownFailures } from '../core/known-failures.js'
import { describeDiff, referenceDiff } from '../reports/reference-diff.js'
import { ResultsFile } from '../reports/results-file.js'
import { writeRunRecord } from '../reports/run-record.js'
import { createTapRoot } from '../reports/tap-root.js'
import { writeViews } from '../reports/views.js'
import { lavaSignals } from '../reports/lava.js'
import { loadRun } from '../reports/run-data.js'
import { failsRun } from '../reports/outcomes.js'
import { resolveSuites } from '../suites/index.js'
import { planOf, runSuites } from '../suites/run.js'
import { selectCases, type CaseSelection } from '../suites/case-filter.js'
import { BOOT_LOG_FILE } from '../suites/boot-log.js'
import { readKselftestBinary, selftestCase } from '../suites/kselftest.js'
import { comparableProfiles, readPreviousProfiles, writeProfiles } from '../suites/previous-profiles.js'
import { runSettings, type SettingsFlags } from '../suites/run-settings.js'
import { selectHeaps } from '../suites/select-heaps.js'
import { missingHeaps } from '../suites/heaps.js'
import { SessionLifecycle } from '../targets/lifecycle.js'
import { chooseTarget, type TargetChoice } from '../targets/registry.js'
import { crashed, outcomeOfCrash, untilCrash } from './crash.js'
import { log, logAbove } from './log.js'
import { formatError, makeOutputDir } from './output.js'
import { ProgressDisplay } from './progress.js'
import { logRunEnd } from './run-end.js'

export interface RunOptions extends SettingsFlags {
  /** where to run: --target or a board, and their options */
  where: TargetChoice
  suite?: string[]
  heap?: string[]
  /** --case / --skip: which of the suites' cases run */
  cases?: CaseSelection
  output?: string
  /** fault profile of the reference heap (the harness's self-tests) */
  referenceFaults?: string[]
  /** a previous run's output folder: its heap profiles, to catch lost capacity */
  previous?: string
  /** the upstream dmabuf-heaps selftest binary to run on the target too */
  kselftest?: string
  /** --known-failures: the file of failures known here (a FAIL it names is XFAIL, a PASS XPASS) */
  knownFailures?: string
  /** --lava: print every result as a LAVA test case signal at the end (inside a LAVA job's test shell) */
  lava?: boolean
}

export async function runCommand(opts: RunOptions): Promise<number> {
  // Every name the user gave is checked before anything boots.
  const target = chooseTarget(opts.where)
  const defaults = target.runDefaults
  if (defaults) {
    // The target's description (a board file) fills in what the command line left out.
    opts = {
      ...opts,
      ...(defaults.expectations && !opts.expectations ? { expectations: defaults.expectations, expectationsSource: defaults.expectationsSource ?? target.name } : {}),
      ...(defaults.memoryBudget !== undefined && opts.memoryBudget === undefined ? { memoryBudget: defaults.memoryBudget } : {}),
    }
  }
  const { suites, boot: bootCase } = selectCases(resolveSuites(opts.suite), opts.cases)
  const previous = opts.previous === undefined ? undefined : readPreviousProfiles(opts.previous)
  const known = opts.knownFailures === undefined ? undefined : loadKnownFailures(opts.knownFailures)
  // Read (and refused if it is no program) before an output folder exists.
  const selftestBinary = opts.kselftest ? { path: opts.kselftest, bytes: readKselftestBinary(opts.kselftest) } : undefined
  const outputDir = makeOutputDir(opts.output, target.name)
  const selftest = selftestBinary && selftestCase(selftestBinary.path, selftestBinary.bytes, outputDir)
  const started = new Date()
  const lifecycle = new SessionLifecycle(target, { outputDir, log })

  // Nothing ran yet: on an error, leave no empty folder that looks like a run (a boot log stays).
  const dropIfEmpty = async (e: unknown): Promise<never> => {
    await rmdir(outputDir).catch(() => undefined)
    throw e
  }
  try {
    const session = await lifecycle.start().catch(dropIfEmpty)
    const heaps = await selectHeaps(session, opts.heap, opts.referenceFaults).catch(dropIfEmpty)
    log(`heaps: ${heaps.map((h) => h.name).join(', ')}; suites: ${suites.map((s) => s.name).join(', ')}; output: ${outputDir}`)

    const results = new ResultsFile(outputDir)
    const root = createTapRoot('dmaheap')
    const tapFile = createWriteStream(join(outputDir, 'results.tap'))
    const progress = new ProgressDisplay(started.getTime())
    logAbove(progress)
    root.pipe(progress.guard(process.stdout))
    root.pipe(tapFile)
    // A full disk stops results.tap, not the run: results.jsonl reports it.
    tapFile.on('error', () => root.unpipe(tapFile))
    const ended = new Promise<void>((resolve) => root.on('end', () => resolve()))

    const settings = runSettings(session.info, opts)
    if (known?.length) settings.knownFailures = known
    const { release } = session.info.hello
    if (previous) {
      const comparable = comparableProfiles(previous, target.name, release)
      if (typeof comparable === 'string') root.comment(comparable)
      else settings.previousProfiles = comparable
    }
    // A heap the expectations name, or a region should make, must exist, unless --heap narrowed the run.
    const missing = opts.heap?.length ? [] : missingHeaps(heaps, Object.keys(opts.expectations ?? {}), session.info.facts.reservedMemory)
    const recorded: CaseResult[] = []
    const onResult = (r: CaseResult) => {
      if (crashed()) return // after an internal error nothing more is trusted, or written
      results.append(r)
      recorded.push(r)
      progress.result(r)
    }
    // The boot log is kept beside the results, but never at their cost: on a
    // full disk it is dropped (and said so) and the results get the space.
    const keepBootLog = async (text: string) => {
      const path = join(outputDir, BOOT_LOG_FILE)
      try {
        await writeFile(path, text)
      } catch (e) {
        await rm(path, { force: true })
        log(`warning: ${path} not kept: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
      }
    }
    // A target that breaks mid-run (kernel crash, hang, agent or QEMU
    // killed) is brought back by the lifecycle and the run goes on with the
    // next case. An exception the suites did not catch, or one thrown
    // anywhere meanwhile (cli/crash.ts), ends the run here like an
    // infrastructure error: what was measured is kept and every view
    // written from it.
    const outcome = await untilCrash(
      runSuites({ root, session, suites, heaps, settings, missingHeaps: missing, recovery: lifecycle, onResult, keepBootLog, bootCase, progress, ...(selftest ? { selftest } : {}) }),
    ).catch((e) => outcomeOfCrash(e, recorded, lifecycle.session ?? session))
    // The session the run ended on: a fresh one after each recovery, its facts its own.
    const last = outcome.session
    if (Object.keys(outcome.profiles).length) await writeProfiles(outputDir, { target: target.name, kernel: release, profiles: outcome.profiles })
    const c = outcome.counts
    // What each kernel heap did differently from the reference heap, as TAP diagnostics.
    const diff = referenceDiff(recorded)
    root.comment(`differences from the reference heap: ${diff.length ? '' : 'none'}${diff.map((d) => `\n${describeDiff(d)}`).join('')}`)
    if (outcome.infra) {
      root.comment(`console tail:\n${last.consoleTail(20)}`)
      root.bailout(`infrastructure error: ${outcome.infra.message}`)
    } else {
      const { release, machine, page_size } = last.info.hello
      root.comment(`${target.name}, Linux ${release} ${machine}, page size ${page_size}`)
      root.comment(`totals: ${countsText(c, PASS_AND_FAIL)}`)
      root.end()
    }
    await ended
    await new Promise<void>((resolve) => (tapFile.writable ? tapFile.end(resolve) : resolve()))
    results.close()
    progress.stop()
    logAbove(undefined)
    const sorted = logRunEnd(recorded, known, opts.knownFailures, log)

    const summary: RunSummary = { counts: c, ...(outcome.infra ? { infraError: outcome.infra.message } : {}) }
    try {
      await writeRunRecord(outputDir, {
        target: last.info,
        suites: suites.map((s) => s.name),
        heaps: heaps.map((h) => h.name),
        started: started.toISOString(),
        finished: new Date().toISOString(),
        artifacts: { ...last.artifacts, ...(outcome.boot?.log ? { bootLog: join(outputDir, outcome.boot.log) } : {}) },
        summary,
        plan: planOf(suites, heaps, bootCase, !!selftest),
        ...(outcome.boot ? { boot: outcome.boot } : {}),
        ...(known && opts.knownFailures ? { knownFailures: { file: opts.knownFailures, entries: known.length, stale: sorted.stale } } : {}),
      })
      writeViews(outputDir)
      // From the folder, as every view: the cases the run never reached are there too, as MISS (LAVA's unknown).
      if (opts.lava) for (const line of lavaSignals(loadRun(outputDir).results)) console.log(line)
    } catch (e) {
      const why = outcome.infra ?? e
      log(`${countsText(c, PASS_AND_FAIL)} before it stopped; results.jsonl in ${outputDir} holds every complete result`)
      console.error(formatError(why instanceof InfraError ? why : new InfraError(`the reports could not be written: ${(why as NodeJS.ErrnoException).code ?? String(why)}`, 'free space in the output folder or pass --output elsewhere')))
      return ExitCode.infrastructure
    }
    log(`${countsText(c, PASS_AND_FAIL)}; outputs saved to ${outputDir}; report: ${join(outputDir, 'report.html')}`)
    if (outcome.infra) {
      log(`error: ${outcome.infra.message} (the console log is in ${outputDir})`)
      return ExitCode.infrastructure
    }
    return c.ERROR > 0 ? ExitCode.infrastructure : failsRun(c) ? ExitCode.testFailed : ExitCode.pass
  } finally {
    logAbove(undefined)
    await lifecycle.close()
  }
}
