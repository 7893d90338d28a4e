/**
 * What a run shows on stderr while it goes (stdout is the TAP stream, and
 * nothing else): on a terminal, a live status line (suite, heap, case,
 * counts, elapsed) under the lines that scroll; without one (CI), a line
 * per suite and heap as it ends, with its counts and time.
 */
import { Writable } from 'node:stream'
import { countsText, emptyCounts, PASS_AND_FAIL, type CaseResult, type CaseStatus } from '../core/result.js'
import { sortOutcomes } from '../reports/outcomes.js'
import type { RunProgress } from '../suites/run.js'

export const elapsedText = (ms: number) => {
  const s = Math.floor(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/** The one status line, cut to the terminal's width (a wrapped line could not be erased). */
export function statusLine(s: { elapsedMs: number; suite?: string; heap?: string; done: number; cases: number; caseId?: string; totals: Record<CaseStatus, number> }, columns: number): string {
  const where = s.suite ? `${s.suite} on ${s.heap} ${s.done}/${s.cases}${s.caseId ? ` ${s.caseId}` : ''}` : 'between suites'
  const line = `[${elapsedText(s.elapsedMs)}] ${where} | ${countsText(s.totals, PASS_AND_FAIL)}`
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line
}

export class ProgressDisplay implements RunProgress {
  private readonly totals = emptyCounts()
  private current: { suite: string; heap: string; cases: number; done: number; caseId?: string } | undefined
  private shown = false
  private timer: NodeJS.Timeout | undefined

  /** live: redraw a status line in place (a terminal); otherwise print a line per suite and heap. */
  constructor(
    /** when the run began (its boot included) */
    private readonly started: number = Date.now(),
    private readonly err: NodeJS.WriteStream = process.stderr,
    private readonly live: boolean = err.isTTY === true && process.env.TERM !== 'dumb',
  ) {
    if (live) {
      // The elapsed time moves even while one long case runs.
      this.timer = setInterval(() => this.draw(), 1000)
      this.timer.unref()
    }
  }

  suiteStarted(suite: string, heap: string, cases: number): void {
    this.current = { suite, heap, cases, done: 0 }
    this.draw()
  }

  caseStarted(id: string): void {
    if (this.current) this.current.caseId = id
    this.draw()
  }

  result(r: CaseResult): void {
    this.totals[r.status]++
    if (this.current && r.suite === this.current.suite && r.heap === this.current.heap) this.current.done++
    this.draw()
  }

  suiteFinished(suite: string, heap: string, counts: Record<CaseStatus, number>, ms: number): void {
    const cases = Object.values(counts).reduce((a, b) => a + b, 0)
    this.current = undefined
    this.line(`dmaheap: ${suite} on ${heap}: ${cases} cases: ${countsText(counts, PASS_AND_FAIL)} (${(ms / 1000).toFixed(1)} s; ${elapsedText(Date.now() - this.started)} in all)`)
  }

  /** A line of its own on stderr, above the status line. */
  line(text: string): void {
    this.erase()
    this.err.write(`${text}\n`)
    this.draw()
  }

  /** stdout through this when it is the same terminal: the status line is lifted off before each chunk of TAP. */
  guard(out: NodeJS.WritableStream): NodeJS.WritableStream {
    if (!this.live || !(out as NodeJS.WriteStream).isTTY) return out
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.erase()
        out.write(chunk, () => {
          this.draw()
          done()
        })
      },
    })
  }

  /** The status line goes for good (the run's end). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.erase()
  }

  private erase(): void {
    if (this.shown) this.err.write('\r\x1b[2K')
    this.shown = false
  }

  private draw(): void {
    if (!this.live || !this.timer) return
    const c = this.current
    const text = statusLine({ elapsedMs: Date.now() - this.started, ...(c ?? { done: 0, cases: 0 }), totals: this.totals }, this.err.columns || 80)
    this.err.write(`\r\x1b[2K${text}`)
    this.shown = true
  }
}

/** At most this many failures are named one by one at the end of a run. */
const FAILURES_SHOWN = 20

/** One line per failing case (its heap, its first failed check), capped, for the end of a run on stderr. */
export function failureLines(results: CaseResult[], shown = FAILURES_SHOWN): string[] {
  const { failures: failing } = sortOutcomes(results)
  const oneLine = (t: string) => {
    const flat = t.replace(/\s*\n\s*/g, ' ')
    return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat
  }
  const lines = failing.slice(0, shown).map((r) => `  ${r.status} ${r.id} on ${r.heap}: ${oneLine(r.message ?? r.checks.find((c) => !c.pass)?.label ?? 'no message')}`)
  if (failing.length > shown) lines.push(`  and ${failing.length - shown} more (every one in summary.md and report.html)`)
  return lines
}
