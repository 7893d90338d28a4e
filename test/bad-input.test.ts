// Bad input: each is one line naming the problem and the fix, exit 2, and
// nothing written that looks like a result. None of these needs a target
// that boots (the QEMU ones fail before QEMU starts).
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dmaheap, tempOutput } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'dmaheap-bad-'))
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}

const cases: Array<{ what: string; args: (out: string) => string[]; error: RegExp }> = [
  { what: 'malformed YAML', args: (o) => ['run', '--expect', file('broken.yaml', 'heaps: [\n'), '-o', o], error: /broken\.yaml: line \d+: .* \(fix the YAML syntax\)/ },
  { what: 'wrong-typed field', args: (o) => ['run', '--expect', file('typed.yaml', 'heaps:\n  system: {capacity: [1]}\n'), '-o', o], error: /typed\.yaml: heaps\.system\.capacity: / },
  { what: 'unknown field', args: (o) => ['run', '--expect', file('field.yaml', 'heap: {}\n'), '-o', o], error: /field\.yaml: \(top level\): unknown field "heap"/ },
  { what: 'missing config file', args: (o) => ['run', '--expect', join(dir, 'nowhere.yaml'), '-o', o], error: /cannot read .*nowhere\.yaml: ENOENT \(give the path of an existing YAML file\)/ },
  { what: 'unknown suite', args: (o) => ['run', '--suite', 'allocc', '-o', o], error: /unknown suite "allocc" \(choose from: alloc, / },
  { what: 'unknown heap', args: (o) => ['run', '--target', 'local', '--heap', 'nope', '-o', o], error: /unknown heap "nope" on local \(this target has: dmaheap-reference\)/ },
  { what: 'unknown target', args: (o) => ['run', '--target', 'board9', '-o', o], error: /argument 'board9' is invalid\. Allowed choices are .* \(see dmaheap --help\)/ },
  { what: 'missing kernel image', args: (o) => ['run', '--kernel', join(dir, 'bzImage'), '-o', o], error: /cannot read the kernel image .*bzImage: ENOENT/ },
  { what: 'not a kernel image', args: (o) => ['run', '--kernel', file('bzImage.txt', 'not a kernel\n'), '-o', o], error: /is not a kernel image QEMU can boot here \(pass an x86 bzImage or an arm64 Image/ },
  { what: 'a target without /dev/dma_heap', args: (o) => ['run', '--target', 'local', '-o', o], error: /local has no \/dev\/dma_heap .* \(boot a kernel with heaps, or pass --heap dmaheap-reference/ },
  { what: 'QEMU flag on another target', args: (o) => ['run', '--target', 'local', '--cma', '64M', '-o', o], error: /--cma applies to --target qemu, not to --target local \(drop --cma, or run on --target qemu\)/ },
  { what: 'conflicting bench flags', args: (o) => ['bench', '--gate', '-o', o], error: /--gate needs --compare/ },
  { what: 'bad size', args: (o) => ['run', '--memory-budget', 'lots', '-o', o], error: /argument 'lots' is invalid\. expected a size such as 256M or 1G/ },
  { what: 'bad fault injection', args: (o) => ['run', '--inject', 'PANIC@nope', '-o', o], error: /"nope" is not a case id/ },
]

for (const c of cases) {
  t.test(c.what, async (t) => {
    const out = tempOutput('bad')
    const r = await dmaheap(c.args(out), 60_000)
    t.equal(r.exitCode, 2, 'exit 2')
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^npm warn/.test(l))
    t.equal(lines.length, 1, `one line: ${lines.join(' / ')}`)
    t.match(lines[0], /^dmaheap: error: /)
    t.match(lines[0], c.error)
    t.equal(r.stdout, '', 'nothing on stdout')
    t.notOk(existsSync(out) && readdirSync(out).some((f) => /results|run\.json|junit|kcidb/.test(f)), 'no results written')
  })
}
