/**
 * The default target: Debian's 6.12 kernel (or any x86_64 bzImage given with
 * --kernel) booted under qemu-system-x86_64 with the harness's initramfs.
 * Disposable, so destructive cases may run here by default.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InfraError, UsageError } from '../core/errors.js'
import { agentBinary } from '../core/paths.js'
import type { StartContext, Target, TargetSession } from '../core/target.js'
import { bootQemu, type AccelChoice } from '../runners/qemu.js'
import { debianKernel } from './debian-kernel.js'
import { buildInitramfs } from './initramfs.js'
import { resolveModules, type Module } from './modules.js'

/** Loaded in the guest when the kernel has them as modules: vgem for the import suite. */
const GUEST_MODULES = ['vgem']

export interface QemuTargetOptions {
  kernel?: string
  memory?: string
  cmdline?: string
  accel?: AccelChoice
  bootTimeoutMs?: number
}

/**
 * init_on_alloc=0: Debian enables it by default, and it zeroes every page a
 * heap gets, which would hide a heap that forgets to clear its memory.
 * panic=-1 with -no-reboot turns a panic into QEMU exiting, never a hang.
 */
export const BASE_CMDLINE = 'console=ttyS0 panic=-1 init_on_alloc=0 rdinit=/init quiet'

export function qemuX86Target(opts: QemuTargetOptions = {}): Target {
  return {
    name: 'qemu-x86_64',
    description: 'Debian 6.12 kernel (or --kernel IMAGE) in qemu-system-x86_64, KVM if it works, else TCG',
    async start(ctx: StartContext): Promise<TargetSession> {
      let kernelImage: string
      let kernelSource: string
      let modules: Module[] = []
      const facts: Record<string, string | number | boolean> = {}
      if (opts.kernel) {
        if (!existsSync(opts.kernel)) throw new UsageError(`no kernel image at ${opts.kernel}`, 'pass the path of a bzImage')
        kernelImage = opts.kernel
        kernelSource = opts.kernel
      } else {
        const k = await debianKernel(ctx.log)
        kernelImage = k.image
        kernelSource = k.package
        const resolved = await resolveModules(k.modulesDir, GUEST_MODULES)
        modules = resolved.modules
        if (resolved.missing.length) ctx.log(`modules not in ${k.package}: ${resolved.missing.join(', ')}`)
        const config = await readFile(k.config, 'utf8').catch(() => '')
        facts.initOnAllocDefault = /^CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y$/m.test(config)
      }
      const initrd = await buildInitramfs({ agent: agentBinary('x86_64'), modules })
      const cmdline = [BASE_CMDLINE, opts.cmdline].filter(Boolean).join(' ')
      const consoleLog = join(ctx.outputDir, 'console.log')
      ctx.log(`booting ${kernelSource} in QEMU`)
      const s = await bootQemu({
        qemu: 'qemu-system-x86_64',
        machineArgs: (accel) => ['-M', 'pc', '-cpu', accel === 'kvm' ? 'host' : 'max'],
        kernel: kernelImage,
        initrd,
        cmdline,
        memory: opts.memory ?? '1G',
        // One vCPU under TCG: with two, multi-threaded TCG has shown an
        // "Oops: int3" in the kernel's own code patching during boot.
        smp: (accel) => (accel === 'kvm' ? 2 : 1),
        accel: opts.accel ?? 'auto',
        bootTimeoutMs: opts.bootTimeoutMs ?? 60_000,
        consoleLog,
        log: ctx.log,
      })
      if (s.hello.machine !== 'x86_64') {
        await s.close()
        throw new InfraError(`the guest reports ${s.hello.machine}, expected x86_64`)
      }
      ctx.log(`booted in ${(s.bootMs / 1000).toFixed(1)} s under ${s.accel.toUpperCase()}: Linux ${s.hello.release}`)
      return {
        info: {
          target: 'qemu-x86_64',
          hello: s.hello,
          facts: { ...facts, accel: s.accel, bootMs: s.bootMs, kernel: kernelSource, cmdline, disposable: true },
        },
        agent: s.agent,
        artifacts: { console: consoleLog },
        consoleTail: s.consoleTail,
        close: s.close,
      }
    },
  }
}
