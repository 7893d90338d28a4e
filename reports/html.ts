/**
 * report.html: one self-contained page (inline CSS, a few lines of inline
 * script, inline SVG; no request leaves the file) for a maintainer reviewing
 * a heap: the verdict, a heaps x suites matrix, each failure with expected
 * against observed and the kernel log lines, the known failures that passed
 * (XPASS), the known failures (XFAIL), the stale known-failures entries, the
 * cases never run, the differences from the reference heap (conformance,
 * then the heap properties that differ by design), each heap's property
 * profile, the observed-only cases side by side, the performance plots when
 * a benchmark ran, and every case. Values are in human units; no cell holds
 * JSON.
 */
import type { BenchRun } from '../core/bench-record.js'
import type { CaseResult } from '../core/result.js'
import type { RunRecord } from '../core/run-record.js'
import { benchPlots } from './bench-plots.js'
import { countAll, groupResults } from './groups.js'
import { countsText } from '../core/result.js'
import { verdictOf } from './markdown.js'
import { isReferenceHeap, type DiffEntry } from './reference-diff.js'
import { buildProfiles, describeProfile } from '../suites/heap-profile.js'
import { esc, link, valueCell } from './html-values.js'
import { formatDuration } from './human-values.js'
import { describeEntry } from '../core/known-failures.js'
import { sortOutcomes } from './outcomes.js'
const anchor = (suite: string, heap: string) => `g-${suite}-${heap}`.replace(/[^A-Za-z0-9_-]/g, '_')

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:bold}
.v-PASS{background:#2e7d32}.v-FAIL{background:#c62828}.v-INCOMPLETE{background:#ef6c00}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.cell-ok{background:#e8f5e9}.cell-bad{background:#ffebee}.cell-miss{background:#fff3e0}.cell-known{background:#f3e5f5}
.cell a{color:inherit;text-decoration:none;display:block}
.s-PASS{color:#2e7d32}.s-FAIL,.s-ERROR{color:#c62828;font-weight:bold}.s-MISS{color:#ef6c00;font-weight:bold}.s-SKIP{color:#777}.s-DONE{color:#1565c0}.s-XFAIL{color:#6a1b9a}.s-XPASS{color:#c62828;font-weight:bold}
.known{border:1px solid #ce93d8;border-left:6px solid #6a1b9a;padding:8px 12px;margin:10px 0;background:#fdf7ff}
table.values{margin:4px 0;font-size:12px}table.values caption{text-align:left;color:#666}details.value summary{cursor:pointer}
.failure{border:1px solid #e57373;border-left:6px solid #c62828;padding:8px 12px;margin:10px 0;background:#fffafa}
pre{background:#222;color:#eee;padding:8px;overflow:auto;font-size:12px;max-height:320px}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}td{overflow-wrap:anywhere}#reference-diff,#property-diff,#observed{table-layout:fixed;width:100%}.muted{color:#666}svg.plot{font:11px sans-serif;margin:8px 16px 8px 0}
`

function statusCell(r: CaseResult): string {
  return `<td class="s-${r.status}">${r.status}</td>`
}

function matrix(results: CaseResult[]): string {
  const groups = groupResults(results)
  const heaps = [...new Set(groups.map((g) => g.heap))]
  const suites = [...new Set(groups.map((g) => g.suite))]
  const rows = heaps.map((h) => {
    const cells = suites.map((s) => {
      const g = groups.find((x) => x.heap === h && x.suite === s)
      if (!g) return '<td class="muted">—</td>'
      const c = g.counts
      const cls = c.FAIL + c.ERROR + c.XPASS ? 'cell-bad' : c.MISS ? 'cell-miss' : c.XFAIL ? 'cell-known' : 'cell-ok'
      return `<td class="cell ${cls}" data-suite="${esc(s)}" data-heap="${esc(h)}" data-pass="${c.PASS}" data-fail="${c.FAIL}" data-error="${c.ERROR}" data-miss="${c.MISS}" data-skip="${c.SKIP}" data-done="${c.DONE}" data-xfail="${c.XFAIL}" data-xpass="${c.XPASS}"><a href="#${anchor(s, h)}">${esc(countsText(c))}</a></td>`
    })
    return `<tr><th>${esc(h)}${isReferenceHeap(h) ? ' <span class="muted">(reference)</span>' : ''}</th>${cells.join('')}</tr>`
  })
  return `<table id="matrix"><thead><tr><th>heap \\ suite</th>${suites.map((s) => `<th>${esc(s)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** A failed case: the failed checks up front, the ones that passed folded away (a case can make hundreds). */
function failureSection(r: CaseResult, cls: 'failure' | 'known'): string {
  const row = (c: CaseResult['checks'][number]) =>
    `<tr class="${c.pass ? '' : 'cell-bad'}"><td>${c.pass ? '✓' : '✗'}</td><td>${esc(c.label)}</td><td>${valueCell(c.expected)}</td><td>${valueCell(c.observed)}</td></tr>`
  const checks = r.checks.filter((c) => !c.pass).map(row).join('')
  const passed = r.checks.filter((c) => c.pass)
  const known = r.known ? `<p class="known-for">known failure (entry <code>${esc(r.known.case)}</code>): ${esc(r.known.reason)}${r.known.link ? ` — ${link(r.known.link)}` : ''}</p>` : ''
  return `<section class="${cls}" data-case="${esc(r.id)}" data-heap="${esc(r.heap)}" data-status="${r.status}">
<h3><code>${esc(r.id)}</code> on ${esc(r.heap)} — <span class="s-${r.status}">${r.status}</span></h3>
${known}<p class="message">${esc(r.message ?? '')}</p>
${checks ? `<table class="failed-checks"><thead><tr><th></th><th>check</th><th>expected</th><th>observed</th></tr></thead><tbody>${checks}</tbody></table>` : ''}
${passed.length ? `<details><summary>${passed.length} check${passed.length > 1 ? 's' : ''} passed</summary><table><tbody>${passed.map(row).join('')}</tbody></table></details>` : ''}
${r.kernelLog ? `<p>kernel log during the case:</p><pre class="kernel-log">${esc(r.kernelLog)}</pre>` : ''}
</section>`
}

function failures(results: CaseResult[]): string {
  const bad = sortOutcomes(results).failures
  if (!bad.length) return '<p id="no-failures">No case failed.</p>'
  return bad.map((r) => failureSection(r, 'failure')).join('\n')
}

/**
 * The known failures that passed (loud: they fail the run), the known
 * failures, and the entries of the known-failures file that matched no case
 * that ran.
 */
function knownFailures(results: CaseResult[], run?: RunRecord): string {
  const { knownFailures: xfail, unexpectedPasses: xpass } = sortOutcomes(results)
  const out: string[] = []
  if (xpass.length) {
    const rows = xpass.map(
      (r) => `<tr data-case="${esc(r.id)}" data-heap="${esc(r.heap)}"><td><code>${esc(r.id)}</code></td><td>${esc(r.heap)}</td><td><code>${esc(r.known?.case ?? '')}</code></td><td>${esc(r.known?.reason ?? '')}${r.known?.link ? ` — ${link(r.known.link)}` : ''}</td></tr>`,
    )
    out.push(
      `<h2 id="xpass">Known failures that passed (XPASS: ${xpass.length})</h2><div class="failure"><p>The known-failures file says these cases fail here, and they passed: the bug is fixed or the entry is wrong. They fail the run; remove or narrow the entries.</p><table><thead><tr><th>case</th><th>heap</th><th>entry</th><th>known for</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    )
  }
  if (xfail.length) out.push(`<h2 id="known-failures">Known failures (XFAIL: ${xfail.length})</h2>`, ...xfail.map((r) => failureSection(r, 'known')))
  const stale = run?.knownFailures?.stale ?? []
  if (stale.length) {
    out.push(
      `<h2 id="stale-known">Stale known-failure entries (${stale.length})</h2><p>${stale.length} of the ${run!.knownFailures!.entries} entries of <code>${esc(run!.knownFailures!.file)}</code> matched no case that ran:</p><ul>${stale.map((k) => `<li>${esc(describeEntry(k))}</li>`).join('')}</ul>`,
    )
  }
  return out.join('\n')
}

/** Each heap's property profile (the properties suite), one row per heap, the reference heap first. */
function profiles(results: CaseResult[], pageSize: number): string {
  const built = buildProfiles(results, BigInt(pageSize))
  const heaps = Object.keys(built)
  if (!heaps.length) return ''
  const rows = heaps.map((h) => `<tr data-heap="${esc(h)}"><th>${esc(h)}</th><td>${describeProfile(built[h]!).map((l) => esc(l)).join('<br>')}</td></tr>`)
  return `<h2 id="profiles">Heap properties</h2><table id="profile-table"><tbody>${rows.join('')}</tbody></table>`
}

function missing(results: CaseResult[]): string {
  const miss = results.filter((r) => r.status === 'MISS')
  if (!miss.length) return ''
  return `<h2 id="not-run">Not run (${miss.length})</h2><p>${esc(miss[0]!.message ?? '')}</p><p class="muted">${miss.map((r) => `${esc(r.id)} on ${esc(r.heap)}`).join(', ')}</p>`
}

function diffRows(diff: DiffEntry[], id: string): string {
  const rows = diff.map(
    (d) =>
      `<tr data-case="${esc(d.id)}" data-heap="${esc(d.heap)}" data-label="${esc(d.label)}"><td>${esc(d.heap)}</td><td><code>${esc(d.id)}</code></td><td>${esc(d.kind)}</td><td>${esc(d.label)}</td><td>${valueCell(d.observed)}</td><td>${valueCell(d.reference)}</td></tr>`,
  )
  const cols = [12, 18, 9, 21, 20, 20].map((w) => `<col style="width:${w}%">`).join('')
  return `<table id="${id}"><colgroup>${cols}</colgroup><thead><tr><th>heap</th><th>case</th><th>what</th><th>label</th><th>this heap</th><th>reference heap</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** Conformance differences (answers to calls), then the properties each heap has by design (reference-diff.ts, diffArea). */
function diffSections(diff: DiffEntry[]): string {
  const conformance = diff.filter((d) => d.area === 'conformance')
  const properties = diff.filter((d) => d.area === 'property')
  const out = [
    `<h2 id="conformance-diff">Differences from the reference heap (${conformance.length})</h2>`,
    conformance.length
      ? `<p class="muted">Where a kernel heap answered a call otherwise than the reference heap: a verdict, an errno, a value a check saw.</p>${diffRows(conformance, 'reference-diff')}`
      : '<p id="reference-diff">None: every kernel heap answered as the reference heap did.</p>',
  ]
  if (properties.length) {
    out.push(
      `<h2 id="property-differences">Heap properties that differ from the reference heap (by design: ${properties.length})</h2>`,
      `<p class="muted">Contiguity, alignment, the largest buffer and capacity are each heap's own; they are judged only against stated expectations (<code>--expect</code>).</p>`,
      diffRows(properties, 'property-diff'),
    )
  }
  return out.join('\n')
}

function observedOnly(results: CaseResult[]): string {
  const done = results.filter((r) => r.status === 'DONE')
  if (!done.length) return ''
  const rows = done.flatMap((r) => Object.entries(r.observations ?? {}).map(([k, v]) => `<tr><td><code>${esc(r.id)}</code></td><td>${esc(r.heap)}</td><td>${esc(k)}</td><td>${valueCell(v)}</td></tr>`))
  return `<h2>Observed only (no verdict: differs across kernel versions)</h2><table id="observed"><thead><tr><th>case</th><th>heap</th><th>observation</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function allCases(results: CaseResult[]): string {
  return groupResults(results)
    .map((g) => {
      const rows = g.results.map((r) => `<tr><td><code>${esc(r.id)}</code></td>${statusCell(r)}<td>${esc(r.known ? `${r.known.reason}${r.message ? `: ${r.message}` : ''}` : (r.message ?? ''))}</td><td>${formatDuration(r.durationMs)}</td></tr>`).join('')
      return `<details id="${anchor(g.suite, g.heap)}"><summary>${esc(g.suite)} on ${esc(g.heap)}: ${esc(countsText(g.counts))}</summary><table><tbody>${rows}</tbody></table></details>`
    })
    .join('\n')
}

/** The kernel before the first case: its taint and where the boot log is (the boot.kernel-log case judges them). */
function bootFacts(run?: RunRecord): string {
  const boot = run?.boot
  if (!boot) return ''
  const t = boot.taint
  const taint = t ? (t.flags ? `${t.value}: ${t.described.join(', ')}${t.problems ? ` — ${t.problems} fails boot.kernel-log` : ''}` : '0 (not tainted)') : 'unknown'
  const log = boot.log ? `<code>${esc(boot.log)}</code> (from the ${esc(boot.source)}${boot.complete ? '' : ', without the start of boot'})` : 'not readable on this target'
  return `<p id="boot">Kernel at boot: taint <span class="${t?.problems ? 's-FAIL' : ''}">${esc(taint)}</span>; boot log ${log}</p>`
}

// Opening a matrix cell's group when its link is followed: the only script.
const SCRIPT = `document.querySelectorAll('#matrix a').forEach(function(a){a.addEventListener('click',function(){var d=document.getElementById(a.getAttribute('href').slice(1));if(d)d.open=true})})`

export function toHtml(results: CaseResult[], diff: DiffEntry[], run?: RunRecord, bench?: BenchRun): string {
  const c = countAll(results)
  const verdict = verdictOf(c, run?.summary.infraError)
  const target = run?.target.target ?? results[0]?.target ?? 'unknown target'
  const kernel = run?.target.hello.release ?? results[0]?.kernel ?? 'unknown'
  const facts = run ? Object.entries(run.target.facts).map(([k, v]) => `${esc(k)}=${esc(Array.isArray(v) ? v.join(' ') : String(v))}`).join(', ') : ''
  const plots = bench ? benchPlots(bench) : []
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>dmaheap ${esc(verdict)}: ${esc(target)}, Linux ${esc(kernel)}</title><style>${CSS}</style></head>
<body>
<h1>dmaheap conformance: <span class="verdict v-${verdict}" id="verdict">${verdict}</span></h1>
<p>${esc(target)}, Linux ${esc(kernel)}${run ? `, ${esc(run.target.hello.machine)}, page size ${run.target.hello.page_size}; started ${esc(run.started)}` : ''}</p>
<p id="totals">${esc(countsText(c))}</p>
${run?.summary.infraError ? `<p class="failure" id="infra-error"><b>The run stopped at an infrastructure error:</b> ${esc(run.summary.infraError)}</p>` : ''}
${facts ? `<p class="muted">${facts}</p>` : ''}
${bootFacts(run)}
<h2>Heaps × suites</h2>
${matrix(results)}
<h2 id="failures">Failures</h2>
${failures(results)}
${knownFailures(results, run)}
${missing(results)}
${diffSections(diff)}
${profiles(results, run?.target.hello.page_size ?? 4096)}
${observedOnly(results)}
${plots.length ? `<h2 id="performance">Performance (dmaheap bench${bench ? `, ${esc(bench.started)}` : ''})</h2>\n${plots.join('\n')}` : ''}
<h2>Every case</h2>
${allCases(results)}
<script>${SCRIPT}</script>
</body></html>
`
}
