/** The `dmaheap` command line. */
import { Command, InvalidArgumentError, Option } from 'commander'
import { ExitCode, UsageError } from '../core/errors.js'
import { listHeaps, listSuites } from './list.js'
import { formatError } from './output.js'
import { runCommand } from './run.js'
import { installInterruptHandler } from './interrupt.js'
import { stopAllTargets } from '../targets/lifecycle.js'
import { installCrashHandler } from './crash.js'
import { kernelBuildCommand } from './kernel.js'
import { benchCommand } from './bench.js'
import { KERNEL_ARCHES, type KernelArch } from '../targets/kernel-build.js'
import { parseSizeText } from '../core/sizes.js'
import { PROVOKED_FAULTS, type ProvokedFault } from '../core/protocol.js'
import type { InjectedFault } from '../suites/harness.js'
import { SUITES } from '../suites/index.js'
import { loadDescription } from '../core/description-file.js'
import { expectationsFileSchema } from '../core/heap-expectations.js'
import { reportCommand } from './report.js'
import { compareCommand } from './compare.js'
import { parseCommand } from './parse.js'
import { farmCommand } from './farm.js'
import { LAVA_DEVICE_TYPES, lavaJobCommand, lavaResultsCommand, lavaSubmitCommand } from './lava.js'
import { refuseTargetOptionsWithoutStart, seconds, targetChoice, withTargetOptions } from './target-flags.js'
import { boardKind } from '../targets/board-target.js'
import { optionArgs, refuseOthersOptions } from '../targets/registry.js'
import { versionText } from './version.js'
import { fdLeakCaseId, type CaseSelection } from '../suites/case-filter.js'

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)]

/** "PANIC@alloc.size.4096" or "WARNING@sync.end-unpaired@system". */
function collectInjected(v: string, prev: InjectedFault[] = []): InjectedFault[] {
  const [fault, caseId, heap] = v.split('@')
  if (!PROVOKED_FAULTS.includes(fault as ProvokedFault)) throw new InvalidArgumentError(`the fault must be one of ${PROVOKED_FAULTS.join(', ')}`)
  const known = SUITES.flatMap((s) => [...s.cases.map((c) => c.id), fdLeakCaseId(s.name)])
  if (!caseId || !known.includes(caseId)) throw new InvalidArgumentError(`"${caseId ?? ''}" is not a case id (see dmaheap list -v)`)
  return [...prev, { fault: fault as ProvokedFault, caseId, ...(heap ? { heap } : {}) }]
}

/** "256M", "1G", "4096": a size in bytes. */
export function parseSize(v: string): bigint {
  const bytes = parseSizeText(v)
  if (bytes === undefined) throw new InvalidArgumentError('expected a size such as 256M or 1G')
  return bytes
}

function caseSelection(o: { case?: string[]; skip?: string[] }): CaseSelection {
  return { include: o.case ?? [], exclude: o.skip ?? [] }
}

async function exitWith(work: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await work()
  } catch (e) {
    console.error(formatError(e))
    process.exitCode = ExitCode.infrastructure
  }
}

// Whatever command runs, an exception nothing caught ends it as exit 2 in one line.
installCrashHandler(stopAllTargets)

const program = new Command('dmaheap')
  .description('Conformance tests for Linux dma-buf heaps (/dev/dma_heap/*)')
  .version(versionText(), '-V, --version', 'print the version, the agent protocol and the git commit')
  // One line, like every other error: the problem, then where the usage is.
  .configureOutput({ outputError: (msg, write) => write(`dmaheap: ${msg.trim().replace(/\.$/, '')} (see dmaheap --help)\n`) })
  // Bad command-line input is exit 2, like every other bad input.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : ExitCode.infrastructure))

