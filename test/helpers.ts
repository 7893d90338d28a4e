/** Shared by the harness's own tests: run the real CLI as a user would. */
import { readFileSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import type { CaseResult } from '../core/result.js'

export const repo = join(import.meta.dirname, '..')

/** The environment without tap's own variables, so the CLI is not mistaken for a tap child. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAP') && !k.startsWith('_TAPJS')) env[k] = v
  return env
}

/** Runs the CLI; `env` adds variables (an undefined value removes one). */
export async function dmaheap(args: string[], timeoutMs = 300_000, env: NodeJS.ProcessEnv = {}) {
  const merged = { ...cleanEnv(), ...env }
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
  return execa('node', [join(repo, 'bin', 'dmaheap.js'), ...args], {
    reject: false,
    timeout: timeoutMs,
    env: merged,
    extendEnv: false,
    cwd: repo,
  })
}

export function tempOutput(name: string): string {
  return join(mkdtempSync(join(tmpdir(), `dmaheap-test-${name}-`)), 'out')
}

/** How many results run.json's plan expects: every case on every heap (a suite's own heaps where it names them: the boot case). */
export function plannedCount(outputDir: string): number {
  const run = JSON.parse(readFileSync(join(outputDir, 'run.json'), 'utf8')) as { plan: { heaps: string[]; suites: Array<{ cases: string[]; heaps?: string[] }> } }
  return run.plan.suites.reduce((n, s) => n + s.cases.length * (s.heaps ?? run.plan.heaps).length, 0)
}

export function readResults(outputDir: string): CaseResult[] {
  return readFileSync(join(outputDir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CaseResult)
}

/**
 * The kernel with heap bugs the tests provoke: one patched variant of the
 * tree (built once; .ci/run builds it first), each bug chosen at boot with
 * `dma_heap.test_faults=N` (see the patch), none by default.
 */
export const TEST_FAULTS_PATCH = join(repo, 'test', 'kernel-patches', 'dma-heap-test-faults.patch')
export const testFaults = {
  /** the CMA heap warns while it registers */
  warnAtRegistration: 1,
  /** the CMA heap's buffers miss every odd page */
  missingPages: 2,
  /** a length PAGE_ALIGN wraps to 0 reaches the heap raw, not refused */
  anyLength: 4,
} as const
