/**
 * `dmaheap run`: start the target once, run the suites on every heap (the
 * reference heap included), print TAP on stdout and keep everything in the
 * run's output folder: results.jsonl, results.tap, run.json, console.log,
 * and the views of them (reports/views.ts).
 */
import { createWriteStream } from 'node:fs'
import { rename, rm, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExitCode, InfraError, UsageError } from '../core/errors.js'
import { REFERENCE_HEAP } from '../core/protocol.js'
import { countsText, PASS_AND_FAIL, type CaseResult, type RunSummary } from '../core/result.js'
import type { InjectedFault, RunSettings } from '../suites/harness.js'
import type { StartContext, Target, TargetInfo, TargetSession } from '../core/target.js'
import { describeDiff, referenceDiff } from '../reports/reference-diff.js'
import { ResultsFile } from '../reports/results-file.js'
import { createTapRoot } from '../reports/tap-root.js'
import { heapsOf, type HeapUnderTest } from '../suites/heaps.js'
import { resolveSuites } from '../suites/index.js'
import { planOf, runSuites } from '../suites/run.js'
import { selectCases, type CaseSelection } from '../suites/case-filter.js'
import { BOOT_LOG_FILE } from '../suites/boot-log.js'
import { readKselftestBinary, selftestCase } from '../suites/kselftest.js'
import { chooseTarget, type TargetChoice } from '../targets/registry.js'
import { formatError, makeOutputDir } from './output.js'
import type { HeapExpectations } from '../core/heap-expectations.js'
import { comparableProfiles, readPreviousProfiles, writeProfiles } from '../suites/previous-profiles.js'
import { writeViews } from '../reports/views.js'
import { failureLines, ProgressDisplay } from './progress.js'
import { crashed, outcomeOfCrash, untilCrash } from './crash.js'
import { describeEntry, describeKnown, loadKnownFailures } from '../core/known-failures.js'
import { failsRun, sortOutcomes } from '../reports/outcomes.js'

export interface RunOptions {
  /** where to run: --target or a board, and their options */
  where: TargetChoice
  suite?: string[]
  heap?: string[]
  /** --case / --skip: which of the suites' cases run */
  cases?: CaseSelection
  output?: string
  /** run exhaustion on a target that is not disposable */
  allowExhaustion?: boolean
  /** bound for destructive cases, bytes */
  memoryBudget?: bigint
  /** fault profile of the reference heap (the harness's self-tests) */
  referenceFaults?: string[]
  /** what heaps must deliver (--expect FILE, a board description's heaps) */
  expectations?: HeapExpectations
  /** the file the expectations came from */
  expectationsSource?: string
  /** a previous run's output folder: its heap profiles, to catch lost capacity */
  previous?: string
  /** --case-timeout: how long any case may take, ms */
  caseTimeoutMs?: number
  /** faults to provoke in given cases (the harness's reliability tests) */
  inject?: InjectedFault[]
  /** the upstream dmabuf-heaps selftest binary to run on the target too */
  kselftest?: string
  /** --known-failures: the file of failures known here (a FAIL it names is XFAIL, a PASS XPASS) */
  knownFailures?: string
}

function runSettings(opts: RunOptions, info: TargetInfo): RunSettings {
  const { disposable, destructiveAllowed } = info.facts
  const destructive = disposable || !!opts.allowExhaustion || destructiveAllowed
  return {
    destructive,
    destructiveReason: disposable
      ? `${info.target} is disposable (thrown away after the run)`
      : opts.allowExhaustion
        ? '--allow-exhaustion was given'
        : destructiveAllowed
          ? `${info.target}'s description allows it (destructive: true)`
          : 'destructive: can exhaust this machine\'s memory; pass --allow-exhaustion (bounded by --memory-budget)',
    ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
    ...(opts.expectations ? { expectations: opts.expectations, expectationsSource: opts.expectationsSource ?? 'the expectations' } : {}),
    ...(opts.caseTimeoutMs !== undefined ? { caseTimeoutMs: opts.caseTimeoutMs } : {}),
    ...(opts.inject?.length ? { inject: opts.inject } : {}),
  }
}

/** How long a target that broke mid-run may take to come back (a board's reboot). */
const RECONNECT_WITHIN_MS = 180_000

/** The run's status line, while one is shown: stderr lines go above it. */
let activeProgress: ProgressDisplay | undefined

export const log = (m: string) => (activeProgress ? activeProgress.line(`dmaheap: ${m}`) : process.stderr.write(`dmaheap: ${m}\n`))

let activeSession: TargetSession | undefined
/** Aborted on Ctrl-C while a target starts, so it can undo what it began (a board's upload). */
const startAbort = new AbortController()
let pendingStart: Promise<unknown> | undefined

/** The session Ctrl-C must stop (QEMU must not outlive us). */
export function setActiveSession(s: TargetSession | undefined): void {
  activeSession = s
}

