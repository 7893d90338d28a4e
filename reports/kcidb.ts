/**
 * kcidb.json: the run as a KCIDB v5.3 submission (checkout, build, tests) for
 * KernelCI. Statuses are KCIDB's own, DONE included (an observed-only case:
 * it completed without a verdict). Test paths are dmaheap.<case id>.<heap>
 * (the case id starts with its suite), each component reduced to KCIDB's
 * [a-zA-Z0-9_-] as KernelCI does; the log excerpt keeps the last 16 KiB
 * with no NUL, as KernelCI sends it.
 *
 * A known failure keeps the heap's verdict as its status (XFAIL is FAIL,
 * XPASS is PASS: KCIDB has no such statuses, and v5.3 no longer has the
 * test's "waived"). What KCIDB has for "this failure is known" is an issue
 * and its incidents: one issue per known-failures entry that named a case
 * (its reason, its link as the report), and one incident per such test,
 * present for an XFAIL, absent for an XPASS.
 */
import { createHash } from 'node:crypto'
import { heapVerdict, type CaseResult, type KnownRef } from '../core/result.js'
import type { RunRecord } from '../core/run-record.js'
import { failedCheck } from './groups.js'
import type { DiffEntry } from './reference-diff.js'

export const KCIDB_ORIGIN = 'dmaheap'
export const LOG_EXCERPT_MAX = 16384

/**
 * A heap's name as a path component in KCIDB's alphabet ([a-zA-Z0-9_-]), reversibly: `_` is
 * the escape, written `__` itself, and any other character outside the
 * alphabet is `_` and its UTF-8 bytes in hex ("carveout@50000000" is
 * "carveout_4050000000", "linux,cma" is "linux_2ccma"), so two heaps whose
 * names differ never share a path. The name itself is in environment.misc.
 */
export function kcidbComponent(s: string): string {
  if (!s) return '_'
  return s.replace(/[^a-zA-Z0-9-]/g, (c) => (c === '_' ? '__' : [...Buffer.from(c, 'utf8')].map((b) => `_${b.toString(16).padStart(2, '0')}`).join('')))
}
/** A case id's part: ids are made of [a-zA-Z0-9_.-] (suites/harness.ts), so this only guards. */
const idPart = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '_') || '_'

export function kcidbPath(r: CaseResult): string {
  return ['dmaheap', ...r.id.split('.').map(idPart), kcidbComponent(r.heap)].join('.')
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

/** The message, after what a known failure is known for. */
function commentOf(r: CaseResult): string | undefined {
  if (!r.known) return r.message
  const head = r.status === 'XFAIL' ? `known failure: ${r.known.reason}` : `XPASS: known to fail (${r.known.reason}), but passed`
  return r.message ? `${head}; ${r.message}` : head
}

/** An issue's id: the same entry is the same issue in every run. */
const issueId = (k: KnownRef) => `${KCIDB_ORIGIN}:known-failure-${createHash('sha256').update([k.case, k.reason, k.link ?? ''].join('\u0000')).digest('hex').slice(0, 16)}`

function knownIssues(results: CaseResult[], testId: (r: CaseResult) => string, buildId: string): { issues: object[]; incidents: object[] } {
  const issues = new Map<string, object>()
  const incidents: object[] = []
  for (const r of results) {
    if (!r.known) continue
    const id = issueId(r.known)
    issues.set(id, {
      id,
      version: 0,
      origin: KCIDB_ORIGIN,
      ...(r.known.link ? { report_url: r.known.link } : {}),
      report_subject: r.known.reason,
      culprit: { code: true, tool: false, harness: false },
      comment: `known failure of ${r.known.case}: ${r.known.reason}`,
    })
    incidents.push({
      id: `${testId(r)}:known`,
      origin: KCIDB_ORIGIN,
      issue_id: id,
      issue_version: 0,
      build_id: buildId,
      test_id: testId(r),
      present: r.status === 'XFAIL',
      comment: r.status === 'XFAIL' ? 'failed as known' : 'known to fail, but passed (XPASS): the entry is stale or the bug is fixed',
    })
  }
  return { issues: [...issues.values()], incidents }
}

export function toKcidb(results: CaseResult[], diff: DiffEntry[], run?: RunRecord): object {
  const id = `${KCIDB_ORIGIN}:${runId(results, run)}`
  const kernel = run?.target.hello.release ?? results[0]?.kernel ?? 'unknown'
  const compatible = run?.target.facts.compatible
  const testId = (r: CaseResult) => `${id}:${r.heap}:${r.id}`
  const tests = results.map((r) => {
    const differs = diff.filter((d) => d.heap === r.heap && d.id === r.id && d.target === r.target)
    const bad = failedCheck(r)
    const excerpt = excerptOf(r)
    return {
      id: testId(r),
      build_id: id,
      origin: KCIDB_ORIGIN,
      path: kcidbPath(r),
      status: heapVerdict(r.status),
      duration: r.durationMs / 1000,
      environment: {
        comment: `${r.target}, Linux ${r.kernel}, heap ${r.heap}`,
        ...(compatible?.length ? { compatible } : {}),
        misc: { target: r.target, kernel: r.kernel, heap: r.heap },
      },
      ...(commentOf(r) ? { comment: commentOf(r)!.replace(/\u0000/g, '') } : {}),
      ...(excerpt ? { log_excerpt: excerpt } : {}),
      ...(run?.started ? { start_time: run.started } : {}),
      misc: {
        case: r.id,
        suite: r.suite,
        ...(r.known ? { status: r.status, known_failure: r.known } : {}),
        ...(bad ? { expected: bad.expected, observed: bad.observed, check: bad.label } : {}),
        ...(r.observations ? { observations: r.observations } : {}),
        ...(differs.length ? { reference_diff: differs.map((d) => ({ what: d.label, reference: d.reference, observed: d.observed })) } : {}),
      },
    }
  })
  const known = knownIssues(results, testId, id)
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
    ...(known.issues.length ? known : {}),
  }
}
