/** The targets a user can name with --target, and the one a command's flags pick. */
import { UsageError } from '../core/errors.js'
import type { Target } from '../core/target.js'
import { localTarget } from '../runners/local.js'
import { loadBoard, resolveBoardFile, type BoardDescription } from './board.js'
import { boardTarget } from './board-target.js'
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

/** Where a command runs, as run, bench and list --heaps take it from their flags. */
export interface TargetChoice {
  /** --target; not used when a board is given */
  target: string
  qemu: QemuTargetOptions
  /** --board: a board description file, or NAME for boards/NAME.yaml */
  board?: string
  /** boards: the known_hosts file to check host keys against */
  knownHosts?: string
  /** boards: record a host key never seen before */
  acceptNewHostKey?: boolean
}

export interface ChosenTarget {
  target: Target
  /** the board's description, when the target is a board (its heaps and budget are defaults for a run) */
  board?: BoardDescription
}

/** The one place a command's target is picked: a board when --board names one, else --target. */
export function chooseTarget(choice: TargetChoice): ChosenTarget {
  if (!choice.board) return { target: resolveTarget(choice.target, choice.qemu) }
  const board = loadBoard(resolveBoardFile(choice.board))
  return { target: boardTarget(board, { knownHosts: choice.knownHosts, acceptNewHostKey: choice.acceptNewHostKey }), board }
}
