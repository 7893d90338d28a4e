/**
 * The agent protocol, version 1: the one boundary between the host and the C
 * core (native/core/dispatch.c and its ops_*.c), whichever front end
 * carries it (the static agent over a virtio-serial port, SSH or a pipe; the
 * Node addon in-process).
 *
 * Framing: one JSON object per line each way, answered in order. Every
 * request carries a numeric `id` and an `op`; every response echoes the `id`
 * and has `ok`. A failed syscall answers `{ok:false, errno:"EINVAL",
 * errnum:22}`; a touch of a mapping that faulted (fill, verify, the threads'
 * write, a bench) answers `{ok:false, errno:"SIGBUS", errnum:0, fault:"page 1
 * of 2 of the mapping raised SIGBUS (offset 4096, address 0x...)"}`, the
 * agent alive; a malformed request answers `{ok:false, error:"..."}` (a
 * harness bug, never a verdict). Integers above 2^53 travel as decimal
 * strings. Flags may be numbers or symbolic names joined by `|`, resolved by
 * the agent with the target's own headers (O_* values differ by arch).
 *
 * The host trusts no reply: each is checked against its op's schema
 * (responseSchemas, below), and a reply that is not JSON, has the wrong
 * id, the wrong shape or a line longer than MAX_REPLY_LINE_BYTES loses the
 * link (runners/stream-transport.ts, core/agent.ts).
 */

import { z } from 'zod'

export const PROTOCOL_VERSION = 1
/** The reference heap's name on every target (see native/core/dmaheap.h). */
export const REFERENCE_HEAP = 'dmaheap-reference'

/** A u64 on the wire: a number when exact in JavaScript, else a decimal string. */
export type WireU64 = number | string
export type Flags = number | string

export interface Requests {
  hello: {}
  list_heaps: {}
  heap_open: { name: string; flags?: Flags }
  heap_close: { heap: number }
  alloc: {
    heap: number
    len: WireU64
    fd_flags?: Flags
    heap_flags?: WireU64
    fd_in?: number
    /** 16 (older userspace), 24 (current), 48 (newer): ABI compatibility. */
    struct_size?: number
    /** ioctl nr; only 0 is ALLOC. */
    nr?: number
    /** value written to every u64 past the 24-byte struct */
    trailing?: WireU64
  }
  buf_size: { fd: number }
  fdinfo: { fd: number }
  fd_flags: { fd: number }
  close: { fd: number }
  mmap: { fd: number; len: WireU64; prot?: Flags; flags?: Flags; offset?: WireU64 }
  munmap: { map: number }
  mremap: { map: number; new_len: WireU64; may_move?: boolean }
  fill: PatternRequest
  verify: PatternRequest
  sync: { fd: number; flags: Flags }
  probe: { map: number; offset: WireU64; access?: 'read' | 'write'; timeout_s?: number }
  meminfo: {}
  read_file: { path: string }
  kmsg: { text: string }
  kmsg_drain: {}
  /** a marker into the kernel log, then what it printed since the last drain, and the taint flags */
  log_mark: { text: string }
  count_fds: {}
  set_name: { fd: number; name: string; variant?: 'A' | 'B' }
  ioctl_raw: { fd: number; cmd: WireU64 }
  export_sync_file: { fd: number; flags?: Flags }
  import_sync_file: { fd: number; sync_fd: number; flags?: Flags }
  alloc_repeat: AllocLoopRequest & { count: number }
  alloc_threads: AllocLoopRequest & { threads: number }
  exhaust: { heap: number; chunk: WireU64; budget?: WireU64; time_limit_s?: number }
  vgem_open: {}
  prime_import: { dev: number; fd: number }
  /** the test importer (a kernel module of the harness) attaches, maps and reads the buffer: ENOENT without it */
  importer_check: { fd: number; read_seed: number; write_seed?: number; write?: boolean; vmap?: boolean }
  gem_close: { dev: number; handle: number }
  /** min_samples (default 20): the fewest samples whatever the budget */
  bench: { kind: BenchKind; heap?: number; len?: WireU64; budget_ms?: number; threads?: number; min_samples?: number }
  /** work of a figure's size that involves no heap (native/core/ops_yardstick.c): what a figure is judged against */
  yardstick: { kind: YardstickKind; len?: WireU64; budget_ms?: number; threads?: number; min_samples?: number }
  pagemap: { map: number }
  alloc_traced: Requests['alloc']
  klog: { match: string }
  /** kmemleak: scan, the reports not yet cleared, then clear them (ENOENT without CONFIG_DEBUG_KMEMLEAK) */
  kmemleak: {}
  provoke: { what: ProvokedFault }
  /** writes base64 `data` (at most ~700 KiB a line) into the agent's private folder; `append` for the next chunk */
  file_put: { name: string; data: string; append?: boolean }
  /** runs a file put there, no arguments, stdin empty; killed after timeout_s */
  exec: { name: string; timeout_s?: number }
}

