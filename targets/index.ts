/** The targets a user can name with --target. */
import { UsageError } from '../core/errors.js'
import type { Target } from '../core/target.js'
import { localTarget } from '../runners/local.js'
import { qemuTarget, type QemuTargetOptions } from './qemu.js'
import { qemuUserTarget } from './qemu-user.js'

export const TARGET_NAMES = ['qemu', 'local', 'qemu-user-aarch64'] as const
export const DEFAULT_TARGET = 'qemu'

export function resolveTarget(name: string, qemu: QemuTargetOptions): Target {
  switch (name) {
    case 'qemu':
    case 'qemu-x86_64':
      return qemuTarget(qemu)
    case 'local':
      return localTarget
    case 'qemu-user-aarch64':
      return qemuUserTarget('aarch64')
    default:
      throw new UsageError(`unknown target "${name}"`, `choose one of: ${TARGET_NAMES.join(', ')}`)
  }
}
