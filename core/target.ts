/**
 * The one interface every place a suite can run implements: the local
 * machine, a QEMU guest, a board over SSH. Starting a target yields a session
 * with a live agent; the suites only ever see the session. Each kind of
 * target is declared once (TargetKind) in targets/, listed in
 * targets/registry.ts.
 */
import type { Agent } from './agent.js'
import type { InfraError } from './errors.js'
import type { HeapExpectations } from './heap-expectations.js'
import type { Responses } from './protocol.js'

/**
 * What a target is, as the run's settings, the suites and the reports read
 * it; run.json keeps it as target.facts. The first four every target states;
 * the rest say how it was brought up, where that is known.
 */
export interface TargetFacts {
  /** thrown away after the run (a QEMU guest): destructive cases run on it by default */
  disposable: boolean
  /** destructive cases run without --allow-exhaustion: always on a disposable target, on a board when its description says destructive: true */
  destructiveAllowed: boolean
  /** any ioctl number reaches the kernel; qemu-user answers ENOSYS itself to those it does not know */
  rawIoctls: boolean
  /** how the harness reaches the agent: addon, virtio-serial, stdio, ssh (the system's client) or ssh2 */
  transport: string
  /** CONFIG_INIT_ON_ALLOC_DEFAULT_ON, when the kernel's config is known */
  initOnAllocDefault?: boolean
  /** the architecture as the target names it: x86_64 or arm64 (QEMU kernels), aarch64 (boards) */
  arch?: string
  /** QEMU's accelerator */
  accel?: 'kvm' | 'tcg'
  /** how long the boot took, ms */
  bootMs?: number
  /** the kernel: the image or package booted, or the release a board runs */
  kernel?: string
  /** the kernel command line the target was booted with */
  cmdline?: string
  /** the device tree's compatible strings, most specific first (KCIDB's environment.compatible); absent without a device tree */
  compatible?: string[]
  /** why the target could not load the test importer (native/importer), when it knows: the importer suite's skip reason */
  importerMissing?: string
  /** QEMU arm64: the device tree booted (-dtb), when the harness was given one or made one */
  dtb?: string
  /** the reserved-memory regions the harness put in the device tree (--reserved-memory) */
  reservedMemory?: ReservedRegionFact[]
  /** qemu-user: the emulator that runs the agent */
  emulator?: string
  /** boards: the board's name, host:port, the private directory the agent ran from, connect and upload times (ms) */
  board?: string
  host?: string
  remoteDir?: string
  connectMs?: number
  uploadMs?: number
}

/** A reserved-memory region as the device tree gives it to the kernel, and the heap it should make. */
export interface ReservedRegionFact {
  /** the node's full name, "carveout@50000000": the kernel's name for the region */
  node: string
  /** the physical base, "0x50000000" (a string: run.json is JSON) */
  base: string
  /** bytes */
  size: number
  compatible?: string
  /** `reusable`: a CMA area (its pages count in CmaTotal) */
  reusable?: true
  /** `no-map`: out of the kernel's linear map */
  noMap?: true
  /** the /dev/dma_heap name the region should make; null: it makes none */
  heap: string | null
  /** where the region was described: "--reserved-memory", or the --dtb file */
  from?: string
}

/** The facts a kind of target declares before anything starts (TargetKind.facts); its sessions state the same. */
export type KindFacts = Pick<TargetFacts, 'disposable' | 'rawIoctls'>

export interface TargetInfo {
  /** the target's name as results name it, e.g. "qemu-x86_64" */
  target: string
  /** what the agent reported at hello: kernel release, arch, page size */
  hello: Responses['hello']
  facts: TargetFacts
}

/**
 * TargetInfo as run.json holds it: a file written by an older harness may
 * lack any fact (before they were typed, only some targets said disposable,
 * rawIoctls or initOnAllocDefault), so readers take each as optional.
 */
export interface RecordedTargetInfo extends Omit<TargetInfo, 'facts'> {
  facts: Partial<TargetFacts>
}