export type BenchKind = 'alloc' | 'alloc_bare' | 'fault' | 'sync' | 'threads' | 'fill'
/** populate: mmap MAP_POPULATE + munmap of anonymous memory, per call; touch: first write per page of an anonymous mapping */
export type YardstickKind = 'populate' | 'touch'

export type AllocLoopRequest = Pick<Requests['alloc'], 'heap' | 'len' | 'fd_flags'>

export type PatternRequest = {
  map: number
  /** range inside the mapping; len 0 or absent means to its end */
  offset?: WireU64
  len?: WireU64
  /** buffer offset of the mapping's first byte (for sub-range mappings) */
  base?: WireU64
} & ({ pattern: 'prng'; seed: number } | { pattern: 'const'; byte: number })

/** The longest u64 the agent writes as a number (exact in a double); above it, a decimal string. */
const WIRE_NUMBER_MAX = 2 ** 53
const U64_MAX = 0xffff_ffff_ffff_ffffn

/**
 * The longest reply line the host accepts. The longest a real agent sends is
 * an exec's: stdout and stderr capped at 512 KiB each, every byte at most six
 * characters once escaped (\u00XX), so under 6.1 MiB; a kernel log or a file
 * read is far shorter. Past the cap the link is lost.
 */
export const MAX_REPLY_LINE_BYTES = 8 << 20

/**
 * What the target sent, for an error message: at most `max` characters,
 * control characters escaped (nothing it sends can steer the terminal), and
 * the full length when it was cut.
 */
export function showWire(text: string, max = 200): string {
  const shown = text.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
  return text.length > max ? `${shown}... (${text.length} characters)` : shown
}

// Every reply is checked against its op's schema before a suite sees it:
// the target is a remote machine that may be broken or hostile, and a value
// of the wrong type would otherwise surface as a TypeError deep in a case,
// or as a wrong verdict. The TypeScript types below are derived from these
// schemas, so the two cannot drift apart.
const wholeNumber = z.number().refine((n) => Number.isInteger(n) && n >= 0 && n <= WIRE_NUMBER_MAX, 'expected a whole number from 0 to 2^53')
const wireU64Schema = z.union([
  wholeNumber,
  // One check: a refinement after a failed regex still runs, and BigInt() throws on "1e3".
  z.string().refine((v) => /^(?:0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) <= U64_MAX, 'expected a decimal u64 (at most 2^64-1)'),
])
/** counts, nanoseconds, sizes that fit a double */
const count = z.int().min(0)
const fd = z.int().min(0).max(2 ** 31 - 1)
/** the agent's handle for a heap or a mapping: its slot + 1 */
const handle = z.int().min(1).max(2 ** 31 - 1)
/** an errno or signal name: "EINVAL", "SIGBUS", "E?" */
const errnoName = z.string().regex(/^[A-Z][A-Z0-9_?]{0,31}$/, 'expected an errno name such as EINVAL')
/** a name under /dev/dma_heap: one path component of printable characters */
const heapName = z.string().regex(/^[^/\u0000-\u001f\u007f]{1,255}$/, 'expected a heap name (one path component, printable)').refine((n) => n !== '.' && n !== '..', 'expected a heap name, not . or ..')
const pageSize = z.int().refine((n) => n >= 1024 && n <= 1 << 21 && (n & (n - 1)) === 0, 'expected a power of two from 1 KiB to 2 MiB')
/** "<first pfn, hex>+<count>" runs, space-separated */
const pfnRuns = z.string().regex(/^(?:[0-9a-f]+\+[0-9]+(?: [0-9a-f]+\+[0-9]+)*)?$/, 'expected runs like "1a2b+16 1c00+4"')
/** uname's words and version strings: shown on the terminal and kept in run.json, so no control bytes */
const word = z.string().regex(/^[\x20-\x7e]{1,256}$/, 'expected printable ASCII, at most 256 characters')
const nothing = z.object({})
const text = z.object({ text: z.string() })

