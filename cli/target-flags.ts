/**
 * The flags that pick where a command runs, shared by run, bench and
 * list --heaps: --target and the QEMU guest's flags, or --board and its
 * host key flags. One definition, so a board means the same to each.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { UsageError } from '../core/errors.js'
import type { AccelChoice } from '../runners/qemu.js'
import { DEFAULT_TARGET, TARGET_NAMES, type TargetChoice } from '../targets/index.js'
import type { QemuTargetOptions } from '../targets/qemu.js'

export function seconds(v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds')
  return n
}

export function withTargetOptions(cmd: Command): Command {
  return (
    cmd
      .addOption(new Option('-t, --target <name>', 'where to run').choices([...TARGET_NAMES, 'qemu-x86_64']).default(DEFAULT_TARGET))
      .option('--kernel <image>', 'QEMU: boot this kernel image instead of Debian\'s 6.12')
      .option('--memory <size>', 'QEMU: guest memory (smaller is faster to exhaust)', '512M')
      .option('--cmdline <args>', 'QEMU: extra kernel command line arguments')
      .addOption(new Option('--accel <accel>', 'QEMU: accelerator; auto tries KVM and falls back to TCG').choices(['auto', 'kvm', 'tcg']).env('DMAHEAP_ACCEL').default('auto'))
      .option('--boot-timeout <seconds>', 'QEMU: how long the agent may take to come up', seconds, 60)
      .option('--cma <size>', 'QEMU: reserve a CMA area (cma=SIZE) so the CMA heap appears, e.g. 256M')
      // A board is the target: a --target beside it would be ignored, so it is refused.
      .addOption(new Option('--board <name|file>', 'run on a board over SSH, described by this YAML file (or boards/NAME.yaml)').conflicts(['target', 'farm']))
      .option('--known-hosts <file>', 'boards: check host keys against this known_hosts file (default ~/.ssh/known_hosts)')
      .option('--accept-new-host-key', 'boards: accept a host key never seen before, and record it in known_hosts')
  )
}

export interface TargetFlags {
  target: string
  kernel?: string
  cma?: string
  memory: string
  cmdline?: string
  accel: AccelChoice
  bootTimeout: number
  board?: string
  knownHosts?: string
  acceptNewHostKey?: boolean
}

/** The QEMU flags, refused on a target that is not a QEMU guest rather than ignored. */
function qemuOptions(o: TargetFlags): QemuTargetOptions {
  if (!o.target.startsWith('qemu') || o.target === 'qemu-user-aarch64') {
    const given = (['kernel', 'cma', 'cmdline'] as const).filter((k) => o[k] !== undefined)
    if (given.length) {
      throw new UsageError(`--${given[0]} applies to QEMU guests, not to --target ${o.target}`, `drop --${given[0]}, or run on --target qemu`)
    }
  }
  return {
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.cmdline ? { cmdline: o.cmdline } : {}),
    ...(o.cma ? { cma: o.cma } : {}),
    memory: o.memory,
    accel: o.accel,
    bootTimeoutMs: o.bootTimeout * 1000,
  }
}

/** Boards are not QEMU guests: their flags would be ignored, so they are refused. */
export function refuseQemuFlagsOnBoards(o: TargetFlags, flag: string): void {
  const given = (['kernel', 'cma', 'cmdline'] as const).filter((k) => o[k] !== undefined)
  if (given.length) throw new UsageError(`--${given[0]} applies to QEMU guests, not to boards (${flag})`, `drop --${given[0]}`)
}

/** The target a command's flags pick (targets/index.ts chooseTarget starts it). */
export function targetChoice(o: TargetFlags): TargetChoice {
  if (o.board) refuseQemuFlagsOnBoards(o, '--board')
  return {
    target: o.target,
    qemu: qemuOptions(o),
    ...(o.board ? { board: o.board } : {}),
    ...(o.knownHosts ? { knownHosts: o.knownHosts } : {}),
    ...(o.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
  }
}
