/**
 * What the kernel said before the first case. A heap registers at boot, and
 * that is where many heap bugs show first: a KASAN report in a heap's init
 * function, a WARN in dma_heap_add, a taint set before userspace started.
 * Before any case the run reads everything the kernel printed since boot
 * (the kernel log ring, or the console captured so far when the ring cannot
 * be read or no longer holds the start of boot) and the taint, keeps the log
 * as boot-kernel.log, and judges it in one case, `boot.kernel-log`:
 *
 * - on the run-level pseudo-heap `kernel` (always, once a run);
 * - and on each heap of the run whose code a report names (its functions or
 *   module in the trace, its source file, its name in a message about a
 *   heap); a report in the dma-heap core (dma_heap_add) that names no one
 *   heap is on every kernel heap of the run.
 *
 * The case FAILs on a WARNING, BUG, Oops, KASAN/UBSAN/KFENCE report or a call
 * trace, and on a taint flag that a problem report sets (B, D, L, M, W in
 * Documentation/admin-guide/tainted-kernels.rst); the other flags (P, O, E,
 * C, ...) say how the kernel was built or loaded and are shown only.
 */
import { existsSync, readFileSync } from 'node:fs'
import type { Agent } from '../core/agent.js'
import type { CaseResult, CheckRecord } from '../core/result.js'
import type { TargetSession } from '../core/target.js'
import { isCmaHeap, type HeapUnderTest } from './heaps.js'

export const BOOT_SUITE = 'boot'
export const BOOT_CASE = 'boot.kernel-log'
/** The pseudo-heap of results about the kernel as a whole, not one heap. */
export const KERNEL_PSEUDO_HEAP = 'kernel'
export const BOOT_LOG_FILE = 'boot-kernel.log'

/** The kernel's taint flags, bit by bit (Documentation/admin-guide/tainted-kernels.rst). */
export const TAINT_FLAGS: ReadonlyArray<{ bit: number; letter: string; meaning: string; problem: boolean }> = [
  { bit: 0, letter: 'P', meaning: 'proprietary module was loaded', problem: false },
  { bit: 1, letter: 'F', meaning: 'module was force loaded', problem: false },
  { bit: 2, letter: 'S', meaning: 'kernel running on an out of specification system', problem: false },
  { bit: 3, letter: 'R', meaning: 'module was force unloaded', problem: false },
  { bit: 4, letter: 'M', meaning: 'processor reported a Machine Check Exception (MCE)', problem: true },
  { bit: 5, letter: 'B', meaning: 'bad page referenced or some unexpected page flags', problem: true },
  { bit: 6, letter: 'U', meaning: 'taint requested by userspace application', problem: false },
  { bit: 7, letter: 'D', meaning: 'kernel died recently, i.e. there was an OOPS or BUG', problem: true },
  { bit: 8, letter: 'A', meaning: 'ACPI table overridden by user', problem: false },
  { bit: 9, letter: 'W', meaning: 'kernel issued warning', problem: true },
  { bit: 10, letter: 'C', meaning: 'staging driver was loaded', problem: false },
  { bit: 11, letter: 'I', meaning: 'workaround for bug in platform firmware applied', problem: false },
  { bit: 12, letter: 'O', meaning: 'externally-built ("out-of-tree") module was loaded', problem: false },
  { bit: 13, letter: 'E', meaning: 'unsigned module was loaded', problem: false },
  { bit: 14, letter: 'L', meaning: 'soft lockup occurred', problem: true },
  { bit: 15, letter: 'K', meaning: 'kernel has been live patched', problem: false },
  { bit: 16, letter: 'X', meaning: 'auxiliary taint, defined for and used by distros', problem: false },
  { bit: 17, letter: 'T', meaning: 'kernel was built with the struct randomization plugin', problem: false },
  { bit: 18, letter: 'N', meaning: 'an in-kernel test has been run', problem: false },
]

export interface Taint {
  /** /proc/sys/kernel/tainted */
  value: number
  /** every flag set, as letters ("" when clean) */
  flags: string
  /** the flags set that a problem report sets */
  problems: string
  /** "W (kernel issued warning)", one per flag */
  described: string[]
}

export function decodeTaint(text: string): Taint | undefined {
  const value = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) return undefined
  const set = TAINT_FLAGS.filter((f) => Math.floor(value / 2 ** f.bit) % 2 === 1)
  const known = set.reduce((n, f) => n + 2 ** f.bit, 0)
  const described = set.map((f) => `${f.letter} (${f.meaning})`)
  if (value !== known) described.push(`bits ${(value - known).toString(2)} (not in this harness's table)`)
  return { value, flags: set.map((f) => f.letter).join(''), problems: set.filter((f) => f.problem).map((f) => f.letter).join(''), described }
}