const nsStatsSchema = z.object({
  ns_n: count,
  ns_min: count.optional(),
  ns_p10: count.optional(),
  ns_p25: count.optional(),
  ns_p50: count.optional(),
  ns_p75: count.optional(),
  ns_p90: count.optional(),
  ns_p99: count.optional(),
  ns_max: count.optional(),
  ns_mean: count.optional(),
})
/** A latency distribution in ns: `ns_n` samples, then min, p10..p99, max, mean. */
export type NsStats = z.output<typeof nsStatsSchema>

/** What each op answers when it succeeded (without `id` and `ok`). */
export const responseSchemas = {
  hello: z.object({
    protocol: count,
    agent: word,
    sysname: word,
    machine: word,
    release: word,
    page_size: pageSize,
    reference_heap: word,
    udmabuf: z.boolean(),
    dma_heap_dir: z.boolean(),
    pid: z.int().min(1),
    o_cloexec: count,
  }),
  list_heaps: z.object({ heaps: z.array(heapName).max(256) }),
  /** fd -1: the reference heap has no device to open */
  heap_open: z.object({
    heap: handle,
    fd: z.int().min(-1).max(2 ** 31 - 1),
    /** the reference heap's: it refuses (ENOMEM) past this many bytes live (native/core/reference_heap.h) */
    capacity: wireU64Schema.optional(),
  }),
  heap_close: nothing,
  alloc: z.object({
    fd,
    ns: count,
    /**
     * How the reference heap backed a buffer: a real dma-buf from udmabuf, or
     * the core's model of one over a memfd (see native/core/reference_heap.h).
     */
    backing: z.enum(['udmabuf', 'model']).optional(),
    trailing_intact: z.boolean().optional(),
  }),
  buf_size: z.object({ size: wireU64Schema }),
  fdinfo: text,
  fd_flags: z.object({ cloexec: z.boolean(), accmode: z.enum(['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE']) }),
  close: nothing,
  mmap: z.object({ map: handle }),
  munmap: nothing,
  mremap: nothing,
  fill: z.object({ ns: count }),
  verify: z.object({
    ns: count,
    checked: wireU64Schema,
    mismatches: wireU64Schema,
    first_bad: wireU64Schema.optional(),
    expected: count.optional(),
    observed: count.optional(),
  }),
  sync: nothing,
  probe: z.object({ signal: z.string().nullable(), signum: count.optional(), value: count.optional() }),
  meminfo: text,
  read_file: text,
  kmsg: nothing,
  kmsg_drain: text,
  log_mark: z.object({ text: z.string(), tainted: z.string() }),
  count_fds: z.object({ count }),
  set_name: nothing,
  ioctl_raw: z.object({ ret: z.int() }),
  export_sync_file: z.object({ sync_fd: fd }),
  import_sync_file: nothing,
  alloc_repeat: z.object({ done: count, first_errno: z.string(), ns: count }),
  // `ok` here is the op's own field (threads that completed); it replaces the
  // envelope's `ok: true` on the wire (see decodeReply).
  alloc_threads: z.object({ ok: count, threads: count, first_errno: z.string(), first_step: z.string(), ns: count }),
  /** stop: an errno name, "budget", "time", "killed:SIGKILL" (OOM killer), or "lost" */
  exhaust: z.object({ bytes: wireU64Schema, chunks: count, stop: z.string(), ns: count }),
  vgem_open: z.object({ fd, path: z.string() }),
  prime_import: z.object({ handle: count }),
  importer_check: z.object({
    attach_error: z.string(),
    map_error: z.string(),
    size: wireU64Schema,
    nents: count,
    orig_nents: count,
    total_len: wireU64Schema,
    dma_len: wireU64Schema,
    no_page: count,
    no_dma: count,
    contiguous: z.boolean(),
    checked: wireU64Schema,
    mismatches: wireU64Schema,
    first_bad: wireU64Schema.optional(),
    expected: count.optional(),
    observed: count.optional(),
    written: wireU64Schema,
    vmap: z.enum(['not_asked', 'agrees', 'differs', 'refused']),
    vmap_error: z.string(),
    vmap_first_bad: wireU64Schema.optional(),
    /** the CPU entries' page frames, "pfn+pages ..." (hex pfns, as pagemap's runs): the first 64 runs of nruns */
    runs: z.string(),
    nruns: count,
  }),
  gem_close: nothing,
  file_put: z.object({ path: z.string() }),
  /** stdout and stderr capped at 512 KiB each; exit_status null when a signal ended it */
  exec: z.object({
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean(),
    timed_out: z.boolean(),
    exit_status: z.int().min(0).max(255).nullable(),
    signal: z.string().optional(),
    ms: count,
  }),
  bench: nsStatsSchema.extend({
    calls_per_s: count.optional(),
    fill_bytes_per_s: count.optional(),
    verify_bytes_per_s: count.optional(),
    memset_bytes_per_s: count.optional(),
    memcmp_bytes_per_s: count.optional(),
  }),
  yardstick: nsStatsSchema,
  /**
   * The physical pages behind a mapping, every page read first (in a forked
   * child). runs: "<first pfn, hex>+<count>" per run of consecutive PFNs, in
   * mapping order, space-separated; pfns_hidden: present pages report PFN 0
   * (no CAP_SYS_ADMIN); signal: the child died reading the mapping.
   */
  pagemap: z.object({ pages: count, present: count, pfns_hidden: z.boolean(), runs: pfnRuns, signal: z.string().optional() }),
  /**
   * ALLOC with the page allocator and CMA traced (a private tracefs
   * instance): the page frames the buffer got, in allocation order, as runs
   * like pagemap's. source: "cma" (cma_alloc_finish events), "page
   * allocator" (mm_page_alloc of user pages), "none" (no event: the heap's
   * memory comes from elsewhere), "unavailable" (no tracefs; trace_errno).
   */
  alloc_traced: z.object({
    fd,
    source: z.enum(['cma', 'page allocator', 'none', 'unavailable']),
    trace_errno: z.string().optional(),
    events: count.optional(),
    lost: z.boolean().optional(),
    traced_pages: count.optional(),
    runs: pfnRuns.optional(),
  }),
  /** the kernel log lines still in the ring buffer that contain `match` */
  klog: text,
  kmemleak: text,
  /** WARNING and BUG return; PANIC, HUNG_TASK and AGENT_KILL never answer */
  provoke: nothing,
} satisfies Record<keyof Requests, z.ZodType>

