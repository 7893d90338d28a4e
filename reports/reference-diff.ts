/**
 * The reference diff: for each kernel heap, every case where what it did
 * differs from what the reference heap did on the same target and kernel —
 * the verdict, an observed-only value (MAP_PRIVATE, PROT_EXEC), or the value
 * a check observed (errno, size, byte counts). A pure function of results,
 * so it works offline on results.jsonl.
 */
import { REFERENCE_HEAP } from '../core/protocol.js'
import { heapVerdict, type CaseResult, type CheckRecord } from '../core/result.js'
import { humanText } from './human-values.js'

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
  /** a conformance difference, or a property the heap has by design (see diffArea) */
  area: DiffArea
  /** the observation's or check's label; "status" for a verdict */
  label: string
  reference: unknown
  observed: unknown
}

/**
 * conformance: the heap answered a call otherwise than the reference heap
 * (a verdict, an errno, a check's value, MAP_PRIVATE success against
 * EINVAL): each is a question for the heap's author. property: how the heap
 * lays out memory and how much it holds (contiguity, alignment, largest
 * buffer, capacity), measured by the properties and exhaustion suites, which
 * differ from the reference heap's by design (a CMA heap is contiguous, the
 * reference heap is not) and are judged only against stated expectations.
 */
export type DiffArea = 'conformance' | 'property'

/** Suites whose observations are measured properties, not answers to calls. */
const PROPERTY_SUITES = new Set(['properties', 'exhaustion'])

export function diffArea(suite: string, kind: DiffEntry['kind']): DiffArea {
  return kind === 'observation' && PROPERTY_SUITES.has(suite) ? 'property' : 'conformance'
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
  // What each heap did: a known failure on one heap is still the same FAIL as on the other.
  if (heapVerdict(ref.status) !== heapVerdict(r.status)) {
    out.push({ ...base, kind: 'verdict', area: 'conformance', label: 'status', reference: ref.message ? `${ref.status}: ${ref.message}` : ref.status, observed: r.message ? `${r.status}: ${r.message}` : r.status })
  }
  const refObs = ref.observations ?? {}
  const obs = r.observations ?? {}
  for (const label of new Set([...Object.keys(refObs), ...Object.keys(obs)])) {
    if (!same(refObs[label], ref.heap, obs[label], r.heap)) out.push({ ...base, kind: 'observation', area: diffArea(r.suite, 'observation'), label, reference: refObs[label], observed: obs[label] })
  }
  // Checks compare only where both ran the case; a SKIP or MISS has none.
  if (ref.checks.length && r.checks.length) {
    const refChecks = checksByLabel(ref)
    for (const [label, c] of checksByLabel(r)) {
      const rc = refChecks.get(label)
      if (rc && checkDiffers(rc, ref.heap, c, r.heap)) out.push({ ...base, kind: 'check', area: 'conformance', label, reference: rc.observed, observed: c.observed })
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

/** A value for one line, in its units: measured findings (objects) as fields, cut; reference-diff.json keeps them whole. */
const show = (v: unknown) => {
  const s = humanText(v)
  return s.length > 120 ? `${s.slice(0, 117)}...` : s
}

/** One line per difference, for TAP diagnostics, Markdown and the console. */
export function describeDiff(d: DiffEntry): string {
  const what = d.kind === 'verdict' ? 'status' : d.label
  return `${d.id} on ${d.heap}: ${what}: ${show(d.observed)} (reference heap: ${show(d.reference)})`
}
