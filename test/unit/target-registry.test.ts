// The target registry: every kind declares its options and facts, the CLI's
// flags come from those declarations, and an option one target takes given
// to another is refused in one line naming both. A LAVA-like kind added to
// the list (a fake: nothing starts) shows a new target is one declaration.
import { Command } from 'commander'
import t from 'tap'
import { UsageError } from '../../core/errors.js'
import type { Target, TargetKind } from '../../core/target.js'
import { refuseTargetOptionsWithoutStart, targetChoice, withTargetOptions } from '../../cli/target-flags.js'
import { boardKind } from '../../targets/board-target.js'
import { chooseTarget, flagName, kindLabel, optionArgs, refuseOthersOptions, TARGET_KINDS, targetNames, targetOptions } from '../../targets/registry.js'

const usage = (f: () => unknown): UsageError => {
  try {
    f()
  } catch (e) {
    if (e instanceof UsageError) return e
    throw e
  }
  throw new Error('no UsageError')
}

t.test('every registered target declares its name, options and facts', async (t) => {
  t.same(TARGET_KINDS.map((k) => k.name).sort(), ['board', 'lava', 'local', 'qemu', 'qemu-user-aarch64'])
  t.equal(new Set(targetNames()).size, targetNames().length, 'no two targets answer to one name')
  for (const kind of TARGET_KINDS) {
    t.ok(kind.description.length > 10, `${kind.name}: described`)
    t.type(kind.facts.disposable, 'boolean', `${kind.name}: states whether it is disposable`)
    t.type(kind.facts.rawIoctls, 'boolean', `${kind.name}: states whether any ioctl reaches its kernel`)
    t.type(kind.create, 'function', `${kind.name}: makes its target`)
    for (const [key, o] of Object.entries(kind.options)) {
      t.match(o.flag, /^--[a-z][a-z-]*( <[a-z|]+>)?$/, `${kind.name}.${key}: a long flag`)
      t.equal(flagName(o).slice(2).replace(/-(.)/g, (_, c: string) => c.toUpperCase()), key, `${kind.name}.${key}: its key is the flag as commander names it`)
      t.ok(o.description.length > 5, `${kind.name}.${key}: described`)
      if (o.default !== undefined && o.choices) t.ok(o.choices.includes(String(o.default)), `${kind.name}.${key}: its default is one of its choices`)
    }
    if (kind.selectedBy) t.ok(kind.selectedBy in kind.options, `${kind.name}: picked by an option it declares`)
  }
  t.same(
    { disposable: TARGET_KINDS.find((k) => k.name === 'qemu')!.facts.disposable, rawIoctls: TARGET_KINDS.find((k) => k.name === 'qemu-user-aarch64')!.facts.rawIoctls },
    { disposable: true, rawIoctls: false },
    'a QEMU guest is disposable; qemu-user does not pass unknown ioctls on',
  )
  t.doesNotThrow(() => targetOptions(), 'no key or flag declared two ways')
})

t.test('an option of one target given to another: one line naming the target and those that take it', async (t) => {
  for (const owner of TARGET_KINDS) {
    for (const key of Object.keys(owner.options)) {
      if (key === owner.selectedBy) continue
      for (const other of TARGET_KINDS.filter((k) => !(key in k.options))) {
        const values = { [key]: 'x', ...(other.selectedBy ? { [other.selectedBy]: 'no-such-board' } : {}) }
        // Refused before the other target is made: no board file is read.
        const e = usage(() => chooseTarget({ target: other.name, values, given: [key] }))
        const flag = flagName(owner.options[key]!)
        t.equal(e.message, `${flag} applies to ${kindLabel(owner)}, not to ${kindLabel(other)}`, `${flag} on ${other.name}`)
        t.equal(e.hint, `drop ${flag}, or run on ${kindLabel(owner)}`)
      }
    }
  }
  const farm = usage(() => refuseOthersOptions(boardKind, ['kernel'], '--farm'))
  t.equal(farm.message, '--kernel applies to --target qemu, not to --farm')
  t.doesNotThrow(() => refuseOthersOptions(boardKind, ['knownHosts', 'suite'], '--farm'), "a board's own option and a command's own are not refused")
})

t.test('an unknown target names the ones there are; the default is qemu', async (t) => {
  const e = usage(() => chooseTarget({ target: 'board9', values: {}, given: [] }))
  t.equal(e.message, 'unknown target "board9"')
  t.equal(e.hint, `choose one of: ${targetNames().join(', ')}`)
  t.equal(chooseTarget({ values: {}, given: [] }).name, 'qemu')
  t.equal(chooseTarget({ target: 'qemu-x86_64', values: {}, given: [] }).name, 'qemu', 'an alias')
  t.equal(chooseTarget({ target: 'local', values: { memory: '512M' }, given: [] }).name, 'local', 'a default of another target is no request')
})

