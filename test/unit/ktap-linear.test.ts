// The KTAP/TAP reader in linear time. Its input is what a target printed
// (the selftest's output) or any file given to `dmaheap parse`; one result
// line with 80,000 spaces took 14.6 s in the old pattern, with the event
// loop blocked. The hand-written matchers are held against the patterns they
// replace on random short lines (where backtracking costs nothing), and the
// inputs that were quadratic are timed.
import t from 'tap'
import { parseBailOut, parsePlan, parseResult, parseTap } from '../../suites/ktap-parse.js'
import { freeTextTest, isTap, kselftestResults } from '../../suites/kselftest-results.js'
import { dmaheap, tempOutput } from '../helpers.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The patterns the reader used before, as the oracle. */
const OLD_RESULT = /^(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$/
const OLD_DIRECTIVE = /^(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i
const OLD_PLAN = /^1\.\.(\d+)\s*(?:#\s*(.*))?$/
const OLD_BAIL = /^Bail out!\s*(.*)$/
const OLD_FREE_TEXT = /^\s+Testing (.+?):\s+(?:\((.*?)\):\s*)?(OK|FAIL(?: \((.*)\))?)?\s*$/
const OLD_IS_TAP = /^\s*(# )?(K?TAP version \d+|ok \d|not ok \d)/m

function oldResult(text: string) {
  const m = OLD_RESULT.exec(text)
  if (!m) return undefined
  const r: Record<string, unknown> = { ok: m[1] === 'ok', name: (m[3] ?? '').trim() }
  if (m[2] !== undefined) r.number = Number(m[2])
  const after = m[4]?.trim()
  if (after) {
    const d = OLD_DIRECTIVE.exec(after)
    if (d) {
      r.directive = d[1]!.toUpperCase()
      if (d[2]) r.reason = d[2].trim()
    } else r.reason = after
  }
  return r
}

let seed = 19
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!
const line = (starts: string[], alphabet: string[], max: number) => {
  let l = pick(starts)
  for (let k = Math.floor(rnd() * max); k > 0; k--) l += pick(alphabet)
  return l
}
// Line terminators other than \n are in the alphabets: "." stops at them and \s takes them.
const SPACES = [' ', '  ', '\t', '\r', '\u2028', '\u00a0']

t.test('the hand-written matchers agree with the patterns they replace', async (t) => {
  const n = 100_000
  let bad = 0
  const differ = (what: string, l: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return
    if (bad++ < 5) t.fail(`${what} ${JSON.stringify(l)}: pattern ${JSON.stringify(a)}, now ${JSON.stringify(b)}`)
  }
  const sorted = (o: object | undefined) => (o ? Object.fromEntries(Object.entries(o).sort()) : o)
  for (let i = 0; i < n; i++) {
    const r = line(['ok', 'not ok', 'okay', 'ok ', 'not ok ', 'ok-', 'nok', 'ok_'], [...SPACES, '1', '23', '-', '#', 'x', ' SKIP', 'skip ', 'TODO', '_', 'XFAIL ', '#'], 10)
    differ('result', r, sorted(oldResult(r)), sorted(parseResult(r)))
    const p = line(['1..', '1.', '1..0', '1..12'], [...SPACES, '1', '#', 'x', 'SKIP'], 8)
    const m = OLD_PLAN.exec(p)
    differ('plan', p, m ? { count: Number(m[1]), comment: m[2] } : undefined, parsePlan(p))
    const b = line(['Bail out!', 'Bail out! ', 'Bail out', 'bail out!'], [...SPACES, 'x', '!'], 6)
    differ('bail out', b, OLD_BAIL.exec(b)?.[1] ?? (OLD_BAIL.test(b) ? '' : undefined), parseBailOut(b))
    const f = line(['  Testing ', ' Testing ', '\tTesting ', 'Testing ', '  Testing  ', '\r Testing '], [...SPACES, ':', '(', ')', 'OK', 'FAIL', 'FAIL (', 'a', '):', ': ', 'x'], 10)
    const o = OLD_FREE_TEXT.exec(f)
    differ('free text', f, o ? { what: o[1], ...(o[2] !== undefined ? { note: o[2] } : {}), ...(o[3] ? { verdict: o[3] === 'OK' ? 'OK' : 'FAIL' } : {}), ...(o[4] !== undefined ? { why: o[4] } : {}) } : undefined, freeTextTest(f))
    const text = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => line(['', ' ', '# ', '\t', 'x'], [...SPACES, 'ok 1', 'not ok 2', 'TAP version 13', 'KTAP version 1', '# ', 'x'], 4)).join('\n')
    differ('isTap', text, OLD_IS_TAP.test(text), isTap(text))
  }
  t.equal(bad, 0, `${n} random lines of each kind: no difference`)
})

/** Milliseconds one call takes. */
function timed(f: () => unknown): number {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}

t.test('inputs that were quadratic take milliseconds', async (t) => {
  const spaces = ' '.repeat(80_000)
  const cases: Array<[string, () => unknown]> = [
    ['a result line with 80,000 spaces', () => parseTap(`TAP version 13\n1..1\nok 1 x${spaces}y\n`)],
    ['a result line with 80,000 spaces before a directive', () => parseTap(`ok 1 x${spaces}# SKIP${spaces}why\u2028z\n`)],
    ['a plan with 80,000 spaces', () => parseTap(`1..1${spaces}#${spaces}x\u2028y\n`)],
    ['a Bail out with 80,000 spaces', () => parseTap(`Bail out!${spaces}x\u2028y\n`)],
    ['40,000 nested "# " prefixes', () => parseTap(`${'# '.repeat(40_000)}ok 1 x\n`)],
    ['a free-text test line with 80,000 spaces', () => kselftestResults(`Testing heap: system\n  Testing x:${spaces}y\n`, { target: 't', kernel: 'k' })],
    ['a free-text test line of 30,000 ": ("', () => kselftestResults(`  Testing a${': ('.repeat(30_000)}\n`, { target: 't', kernel: 'k' })],
    ['200,000 blank lines (is it TAP?)', () => isTap('\n'.repeat(200_000) + 'x')],
    ['a test name of 80,000 underscores', () => kselftestResults(`TAP version 13\nok 1 a${'_'.repeat(80_000)}b\n`, { target: 't', kernel: 'k' })],
  ]
  for (const [what, f] of cases) {
    const ms = timed(f)
    t.ok(ms < 250, `${what}: ${ms.toFixed(1)} ms`)
  }
  const r = parseTap(`ok 1 x${spaces}y # SKIP no heap`).tests[0]
  t.match(r, { ok: true, number: 1, name: `x${spaces}y`, directive: 'SKIP', reason: 'no heap' }, 'and read right')
})

t.test('dmaheap parse of the 80,000-space line', async (t) => {
  const file = tempOutput('ktap-spaces') + '.log'
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `TAP version 13\n1..1\nok 1 x${' '.repeat(80_000)}y\n`)
  const t0 = Date.now()
  const r = await dmaheap(['parse', file], 60_000)
  const ms = Date.now() - t0
  t.equal(r.exitCode, 0, r.stderr)
  t.match(JSON.parse(r.stdout.split('\n')[0]!), { id: 'kselftest.01-x_y', status: 'PASS' })
  // The whole command, Node's start included (about half a second here).
  t.ok(ms < 5000, `the command took ${ms} ms`)
})
