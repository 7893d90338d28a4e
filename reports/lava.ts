/**
 * Results as LAVA test cases, and LAVA's results back as ours.
 *
 * LAVA knows four results (pass, fail, skip, unknown), one measurement per
 * case, and names without whitespace. The mapping, stable so a lab's history
 * lines up run after run:
 *  - one test set per suite (its name), one test case per case and heap;
 *  - the case name is `<case id>.<heap>` (`alloc.size.4097.system`), every
 *    character outside [A-Za-z0-9._-] (whitespace, `/`, `,`, `@`) made `_`;
 *    a name longer than 100 characters keeps its first 91 and gets `-` and
 *    8 hex digits of the full name's SHA-256 (so two long names stay apart);
 *  - PASS and XPASS are pass, FAIL and XFAIL fail (the heap's verdict, as in
 *    KCIDB), SKIP skip, ERROR and MISS unknown (no verdict), DONE pass with
 *    its measurement: the first numeric observation, its label as the units;
 *    (without one, its duration in `observed_ms`);
 *  - every other case carries its duration, in ms, as its measurement.
 * Read back, the heap is the name's last `.` component and the id the rest:
 * exact for every case id and heap name made of [A-Za-z0-9_-] pieces. A
 * pass whose units are not `ms` was DONE.
 */
import { createHash } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import type { CaseResult, CaseStatus } from '../core/result.js'

export type LavaResult = 'pass' | 'fail' | 'skip' | 'unknown'

export const LAVA_NAME_MAX = 100

/** A DONE case with no numeric observation: its duration, in units that say it was observed only. */
const OBSERVED_MS = 'observed_ms'

const LAVA_RESULT: Record<CaseStatus, LavaResult> = {
  PASS: 'pass',
  XPASS: 'pass',
  DONE: 'pass',
  FAIL: 'fail',
  XFAIL: 'fail',
  SKIP: 'skip',
  ERROR: 'unknown',
  MISS: 'unknown',
}

export const lavaResult = (s: CaseStatus): LavaResult => LAVA_RESULT[s]

/** A name within LAVA's rules: [A-Za-z0-9._-], at most 100 characters, never empty. */
export function lavaName(text: string): string {
  const clean = text.replace(/[^A-Za-z0-9._-]/g, '_') || '_'
  if (clean.length <= LAVA_NAME_MAX) return clean
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8)
  return `${clean.slice(0, LAVA_NAME_MAX - 9)}-${hash}`
}

export const lavaCaseName = (r: Pick<CaseResult, 'id' | 'heap'>): string => lavaName(`${r.id}.${r.heap}`)

export interface LavaCase {
  set: string
  name: string
  result: LavaResult
  measurement?: number
  units?: string
}

/** The measurement a case carries: a DONE case's first numeric observation, else its duration. */
function measurementOf(r: CaseResult): { measurement: number; units: string } {
  if (r.status === 'DONE') {
    for (const [label, value] of Object.entries(r.observations ?? {})) {
      if (typeof value === 'number' && Number.isFinite(value)) return { measurement: value, units: lavaName(label) }
    }
    return { measurement: r.durationMs, units: OBSERVED_MS }
  }
  return { measurement: r.durationMs, units: 'ms' }
}

export function toLavaCase(r: CaseResult): LavaCase {
  return { set: lavaName(r.suite), name: lavaCaseName(r), result: lavaResult(r.status), ...measurementOf(r) }
}

/**
 * The lines a LAVA test shell turns into test cases: the raw signals, so no
 * helper script (lava-test-case) has to be on the PATH, as in a docker test
 * shell. A test set starts when the suite changes and ends before the next.
 */
export function lavaSignals(results: CaseResult[]): string[] {
  const lines: string[] = []
  let set: string | undefined
  for (const r of results) {
    const c = toLavaCase(r)
    if (c.set !== set) {
      if (set !== undefined) lines.push('<LAVA_SIGNAL_TESTSET STOP>')
      lines.push(`<LAVA_SIGNAL_TESTSET START ${c.set}>`)
      set = c.set
    }
    const m = c.measurement === undefined ? '' : ` MEASUREMENT=${c.measurement} UNITS=${c.units ?? 'none'}`
    lines.push(`<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=${c.name} RESULT=${c.result}${m}>`)
  }
  if (set !== undefined) lines.push('<LAVA_SIGNAL_TESTSET STOP>')
  return lines
}

/** Linaro test-definitions' output/result.txt: `<name> <result> [measurement units]`, the set as a prefix. */
export function lavaResultTxt(results: CaseResult[]): string {
  return results.map((r) => {
    const c = toLavaCase(r)
    return `${c.set}.${c.name} ${c.result}${c.measurement === undefined ? '' : ` ${c.measurement} ${c.units}`}\n`
  }).join('')
}

