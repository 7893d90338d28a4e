/**
 * Line plots as inline SVG (no script, no external request): one line per
 * series, a log2 x axis for sizes and thread counts, a linear y axis from 0,
 * and a band from each point's lo to hi (p10..p90) where given.
 */
export interface PlotPoint {
  x: number
  y: number
  lo?: number
  hi?: number
}
export interface PlotSeries {
  name: string
  points: PlotPoint[]
}
export interface PlotSpec {
  title: string
  xLabel: string
  yLabel: string
  formatX(x: number): string
  formatY(y: number): string
  series: PlotSeries[]
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export function svgPlot(p: PlotSpec): string {
  const W = 600
  const H = 300
  const L = 70
  const R = 170
  const T = 30
  const B = 45
  const pts = p.series.flatMap((s) => s.points)
  if (!pts.length) return ''
  const xs = pts.map((q) => Math.log2(q.x))
  const x0 = Math.min(...xs)
  const x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs)
  const yMax = Math.max(...pts.map((q) => q.hi ?? q.y)) * 1.05 || 1
  const sx = (x: number) => L + ((Math.log2(x) - x0) / (x1 - x0)) * (W - L - R)
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(p.title)}" class="plot">`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#444"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#444"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`,
  ]
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4
    parts.push(`<line x1="${L - 4}" y1="${sy(y)}" x2="${W - R}" y2="${sy(y)}" stroke="#ddd"/>`, `<text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="10">${esc(p.formatY(y))}</text>`)
  }
  for (const x of [...new Set(pts.map((q) => q.x))].sort((a, b) => a - b)) {
    parts.push(`<text x="${sx(x)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${esc(p.formatX(x))}</text>`)
  }
  p.series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length]!
    const sorted = [...s.points].sort((a, b) => a.x - b.x)
    const band = sorted.filter((q) => q.lo !== undefined && q.hi !== undefined)
    if (band.length > 1) {
      const upper = band.map((q) => `${sx(q.x)},${sy(q.hi!)}`)
      const lower = band.map((q) => `${sx(q.x)},${sy(q.lo!)}`).reverse()
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${c}" opacity="0.15"/>`)
    }
    parts.push(`<polyline points="${sorted.map((q) => `${sx(q.x)},${sy(q.y)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`)
    for (const q of sorted) parts.push(`<circle cx="${sx(q.x)}" cy="${sy(q.y)}" r="3" fill="${c}"><title>${esc(`${s.name}: ${p.formatX(q.x)}: ${p.formatY(q.y)}`)}</title></circle>`)
    parts.push(`<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="12" fill="${c}"/>`, `<text x="${W - R + 26}" y="${T + i * 18 + 10}" font-size="11">${esc(s.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n')
}
