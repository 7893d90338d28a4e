/** The run's output folder and the one-line error format. */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InfraError, UsageError } from '../core/errors.js'

export function makeOutputDir(requested: string | undefined, target: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')
  const dir = resolve(requested ?? join('dmaheap-output', `${stamp}-${target}`))
  try {
    mkdirSync(dir, { recursive: true })
  } catch (e) {
    throw new UsageError(`cannot create the output folder ${dir}: ${(e as Error).message}`, 'pass --output DIR with a writable folder')
  }
  return dir
}

/** "dmaheap: error: <problem> (<fix>)", then any detail indented. */
export function formatError(e: unknown): string {
  if (e instanceof InfraError || e instanceof UsageError) {
    const line = `dmaheap: error: ${e.message}${e.hint ? ` (${e.hint})` : ''}`
    const detail = e instanceof InfraError && e.detail ? '\n' + e.detail.split('\n').map((l) => `  | ${l}`).join('\n') : ''
    return line + detail
  }
  return `dmaheap: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`
}
