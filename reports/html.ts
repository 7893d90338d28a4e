/**
 * report.html: one self-contained page (inline CSS, a few lines of inline
 * script, inline SVG; no request leaves the file) for a maintainer reviewing
 * a heap: the verdict, a heaps x suites matrix, each failure with expected
 * against observed and the kernel log lines, the cases never run, the
 * differences from the reference heap, each heap's property profile, the
 * observed-only cases side by side,
 * the performance plots when a benchmark ran, and every case.
 */
import type { BenchRun } from '../bench/heap-bench.js'
import type { CaseResult, RunRecord } from '../core/result.js'
import { benchPlots } from './bench-plots.js'
import { countAll, groupResults } from './groups.js'
import { countsText, verdictOf } from './markdown.js'
import { isReferenceHeap, type DiffEntry } from './reference-diff.js'
import { buildProfiles, describeProfile } from '../suites/heap-profile.js'

const esc = (v: unknown) =>
  (typeof v === 'string' ? v : v === undefined ? 'nothing' : JSON.stringify(v)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const anchor = (suite: string, heap: string) => `g-${suite}-${heap}`.replace(/[^A-Za-z0-9_-]/g, '_')

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:bold}
.v-PASS{background:#2e7d32}.v-FAIL{background:#c62828}.v-INCOMPLETE{background:#ef6c00}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.cell-ok{background:#e8f5e9}.cell-bad{background:#ffebee}.cell-miss{background:#fff3e0}
.cell a{color:inherit;text-decoration:none;display:block}
.s-PASS{color:#2e7d32}.s-FAIL,.s-ERROR{color:#c62828;font-weight:bold}.s-MISS{color:#ef6c00;font-weight:bold}.s-SKIP{color:#777}.s-DONE{color:#1565c0}
.failure{border:1px solid #e57373;border-left:6px solid #c62828;padding:8px 12px;margin:10px 0;background:#fffafa}
pre{background:#222;color:#eee;padding:8px;overflow:auto;font-size:12px;max-height:320px}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}td{overflow-wrap:anywhere}#reference-diff,#observed{table-layout:fixed;width:100%}.muted{color:#666}svg.plot{font:11px sans-serif;margin:8px 16px 8px 0}
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
      const cls = c.FAIL + c.ERROR ? 'cell-bad' : c.MISS ? 'cell-miss' : 'cell-ok'
      return `<td class="cell ${cls}" data-suite="${esc(s)}" data-heap="${esc(h)}" data-pass="${c.PASS}" data-fail="${c.FAIL}" data-error="${c.ERROR}" data-miss="${c.MISS}" data-skip="${c.SKIP}" data-done="${c.DONE}"><a href="#${anchor(s, h)}">${esc(countsText(c))}</a></td>`
    })
    return `<tr><th>${esc(h)}${isReferenceHeap(h) ? ' <span class="muted">(reference)</span>' : ''}</th>${cells.join('')}</tr>`
  })
  return `<table id="matrix"><thead><tr><th>heap \\ suite</th>${suites.map((s) => `<th>${esc(s)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function failures(results: CaseResult[]): string {
  const bad = results.filter((r) => r.status === 'FAIL' || r.status === 'ERROR')
  if (!bad.length) return '<p id="no-failures">No case failed.</p>'
  return bad
    .map((r) => {
      // The failed checks up front; the ones that passed folded away (a case can make hundreds).
      const row = (c: CaseResult['checks'][number]) =>
        `<tr class="${c.pass ? '' : 'cell-bad'}"><td>${c.pass ? '✓' : '✗'}</td><td>${esc(c.label)}</td><td><code>${esc(c.expected)}</code></td><td><code>${esc(c.observed)}</code></td></tr>`
      const checks = r.checks.filter((c) => !c.pass).map(row).join('')
      const passed = r.checks.filter((c) => c.pass)
      return `<section class="failure" data-case="${esc(r.id)}" data-heap="${esc(r.heap)}">
<h3><code>${esc(r.id)}</code> on ${esc(r.heap)} — <span class="s-${r.status}">${r.status}</span></h3>
<p class="message">${esc(r.message ?? '')}</p>
${checks ? `<table class="failed-checks"><thead><tr><th></th><th>check</th><th>expected</th><th>observed</th></tr></thead><tbody>${checks}</tbody></table>` : ''}
${passed.length ? `<details><summary>${passed.length} check${passed.length > 1 ? 's' : ''} passed</summary><table><tbody>${passed.map(row).join('')}</tbody></table></details>` : ''}
${r.kernelLog ? `<p>kernel log during the case:</p><pre class="kernel-log">${esc(r.kernelLog)}</pre>` : ''}
</section>`
    })
    .join('\n')
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

/** A value in a cell: a long one (a measured profile) shows its start and opens to the whole. */
function value(v: unknown): string {
  const text = typeof v === 'string' ? v : v === undefined ? 'nothing' : JSON.stringify(v)
  if (text.length <= 160) return `<code>${esc(text)}</code>`
  return `<details><summary><code>${esc(text.slice(0, 80))}…</code></summary><code>${esc(text)}</code></details>`
}

function diffTable(diff: DiffEntry[]): string {
  if (!diff.length) return '<p id="reference-diff">None: every kernel heap did what the reference heap did.</p>'
  const rows = diff.map((d) => `<tr><td>${esc(d.heap)}</td><td><code>${esc(d.id)}</code></td><td>${esc(d.kind)}</td><td>${esc(d.label)}</td><td>${value(d.observed)}</td><td>${value(d.reference)}</td></tr>`)
  const cols = [12, 18, 9, 21, 20, 20].map((w) => `<col style="width:${w}%">`).join('')
  return `<table id="reference-diff"><colgroup>${cols}</colgroup><thead><tr><th>heap</th><th>case</th><th>what</th><th>label</th><th>this heap</th><th>reference heap</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function observedOnly(results: CaseResult[]): string {
  const done = results.filter((r) => r.status === 'DONE')
  if (!done.length) return ''
  const rows = done.flatMap((r) => Object.entries(r.observations ?? {}).map(([k, v]) => `<tr><td><code>${esc(r.id)}</code></td><td>${esc(r.heap)}</td><td>${esc(k)}</td><td>${value(v)}</td></tr>`))
  return `<h2>Observed only (no verdict: differs across kernel versions)</h2><table id="observed"><thead><tr><th>case</th><th>heap</th><th>observation</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function allCases(results: CaseResult[]): string {
  return groupResults(results)
    .map((g) => {
      const rows = g.results.map((r) => `<tr><td><code>${esc(r.id)}</code></td>${statusCell(r)}<td>${esc(r.message ?? '')}</td><td>${r.durationMs} ms</td></tr>`).join('')
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
  const facts = run ? Object.entries(run.target.facts).map(([k, v]) => `${esc(k)}=${esc(String(v))}`).join(', ') : ''
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
${missing(results)}
<h2>Differences from the reference heap</h2>
${diffTable(diff)}
${profiles(results, run?.target.hello.page_size ?? 4096)}
${observedOnly(results)}
${plots.length ? `<h2 id="performance">Performance (dmaheap bench${bench ? `, ${esc(bench.started)}` : ''})</h2>\n${plots.join('\n')}` : ''}
<h2>Every case</h2>
${allCases(results)}
<script>${SCRIPT}</script>
</body></html>
`
}
