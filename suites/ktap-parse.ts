/**
 * Our own KTAP/TAP reader (no maintained npm parser understands KTAP): KTAP
 * version 1 and TAP 13/14, nesting by indentation (2 spaces in KTAP, 4 in
 * TAP 14) or by kselftest's runner's "# " prefix, the SKIP, TODO, XFAIL,
 * TIMEOUT and ERROR directives, "Bail out!", plans (1..0 # SKIP), and lines
 * that are none of these (printk output), which never change a status.
 * Modelled on the kernel's own tools/testing/kunit/kunit_parser.py.
 */

export type Directive = 'SKIP' | 'TODO' | 'XFAIL' | 'TIMEOUT' | 'ERROR'

export interface TapTest {
  ok: boolean
  number?: number
  /** the description, '' when the line has none */
  name: string
  directive?: Directive
  /** the directive's reason, or the text after '#' */
  reason?: string
  /** diagnostic lines ('# ...') just before the result, without the '# ' */
  diagnostics: string[]
  subtests: TapTest[]
  /** the subtest's own plan, when it printed one */
  plan?: number
}

export interface TapLog {
  /** "KTAP version 1", "TAP version 13", or undefined when there was no header */
  version?: string
  plan?: number
  /** "1..0 # SKIP reason": the whole program skipped */
  skipAll?: string
  tests: TapTest[]
  bailOut?: string
  /** from kselftest's runner's "# exit=N" */
  exitCode?: number
  /** diagnostics after the last result at the top level */
  trailing: string[]
}

