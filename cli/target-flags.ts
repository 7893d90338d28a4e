/**
 * The flags that pick where a command runs, shared by run, bench and
 * list --heaps: --target, and every option a target kind declares
 * (targets/registry.ts), made into flags here. A kind picked by its own
 * option (--board) takes the place of --target.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { UsageError } from '../core/errors.js'
import { positiveSeconds } from '../core/option-values.js'
import type { OptionValue, TargetOption } from '../core/target.js'
import { DEFAULT_TARGET, flagName, targetNames, targetOptions, type TargetChoice } from '../targets/registry.js'

/** A parser's Error as commander's one-line usage error. */
function argParser(parse: (text: string) => OptionValue): (text: string) => OptionValue {
  return (text) => {
    try {
      return parse(text)
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message)
    }
  }
}

export const seconds = argParser(positiveSeconds) as (text: string) => number

function commanderOption(option: TargetOption, takenBy: string[], selector: boolean): Option {
  // A selector says what it is itself; any other flag says which targets take it.
  const o = new Option(option.flag, selector ? option.description : `${takenBy.join(', ')}: ${option.description}`)
  if (option.choices) o.choices(option.choices)
  if (option.env) o.env(option.env)
  if (option.repeatable) {
    const parse = option.parse ? argParser(option.parse) : (text: string) => text
    o.argParser((text: string, previous: readonly string[] | undefined) => [...(previous ?? []), String(parse(text))])
  } else if (option.parse) o.argParser(argParser(option.parse))
  if (option.default !== undefined) o.default(option.default)
  // A target picked by its own option is the target: a --target beside it would be ignored, so it is refused.
  if (selector) o.conflicts(['target', 'farm'])
  return o
}

export function withTargetOptions(cmd: Command): Command {
  cmd.addOption(new Option('-t, --target <name>', 'where to run').choices(targetNames()).default(DEFAULT_TARGET))
  for (const { key, option, kinds } of targetOptions()) {
    const selector = kinds.some((k) => k.selectedBy === key)
    cmd.addOption(commanderOption(option, kinds.map((k) => k.name), selector))
  }
  return cmd
}

/** The target a command's flags pick (targets/registry.ts chooseTarget makes it). */
export function targetChoice(cmd: Command): TargetChoice {
  const opts = cmd.opts<Record<string, unknown>>()
  const keys = targetOptions().map((o) => o.key)
  return {
    target: String(opts.target ?? DEFAULT_TARGET),
    values: Object.fromEntries(keys.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k] as OptionValue])),
    // Only what the command line said can be refused: a default or DMAHEAP_ACCEL in the environment is no request.
    given: keys.filter((k) => cmd.getOptionValueSource(k) === 'cli'),
  }
}

/** list without --heaps starts nothing: a target option there would be ignored, so it is refused. */
export function refuseTargetOptionsWithoutStart(choice: TargetChoice, needs: string): void {
  const given = targetOptions().find((o) => choice.given.includes(o.key))
  if (given) {
    const flag = flagName(given.option)
    throw new UsageError(`${flag} applies to ${needs} (the suites and cases are the same on every target)`, `add ${needs.split(' ').pop()} to list the target's heaps, or drop ${flag}`)
  }
}
