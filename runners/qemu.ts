/**
 * The QEMU transport: boots a kernel with the harness's initramfs and talks to
 * the agent over a virtio-serial port (a unix socket on the host). The serial
 * console is kept in a log file with the results and in memory, so a boot
 * that fails is diagnosed from what the kernel printed, never waited on.
 */
import { constants, existsSync } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { createWriteStream, type WriteStream } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa, type ResultPromise } from 'execa'
import { Agent } from '../core/agent.js'
import { InfraError } from '../core/errors.js'
import type { Responses } from '../core/protocol.js'
import { StreamTransport } from './stream-transport.js'
import { TailBuffer } from './tail-buffer.js'
import { helloOrFail } from './hello.js'
import { readAccelVerdict, writeAccelVerdict } from './accel-cache.js'

export type Accel = 'kvm' | 'tcg'
export type AccelChoice = Accel | 'auto'

export interface QemuBootSpec {
  qemu: string
  /** machine and CPU arguments for this architecture, without -accel */
  machineArgs(accel: Accel): string[]
  kernel: string
  initrd: string
  cmdline: string
  /** a device tree to boot instead of the machine's own (arm64 virt) */
  dtb?: string
  memory: string
  /** vCPUs for an accelerator */
  smp(accel: Accel): number
  accel: AccelChoice
  /** how long the agent may take to answer after QEMU starts */
  bootTimeoutMs: number
  consoleLog: string
  /** progress lines for a human */
  log(message: string): void
}

export interface QemuSession {
  agent: Agent
  hello: Responses['hello']
  accel: Accel
  bootMs: number
  consoleTail(lines?: number): string
  close(): Promise<void>
}

/** How long KVM gets to print its first console byte before we call it hung. */
const KVM_PROBE_MS = 8_000
const TAIL_LINES = 400
/** QEMU creates the agent's socket before it runs the guest. */
const SOCKET_WAIT_MS = 20_000

/**
 * A guest may print without end, or one endless line: memory and disk per
 * boot are bounded. A console line longer than CONSOLE_LINE_MAX is broken
 * into pieces (as a terminal wraps it); console.log stops at
 * CONSOLE_FILE_MAX with a note; QEMU's stderr keeps its last QEMU_STDERR_MAX.
 */
const CONSOLE_LINE_MAX = 16 * 1024
const CONSOLE_FILE_MAX = 64 * 1024 * 1024
const QEMU_STDERR_MAX = 64 * 1024

export class Console {
  private lines: string[] = []
  private partial = ''
  private readonly file: WriteStream
  bytes = 0
  constructor(path: string) {
    this.file = createWriteStream(path, { flags: 'a' })
  }
  push(chunk: Buffer): void {
    if (this.bytes < CONSOLE_FILE_MAX) {
      this.file.write(chunk.subarray(0, CONSOLE_FILE_MAX - this.bytes))
      if (this.bytes + chunk.length >= CONSOLE_FILE_MAX) this.file.write(`\n[dmaheap: console.log stops here, at ${CONSOLE_FILE_MAX >> 20} MiB; the guest printed more]\n`)
    }
    this.bytes += chunk.length
    const text = this.partial + chunk.toString('utf8').replace(/\r/g, '')
    const parts = text.split('\n')
    this.partial = parts.pop() ?? ''
    for (const part of parts) this.add(part)
    while (this.partial.length > CONSOLE_LINE_MAX) {
      this.add(this.partial.slice(0, CONSOLE_LINE_MAX))
      this.partial = this.partial.slice(CONSOLE_LINE_MAX)
    }
  }
  private add(line: string): void {
    for (let at = 0; at < line.length || at === 0; at += CONSOLE_LINE_MAX) this.lines.push(line.slice(at, at + CONSOLE_LINE_MAX))
    if (this.lines.length > 2 * TAIL_LINES) this.lines.splice(0, this.lines.length - TAIL_LINES)
  }
  tail(n = 30): string {
    if (this.lines.length > TAIL_LINES) this.lines.splice(0, this.lines.length - TAIL_LINES)
    return [...this.lines, this.partial].filter((l) => l !== '').slice(-n).join('\n')
  }
  /** The lines that explain a failure: from the first panic, Oops or BUG line, else the last ones. */
  excerpt(n = 20): string {
    const lines = [...this.lines, this.partial].filter((l) => l !== '')
    const first = lines.findIndex((l) => /Kernel panic|Oops|BUG:|Failed to execute|No working init/.test(l))
    return (first >= 0 ? lines.slice(Math.max(0, first - 2), first - 2 + n) : lines.slice(-n)).join('\n')
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l)) || re.test(this.partial)
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(resolve))
  }
}

