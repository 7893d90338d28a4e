/**
 * kcidb.json: the run as a KCIDB v5.3 submission (checkout, build, tests) for
 * KernelCI. Statuses are KCIDB's own, DONE included (an observed-only case:
 * it completed without a verdict). Test paths are dmaheap.<case id>.<heap>
 * (the case id starts with its suite), each component reduced to KCIDB's
 * [a-zA-Z0-9_-] as KernelCI does; the log excerpt keeps the last 16 KiB
 * with no NUL, as KernelCI sends it.
 */
import type { CaseResult, RunRecord } from '../core/result.js'
import { failedCheck } from './groups.js'
import type { DiffEntry } from './reference-diff.js'

export const KCIDB_ORIGIN = 'dmaheap'
export const LOG_EXCERPT_MAX = 16384

const component = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '_') || '_'

export function kcidbPath(r: CaseResult): string {
  return ['dmaheap', ...r.id.split('.'), r.heap].map(component).join('.')
}

export function logExcerpt(text: string): string {
  const clean = text.replace(/\u0000/g, '')
  return clean.length > LOG_EXCERPT_MAX ? clean.slice(clean.length - LOG_EXCERPT_MAX) : clean
}

function excerptOf(r: CaseResult): string | undefined {
  const parts: string[] = []
  if (r.message) parts.push(r.message)
  if (r.kernelLog) parts.push(r.kernelLog)
  return parts.length ? logExcerpt(parts.join('\n')) : undefined
}

/** The run's identity: where and when it started, in KCIDB's id alphabet. */
function runId(results: CaseResult[], run?: RunRecord): string {
  const target = run?.target.target ?? results[0]?.target ?? 'unknown'
  const stamp = run?.started ?? 'unknown-time'
  return `${target}-${stamp}`.replace(/[^A-Za-z0-9_.-]/g, '_')
}

export function toKcidb(results: CaseResult[], diff: DiffEntry[], run?: RunRecord): object {
  const id = `${KCIDB_ORIGIN}:${runId(results, run)}`
  const kernel = run?.target.hello.release ?? results[0]?.kernel ?? 'unknown'
  const compatible = run?.target.facts.compatible
  const tests = results.map((r) => {
    const differs = diff.filter((d) => d.heap === r.heap && d.id === r.id && d.target === r.target)
    const bad = failedCheck(r)
    const excerpt = excerptOf(r)
    return {
      id: `${id}:${r.heap}:${r.id}`,
      build_id: id,
      origin: KCIDB_ORIGIN,
      path: kcidbPath(r),
      status: r.status,
      duration: r.durationMs / 1000,
      environment: {
        comment: `${r.target}, Linux ${r.kernel}, heap ${r.heap}`,
        ...(typeof compatible === 'string' && compatible ? { compatible: compatible.split(/[\s\u0000]+/).filter(Boolean) } : {}),
        misc: { target: r.target, kernel: r.kernel, heap: r.heap },
      },
      ...(r.message ? { comment: r.message.replace(/\u0000/g, '') } : {}),
      ...(excerpt ? { log_excerpt: excerpt } : {}),
      ...(run?.started ? { start_time: run.started } : {}),
      misc: {
        case: r.id,
        suite: r.suite,
        ...(bad ? { expected: bad.expected, observed: bad.observed, check: bad.label } : {}),
        ...(r.observations ? { observations: r.observations } : {}),
        ...(differs.length ? { reference_diff: differs.map((d) => ({ what: d.label, reference: d.reference, observed: d.observed })) } : {}),
      },
    }
  })
  return {
    version: { major: 5, minor: 3 },
    checkouts: [{ id, origin: KCIDB_ORIGIN, comment: `the kernel under test: Linux ${kernel}` }],
    builds: [
      {
        id,
        origin: KCIDB_ORIGIN,
        checkout_id: id,
        ...(run?.target.hello.machine ? { architecture: run.target.hello.machine } : {}),
        comment: `Linux ${kernel}`,
      },
    ],
    tests,
  }
}
