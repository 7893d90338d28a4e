/**
 * The daily loop of a heap developer: pick cases (--case/--skip), watch the
 * run on stderr, read the failures at the end, name the harness (--version).
 * The selection and the renderers are pure; the runs boot Debian's kernel.
 */
import t from 'tap'
import { execa } from 'execa'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../core/errors.js'
import { emptyCounts, type CaseResult } from '../core/result.js'
import { selectCases } from '../suites/case-filter.js'
import { SUITES } from '../suites/index.js'
import { failureLines, statusLine } from '../cli/progress.js'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'

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

t.test('run --case on a terminal: those cases only, a live status on stderr, clean TAP on stdout', async (t) => {
  const out = tempOutput('case')
  const tap = join(out, '..', 'stdout.tap')
  const tty = join(out, '..', 'stderr.tty')
  // script(1) gives the run a terminal on stderr; stdout goes to a file, as when TAP is piped.
  const cmd = `node ${join(repo, 'bin', 'dmaheap.js')} run --heap system --case 'alloc.size.409*' -o ${out} > ${tap}`
  const r = await execa('script', ['-qfec', cmd, tty], { reject: false, timeout: 240_000, cwd: repo, env: { TERM: 'xterm', COLUMNS: '120' } })
  t.equal(r.exitCode, 0, r.stdout.slice(-2000))
  const results = readResults(out)
  t.same(results.map((x) => `${x.id} ${x.heap} ${x.status}`), ['alloc.size.4095 system PASS', 'alloc.size.4096 system PASS', 'alloc.size.4097 system PASS', 'alloc.no-fd-leak system PASS'])
  const plan = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { plan: unknown }).plan
  t.same(plan, { heaps: ['system'], suites: [{ name: 'alloc', cases: ['alloc.size.4095', 'alloc.size.4096', 'alloc.size.4097', 'alloc.no-fd-leak'] }] })
  const screen = readFileSync(tty, 'utf8')
  t.match(screen, /\r\x1b\[2K\[0:\d\d\] alloc on system \d\/4 alloc\.size\.409\d \| \d+ pass, 0 fail/, 'the live status line, redrawn in place')
  t.match(screen, /dmaheap: alloc on system: 4 cases: 4 pass, 0 fail \(\d+\.\d s; 0:\d\d in all\)/)
  const stdout = readFileSync(tap, 'utf8')
  t.notMatch(stdout, /\x1b|dmaheap: /, 'stdout is TAP only')
  t.match(stdout, /ok \d+ - alloc\.size\.4097 system/)
})

t.test('a failing run names each failing case on stderr, with a line per suite for CI logs', async (t) => {
  const out = tempOutput('fails')
  const r = await dmaheap(['run', '--heap', 'dmaheap-reference+wrongsize', '--reference-faults', 'wrongsize', '--suite', 'alloc,mmap', '--case', 'alloc.size.*,mmap.sub-ranges', '-o', out], 240_000)
  t.equal(r.exitCode, 1, r.stderr)
  const failed = readResults(out).filter((x) => x.status === 'FAIL')
  t.ok(failed.length >= 3, `${failed.length} cases failed`)
  const lines = r.stderr.split('\n')
  for (const f of failed) t.ok(lines.includes(`  FAIL ${f.id} on ${f.heap}: ${f.message}`), `stderr names ${f.id}`)
  t.ok(lines.some((l) => /^dmaheap: alloc on dmaheap-reference\+wrongsize: \d+ cases: \d+ pass, \d+ fail \(/.test(l)), 'a line for alloc')
  t.ok(lines.some((l) => /^dmaheap: mmap on dmaheap-reference\+wrongsize: 2 cases: /.test(l)), 'a line for mmap')
  t.notMatch(r.stderr, /\x1b/, 'no terminal codes without a terminal')
  t.match(r.stderr.trimEnd().split('\n').at(-1), new RegExp(`report: ${join(out, 'report.html').replace(/[.+]/g, '\\$&')}$`))
})
