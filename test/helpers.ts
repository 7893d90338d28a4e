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

export async function dmaheap(args: string[], timeoutMs = 300_000) {
  return execa('node', [join(repo, 'bin', 'dmaheap.js'), ...args], {
    reject: false,
    timeout: timeoutMs,
    env: cleanEnv(),
    extendEnv: false,
    cwd: repo,
  })
}

export function tempOutput(name: string): string {
  return join(mkdtempSync(join(tmpdir(), `dmaheap-test-${name}-`)), 'out')
}

export function readResults(outputDir: string): CaseResult[] {
  return readFileSync(join(outputDir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CaseResult)
}