/** Where a kernel report starts (an optional printk timestamp or caller id before it). */
const PREFIX = String.raw`^(?:\[\s*[\d.]+\]\s*)?(?:\[\s*[CT]\d+\]\s*)?`
const REPORT_START = new RegExp(
  PREFIX +
    '(?:' +
    [
      String.raw`-+\[ cut here \]-+`,
      String.raw`WARNING: (?:CPU: \d+ PID: \d+ |at )`,
      String.raw`BUG: `,
      String.raw`kernel BUG at `,
      String.raw`(?:Internal error: )?Oops`,
      String.raw`={20,}\s*$`, // KASAN/KFENCE open with a rule of '=' (checked below)
      String.raw`UBSAN: `,
      String.raw`KASAN: `,
      String.raw`KFENCE: `,
      String.raw`general protection fault`,
      String.raw`Unable to handle kernel`,
      String.raw`Kernel panic - not syncing`,
      String.raw`Call [Tt]race:`,
    ].join('|') +
    ')',
)
const RULE = new RegExp(PREFIX + '={20,}\\s*$')
const REPORT_END = new RegExp(PREFIX + String.raw`(?:-+\[ end trace [0-9a-f]+ \]-+|={20,}\s*$)`)
/** What heads a report: the line a maintainer reads first. */
const HEADLINE = new RegExp(PREFIX + String.raw`(WARNING: .*|BUG: .*|kernel BUG at .*|(?:Internal error: )?Oops.*|UBSAN: .*|KASAN: .*|KFENCE: .*|general protection fault.*|Unable to handle kernel.*|Kernel panic - not syncing.*)`)

export interface BootReport {
  /** "WARNING: CPU: 0 PID: 1 at drivers/dma-buf/heaps/cma_heap.c:385 __add_cma_heap+0x4c/0x90" */
  headline: string
  /** the report's lines, from its first to its end marker (at most 80) */
  lines: string[]
}

const MAX_REPORT_LINES = 80