withTargetOptions(
  program
    .command('run')
    .description('start the target, run the suites on every heap and the reference heap; TAP on stdout')
    .option('-s, --suite <names>', 'suites to run (repeat or comma-separate); default all', collect)
    .option('-H, --heap <names>', 'heaps to test (repeat or comma-separate); default all', collect)
    .option('-c, --case <globs>', 'run only the cases whose id matches (repeat or comma-separate; * ? {a,b}); a suite\'s fd-leak check runs with its cases', collect)
    .option('--skip <globs>', 'never run the cases whose id matches (repeat or comma-separate)', collect)
    .option('-o, --output <dir>', 'the run\'s output folder (default dmaheap-output/<time>-<target>)')
    .option('--allow-exhaustion', 'run exhaustion on a target that is not disposable (a QEMU guest is)')
    .option('--memory-budget <size>', 'the most a destructive case may allocate (e.g. 256M)', parseSize)
    .option('--expect <file>', 'YAML stating what heaps must deliver (heaps: {name: {contiguous, align, capacity, largest, zeroed}}); a heap that does not fails')
    .option('--previous <dir>', 'a previous run\'s output folder: fail a heap whose capacity shrank since (same target and kernel)')
    .option('--case-timeout <seconds>', 'end a case that takes longer as TIMEOUT and bring the target back (default 600)', seconds)
    .option('--kselftest <binary>', 'also run the upstream dmabuf-heaps selftest (a static binary for the target) and report it beside the suites')
    .option('--known-failures <file>', 'YAML file of known failures (as compare takes): a FAIL it names is XFAIL and does not fail the run; a PASS it names is XPASS and does')
    .addOption(new Option('--reference-faults <faults>', 'break the reference heap on purpose (self-tests)').argParser(collect).hideHelp())
    .addOption(new Option('--inject <fault@case[@heap]>', 'provoke a kernel fault when a case starts (self-tests)').argParser(collectInjected).hideHelp())
    .option('--lava', 'inside a LAVA job: print every result as a LAVA test case (one test set per suite) at the end')
    .option('--farm <file|dir>', 'run on every board of a farm (a YAML listing board files, or a folder of them), each in its own folder')
    .option('--jobs <n>', 'farm: how many boards run at once', (v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1')
      return n
    }, 4),
).action(async (o: { suite?: string[]; heap?: string[]; case?: string[]; skip?: string[]; output?: string; allowExhaustion?: boolean; memoryBudget?: bigint; referenceFaults?: string[]; expect?: string; previous?: string; caseTimeout?: number; inject?: InjectedFault[]; kselftest?: string; knownFailures?: string; lava?: boolean; farm?: string; jobs: number }, cmd: Command) => {
  const where = targetChoice(cmd)
  if (o.farm) {
    // Each board runs in its own `dmaheap run --board` process, with these flags.
    const runArgs = [
      ...(o.suite ? ['--suite', o.suite.join(',')] : []),
      ...(o.heap ? ['--heap', o.heap.join(',')] : []),
      ...(o.case ? ['--case', o.case.join(',')] : []),
      ...(o.skip ? ['--skip', o.skip.join(',')] : []),
      ...(o.allowExhaustion ? ['--allow-exhaustion'] : []),
      ...(o.memoryBudget !== undefined ? ['--memory-budget', String(o.memoryBudget)] : []),
      ...(o.referenceFaults ? ['--reference-faults', o.referenceFaults.join(',')] : []),
      ...(o.expect ? ['--expect', o.expect] : []),
      ...(o.caseTimeout !== undefined ? ['--case-timeout', String(o.caseTimeout)] : []),
      ...(o.kselftest ? ['--kselftest', o.kselftest] : []),
      ...(o.knownFailures ? ['--known-failures', o.knownFailures] : []),
      // The board options given (host keys), as each board's own run takes them.
      ...optionArgs(boardKind, where),
    ]
    await exitWith(async () => {
      // A farm runs boards: any other target's option would be ignored.
      refuseOthersOptions(boardKind, where.given, '--farm')
      return farmCommand({ farm: o.farm!, jobs: o.jobs, output: o.output, runArgs })
    })
    return
  }
  installInterruptHandler()
  await exitWith(async () =>
    runCommand({
      ...(o.expect ? { expectations: loadDescription(o.expect, expectationsFileSchema).heaps, expectationsSource: o.expect } : {}),
      ...(o.previous ? { previous: o.previous } : {}),
      ...(o.caseTimeout !== undefined ? { caseTimeoutMs: o.caseTimeout * 1000 } : {}),
      ...(o.inject ? { inject: o.inject } : {}),
      ...(o.suite ? { suite: o.suite } : {}),
      ...(o.heap ? { heap: o.heap } : {}),
      ...(o.case || o.skip ? { cases: caseSelection(o) } : {}),
      ...(o.output ? { output: o.output } : {}),
      ...(o.allowExhaustion ? { allowExhaustion: true } : {}),
      ...(o.memoryBudget !== undefined ? { memoryBudget: o.memoryBudget } : {}),
      ...(o.referenceFaults ? { referenceFaults: o.referenceFaults } : {}),
      ...(o.kselftest ? { kselftest: o.kselftest } : {}),
      ...(o.knownFailures ? { knownFailures: o.knownFailures } : {}),
      ...(o.lava ? { lava: true } : {}),
      where,
    }),
  )
})

