/**
 * The reference diff: for each kernel heap, every case where what it did
 * differs from what the reference heap did on the same target and kernel —
 * the verdict, an observed-only value (MAP_PRIVATE, PROT_EXEC), or the value
 * a check observed (errno, size, byte counts). A pure function of results,
 * so it works offline on results.jsonl.
 */
import { REFERENCE_HEAP } from '../core/protocol.js'
import type { CaseResult, CheckRecord } from '../core/result.js'

/** The reference heap, also when a self-test broke it on purpose ("dmaheap-reference+nozero"). */
export function isReferenceHeap(heap: string): boolean {
  return heap === REFERENCE_HEAP || heap.startsWith(`${REFERENCE_HEAP}+`)
}

export interface DiffEntry {
  target: string
  kernel: string
  heap: string
  suite: string
  id: string
  /** what differs: the status, an observation, or a check's observed value */
  kind: 'verdict' | 'observation' | 'check'
  /** the observation's or check's label; "status" for a verdict */
  label: string
  reference: unknown
  observed: unknown
}

/** A heap's own name in a value (fdinfo exp_name) is not a difference. */
function normalise(v: unknown, heap: string): string {
  return JSON.stringify(v ?? null)
    .split(heap)
    .join('<heap>')
}

const same = (a: unknown, ha: string, b: unknown, hb: string) => normalise(a, ha) === normalise(b, hb)

/**
 * Whether two checks with one label show different behaviour. A check that
 * passed on one heap and failed on the other does. When both passed, only a
 * different kind of outcome counts (ENOMEM against the OOM killer): not fd
 * numbers, counts or MiB that differ by digits alone, nor a value each heap
 * was expected to differ in (its own exp_name).
 */
function checkDiffers(ref: CheckRecord, refHeap: string, c: CheckRecord, heap: string): boolean {
  if (ref.pass !== c.pass) return true
  if (same(ref.observed, refHeap, c.observed, heap)) return false
  if (!c.pass) return true
  if (!same(ref.expected, refHeap, c.expected, heap)) return false
  const shape = (v: unknown, h: string) => normalise(v, h).replace(/\d+/g, 'N')
  return shape(ref.observed, refHeap) !== shape(c.observed, heap)
}

/** Checks paired by label; a label repeated in one case pairs by its ordinal. */
function checksByLabel(r: CaseResult): Map<string, CheckRecord> {
  const out = new Map<string, CheckRecord>()
  const seen = new Map<string, number>()
  for (const c of r.checks) {
    const label = c.label.split(r.heap).join('<heap>')
    const n = (seen.get(label) ?? 0) + 1
    seen.set(label, n)
    out.set(n > 1 ? `${label} (#${n})` : label, c)
  }
  return out
}

function diffCase(ref: CaseResult, r: CaseResult): DiffEntry[] {
  const base = { target: r.target, kernel: r.kernel, heap: r.heap, suite: r.suite, id: r.id }
  const out: DiffEntry[] = []
  if (ref.status !== r.status) {
    out.push({ ...base, kind: 'verdict', label: 'status', reference: ref.message ? `${ref.status}: ${ref.message}` : ref.status, observed: r.message ? `${r.status}: ${r.message}` : r.status })
  }
  const refObs = ref.observations ?? {}
  const obs = r.observations ?? {}
  for (const label of new Set([...Object.keys(refObs), ...Object.keys(obs)])) {
    if (!same(refObs[label], ref.heap, obs[label], r.heap)) out.push({ ...base, kind: 'observation', label, reference: refObs[label], observed: obs[label] })
  }
  // Checks compare only where both ran the case; a SKIP or MISS has none.
  if (ref.checks.length && r.checks.length) {
    const refChecks = checksByLabel(ref)
    for (const [label, c] of checksByLabel(r)) {
      const rc = refChecks.get(label)
      if (rc && checkDiffers(rc, ref.heap, c, r.heap)) out.push({ ...base, kind: 'check', label, reference: rc.observed, observed: c.observed })
    }
  }
  return out
}

export function referenceDiff(results: CaseResult[]): DiffEntry[] {
  const refs = new Map<string, CaseResult>()
  for (const r of results) if (isReferenceHeap(r.heap)) refs.set(`${r.target}\u0000${r.kernel}\u0000${r.id}`, r)
  const out: DiffEntry[] = []
  for (const r of results) {
    if (isReferenceHeap(r.heap)) continue
    const ref = refs.get(`${r.target}\u0000${r.kernel}\u0000${r.id}`)
    if (ref) out.push(...diffCase(ref, r))
  }
  return out
}

/** A value for one line: measured profiles (objects) are cut; reference-diff.json keeps them whole. */
const show = (v: unknown) => {
  const s = v === undefined ? 'nothing' : typeof v === 'string' ? v : JSON.stringify(v)
  return s.length > 120 ? `${s.slice(0, 117)}...` : s
}

/** One line per difference, for TAP diagnostics, Markdown and the console. */
export function describeDiff(d: DiffEntry): string {
  const what = d.kind === 'verdict' ? 'status' : d.label
  return `${d.id} on ${d.heap}: ${what}: ${show(d.observed)} (reference heap: ${show(d.reference)})`
}
