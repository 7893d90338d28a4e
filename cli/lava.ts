/**
 * `dmaheap lava job`: a LAVA job definition that boots a kernel on a device
 * and runs the harness against it from LAVA's docker test shell on the
 * worker (targets/lava.ts), its results printed as LAVA test cases
 * (`run --lava`, reports/lava.ts).
 *
 * `dmaheap lava results FILE -o DIR`: the test cases of a job's output
 * (lava-run's log) back as results.jsonl and every view, so compare, the
 * HTML report and KCIDB read lab runs as they read our own.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { ExitCode, UsageError } from '../core/errors.js'
import { countsText, type CaseResult } from '../core/result.js'
import { countAll } from '../reports/groups.js'
import { fromLava, lavaRunResults, lavaServerResults, type LavaReported } from '../reports/lava.js'
import { jobTests, submitJob, waitJob, type LavaServer } from '../runners/lava-api.js'
import { verdictOf } from '../reports/markdown.js'
import { ResultsFile } from '../reports/results-file.js'
import { writeViewsOf } from '../reports/views.js'
import { makeOutputDir } from './output.js'

/** The device types a job is written for today: the deploy and boot actions differ for every other. */
export const LAVA_DEVICE_TYPES = ['qemu'] as const

export interface LavaJobOptions {
  deviceType: string
  /** URLs LAVA downloads (file://, http://) */
  kernel: string
  ramdisk: string
  /** LAVA's arch for the qemu device type: amd64 or arm64 */
  arch: string
  /** the kernel command line */
  append: string
  /** what the DUT's shell prints when it is ready */
  prompt: string
  /** the DUT's SSH address as the container sees it; `$(lava-target-ip)` by default */
  dutAddress: string
  /** the SSH key's path inside the container */
  key?: string
  /** the docker image the harness runs in, and whether it is the worker's own (not pulled) */
  image: string
  localImage: boolean
  /** where the harness is inside the container (bind-mounted by the worker, or in the image) */
  harness: string
  /** where the run's output folder goes inside the container */
  output: string
  /** `dmaheap run` arguments: suites, heaps, cases */
  runArgs: string[]
  tags: string[]
  jobName?: string
  /** minutes */
  timeout: number
}

const shellWord = (s: string) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/**
 * The test step: run the harness with --lava (its cases become test cases),
 * then one more case for the harness's own exit, so an infrastructure error
 * (exit 2) shows as a failure in the lab and never as a pass.
 */
function testSteps(o: LavaJobOptions): string[] {
  const run = ['node', `${o.harness}/bin/dmaheap.js`, 'run', '--target', 'lava', '--lava', '--output', o.output, ...o.runArgs].map(shellWord).join(' ')
  return [
    `export DMAHEAP_LAVA_DUT="${o.dutAddress}"${o.key ? ` DMAHEAP_LAVA_KEY=${shellWord(o.key)}` : ''}`,
    `rc=0; ${run} || rc=$?`,
    // 0 pass, 1 a heap failed (its cases say which): the harness did its job; 2 it could not.
    'if [ "$rc" -le 1 ]; then r=pass; else r=fail; fi; echo "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=harness-exit RESULT=$r MEASUREMENT=$rc UNITS=exit>"',
  ]
}

export function lavaJob(o: LavaJobOptions): object {
  if (!(LAVA_DEVICE_TYPES as readonly string[]).includes(o.deviceType)) {
    throw new UsageError(`no job is written for device type "${o.deviceType}" yet`, `use --device-type ${LAVA_DEVICE_TYPES.join(' or ')} (other types need their own deploy and boot actions)`)
  }
  const minutes = (m: number) => ({ minutes: m })
  return {
    device_type: o.deviceType,
    job_name: o.jobName ?? `dmaheap ${o.runArgs.join(' ') || 'all suites'}`.slice(0, 200),
    timeouts: { job: minutes(o.timeout), action: minutes(o.timeout), connection: minutes(2) },
    priority: 'medium',
    visibility: 'public',
    ...(o.tags.length ? { tags: o.tags } : {}),
    context: { arch: o.arch },
    actions: [
      {
        deploy: {
          to: 'tmpfs',
          timeout: minutes(10),
          images: {
            kernel: { url: o.kernel, image_arg: `-kernel {kernel} -append "${o.append}"` },
            ramdisk: { url: o.ramdisk, image_arg: '-initrd {ramdisk}' },
          },
        },
      },
      { boot: { method: 'qemu', media: 'tmpfs', timeout: minutes(5), prompts: [o.prompt] } },
      {
        test: {
          timeout: minutes(o.timeout),
          docker: { image: o.image, ...(o.localImage ? { local: true } : {}) },
          definitions: [
            {
              from: 'inline',
              name: 'dmaheap',
              path: 'inline/dmaheap.yaml',
              repository: {
                metadata: { format: 'Lava-Test Test Definition 1.0', name: 'dmaheap', description: 'dma-buf heap conformance, driven from the worker over SSH' },
                run: { steps: testSteps(o) },
              },
            },
          ],
        },
      },
    ],
  }
}

