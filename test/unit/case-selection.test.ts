/**
 * The daily loop's logic, nothing booted: which cases --case/--skip choose,
 * the status line and the failure list, --version and list --case.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../core/errors.js'
import { emptyCounts, type CaseResult } from '../../core/result.js'
import { selectCases } from '../../suites/case-filter.js'
import { SUITES } from '../../suites/index.js'
import { failureLines, statusLine } from '../../cli/progress.js'
import { dmaheap, repo } from '../helpers.js'

const ids = (sel: { include?: string[]; exclude?: string[] }) => {
  const s = selectCases(SUITES, { include: sel.include ?? [], exclude: sel.exclude ?? [] })
  return { boot: s.boot, suites: s.suites.map((x) => x.name), cases: s.suites.flatMap((x) => x.cases.map((c) => c.id)) }
}

t.test('--case and --skip choose case ids by glob', async (t) => {
  t.same(ids({ include: ['alloc.size.409*'] }), { boot: false, suites: ['alloc'], cases: ['alloc.size.4095', 'alloc.size.4096', 'alloc.size.4097'] })
  t.same(ids({ include: ['alloc.size.{1,4097}'] }).cases, ['alloc.size.1', 'alloc.size.4097'], 'braces')
  const all = ids({})
  t.equal(all.boot, true, 'no selection: the boot case too')
  t.equal(all.suites.length, SUITES.length)
  const noMmap = ids({ exclude: ['mmap.*'] })
  t.notOk(noMmap.suites.includes('mmap'), '--skip alone drops a whole suite')
  t.equal(noMmap.boot, true, '--skip alone keeps the boot case')
  t.same(ids({ include: ['alloc.size.409*'], exclude: ['*.4096'] }).cases, ['alloc.size.4095', 'alloc.size.4097'], '--skip wins over --case')
  t.same(ids({ include: ['boot.*'] }), { boot: true, suites: [], cases: [] }, 'the boot case alone')
  t.throws(() => ids({ include: ['alloc.sise.*'] }), { constructor: UsageError, message: '--case "alloc.sise.*" matches no case id of the suites chosen' }, 'a typo is an error, not an empty run')
  t.throws(() => ids({ exclude: ['nosuch'] }), /--skip "nosuch" matches no case id/)
  t.throws(() => ids({ include: ['alloc.no-fd-leak'] }), /alloc.no-fd-leak runs after its suite's cases, not alone/)
  t.throws(() => ids({ exclude: ['*'] }), /leave no case to run/)
})

t.test('the status line fits the terminal and the failure list is capped', async (t) => {
  const totals = { ...emptyCounts(), PASS: 120, FAIL: 2, SKIP: 3 }
  const line = statusLine({ elapsedMs: 83_000, suite: 'mmap', heap: 'system', done: 3, cases: 8, caseId: 'mmap.sub-ranges', totals }, 200)
  t.equal(line, '[1:23] mmap on system 3/8 mmap.sub-ranges | 120 pass, 2 fail, 3 skip')
  const narrow = statusLine({ elapsedMs: 0, suite: 'mmap', heap: 'system', done: 3, cases: 8, caseId: 'mmap.sub-ranges', totals }, 30)
  t.ok(narrow.length <= 29 && narrow.endsWith('…'), `cut to 29 columns: ${narrow}`)

  const failing = (n: number): CaseResult[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `alloc.size.${i}`, suite: 'alloc', heap: 'system', target: 'qemu', kernel: '6.12', status: 'FAIL' as const,
      message: `size: expected 4096,\n observed ${i}`, checks: [], durationMs: 1,
    }))
  const pass: CaseResult = { ...failing(1)[0]!, id: 'alloc.ok', status: 'PASS', message: undefined }
  t.same(failureLines([pass, ...failing(2)]), ['  FAIL alloc.size.0 on system: size: expected 4096, observed 0', '  FAIL alloc.size.1 on system: size: expected 4096, observed 1'])
  const many = failureLines(failing(25))
  t.equal(many.length, 21)
  t.match(many.at(-1), /and 5 more/)
})

t.test('--version names the package, the agent protocol and the commit', async (t) => {
  const r = await dmaheap(['--version'], 30_000)
  t.equal(r.exitCode, 0)
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }
  t.match(r.stdout, new RegExp(`^dmaheap ${pkg.version.replace(/\./g, '\\.')} \\(agent protocol \\d+, git [0-9a-f]{12}(\\+dirty)?\\)$`))
})

t.test('list --case shows what run --case would run', async (t) => {
  const r = await dmaheap(['list', '--case', 'alloc.size.409*'], 30_000)
  t.equal(r.exitCode, 0)
  t.same(r.stdout.split('\n').map((l) => l.split('\t')[0]), ['alloc', '  alloc.size.4095', '  alloc.size.4096', '  alloc.size.4097', '  alloc.no-fd-leak'])
  const bad = await dmaheap(['list', '--case', 'alloc.sise.*'], 30_000)
  t.equal(bad.exitCode, 2)
  t.match(bad.stderr, /^dmaheap: error: --case "alloc.sise.\*" matches no case id of the suites chosen \(see `dmaheap list -v`/)
})