withTargetOptions(
  program
    .command('list')
    .description('list suites and their cases; with --heaps, start the target and list its heaps')
    .option('--heaps', 'also start the target and list its heaps')
    .option('-v, --verbose', 'list every case id')
    .option('-s, --suite <names>', 'only these suites (repeat or comma-separate)', collect)
    .option('-c, --case <globs>', 'list the cases run --case would run (repeat or comma-separate)', collect)
    .option('--skip <globs>', 'leave out the cases run --skip would skip', collect),
).action(async (o: { heaps?: boolean; verbose?: boolean; suite?: string[]; case?: string[]; skip?: string[] }, cmd: Command) => {
  const where = targetChoice(cmd)
  try {
    // The suites are the same on every target: a target's options only mean something to --heaps.
    if (!o.heaps) refuseTargetOptionsWithoutStart(where, 'list --heaps')
    listSuites(!!o.verbose, o.suite, o.case || o.skip ? caseSelection(o) : undefined)
  } catch (e) {
    console.error(formatError(e))
    process.exitCode = ExitCode.infrastructure
    return
  }
  if (o.heaps) {
    installInterruptHandler()
    await exitWith(() => listHeaps(where))
  }
})

withTargetOptions(
  program
    .command('bench')
    .description('measure every heap on the target (alloc latency by size, first-touch faults, sync, thread scaling); table on stdout, bench.json saved')
    .option('-H, --heap <names>', 'heaps to measure (repeat or comma-separate); default all', collect)
    .option('-o, --output <dir>', 'output folder (default dmaheap-output/<time>-<target>-bench)')
    .option('--budget-ms <ms>', 'sampling time per figure', (v) => Number(v), 300)
    .option('--compare <bench.json>', 'flag figures whose median moved beyond the measured noise since this run')
    .option('--gate', 'with --compare: exit 1 when a figure got slower'),
).action(async (o: { heap?: string[]; output?: string; budgetMs: number; compare?: string; gate?: boolean }, cmd: Command) => {
  installInterruptHandler()
  await exitWith(() => {
    if (o.gate && !o.compare) throw new UsageError('--gate needs --compare: there is nothing to gate against', 'pass --compare OLD/bench.json with --gate')
    return benchCommand({
      where: targetChoice(cmd),
      budgetMs: o.budgetMs,
      ...(o.heap ? { heap: o.heap } : {}),
      ...(o.output ? { output: o.output } : {}),
      ...(o.compare ? { compare: o.compare } : {}),
      ...(o.gate ? { gate: true } : {}),
    })
  })
})

program
  .command('report')
  .description('write the views of a run again (results.ktap, junit.xml, kcidb.json, summary.md, report.html) from its output folder')
  .argument('<dir>', 'the run\'s output folder (with results.jsonl and run.json)')
  .option('--bench <bench.json>', 'plot this benchmark in report.html (default: the folder\'s bench.json, if any)')
  .action(async (dir: string, o: { bench?: string }) => {
    await exitWith(async () => reportCommand({ dir, ...(o.bench ? { bench: o.bench } : {}) }))
  })

program
  .command('compare')
  .description('classify each case between earlier runs and a new one: regression, fixed, unstable, persistent failure, new, missing')
  .argument('<runs...>', 'output folders or results.jsonl files: one or more old runs, then the new run')
  .option('--gate', 'exit 1 when a case regressed (and no known failure explains it)')
  .option('--known-failures <file>', 'YAML file of known failures (case, heaps, targets, kernel range, reason, link)')
  .option('--by-kernel', 'also key cases on the kernel release (several kernels in one comparison)')
  .option('--json', 'print the comparison as JSON')
  .action(async (runs: string[], o: { gate?: boolean; knownFailures?: string; byKernel?: boolean; json?: boolean }) => {
    await exitWith(async () =>
      compareCommand({ runs, ...(o.gate ? { gate: true } : {}), ...(o.knownFailures ? { knownFailures: o.knownFailures } : {}), ...(o.byKernel ? { byKernel: true } : {}), ...(o.json ? { json: true } : {}) }),
    )
  })