export type Responses = { [O in keyof typeof responseSchemas]: z.output<(typeof responseSchemas)[O]> }

/** A failed syscall, or a fault touching a mapping (errnum 0, `fault` where). */
const failureSchema = z.object({ errno: errnoName, errnum: z.int().min(0).max(4095), fault: z.string().optional() })
/** A request the agent refused as malformed. */
const refusalSchema = z.object({ error: z.string() })
/** What every reply starts with. `ok` is a count for alloc_threads (see there). */
const envelopeSchema = z.object({ id: z.union([wholeNumber, z.null()]), ok: z.union([z.boolean(), count]) })

/** The faults the reliability tests inject: LKDTM crash types, or the agent killed. */
export const PROVOKED_FAULTS = ['WARNING', 'BUG', 'PANIC', 'HUNG_TASK', 'AGENT_KILL'] as const
export type ProvokedFault = (typeof PROVOKED_FAULTS)[number]

export type ReferenceBacking = NonNullable<Responses['alloc']['backing']>

export type Op = keyof Requests & keyof Responses

/**
 * What a syscall answered: its result, or the errno it failed with. A fault
 * while touching a mapping is a failure too: errno the signal ("SIGBUS"),
 * errnum 0, and `fault` where it struck.
 */
export type Failure = { ok: false; errno: string; errnum: number; fault?: string }
export type Outcome<T> = ({ ok: true } & T) | Failure


