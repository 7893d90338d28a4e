/**
 * junit.xml for pre-merge CI (GitLab, Jenkins). GitLab keeps only the first
 * of two test cases with the same name, so every name carries the heap and
 * the target. Shape as the Jenkins JUnit schema allows: <skipped> holds the
 * reason as text, <failure> the failed checks and the kernel log excerpt,
 * <error> an ERROR or a MISS (the harness broke; nothing is known about the
 * heap), <system-out> what an observed-only case saw. A known failure
 * (XFAIL) is <skipped> whose text starts "known failure: <reason>", then
 * what failed (the Jenkins schema allows <skipped> no message attribute;
 * Jenkins and GitLab show its text); a known failure that passed (XPASS) is
 * a <failure type="XPASS">, since it fails the run. status="XFAIL"/"XPASS"
 * on the <testcase> says which.
 */
import { create } from 'xmlbuilder2'
import type { CaseResult } from '../core/result.js'
import type { RunRecord } from '../core/run-record.js'
import { describeDiff, type DiffEntry } from './reference-diff.js'
import { groupResults } from './groups.js'
import { describeKnown } from '../core/known-failures.js'

/** Characters XML 1.0 cannot carry (a kernel log may hold them). */
const xmlText = (s: string) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')

const seconds = (ms: number) => (ms / 1000).toFixed(3)
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))

export function junitName(r: CaseResult): string {
  return `${r.id} [${r.heap} on ${r.target}]`
}

function failureText(r: CaseResult): string {
  const lines = r.checks.filter((c) => !c.pass).map((c) => `${c.label}: expected ${show(c.expected)}, observed ${show(c.observed)}`)
  if (r.kernelLog) lines.push('', 'kernel log:', r.kernelLog)
  return lines.join('\n')
}

function outputText(r: CaseResult, diff: DiffEntry[]): string {
  const lines = Object.entries(r.observations ?? {}).map(([k, v]) => `observed ${k}: ${show(v)}`)
  for (const d of diff) lines.push(`differs from the reference heap: ${describeDiff(d)}`)
  return lines.join('\n')
}

export function toJunit(results: CaseResult[], diff: DiffEntry[], run?: RunRecord): string {
  const all = { tests: results.length, failures: 0, errors: 0, skipped: 0, time: 0 }
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', { name: 'dmaheap' })
  for (const g of groupResults(results)) {
    const first = g.results[0]!
    const time = g.results.reduce((t, r) => t + r.durationMs, 0)
    const suite = root.ele('testsuite', {
      name: `${first.target}/${g.heap}/${g.suite}`,
      tests: String(g.results.length),
      failures: String(g.counts.FAIL + g.counts.XPASS),
      errors: String(g.counts.ERROR + g.counts.MISS),
      skipped: String(g.counts.SKIP + g.counts.XFAIL),
      time: seconds(time),
      ...(run ? { timestamp: run.started.replace(/\.\d+Z$/, '').replace(/Z$/, ''), hostname: run.target.target } : {}),
    })
    suite
      .ele('properties')
      .ele('property', { name: 'target', value: first.target }).up()
      .ele('property', { name: 'kernel', value: first.kernel }).up()
      .ele('property', { name: 'heap', value: g.heap }).up()
    all.failures += g.counts.FAIL + g.counts.XPASS
    all.errors += g.counts.ERROR + g.counts.MISS
    all.skipped += g.counts.SKIP + g.counts.XFAIL
    all.time += time
    for (const r of g.results) {
      const known = r.known ? describeKnown(r.known) : ''
      const tc = suite.ele('testcase', { name: junitName(r), classname: `${r.target}.${r.heap}.${r.suite}`, time: seconds(r.durationMs), ...(r.known ? { status: r.status } : {}) })
      if (r.status === 'SKIP') tc.ele('skipped').txt(xmlText(r.message ?? 'skipped'))
      if (r.status === 'XFAIL') tc.ele('skipped').txt(xmlText([`known failure: ${known}`, `${r.message ?? 'failed'}`, failureText(r)].filter(Boolean).join('\n')))
      if (r.status === 'XPASS') {
        tc.ele('failure', { type: 'XPASS', message: xmlText(`known to fail, but passed: ${known}; remove or narrow the known-failures entry "${r.known?.case ?? ''}"`) }).txt(xmlText(`known failure: ${known}`))
      }
      if (r.status === 'ERROR' || r.status === 'MISS') tc.ele('error', { type: r.status, message: xmlText(r.message ?? r.status) }).txt(xmlText(failureText(r)))
      if (r.status === 'FAIL') tc.ele('failure', { type: 'FAIL', message: xmlText(r.message ?? 'failed') }).txt(xmlText(failureText(r)))
      const out = outputText(r, diff.filter((d) => d.heap === r.heap && d.id === r.id && d.target === r.target))
      if (out) tc.ele('system-out').txt(xmlText(out))
    }
  }
  // The Jenkins schema has no skipped count on <testsuites>; each <testsuite> has it.
  root.att({ tests: String(all.tests), failures: String(all.failures), errors: String(all.errors), time: seconds(all.time) })
  return root.end({ prettyPrint: true }) + '\n'
}