export function lavaJobCommand(o: LavaJobOptions & { out?: string }): number {
  const text = stringify(lavaJob(o), { lineWidth: 0 })
  if (o.out) writeFileSync(o.out, text)
  else process.stdout.write(text)
  return ExitCode.pass
}

export interface LavaResultsOptions {
  /** lava-run's output (its log on stdout, saved), or a job id on the server at url */
  source: string
  server?: LavaServer
  output?: string
  target: string
  kernel: string
}

/** A job's test cases: from a server's API (a job id and --url), or from lava-run's saved log. */
async function reportedOf(o: LavaResultsOptions): Promise<LavaReported[]> {
  if (/^\d+$/.test(o.source) && !existsSync(o.source)) {
    if (!o.server) throw new UsageError(`${o.source} is a job id, and no server is named`, 'pass --url URL (and --token T) of the LAVA server that ran it')
    return lavaServerResults(await jobTests(o.server, Number(o.source)))
  }
  if (!existsSync(o.source)) throw new UsageError(`${o.source} does not exist`, 'pass the saved output of lava-run (its log), or a job id with --url')
  return lavaRunResults(readFileSync(o.source, 'utf8'))
}

/** The job's cases as our results, in a run folder with every view; the exit code a direct run would have. */
function writeResults(reported: LavaReported[], o: Omit<LavaResultsOptions, 'source'> & { what: string }): number {
  const results: CaseResult[] = fromLava(reported, { target: o.target, kernel: o.kernel })
  if (!results.length) throw new UsageError(`${o.what} holds no test case of a dmaheap test set`, 'pass a job `dmaheap lava job` wrote (its cases are in one test set per suite)')
  const dir = makeOutputDir(o.output, 'lava')
  const file = new ResultsFile(dir)
  for (const r of results) file.append(r)
  file.close()
  writeViewsOf({ dir, results })
  const c = countAll(results)
  const verdict = verdictOf(c)
  process.stderr.write(`dmaheap: ${verdict}: ${countsText(c)}; results and views saved to ${dir} (${join(dir, 'report.html')})\n`)
  // The harness's own exit, as the job reported it: an infrastructure error in the job is one here too.
  const exit = reported.find((r) => r.case === 'harness-exit')
  if (exit && exit.result !== 'pass') return ExitCode.infrastructure
  return verdict === 'PASS' ? ExitCode.pass : verdict === 'FAIL' ? ExitCode.testFailed : ExitCode.infrastructure
}

export async function lavaResultsCommand(o: LavaResultsOptions): Promise<number> {
  return writeResults(await reportedOf(o), { ...o, what: o.source })
}

export interface LavaSubmitOptions {
  job: string
  server: LavaServer
  /** ms to wait for the job to finish */
  waitMs: number
  output?: string
  target: string
  kernel: string
}

/** Submits a job, waits for it, and reads its test cases back as a run folder. */
export async function lavaSubmitCommand(o: LavaSubmitOptions): Promise<number> {
  if (!existsSync(o.job)) throw new UsageError(`${o.job} does not exist`, 'pass a job file `dmaheap lava job -o FILE` wrote')
  const id = await submitJob(o.server, readFileSync(o.job, 'utf8'))
  const log = (m: string) => process.stderr.write(`dmaheap: ${m}\n`)
  log(`submitted ${o.job} to ${o.server.url} as job ${id}`)
  const st = await waitJob(o.server, id, o.waitMs, log)
  const reported = lavaServerResults(await jobTests(o.server, id))
  if (st.health !== 'Complete') log(`LAVA job ${id} ended ${st.health}: what it reported is kept, and the run is an infrastructure error`)
  const code = writeResults(reported, { ...o, what: `LAVA job ${id}` })
  return st.health === 'Complete' ? code : ExitCode.infrastructure
}