/** A reply line, decoded: an outcome, the agent's refusal of a malformed request, or why the line breaks the protocol. */
export type DecodedReply<O extends Op> = { outcome: Outcome<Responses[O]> } | { refused: string } | { violation: string }

/** The first thing wrong with a value, as "field: message". */
function firstIssue(e: z.ZodError): string {
  const i = e.issues[0]
  return i ? `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}` : 'invalid'
}

/**
 * Checks one reply line against the protocol: JSON, an object, the id of
 * the request it answers, then the failure shape or the op's own schema.
 * Never throws: whatever the target sent, the caller learns what it was.
 */
export function decodeReply<O extends Op>(op: O, id: number, line: string): DecodedReply<O> {
  try {
    return decode(op, id, line)
  } catch (e) {
    // A schema that throws is our bug, but the reply still goes unused.
    return { violation: `a reply to ${op} (request ${id}) that could not be checked (${String(e)}): ${showWire(line)}` }
  }
}

function decode<O extends Op>(op: O, id: number, line: string): DecodedReply<O> {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { violation: `a reply to ${op} (request ${id}) that is not JSON: ${showWire(line)}` }
  }
  const bad = (what: string) => ({ violation: `a reply to ${op} (request ${id}) with ${what}: ${showWire(line)}` })
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('no JSON object')
  const envelope = envelopeSchema.safeParse(value)
  if (!envelope.success) return bad(`a bad envelope (${firstIssue(envelope.error)})`)
  if (envelope.data.id !== id) return bad(`id ${envelope.data.id} (one reply too many or too few)`)
  if (envelope.data.ok === false) {
    if ('error' in value) {
      const r = refusalSchema.safeParse(value)
      return r.success ? { refused: r.data.error } : bad(`a bad refusal (${firstIssue(r.error)})`)
    }
    const f = failureSchema.safeParse(value)
    if (!f.success) return bad(`a bad failure (${firstIssue(f.error)})`)
    return { outcome: { ok: false, errno: f.data.errno, errnum: f.data.errnum, ...(f.data.fault === undefined ? {} : { fault: f.data.fault }) } }
  }
  // Only alloc_threads has a field of its own named ok (a count).
  if (envelope.data.ok !== true && op !== 'alloc_threads') return bad('ok neither true nor false')
  const body = responseSchemas[op].safeParse(value)
  if (!body.success) return bad(`a bad ${op} result (${firstIssue(body.error)})`)
  return { outcome: { ok: true, ...body.data } as Outcome<Responses[O]> }
}

/** Encodes a bigint or number as a wire u64. */
export function toWireU64(v: bigint | number): WireU64 {
  const b = BigInt(v)
  if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${v}`)
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString()
}

/** Decodes a wire u64 (a reply's, already checked against its schema). */
export function fromWireU64(v: WireU64): bigint {
  const b = BigInt(v)
  if (b < 0n || b > U64_MAX) throw new RangeError(`not a u64: ${v}`)
  return b
}
