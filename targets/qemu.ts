/**
 * The QEMU targets: a kernel booted with the harness's initramfs, x86_64
 * under qemu-system-x86_64 -M pc, arm64 under qemu-system-aarch64 -M virt.
 * With no --kernel it is Debian's 6.12 (x86_64); any bzImage or arm64 Image
 * can be given, and its architecture is read from its header. Disposable,
 * so destructive cases run here by default.
 */
import { arch as hostArch } from 'node:os'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InfraError } from '../core/errors.js'
import { agentBinary, type Arch } from '../core/paths.js'
import type { KindFacts, StartContext, Target, TargetFacts, TargetKind, TargetSession } from '../core/target.js'
import { positiveSeconds } from '../core/option-values.js'
import { bootQemu, type Accel, type AccelChoice } from '../runners/qemu.js'
import { debianKernel } from './debian-kernel.js'
import { BUSYBOX, buildInitramfs, isStaticElf } from './initramfs.js'
import type { KernelArch } from './kernel-build.js'
import { kernelImageArch } from './kernel-image.js'
import { resolveModules, type Module } from './modules.js'
import { importerForDebianKernel } from './importer-module.js'
import { guestTree } from './device-tree-build.js'
import { parseRegionSpec, type RegionSpec } from './reserved-memory.js'

export interface QemuTargetOptions {
  kernel?: string
  memory?: string
  cmdline?: string
  accel?: AccelChoice
  bootTimeoutMs?: number
  /** reserve a CMA area of this size (cma=), so the CMA heap appears */
  cma?: string
  /** arm64: boot this device tree instead of QEMU's own */
  dtb?: string
  /** arm64: reserved-memory regions added to the tree (targets/reserved-memory.ts) */
  reservedMemory?: RegionSpec[]
}

interface ArchProfile {
  qemu: string
  machineArgs(accel: Accel): string[]
  console: string
  agent: Arch
  /** the Node name of a host that can run this guest under KVM */
  kvmHost: string
}

const PROFILES: Record<KernelArch, ArchProfile> = {
  x86_64: {
    qemu: 'qemu-system-x86_64',
    machineArgs: (accel) => ['-M', 'pc', '-cpu', accel === 'kvm' ? 'host' : 'max'],
    console: 'ttyS0',
    agent: 'x86_64',
    kvmHost: 'x64',
  },
  arm64: {
    qemu: 'qemu-system-aarch64',
    machineArgs: (accel) => ['-M', 'virt', '-cpu', accel === 'kvm' ? 'host' : 'max'],
    console: 'ttyAMA0',
    agent: 'aarch64',
    kvmHost: 'arm64',
  },
}

/** Loaded in the guest when the kernel has them as modules: vgem for the import suite. */
const GUEST_MODULES = ['vgem']

/**
 * init_on_alloc=0: Debian enables it by default, and it zeroes every page a
 * heap gets, which would hide a heap that forgets to clear its memory.
 * panic=-1 with -no-reboot turns a panic into QEMU exiting, never a hang.
 */
export function baseCmdline(console: string): string {
  return `console=${console} panic=-1 init_on_alloc=0 rdinit=/init quiet`
}

/** The static busybox for the guest, where this machine has one for its architecture. */
async function guestBusybox(agent: Arch): Promise<string | undefined> {
  const hostIs = hostArch() === 'x64' ? 'x86_64' : hostArch() === 'arm64' ? 'aarch64' : hostArch()
  if (hostIs !== agent) return undefined
  try {
    return (await isStaticElf(BUSYBOX)) ? BUSYBOX : undefined
  } catch {
    return undefined
  }
}

/** What a guest gets when the command line does not say (the flags show the same defaults). */
const DEFAULT_MEMORY = '512M'
const DEFAULT_BOOT_TIMEOUT_S = 60

const DESCRIPTION = 'a kernel in QEMU (Debian 6.12 x86_64 by default, or --kernel IMAGE: x86_64 or arm64), KVM if it works, else TCG'

/** A guest is thrown away after the run, and its kernel sees every ioctl the agent makes. */
const QEMU_FACTS: KindFacts = { disposable: true, rawIoctls: true }