program
  .command('parse')
  .description('read a saved KTAP/TAP log (a kselftest\'s, the dmabuf-heaps selftest\'s old free text, ours) into the result model')
  .argument('<file>', 'the log')
  .option('--target <name>', 'the target the log came from', 'unknown')
  .option('--kernel <release>', 'the kernel it ran on', 'unknown')
  .option('--suite <name>', 'the suite its results are filed under when the log does not say', 'kselftest')
  .option('--exit-status <n>', 'the program\'s exit status, when the log does not say', (v) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new InvalidArgumentError('expected an exit status 0..255')
    return n
  })
  .option('-o, --output <dir>', 'write results.jsonl and every view there instead of JSON lines on stdout')
  .action(async (file: string, o: { target: string; kernel: string; suite: string; exitStatus?: number; output?: string }) => {
    await exitWith(async () =>
      parseCommand({ file, target: o.target, kernel: o.kernel, suite: o.suite, ...(o.exitStatus !== undefined ? { exitStatus: o.exitStatus } : {}), ...(o.output ? { output: o.output } : {}) }),
    )
  })

const lava = program.command('lava').description('run the harness as a LAVA job, and read a job\'s results back')
lava
  .command('job')
  .description('write a LAVA job: boot a kernel on a device, then run the harness against it from LAVA\'s docker test shell; YAML on stdout')
  .requiredOption('--kernel <url>', 'the kernel LAVA deploys (file:// or http://)')
  .requiredOption('--ramdisk <url>', 'the initramfs it boots: a shell on the console and an SSH server root logs in to')
  .addOption(new Option('--device-type <type>', 'the LAVA device type').choices(LAVA_DEVICE_TYPES).default('qemu'))
  .addOption(new Option('--arch <arch>', 'the qemu device type\'s arch').choices(['amd64', 'arm64']).default('amd64'))
  .option('--append <cmdline>', 'the kernel command line', 'console=ttyS0 panic=-1')
  .option('--prompt <text>', 'what the DUT\'s shell prints when it is ready', 'lava-dut# ')
  .option('--dut-address <address>', 'the DUT\'s SSH address as the container sees it, host or host:port', '$(lava-target-ip)')
  .option('--key <file>', 'the SSH key that logs in to the DUT, as a path inside the container')
  .option('--image <name>', 'the docker image the harness runs in (node and the harness in it, or bind-mounted by the worker)', 'dmaheap-host:local')
  .option('--pull', 'pull the image (default: the worker\'s own image, docker: local: true)')
  .option('--harness <dir>', 'the harness\'s folder inside the container', '/harness')
  .option('--results <dir>', 'the run\'s output folder inside the container', '/tmp/dmaheap-lava')
  .option('-s, --suite <names>', 'suites to run (repeat or comma-separate)', collect)
  .option('-H, --heap <names>', 'heaps to test (repeat or comma-separate)', collect)
  .option('-c, --case <globs>', 'only these cases (repeat or comma-separate)', collect)
  .option('--tags <tags>', 'LAVA device tags the device must have (repeat or comma-separate)', collect)
  .option('--job-name <name>', 'the job\'s name')
  .option('--timeout <minutes>', 'the job\'s timeout', (v) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of minutes')
    return n
  }, 30)
  .addOption(new Option('--reference-faults <faults>', 'break the reference heap on purpose (self-tests)').argParser(collect).hideHelp())
  .option('-o, --output <file>', 'write the job there instead of stdout')
  .action(async (o: { kernel: string; ramdisk: string; deviceType: string; arch: string; append: string; prompt: string; dutAddress: string; key?: string; image: string; pull?: boolean; harness: string; results: string; suite?: string[]; heap?: string[]; case?: string[]; tags?: string[]; jobName?: string; timeout: number; referenceFaults?: string[]; output?: string }) => {
    await exitWith(async () =>
      lavaJobCommand({
        deviceType: o.deviceType,
        kernel: o.kernel,
        ramdisk: o.ramdisk,
        arch: o.arch,
        append: o.append,
        prompt: o.prompt,
        dutAddress: o.dutAddress,
        ...(o.key ? { key: o.key } : {}),
        image: o.image,
        localImage: !o.pull,
        harness: o.harness,
        output: o.results,
        runArgs: [
          ...(o.suite ? ['--suite', o.suite.join(',')] : []),
          ...(o.heap ? ['--heap', o.heap.join(',')] : []),
          ...(o.case ? ['--case', o.case.join(',')] : []),
          ...(o.referenceFaults ? ['--reference-faults', o.referenceFaults.join(',')] : []),
        ],
        tags: o.tags ?? [],
        ...(o.jobName ? { jobName: o.jobName } : {}),
        timeout: o.timeout,
        ...(o.output ? { out: o.output } : {}),
      }),
    )
  })
