/**
 * The upstream dmabuf-heaps selftest's output, either generation, as results
 * of the one model (suite "kselftest"):
 *  - KTAP (since its ksft_* conversion): 11 flat test points per heap after
 *    "# Testing heap: NAME"; names repeat across heaps and embed return values
 *    ("Error expected on invalid heap flags -1"), so ids are
 *    kselftest.<ordinal within the heap>-<name without numbers>.
 *  - free text (before it): "Testing heap: NAME", then "  Testing X:  OK" or
 *    "FAIL (why)"; it stops at the first failure.
 * Any other KTAP/TAP log maps the same way, a subtest "<suite> on <heap>"
 * (as our own results.ktap names them) giving the suite and heap.
 */
import type { CaseResult, CaseStatus } from '../core/result.js'
import { parseTap, type TapLog, type TapTest } from './ktap-parse.js'

export interface ParseContext {
  target: string
  kernel: string
  /** the suite results are filed under when the log does not say; default "kselftest" */
  suite?: string
  /** the program's exit status, when known (a log from a runner may say it: "# exit=N") */
  exitStatus?: number | null
}

/** Underscores off both ends, by hand: /_+$/ backtracks over every underscore run in the name. */
function trimUnderscores(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && s[a] === '_') a++
  while (b > a && s[b - 1] === '_') b--
  return s.slice(a, b)
}

const slug = (s: string) =>
  trimUnderscores(
    s
      .replace(/\s-?\d+\s*$/g, '')
      .replace(/[^A-Za-z0-9_-]+/g, '_'),
  ).toLowerCase() || 'unnamed'

function statusOf(t: TapTest): { status: CaseStatus; message?: string } {
  switch (t.directive) {
    case 'SKIP':
      return { status: 'SKIP', message: t.reason ?? 'skipped' }
    case 'TODO':
      return { status: 'SKIP', message: `TODO${t.reason ? `: ${t.reason}` : ''}` }
    case 'XFAIL':
      return { status: 'PASS', message: `expected failure${t.reason ? `: ${t.reason}` : ''}` }
    case 'TIMEOUT':
      return { status: 'ERROR', message: `timeout${t.reason ? `: ${t.reason}` : ''}` }
    case 'ERROR':
      // our own results.ktap writes a case never run as "not ok ... # ERROR not run: ..."
      return /^not run\b/.test(t.reason ?? '') ? { status: 'MISS', message: t.reason! } : { status: 'ERROR', message: t.reason ?? 'error' }
    default:
      if (t.ok && /^DONE\b/.test(t.reason ?? '')) return { status: 'DONE' } // our own KTAP's observed-only cases
      return t.ok ? { status: 'PASS' } : { status: 'FAIL', message: t.reason ?? (t.diagnostics.at(-1) || `not ok: ${t.name}`) }
  }
}

function fromKtap(log: TapLog, ctx: ParseContext): CaseResult[] {
  const suite = ctx.suite ?? 'kselftest'
  const out: CaseResult[] = []
  const base = (heap: string, s: string) => ({ suite: s, heap, target: ctx.target, kernel: ctx.kernel, checks: [], durationMs: 0 })
  let heap = 'unknown'
  const ordinal = new Map<string, number>()
  for (const t of log.tests) {
    const named = /^(\S+) on (\S+)$/.exec(t.name)
    if (t.subtests.length && named) {
      // a group "<suite> on <heap>" of cases named by their ids
      for (const c of t.subtests) out.push({ ...base(named[2]!, named[1]!), id: c.name, ...statusOf(c), ...(c.diagnostics.length ? { observations: { diagnostics: c.diagnostics.join('\n') } } : {}) })
      continue
    }
    for (const d of t.diagnostics) {
      const m = /^Testing heap: (\S+)/.exec(d)
      if (m) heap = m[1]!
    }
    const n = (ordinal.get(heap) ?? 0) + 1
    ordinal.set(heap, n)
    // A skip often has no name: the section it ran in names it.
    const section = [...t.diagnostics].reverse().find((d) => /^Testing /.test(d) && !/^Testing heap:/.test(d))
    const name = t.name || section?.replace(/:$/, '') || 'unnamed'
    const id = `${suite}.${String(n).padStart(2, '0')}-${slug(name)}`
    out.push({ ...base(heap, suite), id, ...statusOf(t), observations: { name, ...(t.reason && !t.directive ? { diagnostic: t.reason } : {}) } })
  }
  // Points planned but never printed (a Bail out, a crash): not run.
  if (log.plan !== undefined && log.tests.length < log.plan && !log.tests.some((t) => t.subtests.length)) {
    const why = log.bailOut !== undefined ? `not run: the program bailed out: ${log.bailOut}` : 'not run: the program ended before this test point'
    for (let i = log.tests.length + 1; i <= log.plan; i++) out.push({ ...base(heap, suite), id: `${suite}.planned-${i}`, status: 'MISS', message: why })
  }
  if (log.skipAll !== undefined) out.push({ ...base('all', suite), id: `${suite}.all`, status: 'SKIP', message: log.skipAll || 'skipped' })
  return out
}

