/**
 * The agent protocol, version 1: the one boundary between the host and the C
 * core (native/core/ops.c), whichever front end carries it (the static agent
 * over a virtio-serial port, SSH or a pipe; the Node addon in-process).
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
 */

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
  gem_close: { dev: number; handle: number }
  bench: { kind: BenchKind; heap?: number; len?: WireU64; budget_ms?: number; threads?: number }
  pagemap: { map: number }
  alloc_traced: Requests['alloc']
  klog: { match: string }
  provoke: { what: ProvokedFault }
  /** writes base64 `data` (at most ~700 KiB a line) into the agent's private folder; `append` for the next chunk */
  file_put: { name: string; data: string; append?: boolean }
  /** runs a file put there, no arguments, stdin empty; killed after timeout_s */
  exec: { name: string; timeout_s?: number }
}

export type BenchKind = 'alloc' | 'alloc_bare' | 'fault' | 'sync' | 'threads' | 'fill'

/** A latency distribution in ns: `ns_n` samples, then min, p10..p99, max, mean. */
export type NsStats = { ns_n: number } & Partial<Record<`ns_${'min' | 'p10' | 'p25' | 'p50' | 'p75' | 'p90' | 'p99' | 'max' | 'mean'}`, number>>

export type AllocLoopRequest = Pick<Requests['alloc'], 'heap' | 'len' | 'fd_flags'>

export type PatternRequest = {
  map: number
  /** range inside the mapping; len 0 or absent means to its end */
  offset?: WireU64
  len?: WireU64
  /** buffer offset of the mapping's first byte (for sub-range mappings) */
  base?: WireU64
} & ({ pattern: 'prng'; seed: number } | { pattern: 'const'; byte: number })

export interface Responses {
  hello: {
    protocol: number
    agent: string
    sysname: string
    machine: string
    release: string
    page_size: number
    reference_heap: string
    udmabuf: boolean
    dma_heap_dir: boolean
    pid: number
    o_cloexec: number
  }
  list_heaps: { heaps: string[] }
  heap_open: { heap: number; fd: number }
  heap_close: {}
  alloc: { fd: number; ns: number; backing?: ReferenceBacking; trailing_intact?: boolean }
  buf_size: { size: WireU64 }
  fdinfo: { text: string }
  fd_flags: { cloexec: boolean; accmode: 'O_RDONLY' | 'O_WRONLY' | 'O_RDWR' | 'O_ACCMODE' }
  close: {}
  mmap: { map: number }
  munmap: {}
  mremap: {}
  fill: { ns: number }
  verify: {
    ns: number
    checked: WireU64
    mismatches: WireU64
    first_bad?: WireU64
    expected?: number
    observed?: number
  }
  sync: {}
  probe: { signal: string | null; signum?: number; value?: number }
  meminfo: { text: string }
  read_file: { text: string }
  kmsg: {}
  kmsg_drain: { text: string }
  log_mark: { text: string; tainted: string }
  count_fds: { count: number }
  set_name: {}
  ioctl_raw: { ret: number }
  export_sync_file: { sync_fd: number }
  import_sync_file: {}
  alloc_repeat: { done: number; first_errno: string; ns: number }
  alloc_threads: { ok: number; threads: number; first_errno: string; first_step: string; ns: number }
  /** stop: an errno name, "budget", "time", "killed:SIGKILL" (OOM killer), or "lost" */
  exhaust: { bytes: WireU64; chunks: number; stop: string; ns: number }
  vgem_open: { fd: number; path: string }
  prime_import: { handle: number }
  gem_close: {}
  file_put: { path: string }
  /** stdout and stderr capped at 512 KiB each; exit_status null when a signal ended it */
  exec: { stdout: string; stderr: string; truncated: boolean; timed_out: boolean; exit_status: number | null; signal?: string; ms: number }
  bench: NsStats & {
    calls_per_s?: number
    fill_bytes_per_s?: number
    verify_bytes_per_s?: number
    memset_bytes_per_s?: number
    memcmp_bytes_per_s?: number
  }
  /**
   * The physical pages behind a mapping, every page read first (in a forked
   * child). runs: "<first pfn, hex>+<count>" per run of consecutive PFNs, in
   * mapping order, space-separated; pfns_hidden: present pages report PFN 0
   * (no CAP_SYS_ADMIN); signal: the child died reading the mapping.
   */
  pagemap: { pages: number; present: number; pfns_hidden: boolean; runs: string; signal?: string }
  /**
   * ALLOC with the page allocator and CMA traced (a private tracefs
   * instance): the page frames the buffer got, in allocation order, as runs
   * like pagemap's. source: "cma" (cma_alloc_finish events), "page
   * allocator" (mm_page_alloc of user pages), "none" (no event: the heap's
   * memory comes from elsewhere), "unavailable" (no tracefs; trace_errno).
   */
  alloc_traced: {
    fd: number
    source: 'cma' | 'page allocator' | 'none' | 'unavailable'
    trace_errno?: string
    events?: number
    lost?: boolean
    traced_pages?: number
    runs?: string
  }
  /** the kernel log lines still in the ring buffer that contain `match` */
  klog: { text: string }
  /** WARNING and BUG return; PANIC, HUNG_TASK and AGENT_KILL never answer */
  provoke: {}
}

/** The faults the reliability tests inject: LKDTM crash types, or the agent killed. */
export const PROVOKED_FAULTS = ['WARNING', 'BUG', 'PANIC', 'HUNG_TASK', 'AGENT_KILL'] as const
export type ProvokedFault = (typeof PROVOKED_FAULTS)[number]

/**
 * How the reference heap backed a buffer: a real dma-buf from udmabuf, or
 * the core's model of one over a memfd (see native/core/reference_heap.h).
 */
export type ReferenceBacking = 'udmabuf' | 'model'

export type Op = keyof Requests & keyof Responses

/**
 * What a syscall answered: its result, or the errno it failed with. A fault
 * while touching a mapping is a failure too: errno the signal ("SIGBUS"),
 * errnum 0, and `fault` where it struck.
 */
export type Failure = { ok: false; errno: string; errnum: number; fault?: string }
export type Outcome<T> = ({ ok: true } & T) | Failure

export type WireRequest<O extends Op = Op> = { id: number; op: O } & Requests[O]
export type WireResponse =
  | ({ id: number; ok: true } & Record<string, unknown>)
  | ({ id: number | null } & Failure)
  | { id: number | null; ok: false; error: string }

/** Encodes a bigint or number as a wire u64. */
export function toWireU64(v: bigint | number): WireU64 {
  const b = BigInt(v)
  if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${v}`)
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString()
}

export function fromWireU64(v: WireU64): bigint {
  return BigInt(v)
}
