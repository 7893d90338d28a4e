/**
 * `dmaheap run --kselftest BINARY`: the upstream dmabuf-heaps selftest (a
 * static binary built for the target) run on the target beside our suites.
 * The agent receives it in chunks into its private folder and runs it with a
 * time limit; its raw output is kept as kselftest.log and its results, read
 * by reports/kselftest-results.ts, join the run's under suite "kselftest".
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Agent } from '../core/agent.js'
import { InfraError, UsageError } from '../core/errors.js'
import type { CaseResult } from '../core/result.js'
import type { TargetInfo } from '../core/target.js'
import { kselftestResults } from '../reports/kselftest-results.js'

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

export interface KselftestOutcome {
  results: CaseResult[]
  exitStatus: number | null
  logFile: string
}

export async function runKselftest(agent: Agent, info: TargetInfo, path: string, outputDir: string, timeoutS = 300): Promise<KselftestOutcome> {
  const bytes = readKselftestBinary(path)
  const arch = elfMachine(bytes)
  if (arch !== info.hello.machine) {
    throw new UsageError(`${path} is an ${arch} program; the target is ${info.hello.machine}`, `build it for ${info.hello.machine}, e.g. ${info.hello.machine === 'aarch64' ? 'aarch64-linux-gnu-gcc' : 'gcc'} -static`)
  }
  for (let off = 0; off < bytes.length; off += CHUNK) {
    await agent.must('file_put', { name: 'dmabuf-heap', data: bytes.subarray(off, off + CHUNK).toString('base64'), ...(off ? { append: true } : {}) })
  }
  const r = await agent.call('exec', { name: 'dmabuf-heap', timeout_s: timeoutS }, (timeoutS + 60) * 1000)
  if (!r.ok) throw new InfraError(`the selftest could not be started on the target: ${r.errno}`)
  const logFile = join(outputDir, 'kselftest.log')
  writeFileSync(logFile, r.stdout + (r.stderr ? `\n# stderr:\n${r.stderr}` : ''))
  const ctx = { target: info.target, kernel: info.hello.release, exitStatus: r.exit_status }
  const results = kselftestResults(r.stdout, ctx)
  if (r.timed_out) {
    results.push({ id: 'kselftest.timeout', suite: 'kselftest', heap: 'all', target: info.target, kernel: info.hello.release, status: 'ERROR', message: `the selftest was killed after ${timeoutS} s`, checks: [], durationMs: r.ms })
  }
  return { results, exitStatus: r.exit_status, logFile }
}