const FREE_TEXT_HEAP = /^Testing heap: (\S+)/

const isSpace = (c: string | undefined) => c !== undefined && c.trim() === '' // what \s matches
const isLineTerminator = (c: string) => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029'

/**
 * "  Testing X:  OK", "  Testing X:  (note):  FAIL (why)": what
 * /^\s+Testing (.+?):\s+(?:\((.*?)\):\s*)?(OK|FAIL(?: \((.*)\))?)?\s*$/
 * matched, in linear time (that pattern is quadratic in a run of spaces, and
 * the selftest's output comes from the target). The tests hold the two
 * against each other. The name is the shortest that leaves a valid rest;
 * like the pattern's ".", the name, note and reason hold no line terminator.
 */
export function freeTextTest(line: string): { what: string; note?: string; verdict?: string; why?: string } | undefined {
  const lead = /^\s+Testing /.exec(line)
  if (!lead) return undefined
  // nextTerminator[i]: the first line terminator at or after i (or the length)
  const nextTerminator = new Int32Array(line.length + 1)
  nextTerminator[line.length] = line.length
  for (let i = line.length - 1; i >= 0; i--) nextTerminator[i] = isLineTerminator(line[i]!) ? i : nextTerminator[i + 1]!
  const clean = (from: number, to: number) => nextTerminator[from]! >= to
  let end = line.length
  while (end > 0 && isSpace(line[end - 1])) end--
  /** The verdict filling line[from, end): "", "OK", "FAIL" or "FAIL (why)". */
  const verdictAt = (from: number): { verdict?: string; why?: string } | undefined => {
    const n = end - from
    if (n <= 0) return {}
    if (n === 2 && line.startsWith('OK', from)) return { verdict: 'OK' }
    if (n === 4 && line.startsWith('FAIL', from)) return { verdict: 'FAIL' }
    if (n >= 7 && line.startsWith('FAIL (', from) && line[end - 1] === ')' && clean(from + 6, end - 1)) return { verdict: 'FAIL', why: line.slice(from + 6, end - 1) }
    return undefined
  }
  const skipSpaces = (from: number) => {
    while (from < line.length && isSpace(line[from])) from++
    return from
  }
  // Where a note may end: a "):" followed by spaces and a valid verdict.
  // The note is lazy, so each start takes the first such place after it.
  const noteEnds: number[] = []
  for (let k = line.indexOf('):'); k >= 0; k = line.indexOf('):', k + 1)) if (verdictAt(skipSpaces(k + 2))) noteEnds.push(k)
  let nextNote = 0
  const start = lead[0].length
  for (let c = line.indexOf(':', start + 1); c >= 0 && clean(start, c); c = line.indexOf(':', c + 1)) {
    if (!isSpace(line[c + 1])) continue // \s+ after the colon
    const q = skipSpaces(c + 1)
    const what = line.slice(start, c)
    const plain = verdictAt(q)
    if (plain) return { what, ...plain }
    if (line[q] !== '(') continue
    while (nextNote < noteEnds.length && noteEnds[nextNote]! < q + 1) nextNote++
    const k = noteEnds[nextNote]
    if (k === undefined || !clean(q + 1, k)) continue
    return { what, note: line.slice(q + 1, k), ...verdictAt(skipSpaces(k + 2)) }
  }
  return undefined
}