/** One test case as a LAVA job reports it (lava-run's log, or the server's tests API). */
export interface LavaReported {
  /** the test definition, `<n>_<name>` (`0_dmaheap`); `lava` is LAVA's own actions */
  definition: string
  set?: string
  case: string
  result: string
  measurement?: number
  units?: string
}

/**
 * The results in lava-run's output: its log lines are YAML flow maps
 * (`- {"dt": …, "lvl": "results", "msg": {…}}`, with tags such as `! "600"`),
 * so they are read as YAML, one line at a time.
 */
export function lavaRunResults(log: string): LavaReported[] {
  const out: LavaReported[] = []
  for (const line of log.split('\n')) {
    if (!line.includes('"lvl": "results"') && !line.includes('lvl: results')) continue
    let entry: unknown
    try {
      entry = parseYaml(line.replace(/^- /, ''))
    } catch {
      continue // a line cut short: the rest are still read
    }
    const msg = (entry as { msg?: Record<string, unknown> } | null)?.msg
    if (!msg || typeof msg.case !== 'string' || typeof msg.result !== 'string' || typeof msg.definition !== 'string') continue
    const measurement = msg.measurement === undefined ? undefined : Number(msg.measurement)
    out.push({
      definition: msg.definition,
      case: msg.case,
      result: msg.result,
      ...(typeof msg.set === 'string' ? { set: msg.set } : {}),
      ...(measurement !== undefined && Number.isFinite(measurement) ? { measurement } : {}),
      ...(typeof msg.units === 'string' ? { units: msg.units } : {}),
    })
  }
  return out
}

/** A test case as a LAVA server's tests API lists it: its metadata (YAML) holds the definition and the set. */
export interface LavaServerRow {
  name: string
  result: string
  measurement?: string | number | null
  unit?: string | null
  metadata?: string | null
}

export function lavaServerResults(rows: LavaServerRow[]): LavaReported[] {
  return rows.map((row) => {
    let meta: Record<string, unknown> = {}
    try {
      const m: unknown = row.metadata ? parseYaml(row.metadata) : {}
      if (m && typeof m === 'object') meta = m as Record<string, unknown>
    } catch {
      // no metadata to read: the row's own fields are all there is
    }
    const measurement = row.measurement === null || row.measurement === undefined ? undefined : Number(row.measurement)
    return {
      definition: typeof meta.definition === 'string' ? meta.definition : 'unknown',
      case: row.name,
      result: row.result,
      ...(typeof meta.set === 'string' ? { set: meta.set } : {}),
      ...(measurement !== undefined && Number.isFinite(measurement) ? { measurement } : {}),
      ...(row.unit ? { units: row.unit } : {}),
    }
  })
}

const STATUS_OF: Record<string, CaseStatus> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', unknown: 'ERROR' }

/**
 * LAVA's test cases back as our results: the test sets are the suites, each
 * name `<case id>.<heap>`. LAVA keeps no messages or checks, so a FAIL says
 * where to read why (the job's log); ERROR stands for unknown (a MISS comes
 * back as ERROR too: LAVA does not tell them apart). LAVA's own results
 * (definition `lava`) and cases outside a set are not ours and are left out.
 */
export function fromLava(reported: LavaReported[], where: { target: string; kernel: string }): CaseResult[] {
  const out: CaseResult[] = []
  for (const c of reported) {
    if (c.definition === 'lava' || !c.set) continue
    const dot = c.case.lastIndexOf('.')
    if (dot <= 0) continue
    const observed = c.result === 'pass' && c.units !== undefined && c.units !== 'ms'
    const status: CaseStatus = observed ? 'DONE' : STATUS_OF[c.result] ?? 'ERROR'
    const timed = c.measurement !== undefined && (c.units === 'ms' || c.units === OBSERVED_MS)
    out.push({
      id: c.case.slice(0, dot),
      suite: c.set,
      heap: c.case.slice(dot + 1),
      target: where.target,
      kernel: where.kernel,
      status,
      ...(status === 'FAIL' ? { message: 'failed in the LAVA job (LAVA keeps no check messages: see the job log)' } : {}),
      ...(status === 'ERROR' ? { message: `LAVA result ${c.result}: no verdict` } : {}),
      checks: [],
      ...(observed && !timed && c.measurement !== undefined ? { observations: { [c.units!]: c.measurement } } : {}),
      durationMs: timed ? c.measurement! : 0,
    })
  }
  return out
}