/** Names the likely cause of a boot that produced no agent. */
export function diagnoseBoot(consoleText: string, qemuStderr: string, exited: boolean): string {
  if (/KVM internal error|emulation failure/.test(qemuStderr)) return 'KVM failed to run the guest (use --accel tcg)'
  if (!consoleText.trim()) {
    if (exited && qemuStderr.trim()) return `QEMU failed: ${qemuStderr.trim().split('\n').pop()}`
    return 'the kernel printed nothing: not a kernel image for this machine, or the wrong console= (ttyS0 on x86_64, ttyAMA0 on arm64)'
  }
  if (/No working init found|Failed to execute|Attempted to kill init/.test(consoleText))
    return 'the init in the initramfs failed or the agent exited'
  if (/VFS: Unable to mount root fs|No filesystem could mount root/.test(consoleText))
    return 'the kernel ran no init from the initramfs and found no root filesystem (is CONFIG_BLK_DEV_INITRD set? is rdinit= right?)'
  if (/Kernel panic/.test(consoleText)) return 'the kernel panicked during boot'
  if (/no virtio-serial port named/.test(consoleText))
    return 'the guest has no virtio-serial port: the kernel needs CONFIG_VIRTIO_CONSOLE and CONFIG_VIRTIO_PCI'
  return 'the agent never answered: the kernel may lack CONFIG_VIRTIO_CONSOLE, or boot is slower than --boot-timeout'
}

async function kvmUsable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK)
    return true
  } catch {
    return false
  }
}

async function waitForFile(path: string, ms: number, exited: () => boolean): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end && !exited()) {
    if (existsSync(path)) return true
    await sleep(20)
  }
  return existsSync(path)
}

function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })
}

class BootAttemptFailed extends Error {
  constructor(
    message: string,
    readonly kvmHung: boolean,
  ) {
    super(message)
  }
}

async function bootOnce(spec: QemuBootSpec, accel: Accel, probeKvm: boolean): Promise<QemuSession> {
  const sockDir = await mkdtemp(join(tmpdir(), 'dmaheap-qemu-'))
  const sock = join(sockDir, 'agent.sock')
  const con = new Console(spec.consoleLog)
  const args = [
    '-accel', accel,
    ...spec.machineArgs(accel),
    '-m', spec.memory,
    '-smp', String(spec.smp(accel)),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', spec.cmdline,
    ...(spec.dtb ? ['-dtb', spec.dtb] : []),
    '-serial', 'stdio',
    '-device', 'virtio-serial-pci',
    '-chardev', `socket,id=agent,path=${sock},server=on,wait=off`,
    '-device', `virtserialport,chardev=agent,name=dmaheap.agent`,
  ]
  const t0 = Date.now()
  const stderrTail = new TailBuffer(QEMU_STDERR_MAX)
  let exited = false
  const proc: ResultPromise = execa(spec.qemu, args, {
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
  })
  proc.stdout?.on('data', (c: Buffer) => con.push(c))
  // The console's last bytes (a panic's last lines) can come after QEMU
  // exits: closing waits for its output to end, so consoleTail has them.
  const consoleEnded = new Promise<void>((resolve) => (proc.stdout ? proc.stdout.once('close', () => resolve()) : resolve()))
  proc.stderr?.on('data', (c: Buffer) => stderrTail.push(c))
  const stderrText = () => stderrTail.raw()
  const exit = proc.then((r) => {
    exited = true
    return r
  })

  let killed = false
  const kill = async () => {
    if (killed) return
    killed = true
    if (!exited) {
      proc.kill('SIGTERM')
      // An unref'd timer: a pending wait must not keep the process alive after QEMU exits.
      await Promise.race([exit, sleep(3000, undefined, { ref: false })])
      if (!exited) proc.kill('SIGKILL')
      await exit
    }
    await Promise.race([consoleEnded, sleep(1000, undefined, { ref: false })])
    await con.close()
    await rm(sockDir, { recursive: true, force: true })
  }

  const fail = async (kvmHung: boolean, why?: string): Promise<never> => {
    await sleep(100) // let the last console bytes and stderr arrive
    const cause = why ?? diagnoseBoot(con.tail(TAIL_LINES), stderrText(), exited)
    const tail = con.excerpt(20)
    await kill()
    throw Object.assign(new BootAttemptFailed(cause, kvmHung), { tail, stderr: stderrText() })
  }

  try {
    if (!(await waitForFile(sock, SOCKET_WAIT_MS, () => exited))) {
      await fail(false, exited ? undefined : `QEMU did not open its agent socket within ${SOCKET_WAIT_MS / 1000} s (a machine too busy?)`)
    }
    // QEMU may exit between creating the socket and our connect.
    const socket = await connectSocket(sock).catch(() => fail(false))
    const transport = new StreamTransport(socket, socket, 'QEMU virtio-serial port', kill)
    exit.then(() => transport.fail(`QEMU exited (${diagnoseBoot(con.tail(TAIL_LINES), stderrText(), true)})`))
    const agent = new Agent(transport)

    // Wait for the agent, watching for the ways a boot goes wrong meanwhile.
    let kvmHung = false
    let booted = false
    void (async () => {
      const deadline = t0 + spec.bootTimeoutMs
      while (!exited && !booted && Date.now() < deadline) {
        if (probeKvm && (/KVM internal error|emulation failure/.test(stderrText()) || (con.bytes === 0 && Date.now() - t0 > KVM_PROBE_MS))) {
          kvmHung = true
          transport.fail('KVM did not run the guest')
          return
        }
        if (con.has(/Kernel panic - not syncing/)) {
          await sleep(300)
          transport.fail('kernel panic during boot')
          return
        }
        await sleep(50)
      }
      if (!exited && !booted) transport.fail(`no agent within ${spec.bootTimeoutMs} ms`)
    })()
    let hello: Responses['hello']
    try {
      hello = await helloOrFail(agent, 'the QEMU guest', spec.bootTimeoutMs + 1000)
    } catch (e) {
      // An agent that answered, wrongly (a bad reply, a line past the cap):
      // that is the error, not a boot to diagnose from the console.
      if (!(e instanceof InfraError) || !/agent link lost/.test(e.message) || /the agent broke the protocol| sent a line /.test(e.message)) {
        await kill()
        throw e
      }
      await fail(kvmHung)
      throw e // not reached
    }
    // From here on a panic shows up as a lost link (QEMU exits, -no-reboot).
    booted = true
    const bootMs = Date.now() - t0
    return {
      agent,
      hello,
      accel,
      bootMs,
      consoleTail: (n) => con.tail(n),
      close: () => agent.close(),
    }
  } catch (e) {
    await kill()
    throw e
  }
}