/**
 * Starts the target so that Ctrl-C can stop it: while it starts (a board
 * undoes its upload) and once it runs (the session becomes the one to stop).
 */
export async function startInterruptible(target: Target, ctx: Omit<StartContext, 'signal'>): Promise<TargetSession> {
  activeSession = undefined // a broken one is closed already; Ctrl-C now waits for this start
  const starting = target.start({ ...ctx, signal: startAbort.signal })
  pendingStart = starting
  try {
    const session = await starting
    activeSession = session
    return session
  } finally {
    pendingStart = undefined
  }
}

/** Stops the target that runs or starts: QEMU must not outlive us, a board's upload is removed. */
export function stopTarget(): Promise<unknown> {
  startAbort.abort()
  return activeSession?.close() ?? pendingStart?.catch(() => {}) ?? Promise.resolve()
}

/** Ctrl-C: stop the target and exit 130. */
export function installInterruptHandler(): void {
  let stopping = false
  const onSignal = () => {
    if (stopping) return
    stopping = true
    log('interrupted; stopping the target')
    void stopTarget().finally(() => process.exit(ExitCode.interrupted))
  }
  // process.on, not once: a handler that removes itself leaves signal-exit
  // (execa's cleanup) as the only listener, and it re-raises the signal,
  // killing us before the target is stopped (a board's upload left behind).
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/**
 * The target's heaps (the reference heap first), narrowed to --heap. An
 * unknown name is a one-line error listing the heaps there are.
 */
export async function selectHeaps(session: TargetSession, wanted?: string[], referenceFaults?: string[]): Promise<HeapUnderTest[]> {
  const listed = (await session.agent.must('list_heaps', {})).heaps
  if (listed.includes(REFERENCE_HEAP)) {
    throw new InfraError(`the target has a kernel heap named ${REFERENCE_HEAP}, the reference heap's reserved name`)
  }
  const heaps = heapsOf(listed, referenceFaults)
  // Without kernel heaps a run would only test our own reference heap and
  // look like a pass: that must be asked for.
  if (!listed.length && !wanted?.length && !referenceFaults?.length) {
    throw new UsageError(
      `${session.info.target} has no /dev/dma_heap (Linux ${session.info.hello.release}: no dma-buf heaps, CONFIG_DMABUF_HEAPS)`,
      `boot a kernel with heaps, or pass --heap ${REFERENCE_HEAP} to test the reference heap alone`,
    )
  }
  if (!wanted?.length) return heaps
  const unknown = wanted.filter((h) => !heaps.some((x) => x.name === h))
  if (unknown.length) {
    throw new UsageError(
      `unknown heap ${unknown.map((h) => `"${h}"`).join(', ')} on ${session.info.target}`,
      `this target has: ${heaps.map((h) => h.name).join(', ')}`,
    )
  }
  return heaps.filter((h) => wanted.includes(h.name))
}

export async function runCommand(opts: RunOptions): Promise<number> {
  // Every name the user gave is checked before anything boots.
  const target = chooseTarget(opts.where)
  const defaults = target.runDefaults
  if (defaults) {
    // The target's description (a board file) fills in what the command line left out.
    opts = {
      ...opts,
      ...(defaults.heaps && !opts.expectations ? { expectations: defaults.heaps, expectationsSource: defaults.heapsSource ?? target.name } : {}),
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
  /** Every start, the first and each after a break. */
  const startTarget = (ctx: Omit<StartContext, 'signal'>) => startInterruptible(target, ctx)

  // Nothing ran yet: on an error, leave no empty folder that looks like a run (a boot log stays).
  const dropIfEmpty = async (e: unknown): Promise<never> => {
    await rmdir(outputDir).catch(() => undefined)
    throw e
  }
  const session = await startTarget({ outputDir, log }).catch(dropIfEmpty)
  try {
    const heaps = await selectHeaps(session, opts.heap, opts.referenceFaults).catch(dropIfEmpty)
    log(`heaps: ${heaps.map((h) => h.name).join(', ')}; suites: ${suites.map((s) => s.name).join(', ')}; output: ${outputDir}`)

    const results = new ResultsFile(outputDir)
    const root = createTapRoot('dmaheap')
    const tapFile = createWriteStream(join(outputDir, 'results.tap'))
    const progress = new ProgressDisplay(started.getTime())
    activeProgress = progress
    root.pipe(progress.guard(process.stdout))
    root.pipe(tapFile)
    // A full disk stops results.tap, not the run: results.jsonl reports it.
    tapFile.on('error', () => root.unpipe(tapFile))
    const ended = new Promise<void>((resolve) => root.on('end', () => resolve()))

    const settings = runSettings(opts, session.info)
    if (known?.length) settings.knownFailures = known
    const { release } = session.info.hello
    if (previous) {
      const comparable = comparableProfiles(previous, target.name, release)
      if (typeof comparable === 'string') root.comment(comparable)
      else settings.previousProfiles = comparable
    }
    // A heap the expectations name must exist, unless --heap narrowed the run.
    const missingHeaps = opts.heap?.length ? [] : Object.keys(opts.expectations ?? {}).filter((n) => !heaps.some((h) => h.name === n))
    const recorded: CaseResult[] = []
    const onResult = (r: CaseResult) => {
      if (crashed()) return // after an internal error nothing more is trusted, or written
      results.append(r)
      recorded.push(r)
      progress.result(r)
    }
    // A target that breaks mid-run (kernel crash, hang, agent or QEMU
    // killed) is started again and the run goes on with the next case.
    const recover = () => {
      if (crashed()) return Promise.reject(new InfraError('the run stopped at an internal error'))
      log('the target broke during a case; starting it again')
      // A board may be rebooting: it gets a few minutes to answer again.
      return startTarget({ outputDir, log, reconnectWithinMs: RECONNECT_WITHIN_MS })
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
    // An exception the suites did not catch, or one thrown anywhere meanwhile
    // (cli/crash.ts), ends the run here like an infrastructure error: what was
    // measured is kept and every view written from it.
    const outcome = await untilCrash(
      runSuites({ root, session, suites, heaps, settings, missingHeaps, recover, onResult, keepBootLog, bootCase, progress, ...(selftest ? { selftest } : {}) }),
    ).catch((e) => outcomeOfCrash(e, recorded, activeSession ?? session))
    activeSession = outcome.session
    if (Object.keys(outcome.profiles).length) await writeProfiles(outputDir, { target: target.name, kernel: release, profiles: outcome.profiles })
    const c = outcome.counts
    // What each kernel heap did differently from the reference heap, as TAP diagnostics.
    const diff = referenceDiff(recorded)
    root.comment(`differences from the reference heap: ${diff.length ? '' : 'none'}${diff.map((d) => `\n${describeDiff(d)}`).join('')}`)
    if (outcome.infra) {
      const tail = outcome.session.consoleTail(20)
      root.comment(`console tail:\n${tail}`)
      root.bailout(`infrastructure error: ${outcome.infra.message}`)
    } else {
      const { release, machine, page_size } = session.info.hello
      root.comment(`${target.name}, Linux ${release} ${machine}, page size ${page_size}`)
      root.comment(`totals: ${countsText(c, PASS_AND_FAIL)}`)
      root.end()
    }
    await ended
    await new Promise<void>((resolve) => (tapFile.writable ? tapFile.end(resolve) : resolve()))
    results.close()
    progress.stop()
    activeProgress = undefined
    // What a developer reads first: which cases failed, on which heap, and why.
    const failures = failureLines(recorded)
    if (failures.length) log(`failing cases:\n${failures.join('\n')}`)
    // Known failures apart from failures: an XPASS fails the run, a stale entry is only listed.
    const sorted = sortOutcomes(recorded, known)
    const knownLine = (r: CaseResult) => `  ${r.id} on ${r.heap}: ${describeKnown(r.known!)}`
    if (sorted.unexpectedPasses.length) log(`known failures that passed (XPASS: they fail the run; remove or narrow their entries):\n${sorted.unexpectedPasses.map(knownLine).join('\n')}`)
    if (sorted.knownFailures.length) log(`known failures (XFAIL):\n${sorted.knownFailures.map(knownLine).join('\n')}`)
    if (sorted.stale.length) log(`stale entries in ${opts.knownFailures} (they matched no case that ran):\n${sorted.stale.map((k) => `  ${describeEntry(k)}`).join('\n')}`)

    const summary: RunSummary = { counts: c, ...(outcome.infra ? { infraError: outcome.infra.message } : {}) }
    try {
      // Written whole or not at all (a full disk leaves no half run.json).
      await writeFile(
        join(outputDir, 'run.json.partial'),
        JSON.stringify(
          {
            target: session.info,
            suites: suites.map((s) => s.name),
            heaps: heaps.map((h) => h.name),
            started: started.toISOString(),
            finished: new Date().toISOString(),
            artifacts: { ...session.artifacts, ...(outcome.boot?.log ? { bootLog: join(outputDir, outcome.boot.log) } : {}) },
            summary,
            plan: planOf(suites, heaps, bootCase, !!selftest),
            ...(outcome.boot ? { boot: outcome.boot } : {}),
            ...(known && opts.knownFailures ? { knownFailures: { file: opts.knownFailures, entries: known.length, stale: sorted.stale } } : {}),
          },
          null,
          2,
        ) + '\n',
      )
      await rename(join(outputDir, 'run.json.partial'), join(outputDir, 'run.json'))
      writeViews(outputDir)
    } catch (e) {
      await rm(join(outputDir, 'run.json.partial'), { force: true })
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
    activeProgress?.stop()
    activeProgress = undefined
    // The session the run ended on: a new one after each recovery.
    const last = activeSession ?? session
    activeSession = undefined
    await last.close()
  }
}