t.test("a farm hands each board the board options given, as arguments", async (t) => {
  t.same(optionArgs(boardKind, { values: { board: 'b', knownHosts: 'kh', acceptNewHostKey: true, memory: '1G' }, given: ['board', 'knownHosts', 'acceptNewHostKey', 'memory'] }), ['--known-hosts', 'kh', '--accept-new-host-key'])
})

t.test('the CLI makes one flag per declared option and counts only what the command line gave', async (t) => {
  const parse = (args: string[], env: Record<string, string> = {}) => {
    const cmd = withTargetOptions(new Command('x').exitOverride().configureOutput({ writeErr: () => {} }))
    const saved = { ...process.env }
    Object.assign(process.env, env)
    try {
      cmd.parse(args, { from: 'user' })
    } finally {
      process.env = saved
    }
    return targetChoice(cmd)
  }
  const flags = targetOptions().map((o) => flagName(o.option))
  t.equal(new Set(flags).size, flags.length, 'each flag once')
  const local = parse(['--target', 'local', '--cma', '64M'])
  t.same(local.given, ['cma'])
  t.equal(usage(() => chooseTarget(local)).message, '--cma applies to --target qemu, not to --target local')
  const env = parse(['--target', 'local'], { DMAHEAP_ACCEL: 'tcg' })
  t.same(env.given, [], 'DMAHEAP_ACCEL in the environment is not a flag given')
  t.equal(env.values.accel, 'tcg')
  t.equal(chooseTarget(env).name, 'local')
  t.equal(parse(['--boot-timeout', '5']).values.bootTimeout, 5, "an option's parser runs")
  t.throws(() => parse(['--boot-timeout', '-1']), /expected a positive number of seconds/)
  t.equal(usage(() => refuseTargetOptionsWithoutStart(parse(['--board', 'b1']), 'list --heaps')).message, '--board applies to list --heaps (the suites and cases are the same on every target)')
})

t.test('a new target is one declaration in the list: a LAVA-like kind', async (t) => {
  const made: Record<string, unknown>[] = []
  const lava: TargetKind<{ lava?: string; kernel?: string; lavaPriority?: number }> = {
    name: 'lava',
    description: 'a LAVA job on a lab device (unit-test fake)',
    selectedBy: 'lava',
    options: {
      lava: { flag: '--lava <job>', description: 'submit this LAVA job template' },
      // The same option as QEMU's: one flag, taken by both.
      kernel: { flag: '--kernel <image>', description: 'boot this kernel image' },
      lavaPriority: { flag: '--lava-priority <n>', description: 'the job priority', parse: Number },
    },
    facts: { disposable: false, rawIoctls: true },
    create: (o) => {
      made.push(o)
      return { name: 'lava', description: 'fake', start: () => Promise.reject(new Error('not started in a unit test')) } satisfies Target
    },
  }
  const kinds = [...TARGET_KINDS, lava]
  t.doesNotThrow(() => targetOptions(kinds), 'its options fit beside the others')
  t.same(targetOptions(kinds).find((o) => o.key === 'kernel')!.kinds.map((k) => k.name), ['qemu', 'lava'], '--kernel is one flag, taken by both')
  t.equal(chooseTarget({ values: { lava: 'job.yaml', kernel: 'Image', memory: '512M' }, given: ['lava', 'kernel'] }, kinds).name, 'lava', 'its selector picks it')
  t.same(made, [{ lava: 'job.yaml', kernel: 'Image' }], 'it gets its own options only')
  t.equal(usage(() => chooseTarget({ target: 'local', values: { kernel: 'Image' }, given: ['kernel'] }, kinds)).message, '--kernel applies to --target qemu and --lava, not to --target local')
  t.equal(usage(() => chooseTarget({ values: { lava: 'j', cma: '64M' }, given: ['lava', 'cma'] }, kinds)).message, '--cma applies to --target qemu, not to --lava')
  const clash: TargetKind<{ cma?: string }> = { ...lava, name: 'clash', selectedBy: undefined, options: { cma: { flag: '--cma-size <size>', description: 'a clash' } }, create: lava.create as never }
  t.throws(() => targetOptions([...TARGET_KINDS, clash]), /clash declares "cma" as --cma-size <size>, qemu as --cma <size>/, 'one key, two flags: a mistake the registry finds')
})