async function qemuVersion(qemu: string): Promise<string> {
  const r = await execa(qemu, ['--version'], { reject: false })
  if (r.exitCode !== 0 && r.failed) {
    throw new InfraError(`${qemu} cannot run`, `install it: apt-get install ${qemu.includes('aarch64') ? 'qemu-system-arm' : 'qemu-system-x86'}`)
  }
  return r.stdout.split('\n')[0] ?? ''
}

/**
 * Boots and waits for the agent. With accel "auto", KVM is tried where
 * /dev/kvm is usable. Any KVM boot that does not reach the agent (QEMU aborts
 * on an assertion or an MSR it cannot set, "KVM internal error", a silent
 * console, a hang) is tried again under TCG: how a broken KVM fails differs
 * from host to host, so no failure mode is singled out. When TCG then boots,
 * KVM is remembered as broken (per host kernel and QEMU version); when TCG
 * fails too, the kernel or its command line is at fault and TCG's failure is
 * the one reported.
 */
export async function bootQemu(spec: QemuBootSpec): Promise<QemuSession> {
  const version = await qemuVersion(spec.qemu)
  const cacheKey = `${release()} ${version}`
  let accel: Accel
  if (spec.accel === 'auto') {
    const broken = (await readAccelVerdict(cacheKey)) === 'kvm-broken'
    accel = !broken && (await kvmUsable()) ? 'kvm' : 'tcg'
  } else {
    accel = spec.accel
  }
  const probeKvm = spec.accel === 'auto' && accel === 'kvm'
  try {
    return probeKvm ? await bootOnce(spec, accel, true) : await bootWithRetry(spec, accel, false)
  } catch (e) {
    if (!probeKvm || !(e instanceof BootAttemptFailed)) throw asInfra(e, spec.consoleLog)
    spec.log(`KVM did not bring the guest up here (${oneLine(e)}); booting under TCG`)
    let session: QemuSession
    try {
      session = await bootWithRetry(spec, 'tcg', false)
    } catch (e2) {
      throw asInfra(e2, spec.consoleLog)
    }
    // Remembered only for a failure that looks like KVM's own (a hang, KVM
    // or an MSR named by QEMU): one flaky boot must not demote a host for good.
    const stderr = (e as BootAttemptFailed & { stderr?: string }).stderr ?? ''
    if (e.kvmHung || /kvm|KVM|MSR|emulation failure/.test(stderr)) {
      await writeAccelVerdict(cacheKey, 'kvm-broken')
      spec.log('TCG booted where KVM did not: remembered, later runs on this host go straight to TCG')
    } else {
      spec.log('TCG booted where KVM did not; not remembered (the failure did not look like KVM\'s): the next run tries KVM again')
    }
    return session
  }
}

function oneLine(e: BootAttemptFailed): string {
  const stderr = (e as BootAttemptFailed & { stderr?: string }).stderr?.trim().split('\n').pop()
  return stderr && !e.message.includes(stderr) ? `${e.message}: ${stderr}` : e.message
}

/**
 * A boot that panicked or never brought the agent up is tried once more (an
 * emulator can flake); one that QEMU itself refused, or that gave no console
 * output at all, is not: it would fail the same way. Both consoles are kept.
 */
async function bootWithRetry(spec: QemuBootSpec, accel: Accel, probeKvm: boolean): Promise<QemuSession> {
  try {
    return await bootOnce(spec, accel, probeKvm)
  } catch (e) {
    if (!(e instanceof BootAttemptFailed) || !/panicked|never answered/.test(e.message)) throw e
    spec.log(`boot failed (${e.message}); trying once more`)
    return await bootOnce(spec, accel, probeKvm)
  }
}

function asInfra(e: unknown, consoleLog: string): unknown {
  if (e instanceof BootAttemptFailed) {
    const { tail } = e as BootAttemptFailed & { tail: string }
    return new InfraError(`boot failed: ${e.message}`, `console log: ${consoleLog}`, tail)
  }
  return e
}