export function qemuTarget(opts: QemuTargetOptions = {}): Target {
  return {
    name: 'qemu',
    description: DESCRIPTION,
    async start(ctx: StartContext): Promise<TargetSession> {
      let kernelImage: string
      let kernelSource: string
      let arch: KernelArch
      let modules: Module[] = []
      const facts: Pick<TargetFacts, 'initOnAllocDefault' | 'importerMissing'> = {}
      if (opts.kernel) {
        arch = await kernelImageArch(opts.kernel)
        kernelImage = opts.kernel
        kernelSource = opts.kernel
        // A self-built kernel's config sits two levels above its image (O=/arch/<arch>/boot).
        const config = await readFile(join(opts.kernel, '..', '..', '..', '..', '.config'), 'utf8').catch(() => '')
        if (config) facts.initOnAllocDefault = /^CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y$/m.test(config)
        // Read only when the guest has no /dev/dmaheap_importer.
        facts.importerMissing = 'this kernel has no test importer: build it in with `dmaheap kernel build --importer`, or load native/importer built against the kernel\'s build folder (make -C BUILD M=native/importer)'
      } else {
        arch = 'x86_64'
        const k = await debianKernel(ctx.log)
        kernelImage = k.image
        kernelSource = k.package
        const resolved = await resolveModules(k.modulesDir, GUEST_MODULES)
        modules = resolved.modules
        if (resolved.missing.length) ctx.log(`modules not in ${k.package}: ${resolved.missing.join(', ')}`)
        const importer = await importerForDebianKernel(k.release, ctx.log)
        if ('module' in importer) modules.push(importer.module)
        else {
          facts.importerMissing = importer.missing
          ctx.log(importer.missing)
        }
        const config = await readFile(k.config, 'utf8').catch(() => '')
        facts.initOnAllocDefault = /^CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y$/m.test(config)
      }
      const profile = PROFILES[arch]
      const busybox = await guestBusybox(profile.agent)
      const initrd = await buildInitramfs({ agent: agentBinary(profile.agent), busybox, modules })
      const cmdline = [baseCmdline(profile.console), opts.cma ? `cma=${opts.cma}` : '', opts.cmdline].filter(Boolean).join(' ')
      const consoleLog = join(ctx.outputDir, 'console.log')
      const memory = opts.memory ?? DEFAULT_MEMORY
      const tree = opts.dtb || opts.reservedMemory?.length
        ? await guestTree({ arch, qemu: profile.qemu, machineArgs: profile.machineArgs('tcg'), memory, smp: 1, kernel: kernelImage, initrd, ...opts, dir: ctx.outputDir, log: ctx.log })
        : undefined
      // KVM only runs a guest of the host's own architecture.
      const accel: AccelChoice = hostArch() === profile.kvmHost ? (opts.accel ?? 'auto') : 'tcg'
      ctx.log(`booting ${kernelSource} (${arch}) in QEMU`)
      const s = await bootQemu({
        qemu: profile.qemu,
        machineArgs: profile.machineArgs,
        kernel: kernelImage,
        initrd,
        cmdline,
        ...(tree ? { dtb: tree.dtb } : {}),
        memory,
        // One vCPU under TCG: with two, multi-threaded TCG has shown an
        // "Oops: int3" in the kernel's own code patching during boot.
        smp: (a) => (a === 'kvm' ? 2 : 1),
        accel,
        bootTimeoutMs: opts.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_S * 1000,
        consoleLog,
        log: ctx.log,
      })
      if (s.hello.machine !== profile.agent) {
        await s.close()
        throw new InfraError(`the guest reports ${s.hello.machine}, expected ${profile.agent}`)
      }
      ctx.log(`booted in ${(s.bootMs / 1000).toFixed(1)} s under ${s.accel.toUpperCase()}: Linux ${s.hello.release} ${arch}`)
      return {
        info: {
          target: `qemu-${arch}`,
          hello: s.hello,
          facts: { ...QEMU_FACTS, destructiveAllowed: true, transport: 'virtio-serial', ...facts, arch, accel: s.accel, bootMs: s.bootMs, kernel: kernelSource, cmdline, ...(tree ? { dtb: tree.dtb, ...(tree.regions.length ? { reservedMemory: tree.regions } : {}) } : {}) },
        },
        agent: s.agent,
        artifacts: { console: consoleLog, ...(tree?.dts ? { dts: tree.dts } : {}) },
        consoleTail: s.consoleTail,
        close: s.close,
      }
    },
  }
}

/** `--target qemu` and its flags (targets/registry.ts lists it). */
export const qemuKind: TargetKind<{ kernel?: string; memory?: string; cmdline?: string; accel?: AccelChoice; bootTimeout?: number; cma?: string; dtb?: string; reservedMemory?: readonly string[] }> = {
  name: 'qemu',
  aliases: ['qemu-x86_64'],
  description: DESCRIPTION,
  options: {
    kernel: { flag: '--kernel <image>', description: 'boot this kernel image instead of Debian\'s 6.12' },
    memory: { flag: '--memory <size>', description: 'guest memory (smaller is faster to exhaust)', default: DEFAULT_MEMORY },
    cmdline: { flag: '--cmdline <args>', description: 'extra kernel command line arguments' },
    accel: { flag: '--accel <accel>', description: 'accelerator; auto tries KVM and falls back to TCG', choices: ['auto', 'kvm', 'tcg'], env: 'DMAHEAP_ACCEL', default: 'auto' },
    bootTimeout: { flag: '--boot-timeout <seconds>', description: 'how long the agent may take to come up', parse: positiveSeconds, default: DEFAULT_BOOT_TIMEOUT_S },
    cma: { flag: '--cma <size>', description: 'reserve a CMA area (cma=SIZE) so the CMA heap appears, e.g. 256M' },
    dtb: { flag: '--dtb <file>', description: 'arm64: boot this device tree (.dtb) instead of QEMU\'s own; the harness still gives the command line and initramfs' },
    reservedMemory: {
      flag: '--reserved-memory <spec>',
      description: 'arm64: add a reserved-memory region to the device tree, NAME[@BASE]:SIZE[:PROPS], e.g. carveout:64M:compatible=dmaheap-test,carveout (repeatable)',
      repeatable: true,
      parse: (text) => (parseRegionSpec(text), text),
    },
  },
  facts: QEMU_FACTS,
  create: (o) =>
    qemuTarget({
      ...(o.kernel ? { kernel: o.kernel } : {}),
      ...(o.cmdline ? { cmdline: o.cmdline } : {}),
      ...(o.cma ? { cma: o.cma } : {}),
      ...(o.dtb ? { dtb: o.dtb } : {}),
      ...(o.reservedMemory?.length ? { reservedMemory: o.reservedMemory.map(parseRegionSpec) } : {}),
      ...(o.memory ? { memory: o.memory } : {}),
      ...(o.accel ? { accel: o.accel } : {}),
      ...(o.bootTimeout !== undefined ? { bootTimeoutMs: o.bootTimeout * 1000 } : {}),
    }),
}
