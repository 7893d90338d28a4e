/** The performance plots of a `dmaheap bench` run (bench.json), as inline SVG for the HTML report. */
import type { BenchFigure, BenchRun } from '../core/bench-record.js'
import { svgPlot, type PlotSeries } from './svg-plot.js'

const size = (b: number) => (b >= 1 << 20 ? `${b / (1 << 20)}M` : b >= 1024 ? `${b / 1024}K` : `${b}`)
const micro = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`)

function byHeap(figures: BenchFigure[], x: (f: BenchFigure) => number, y: (f: BenchFigure) => number, band: boolean): PlotSeries[] {
  const heaps = [...new Set(figures.map((f) => f.heap))]
  return heaps.map((h) => ({
    name: h,
    points: figures.filter((f) => f.heap === h).map((f) => ({ x: x(f), y: y(f), ...(band ? { lo: f.stats.p10, hi: f.stats.p90 } : {}) })),
  }))
}

export function benchPlots(run: BenchRun): string[] {
  const out: string[] = []
  const alloc = run.figures.filter((f) => f.kind === 'alloc')
  if (alloc.length)
    out.push(svgPlot({ title: 'ALLOC + close latency by size (median, p10–p90 band)', xLabel: 'buffer size (bytes)', yLabel: 'latency', formatX: size, formatY: micro, series: byHeap(alloc, (f) => f.len, (f) => f.stats.p50, true) }))
  const fault = run.figures.filter((f) => f.kind === 'fault')
  if (fault.length)
    out.push(svgPlot({ title: 'first-touch fault cost per page (median)', xLabel: 'buffer size (bytes)', yLabel: 'per page', formatX: size, formatY: micro, series: byHeap(fault, (f) => f.len, (f) => f.stats.p50, true) }))
  // Against the yardstick: the machine's speed taken out, what --compare judges.
  const judged = alloc.filter((f) => f.ratios?.length)
  if (judged.length)
    out.push(
      svgPlot({
        title: 'ALLOC + close against its yardstick by size (ratio, rounds\' min–max band)',
        xLabel: 'buffer size (bytes)',
        yLabel: 'figure / yardstick',
        formatX: size,
        formatY: (y) => y.toFixed(2),
        series: [...new Set(judged.map((f) => f.heap))].map((h) => ({
          name: h,
          points: judged.filter((f) => f.heap === h).map((f) => ({ x: f.len, y: f.ratio ?? 0, lo: Math.min(...f.ratios!), hi: Math.max(...f.ratios!) })),
        })),
      }),
    )
  const threads = run.figures.filter((f) => f.kind === 'threads' && f.callsPerSecond !== undefined)
  if (threads.length)
    out.push(svgPlot({ title: 'ALLOC calls per second by thread count', xLabel: 'threads', yLabel: 'calls/s', formatX: String, formatY: (y) => y.toFixed(0), series: byHeap(threads, (f) => f.threads ?? 1, (f) => f.callsPerSecond!, false) }))
  return out
}
