/**
 * `dmaheap run --kselftest BINARY`: the upstream dmabuf-heaps selftest (a
 * static binary built for the target) run on the target beside our suites.
 * The agent receives it in chunks into its private folder and runs it with a
 * time limit, as a case of its own; its raw output is kept as kselftest.log
 * and its results, read by reports/kselftest-results.ts, join the run's under
 * suite "kselftest".
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../core/errors.js'
import type { CaseResult } from '../core/result.js'
import type { CaseDef } from './harness.js'
import { kselftestResults } from './kselftest-results.js'

/** Raw bytes per file_put line: its base64 stays well under the agent's 1 MiB line. */
const CHUNK = 512 * 1024
const ELF_MACHINES: Record<number, string> = { 62: 'x86_64', 183: 'aarch64', 40: 'arm', 243: 'riscv64' }

/** The binary, read and checked before anything boots. */
export function readKselftestBinary(path: string): Buffer {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (e) {
    throw new UsageError(`cannot read the selftest ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'pass --kselftest with the path of the built dmabuf-heap binary')
  }
  if (bytes.subarray(0, 4).toString('latin1') !== '\x7fELF') {
    throw new UsageError(`${path} is not an ELF program`, 'build tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c statically for the target (gcc -static)')
  }
  return bytes
}

export function elfMachine(bytes: Buffer): string {
  const m = bytes.readUInt16LE(18)
  return ELF_MACHINES[m] ?? `ELF machine ${m}`
}

/** The suite the selftest's results are filed under, and the case that is its run. */
export const KSELFTEST_SUITE = 'kselftest'
export const KSELFTEST_CASE = 'kselftest.run'

/** How long the selftest may run on the target (about 3 s under TCG): far past that it hangs. */
const SELFTEST_TIMEOUT_S = 300

export interface SelftestCase {
  /** the run of the binary, a case like any other: a crash, a hang or a wrong binary is its result */
  def: CaseDef
  /** the selftest's own test points from the last run of def (empty until it ran) */
  points(): CaseResult[]
}

/**
 * The selftest as one case on the kernel pseudo-heap, run before any suite:
 * a binary for another architecture is that case's ERROR at once (not after
 * every suite ran), a selftest killed by a signal is its FAIL (a heap that
 * crashes the program testing it is wrong), a hang is its ERROR, and a kernel
 * crash during it is handled as during any case (FAIL, the target brought
 * back). Its output is kept as kselftest.log; its test points are results of
 * their own.
 */
export function selftestCase(path: string, bytes: Buffer, outputDir: string): SelftestCase {
  let found: CaseResult[] = []
  const def: CaseDef = {
    id: KSELFTEST_CASE,
    title: 'the upstream dmabuf-heaps selftest runs to its end on the target (its test points are results of their own)',
    timeoutMs: (SELFTEST_TIMEOUT_S + 120) * 1000,
    async run(ctx) {
      found = []
      const { machine, release } = ctx.target.hello
      const arch = elfMachine(bytes)
      if (arch !== machine) {
        throw new Error(`${path} is an ${arch} program; the target is ${machine}: build it for ${machine}, e.g. ${machine === 'aarch64' ? 'aarch64-linux-gnu-gcc' : 'gcc'} -static`)
      }
      for (let off = 0; off < bytes.length; off += CHUNK) {
        await ctx.agent.must('file_put', { name: 'dmabuf-heap', data: bytes.subarray(off, off + CHUNK).toString('base64'), ...(off ? { append: true } : {}) })
      }
      const r = await ctx.agent.call('exec', { name: 'dmabuf-heap', timeout_s: SELFTEST_TIMEOUT_S }, (SELFTEST_TIMEOUT_S + 60) * 1000)
      if (!r.ok) throw new Error(`the selftest could not be started on the target: ${r.errno}`)
      writeFileSync(join(outputDir, 'kselftest.log'), r.stdout + (r.stderr ? `\n# stderr:\n${r.stderr}` : ''))
      found = kselftestResults(r.stdout, { target: ctx.target.target, kernel: release, exitStatus: r.exit_status })
      ctx.check.observe('exit status', r.exit_status ?? `none (${r.signal ?? 'a signal'})`)
      if (r.timed_out) throw new Error(`the selftest did not finish within ${SELFTEST_TIMEOUT_S} s and was killed; what it printed is in kselftest.log`)
      const lastHeap = [...r.stdout.matchAll(/Testing heap: (\S+)/g)].at(-1)?.[1]
      ctx.check.ok(
        'the selftest ended by itself, not by a signal',
        r.exit_status !== null,
        { expected: 'an exit status', observed: `killed by ${r.signal ?? 'a signal'}${lastHeap ? ` while testing heap ${lastHeap}` : ''} (its output is in kselftest.log)` },
      )
    },
  }
  return { def, points: () => found }
}