const DIRECTIVE = /^(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i
const VERSION = /^(K?TAP version \d+)\s*$/
/** What a "# "-prefixed line holds when it is nested TAP rather than a comment (sticky: tested where the prefix ends). */
const NESTED_TAP = /(ok\b|not ok\b|1\.\.\d|K?TAP version|Bail out!|# )/y

interface Line {
  /** nesting depth in columns; each "# " prefix counts as deeper than any indent */
  depth: number
  text: string
}

// The reader takes what a target printed (the selftest's output from a
// board) and any file given to `dmaheap parse`, so every step is linear in
// the line: no pattern that backtracks over a run of spaces, no re-slicing
// per nesting level. A result line of 80,000 spaces once took 25 s here.

function measure(raw: string): Line {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw
  let prefixes = 0
  let indent = 0
  let at = 0
  for (;;) {
    while (text.charCodeAt(at) === 0x20) at++, indent++
    NESTED_TAP.lastIndex = at + 2
    if (text.startsWith('# ', at) && NESTED_TAP.test(text)) {
      // kselftest's runner nests a program's TAP as "# ok 1 ...": one level deeper
      prefixes++
      at += 2
      continue
    }
    return { depth: prefixes * 1000 + indent, text: text.slice(at) }
  }
}

const isSpace = (c: string) => c.trim() === '' // what \s matches
const isWordChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/

/**
 * "ok 1 - name # DIRECTIVE reason", by hand in one pass: what
 * /^(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$/ matched,
 * without its quadratic backtracking (the tests hold the two against each other).
 */
export function parseResult(text: string): Omit<TapTest, 'diagnostics' | 'subtests'> | undefined {
  const ok = text.startsWith('ok')
  let i = ok ? 2 : text.startsWith('not ok') ? 6 : -1
  if (i < 0 || (i < text.length && isWordChar(text.charCodeAt(i)))) return undefined
  const skipSpaces = () => {
    while (i < text.length && isSpace(text[i]!)) i++
  }
  skipSpaces()
  const digits = i
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++
  const number = i > digits ? Number(text.slice(digits, i)) : undefined
  skipSpaces()
  if (text[i] === '-') {
    i++
    skipSpaces()
  }
  const hash = text.indexOf('#', i)
  const rest = hash < 0 ? undefined : text.slice(hash + 1).replace(/^\s+/, '')
  // "." stops at a line terminator: the pattern did not match such a line.
  if (rest !== undefined && LINE_TERMINATOR.test(rest)) return undefined
  const t: Omit<TapTest, 'diagnostics' | 'subtests'> = { ok, name: text.slice(i, hash < 0 ? undefined : hash).trim() }
  if (number !== undefined) t.number = number
  const after = rest?.trim()
  if (after) {
    const d = DIRECTIVE.exec(after)
    if (d) {
      t.directive = d[1]!.toUpperCase() as Directive
      if (d[2]) t.reason = d[2].trim()
    } else t.reason = after
  }
  return t
}

/** "1..N # comment": what /^1\.\.(\d+)\s*(?:#\s*(.*))?$/ matched, in one pass. */
export function parsePlan(line: string): { count: number; comment?: string } | undefined {
  if (!line.startsWith('1..')) return undefined
  let i = 3
  while (i < line.length && line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++
  if (i === 3) return undefined
  const count = Number(line.slice(3, i))
  while (i < line.length && isSpace(line[i]!)) i++
  if (i === line.length) return { count }
  if (line[i] !== '#') return undefined
  const comment = line.slice(i + 1).replace(/^\s+/, '')
  return LINE_TERMINATOR.test(comment) ? undefined : { count, comment }
}

/** "Bail out! reason": what /^Bail out!\s*(.*)$/ matched, in one pass. */
export function parseBailOut(line: string): string | undefined {
  if (!line.startsWith('Bail out!')) return undefined
  const reason = line.slice(9).replace(/^\s+/, '')
  return LINE_TERMINATOR.test(reason) ? undefined : reason
}

export function parseTap(text: string): TapLog {
  const log: TapLog = { tests: [], trailing: [] }
  // Per depth: results and diagnostics waiting for their parent's result line.
  const pending = new Map<number, { tests: TapTest[]; diags: string[]; plan?: number }>()
  const at = (d: number) => {
    let p = pending.get(d)
    if (!p) pending.set(d, (p = { tests: [], diags: [] }))
    return p
  }
  let top: number | undefined
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue
    const { depth, text: line } = measure(raw)
    const exit = /^#\s*exit=(\d+)/.exec(line)
    if (exit) {
      log.exitCode = Number(exit[1])
      continue
    }
    if (VERSION.test(line)) {
      if (top === undefined) {
        top = depth
        log.version = VERSION.exec(line)![1]
      }
      continue
    }
    const bail = parseBailOut(line)
    if (bail !== undefined) {
      log.bailOut = bail
      continue
    }
    top ??= depth
    const plan = parsePlan(line)
    if (plan) {
      if (depth === top && log.plan === undefined) {
        log.plan = plan.count
        if (log.plan === 0 && plan.comment && DIRECTIVE.test(plan.comment)) log.skipAll = DIRECTIVE.exec(plan.comment)![2] ?? ''
      } else at(depth).plan = plan.count
      continue
    }
    // "# Subtest: name" heads a subtest; the parent's result line names it again.
    if (/^#\s*Subtest:/.test(line)) continue
    if (line.startsWith('#')) {
      at(depth).diags.push(line.replace(/^#\s?/, ''))
      continue
    }
    const result = parseResult(line)
    if (!result) continue // printk and other unknown lines never change a status
    // Everything pending deeper than this line belongs to it: its subtests.
    const children: TapTest[] = []
    let childPlan: number | undefined
    for (const d of [...pending.keys()].filter((d) => d > depth).sort((a, b) => a - b)) {
      const p = pending.get(d)!
      if (!children.length) {
        children.push(...p.tests)
        childPlan = p.plan
      }
      pending.delete(d)
    }
    const own = at(depth)
    const test: TapTest = { ...result, diagnostics: own.diags, subtests: children, ...(childPlan !== undefined ? { plan: childPlan } : {}) }
    own.diags = []
    own.tests.push(test)
  }
  const rootDepth = top ?? 0
  log.tests = pending.get(rootDepth)?.tests ?? []
  log.trailing = pending.get(rootDepth)?.diags ?? []
  return log
}