lava
  .command('results')
  .description('turn a LAVA job\'s test cases (lava-run\'s saved output, or a job id on a server) into results.jsonl and every view')
  .argument('<log|job-id>', 'the output lava-run printed for a job `dmaheap lava job` wrote, or the job\'s id with --url')
  .option('--url <url>', 'the LAVA server that ran the job (its base URL)')
  .option('--token <token>', 'an API token of that server (or DMAHEAP_LAVA_TOKEN)')
  .option('-o, --output <dir>', 'the folder to write (default dmaheap-output/<time>-lava)')
  .option('--target <name>', 'the target the job ran on, as the results name it', 'lava')
  .option('--kernel <release>', 'the kernel it ran', 'unknown')
  .action(async (source: string, o: { url?: string; token?: string; output?: string; target: string; kernel: string }) => {
    const token = o.token ?? process.env.DMAHEAP_LAVA_TOKEN
    await exitWith(async () => lavaResultsCommand({ source, target: o.target, kernel: o.kernel, ...(o.url ? { server: { url: o.url, token } } : {}), ...(o.output ? { output: o.output } : {}) }))
  })
lava
  .command('submit')
  .description('submit a job to a LAVA server, wait for it, and read its test cases back as results.jsonl and every view')
  .argument('<job>', 'a job file `dmaheap lava job` wrote')
  .requiredOption('--url <url>', 'the LAVA server (its base URL)')
  .option('--token <token>', 'an API token of a user who may submit (or DMAHEAP_LAVA_TOKEN)')
  .option('--wait <minutes>', 'how long to wait for the job to finish', (v) => {
    const n = Number(v)
    if (!(n > 0)) throw new InvalidArgumentError('expected a number of minutes greater than 0')
    return n
  }, 60)
  .option('-o, --output <dir>', 'the folder to write (default dmaheap-output/<time>-lava)')
  .option('--target <name>', 'the target the job runs on, as the results name it', 'lava')
  .option('--kernel <release>', 'the kernel it runs', 'unknown')
  .action(async (job: string, o: { url: string; token?: string; wait: number; output?: string; target: string; kernel: string }) => {
    const token = o.token ?? process.env.DMAHEAP_LAVA_TOKEN
    await exitWith(async () => lavaSubmitCommand({ job, server: { url: o.url, token }, waitMs: o.wait * 60_000, target: o.target, kernel: o.kernel, ...(o.output ? { output: o.output } : {}) }))
  })

const kernel = program.command('kernel').description('build kernels the QEMU target can boot')
kernel
  .command('build')
  .description('build a QEMU-bootable kernel out of tree from tinyconfig + the harness\'s fragments (+ yours); prints the image path')
  .requiredOption('--src <dir>', 'the kernel tree, or "debian" for Debian\'s linux-source-6.12')
  .addOption(new Option('--arch <arch>', 'target architecture').choices(KERNEL_ARCHES).default('x86_64'))
  .option('--config <fragment>', 'your config fragment, merged last (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--patch <file>', 'a patch (patch -p1) to build a variant of the tree: applied to a hard-linked copy, built in its own folder (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--importer', 'build the harness\'s test importer in (the importer suite: what a device sees of a buffer); a variant like a patch')
  .option('--debug', 'the kernel\'s checkers on (KASAN, DEBUG_SG, DMA_API_DEBUG, lockdep, kmemleak): their reports fail the case they happen in; a variant like --config')
  .option('--out <dir>', 'build folder (default: in the cache, one per tree and arch; reused)')
  .option('-j, --jobs <n>', 'parallel jobs', (v) => Number(v))
  .action(async (o: { src: string; arch: KernelArch; config?: string[]; patch?: string[]; importer?: boolean; debug?: boolean; out?: string; jobs?: number }) => {
    installInterruptHandler()
    await exitWith(() => kernelBuildCommand(o))
  })

await program.parseAsync(process.argv)
