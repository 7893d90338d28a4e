/**
 * Values in report.html's cells: escaped, in human units (human-values.ts),
 * a structured finding as its line of fields that opens (<details>) to its
 * tables, never a JSON blob.
 */
import { humanScalar, humanTables, humanText } from './human-values.js'

export const esc = (v: unknown) =>
  (typeof v === 'string' ? v : v === undefined ? 'nothing' : humanText(v)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** A link the page may carry: http(s) only (a known-failures file is input, and "javascript:" is a URL too). */
export function link(url: string | undefined, text?: string): string {
  if (!url) return ''
  return /^https?:\/\//i.test(url) ? `<a href="${esc(url)}" rel="noreferrer">${esc(text ?? url)}</a>` : esc(text ?? url)
}

const LONG = 160

/** A value in a cell: a scalar in its unit; a long text shows its start and opens to the whole; a finding opens to its tables. */
export function valueCell(v: unknown, key?: string): string {
  const isObject = typeof v === 'object' && v !== null
  const text = isObject ? humanText(v, key) : humanScalar(key, v)
  const tables = isObject ? humanTables(v, key) : []
  if (!tables.length) {
    if (text.length <= LONG) return `<code>${esc(text)}</code>`
    return `<details class="value"><summary><code>${esc(text.slice(0, 80))}…</code></summary><code>${esc(text)}</code></details>`
  }
  const html = tables.map(
    (t) =>
      `<table class="values"><caption>${esc(t.title)} (${t.rows.length})</caption><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
        .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`,
  )
  return `<details class="value"><summary>${esc(text)}</summary>${html.join('')}</details>`
}