export interface TargetSession {
  readonly info: TargetInfo
  readonly agent: Agent
  /** the last lines the target's console printed, for diagnosing a lost link */
  consoleTail(lines?: number): string
  /** files kept with the results (console log), by role */
  readonly artifacts: Record<string, string>
  /**
   * Ends the session. Once it resolves, consoleTail holds everything the
   * target printed (a crash's last lines). May be called more than once.
   */
  close(): Promise<void>
}

export interface StartContext {
  /** the run's output folder; targets keep their logs there */
  outputDir: string
  /** progress lines for a human, on stderr */
  log(message: string): void
  signal?: AbortSignal
  /**
   * Set when the target is brought back after it broke mid-run: how long it
   * may take to answer again (a board rebooting), connection attempts
   * repeated meanwhile. Absent: one attempt, a first start fails fast.
   */
  reconnectWithinMs?: number
}

/** What a run takes from a target's own description unless the command line says otherwise (a board file's heaps, memory budget). */
export interface RunDefaults {
  /** what its heaps must deliver (a board description's heaps:) */
  expectations?: HeapExpectations
  /** the file they came from, for messages */
  expectationsSource?: string
  memoryBudget?: bigint
}

export interface Target {
  readonly name: string
  readonly description: string
  readonly runDefaults?: RunDefaults
  start(ctx: StartContext): Promise<TargetSession>
}

/** A value a target option holds once the command line is parsed. */
/** A repeatable option (TargetOption.repeatable) holds every value given, in order. */
export type OptionValue = string | number | boolean | readonly string[]

/** One command-line option a kind of target takes (the CLI makes its flags from these). */
export interface TargetOption {
  /** as the command line spells it: '--kernel <image>', or '--accept-new-host-key' for a switch */
  flag: string
  description: string
  default?: OptionValue
  choices?: readonly string[]
  /** an environment variable that sets it too (not counted as given on the command line) */
  env?: string
  /** given more than once, every value is kept (a string[]), e.g. --reserved-memory */
  repeatable?: boolean
  /** text to value; throws an Error whose message says what was expected */
  parse?(text: string): OptionValue
}

/**
 * A kind of target, declared in its own file in targets/ and listed once in
 * targets/registry.ts: its name, the options it takes, the facts it states
 * and how it makes a Target from its options. Recovery is the same for every
 * kind (targets/lifecycle.ts): close, start again with reconnectWithinMs.
 */
export interface TargetKind<O extends Record<string, OptionValue | undefined> = Record<string, OptionValue | undefined>> {
  /** --target NAME */
  readonly name: string
  /** other names --target takes for it */
  readonly aliases?: readonly string[]
  readonly description: string
  /** the key of its own option whose presence picks it instead of --target (a board: --board FILE) */
  readonly selectedBy?: keyof O & string
  /** every option it takes, by the key its value goes under (as commander camel-cases the flag) */
  readonly options: { readonly [K in keyof O]-?: TargetOption }
  readonly facts: KindFacts
  /** its options as the command line gave them (defaults filled in); names in them are checked here, before anything starts */
  create(options: Partial<O>): Target
}

/** Whether a run may bring its target back after a break, and how it says so. */
export type Admission = { attempt: string } | { stop: InfraError }

/**
 * What the suite runner asks of whoever owns the target's sessions
 * (targets/lifecycle.ts) once a session broke mid-run and was closed.
 */
export interface SessionRecovery {
  /**
   * Whether one more start is allowed after `broke`: `attempt` says which
   * (" (2 of 5)"), `stop` is the error the run ends on. `pinnedOnHeap`: the
   * heap is to blame (a kernel crash, the OOM killer taking the agent), so
   * it does not count against the bound.
   */
  admit(broke: InfraError, pinnedOnHeap: boolean): Admission
  /** A fresh session, its facts its own; rejects with an InfraError when the target does not come back. */
  restart(): Promise<TargetSession>
}
