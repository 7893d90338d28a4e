/**
 * The daily loop of a heap developer on Debian's kernel: one case pattern on
 * a terminal (a live status on stderr, clean TAP on stdout), and a failing
 * run that names each failing case. The logic is in unit/case-selection.
 */
import t from 'tap'
import { execa } from 'execa'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'

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
