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

const RESULT = /^(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$/
const DIRECTIVE = /^(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i
const PLAN = /^1\.\.(\d+)\s*(?:#\s*(.*))?$/
const VERSION = /^(K?TAP version \d+)\s*$/
const BAIL = /^Bail out!\s*(.*)$/
/** What a "# "-prefixed line holds when it is nested TAP rather than a comment. */
const NESTED_TAP = /^(ok\b|not ok\b|1\.\.\d|K?TAP version|Bail out!|# )/

interface Line {
  /** nesting depth in columns; each "# " prefix counts as deeper than any indent */
  depth: number
  text: string
}

function measure(raw: string): Line {
  let text = raw.replace(/\r$/, '')
  let prefixes = 0
  for (;;) {
    const indent = /^ */.exec(text)![0].length
    const rest = text.slice(indent)
    if (rest.startsWith('# ') && NESTED_TAP.test(rest.slice(2))) {
      // kselftest's runner nests a program's TAP as "# ok 1 ...": one level deeper
      prefixes++
      text = ' '.repeat(indent) + rest.slice(2)
      continue
    }
    return { depth: prefixes * 1000 + indent, text: rest }
  }
}

function parseResult(text: string): Omit<TapTest, 'diagnostics' | 'subtests'> | undefined {
  const m = RESULT.exec(text)
  if (!m) return undefined
  const t: Omit<TapTest, 'diagnostics' | 'subtests'> = { ok: m[1] === 'ok', name: (m[3] ?? '').trim() }
  if (m[2] !== undefined) t.number = Number(m[2])
  const after = m[4]?.trim()
  if (after) {
    const d = DIRECTIVE.exec(after)
    if (d) {
      t.directive = d[1]!.toUpperCase() as Directive
      if (d[2]) t.reason = d[2].trim()
    } else t.reason = after
  }
  return t
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
    const bail = BAIL.exec(line)
    if (bail) {
      log.bailOut = bail[1] ?? ''
      continue
    }
    top ??= depth
    const plan = PLAN.exec(line)
    if (plan) {
      if (depth === top && log.plan === undefined) {
        log.plan = Number(plan[1])
        if (log.plan === 0 && plan[2] && DIRECTIVE.test(plan[2])) log.skipAll = DIRECTIVE.exec(plan[2])![2] ?? ''
      } else at(depth).plan = Number(plan[1])
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