function fromFreeText(text: string, ctx: ParseContext): CaseResult[] {
  const suite = ctx.suite ?? 'kselftest'
  const out: CaseResult[] = []
  let heap = 'unknown'
  const ordinal = new Map<string, number>()
  for (const line of text.split('\n')) {
    const h = FREE_TEXT_HEAP.exec(line)
    if (h) {
      heap = h[1]!
      continue
    }
    const m = freeTextTest(line)
    if (!m) continue
    const n = (ordinal.get(heap) ?? 0) + 1
    ordinal.set(heap, n)
    const { what, note, verdict, why } = m
    const status: CaseStatus = verdict === 'OK' ? 'PASS' : verdict ? 'FAIL' : 'ERROR'
    const message = verdict === 'OK' ? undefined : verdict ? (why ?? 'FAIL') : 'the test printed no verdict (the program stopped here)'
    out.push({
      id: `${suite}.${String(n).padStart(2, '0')}-${slug(what!)}`,
      suite,
      heap,
      target: ctx.target,
      kernel: ctx.kernel,
      status,
      ...(message ? { message } : {}),
      checks: [],
      ...(note ? { observations: { note } } : {}),
      durationMs: 0,
    })
  }
  return out
}

/** Whether the log is KTAP/TAP at all (the free-text generation has no version line nor result lines). */
export function isTap(text: string): boolean {
  // [^\S\n], not \s: a \s* may run across lines, and from every line start
  // over a long run of blank lines that is quadratic.
  return /^[^\S\n]*(# )?(K?TAP version \d+|ok \d|not ok \d)/m.test(text)
}

/** Our own KTAP names its target and kernel; a value given on the command line wins. */
function withOrigin(text: string, ctx: ParseContext): ParseContext {
  const m = /^# dmaheap: target (\S+), kernel (\S+)$/m.exec(text)
  if (!m) return ctx
  return { ...ctx, target: ctx.target === 'unknown' ? m[1]! : ctx.target, kernel: ctx.kernel === 'unknown' ? m[2]! : ctx.kernel }
}

export function kselftestResults(text: string, given: ParseContext): CaseResult[] {
  const ctx = withOrigin(text, given)
  const tap = isTap(text)
  const log = tap ? parseTap(text) : undefined
  const results = log ? fromKtap(log, ctx) : fromFreeText(text, ctx)
  const exit = ctx.exitStatus !== undefined ? ctx.exitStatus : log?.exitCode
  // The old generation says nothing but its exit status when it cannot start
  // (no /dev/dma_heap): a program that failed without a failing result is an ERROR.
  const bad = results.some((r) => r.status === 'FAIL' || r.status === 'ERROR' || r.status === 'MISS')
  const skipped = exit === 4 // KSFT_SKIP
  if (exit !== undefined && exit !== 0 && !bad && !skipped) {
    const last = text.trim().split('\n').slice(-3).join(' | ')
    results.push({ id: `${ctx.suite ?? 'kselftest'}.exit-status`, suite: ctx.suite ?? 'kselftest', heap: 'all', target: ctx.target, kernel: ctx.kernel, status: 'ERROR', message: `the program exited with ${exit === null ? 'a signal' : exit}: ${last}`, checks: [], durationMs: 0 })
  }
  if (tap && !skipped && !results.length && !(exit !== undefined && exit !== 0)) {
    // A header and no test point: the program stopped before its first test.
    const why = log?.trailing.at(-1) ?? 'no diagnostic printed'
    results.push({ id: `${ctx.suite ?? 'kselftest'}.no-result`, suite: ctx.suite ?? 'kselftest', heap: 'all', target: ctx.target, kernel: ctx.kernel, status: 'ERROR', message: `no test point was printed (${why})${exit === undefined ? '; its exit status is not known' : ''}`, checks: [], durationMs: 0 })
  }
  if (skipped && !results.length) {
    const why = log?.trailing.at(-1) ?? text.trim().split('\n').at(-1)
    results.push({ id: `${ctx.suite ?? 'kselftest'}.all`, suite: ctx.suite ?? 'kselftest', heap: 'all', target: ctx.target, kernel: ctx.kernel, status: 'SKIP', message: `the program skipped (KSFT_SKIP): ${why || 'no reason printed'}`, checks: [], durationMs: 0 })
  }
  return results
}
