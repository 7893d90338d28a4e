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
import { fromLava, lavaRunResults } from '../reports/lava.js'
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
  /** lava-run's output (its log on stdout, saved) */
  file: string
  output?: string
  target: string
  kernel: string
}

export function lavaResultsOf(o: LavaResultsOptions): CaseResult[] {
  if (!existsSync(o.file)) throw new UsageError(`${o.file} does not exist`, "pass the saved output of lava-run (its log)")
  const results = fromLava(lavaRunResults(readFileSync(o.file, 'utf8')), { target: o.target, kernel: o.kernel })
  if (!results.length) throw new UsageError(`${o.file} holds no test case of a dmaheap test set`, 'pass the output of a job `dmaheap lava job` wrote, as lava-run printed it')
  return results
}

export function lavaResultsCommand(o: LavaResultsOptions): number {
  const results = lavaResultsOf(o)
  const dir = makeOutputDir(o.output, 'lava')
  const file = new ResultsFile(dir)
  for (const r of results) file.append(r)
  file.close()
  writeViewsOf({ dir, results })
  const c = countAll(results)
  const verdict = verdictOf(c)
  process.stderr.write(`dmaheap: ${verdict}: ${countsText(c)}; results and views saved to ${dir} (${join(dir, 'report.html')})\n`)
  return verdict === 'PASS' ? ExitCode.pass : verdict === 'FAIL' ? ExitCode.testFailed : ExitCode.infrastructure
}