/** Every report in a kernel log, with its lines (a trace and its "end trace" marker included). */
export function findReports(text: string): BootReport[] {
  const lines = text.split('\n')
  const reports: BootReport[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (!REPORT_START.test(line)) continue
    // A bare rule of '=' opens a report only when a KASAN/KFENCE/BUG line follows it.
    if (RULE.test(line) && !/(BUG|KASAN|KFENCE|UBSAN):/.test(lines[i + 1] ?? '')) continue
    let end = i + 1
    while (end < lines.length && end - i < MAX_REPORT_LINES && !REPORT_END.test(lines[end]!)) end++
    const block = lines.slice(i, Math.min(end + 1, lines.length))
    const head = block.map((l) => HEADLINE.exec(l)?.[1]).find((h) => h !== undefined)
    reports.push({ headline: (head ?? line.replace(new RegExp(PREFIX), '')).trim(), lines: block })
    i = end
  }
  return reports
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const ident = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_')

/**
 * The heaps of the run whose code a report names: the CMA heap's code
 * (cma_heap.c, __add_cma_heap, cma_heap_*), the system heap's
 * (system_heap.c, system_heap_*), a heap NAME's `NAME_heap*` functions or
 * module, NAME in a line about a heap; the dma-heap core (dma-heap.c,
 * dma_heap_*) naming no one heap is every kernel heap.
 */
export function heapsNamedBy(report: BootReport, heaps: HeapUnderTest[], release: string): string[] {
  const text = report.lines.join('\n')
  const kernelHeaps = heaps.filter((h) => h.kind === 'kernel')
  const codeOf = (h: HeapUnderTest) => (isCmaHeap(h, release) ? 'cma' : /^system\b/.test(h.name) ? 'system' : ident(h.name))
  const inCode = (h: HeapUnderTest) => {
    const code = codeOf(h)
    return new RegExp(String.raw`\b_*(?:add_(?:default_)?)?${escape(code)}_heap\w*|heaps/${escape(code)}_heap\.c|\[${escape(code)}_heap\]`).test(text)
  }
  const byName = (h: HeapUnderTest) => {
    const nameRe = new RegExp(String.raw`(?:^|[^\w,.-])${escape(h.name)}(?:$|[^\w,.-])`)
    return report.lines.some((l) => /heap/i.test(l) && nameRe.test(l))
  }
  // Heaps that share their code (one CMA heap per area) are told apart by
  // name when the report names one of them; only if it names none is it on all.
  const named = kernelHeaps.filter((h) => {
    if (byName(h)) return true
    if (!inCode(h)) return false
    const siblings = kernelHeaps.filter((x) => x !== h && codeOf(x) === codeOf(h))
    return !siblings.some(byName)
  })
  if (named.length) return named.map((h) => h.name)
  if (/\bdma_heap_\w+|dma-buf\/dma-heap\.c|\bdma_heap:/.test(text)) return kernelHeaps.map((h) => h.name)
  return []
}

export interface BootLog {
  /** what the kernel printed since boot, as far as it could be read */
  text: string
  /** where it came from */
  source: 'kernel log' | 'console' | 'kernel log + console' | 'none'
  /** false when the ring no longer holds the start of boot and no console filled the gap */
  complete: boolean
  taint?: Taint
}

/** The console captured so far, from the target's console.log. */
function consoleText(session: TargetSession): string {
  const file = session.artifacts.console
  if (file && existsSync(file)) return readFileSync(file, 'utf8').replace(/\r/g, '')
  return session.consoleTail(100_000)
}

const BOOT_START = /Linux version \d|Booting Linux on/

/** Reads the boot log and the taint, before any case. */
export async function readBootLog(agent: Agent, session: TargetSession): Promise<BootLog> {
  // An empty match takes every record a fresh /dev/kmsg reader sees: the whole ring.
  const ring = await agent.call('klog', { match: '' })
  const taintFile = await agent.call('read_file', { path: '/proc/sys/kernel/tainted' })
  const taint = taintFile.ok ? decodeTaint(taintFile.text) : undefined
  const kmsg = ring.ok ? ring.text : ''
  const ringComplete = ring.ok && BOOT_START.test(kmsg.split('\n').slice(0, 5).join('\n'))
  const base = { ...(taint ? { taint } : {}) }
  if (ringComplete) return { text: kmsg, source: 'kernel log', complete: true, ...base }
  const con = consoleText(session)
  if (!ring.ok) return con.trim() ? { text: con, source: 'console', complete: BOOT_START.test(con), ...base } : { text: '', source: 'none', complete: false, ...base }
  if (!con.trim()) return { text: kmsg, source: 'kernel log', complete: false, ...base }
  return { text: `${con.trimEnd()}\n# (console above, kernel log ring below: the ring no longer holds the start of boot)\n${kmsg}`, source: 'kernel log + console', complete: BOOT_START.test(con), ...base }
}

const EXCERPT_MAX = 16 * 1024
const excerptOf = (reports: BootReport[]) => {
  const text = reports.map((r) => r.lines.join('\n')).join('\n...\n')
  return text.length > EXCERPT_MAX ? text.slice(0, EXCERPT_MAX) : text
}

export interface BootCaseInput {
  log: BootLog
  heaps: HeapUnderTest[]
  target: string
  kernel: string
  durationMs: number
}

/**
 * The boot case's results: one on the kernel pseudo-heap, then one on each
 * heap a report names (FAIL with that heap's reports).
 */
export function bootResults({ log, heaps, target, kernel, durationMs }: BootCaseInput): CaseResult[] {
  const reports = findReports(log.text)
  const base = { id: BOOT_CASE, suite: BOOT_SUITE, target, kernel, durationMs }
  const taintShown = log.taint ? `${log.taint.value}${log.taint.flags ? ` (${log.taint.flags})` : ' (not tainted)'}` : 'unknown'
  const observations: Record<string, unknown> = {
    'boot log': log.source === 'none' ? 'not readable on this target' : `${BOOT_LOG_FILE}: ${log.text.split('\n').filter(Boolean).length} lines from the ${log.source}${log.complete ? '' : ' (the start of boot is no longer in it)'}`,
    'taint at boot': log.taint ? `${taintShown}${log.taint.described.length ? `: ${log.taint.described.join(', ')}` : ''}` : 'unknown (/proc/sys/kernel/tainted not readable)',
  }
  if (log.source === 'none' && !log.taint) {
    return [{ ...base, heap: KERNEL_PSEUDO_HEAP, status: 'SKIP', message: 'the kernel log, the console and the taint cannot be read on this target', checks: [] }]
  }
  const checks: CheckRecord[] = []
  if (log.source !== 'none') {
    checks.push({ label: 'the kernel printed no WARNING, BUG, Oops, KASAN/UBSAN/KFENCE report or call trace while booting', pass: reports.length === 0, expected: 'a clean boot log', observed: reports.length ? reports.map((r) => r.headline).join(' | ') : 'a clean boot log' })
  }
  if (log.taint) {
    checks.push({ label: 'the kernel was not tainted by a problem report at boot (B, D, L, M, W)', pass: log.taint.problems === '', expected: 'no B, D, L, M or W', observed: taintShown })
  }
  const failed = checks.find((c) => !c.pass)
  const attributed = new Map<string, BootReport[]>()
  for (const r of reports) for (const h of heapsNamedBy(r, heaps, kernel)) attributed.set(h, [...(attributed.get(h) ?? []), r])
  const names = [...attributed.keys()]
  const message = failed
    ? `${failed.label}: expected ${failed.expected}, observed ${failed.observed}${names.length ? `; in the code of heap ${names.join(', ')}` : ''}`
    : undefined
  const run: CaseResult = {
    ...base,
    heap: KERNEL_PSEUDO_HEAP,
    status: failed ? 'FAIL' : 'PASS',
    ...(message ? { message } : {}),
    checks,
    observations,
    ...(reports.length ? { kernelLog: excerptOf(reports) } : {}),
  }
  const perHeap = names
    .filter((h) => h !== KERNEL_PSEUDO_HEAP)
    .map((h): CaseResult => {
      const own = attributed.get(h)!
      const check: CheckRecord = { label: `the kernel printed no report in the code of heap ${h} while booting`, pass: false, expected: 'a clean boot log', observed: own.map((r) => r.headline).join(' | ') }
      return { ...base, heap: h, status: 'FAIL', message: `${check.label}: expected ${check.expected}, observed ${check.observed}`, checks: [check], observations, kernelLog: excerptOf(own) }
    })
  return [run, ...perHeap]
}
