/**
 * Every kind of target a command can run on, in one list, and the one place
 * a command's target is picked from its options.
 *
 * A new target (the LAVA one, say) is one file and one line:
 *  1. targets/NAME.ts exports a TargetKind (core/target.ts): its --target
 *     name, the options it takes (each a TargetOption: flag, description,
 *     default, parse; or `selectedBy`, its own option that picks it as
 *     --board does), the facts it states (KindFacts here, the full
 *     TargetFacts on each session), and create(options), which makes the
 *     Target whose start() brings up an agent and returns a TargetSession
 *     (its close() leaves consoleTail complete);
 *  2. its kind is added to TARGET_KINDS below.
 * Nothing else changes: the CLI makes its flags from these declarations
 * (cli/target-flags.ts) and refuses an option the chosen target does not
 * take, naming those that do; starting, recovery after a break and Ctrl-C
 * are the lifecycle's (targets/lifecycle.ts), the same for every kind.
 */
import { UsageError } from '../core/errors.js'
import type { OptionValue, Target, TargetKind, TargetOption } from '../core/target.js'
import { boardKind } from './board-target.js'
import { lavaKind } from './lava.js'
import { localKind } from './local.js'
import { qemuKind } from './qemu.js'
import { qemuUserKind } from './qemu-user.js'

export const TARGET_KINDS: readonly TargetKind[] = [qemuKind, localKind, qemuUserKind, boardKind, lavaKind]

export const DEFAULT_TARGET = qemuKind.name

/** Where a command runs, as its options say (run, bench, list --heaps). */
export interface TargetChoice {
  /** --target; a kind's own selector option (--board) takes its place */
  target?: string
  /** the value of every target option the command line holds, defaults filled in, by key */
  values: Readonly<Record<string, OptionValue | undefined>>
  /** the keys given on the command line itself (not defaults, not the environment): only these are refused */
  given: readonly string[]
}

/** '--kernel <image>' to '--kernel'. */
export const flagName = (o: TargetOption): string => o.flag.split(' ')[0]!

/** How messages name a kind: `--target qemu`, or its selector flag (`--board`). */
export function kindLabel(kind: TargetKind): string {
  return kind.selectedBy ? flagName(kind.options[kind.selectedBy]!) : `--target ${kind.name}`
}

/** The names --target takes: every kind's, then their aliases (a kind picked by its own option has none). */
export function targetNames(kinds: readonly TargetKind[] = TARGET_KINDS): string[] {
  const named = kinds.filter((k) => !k.selectedBy)
  return [...named.map((k) => k.name), ...named.flatMap((k) => k.aliases ?? [])]
}

/** One option as the CLI offers it: declared once, by every kind that takes it. */
export interface SharedOption {
  key: string
  option: TargetOption
  kinds: TargetKind[]
}

/**
 * Every target option, each once. Two kinds may take the same option (the
 * same key and flag); the same key or flag declared differently is a
 * mistake in the declarations.
 */
export function targetOptions(kinds: readonly TargetKind[] = TARGET_KINDS): SharedOption[] {
  const byKey = new Map<string, SharedOption>()
  const byFlag = new Map<string, string>()
  for (const kind of kinds) {
    for (const [key, option] of Object.entries(kind.options)) {
      const flag = flagName(option)
      const known = byKey.get(key)
      if (byFlag.has(flag) && byFlag.get(flag) !== key) throw new Error(`${kind.name} declares ${flag} for "${key}", another target for "${byFlag.get(flag)}"`)
      if (known && known.option.flag !== option.flag) throw new Error(`${kind.name} declares "${key}" as ${option.flag}, ${known.kinds[0]!.name} as ${known.option.flag}`)
      byFlag.set(flag, key)
      if (known) known.kinds.push(kind)
      else byKey.set(key, { key, option, kinds: [kind] })
    }
  }
  return [...byKey.values()]
}

/** The kind a choice picks: one whose selector option was given, else the one --target names. */
export function kindOf(choice: Pick<TargetChoice, 'target' | 'values'>, kinds: readonly TargetKind[] = TARGET_KINDS): TargetKind {
  const selected = kinds.find((k) => k.selectedBy && choice.values[k.selectedBy] !== undefined)
  if (selected) return selected
  const name = choice.target ?? DEFAULT_TARGET
  const kind = kinds.find((k) => !k.selectedBy && (k.name === name || k.aliases?.includes(name)))
  if (!kind) throw new UsageError(`unknown target "${name}"`, `choose one of: ${targetNames(kinds).join(', ')}`)
  return kind
}

/**
 * An option given on the command line that `kind` does not take would be
 * ignored: it is refused, naming the targets that take it. `as` names the
 * target in the message when it is not picked by --target (--farm runs boards).
 */
export function refuseOthersOptions(kind: TargetKind, given: readonly string[], as = kindLabel(kind), kinds: readonly TargetKind[] = TARGET_KINDS): void {
  for (const key of given) {
    if (key in kind.options) continue
    const takers = kinds.filter((k) => key in k.options)
    if (!takers.length) continue // not a target option: the command's own
    const flag = flagName(takers[0]!.options[key]!)
    const labels = takers.map(kindLabel)
    throw new UsageError(`${flag} applies to ${labels.join(' and ')}, not to ${as}`, `drop ${flag}, or run on ${labels[0]}`)
  }
}

/** The options of `kind` a choice holds, by key. */
function optionsOf(kind: TargetKind, values: TargetChoice['values']): Record<string, OptionValue | undefined> {
  return Object.fromEntries(Object.keys(kind.options).filter((k) => values[k] !== undefined).map((k) => [k, values[k]]))
}

/** The one place a command's target is picked and made; every name in its options is checked before anything starts. */
export function chooseTarget(choice: TargetChoice, kinds: readonly TargetKind[] = TARGET_KINDS): Target {
  const kind = kindOf(choice, kinds)
  refuseOthersOptions(kind, choice.given, kindLabel(kind), kinds)
  return kind.create(optionsOf(kind, choice.values))
}

/**
 * The options of `kind` that were given, as command-line arguments again:
 * what a farm passes on to each board's own `dmaheap run` (its selector
 * left out: the farm names each board itself).
 */
export function optionArgs(kind: TargetKind, choice: Pick<TargetChoice, 'values' | 'given'>): string[] {
  return choice.given.flatMap((key) => {
    const option = kind.options[key]
    const value = choice.values[key]
    if (!option || key === kind.selectedBy || value === undefined || value === false) return []
    if (Array.isArray(value)) return value.flatMap((v) => [flagName(option), String(v)])
    return option.flag.includes(' ') ? [flagName(option), String(value)] : [flagName(option)]
  })
}
