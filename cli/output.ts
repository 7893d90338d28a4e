/** The run's output folder and the one-line error format. */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InfraError, UsageError } from '../core/errors.js'
import { showWire } from '../core/protocol.js'

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

/**
 * An exception the harness did not expect, as an infrastructure error of
 * one line: what it was and where it was thrown (the first stack frame).
 */
export function internalError(e: unknown): InfraError {
  if (e instanceof InfraError) return e
  const what = e instanceof Error ? `${e.name}: ${e.message}` : `thrown ${typeof e}: ${String(e)}`
  const at = e instanceof Error ? e.stack?.split('\n').find((l) => /^\s+at /.test(l))?.trim() : undefined
  return new InfraError(`internal error: ${showWire(what, 300)}${at ? ` (${showWire(at, 300)})` : ''}`, 'a bug in dmaheap: please report it with this line')
}

/** "dmaheap: error: <problem> (<fix>)", then any detail indented. */
export function formatError(e: unknown): string {
  if (e instanceof InfraError || e instanceof UsageError) {
    const line = `dmaheap: error: ${e.message}${e.hint ? ` (${e.hint})` : ''}`
    const detail = e instanceof InfraError && e.detail ? '\n' + e.detail.split('\n').map((l) => `  | ${l}`).join('\n') : ''
    return line + detail
  }
  return formatError(internalError(e))
}
