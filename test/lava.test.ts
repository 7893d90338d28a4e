// LAVA: the job `dmaheap lava job` writes passes LAVA's own job schema
// (lava_common.schemas from Debian's lava-dispatcher, strict), and a device
// type no job is written for is refused in one line.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { packageRoot } from '../core/paths.js'

const CLI = join(packageRoot, 'bin', 'dmaheap.js')
// Debian's python, where lava-dispatcher puts lava_common (not a python on PATH from elsewhere).
const PYTHON = '/usr/bin/python3'
const VALIDATE = `
import sys, yaml
from lava_common.schemas import validate
validate(yaml.safe_load(open(sys.argv[1])), strict=True, extra_context_variables=[])
print("valid")
`

const haveLava = existsSync('/usr/lib/python3/dist-packages/lava_common/schemas/__init__.py')

t.test("the job passes LAVA's job schema", { skip: haveLava ? false : 'lava-dispatcher is not installed (scripts/setup.sh installs it)' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dmaheap-lava-job-'))
  const script = join(dir, 'validate.py')
  await writeFile(script, VALIDATE)
  const variants: Array<[string, string[]]> = [
    ['defaults', []],
    ['suites, heaps, cases, tags, a key, a pulled image', ['--suite', 'alloc,mmap', '--heap', 'system', '--case', 'alloc.size.*', '--tags', 'hostfwd,big', '--key', '/keys/id', '--pull', '--image', 'registry.example/dmaheap:1', '--dut-address', '127.0.0.1:2223']],
    ['arm64, a longer timeout', ['--arch', 'arm64', '--timeout', '90', '--append', 'console=ttyAMA0 panic=-1', '--job-name', 'dmaheap on arm64']],
  ]
  for (const [what, args] of variants) {
    const job = join(dir, `${what.replace(/\W+/g, '-')}.yaml`)
    const made = await execa('node', [CLI, 'lava', 'job', '--kernel', 'file:///k/vmlinuz', '--ramdisk', 'file:///k/initrd.cpio.gz', ...args, '-o', job], { reject: false })
    t.equal(made.exitCode, 0, `${what}: written (${made.stderr})`)
    const v = await execa(PYTHON, [script, job], { reject: false })
    t.equal(v.stdout.trim(), 'valid', `${what}: ${v.stderr.trim().split('\n').pop() ?? ''}`)
  }
  // The schema can say no: the same job with a visibility LAVA does not know.
  const broken = join(dir, 'broken.yaml')
  const text = (await execa('node', [CLI, 'lava', 'job', '--kernel', 'file:///k', '--ramdisk', 'file:///r'])).stdout
  await writeFile(broken, text.replace('visibility: public', 'visibility: everyone'))
  t.not((await execa(PYTHON, [script, broken], { reject: false })).stdout.trim(), 'valid', 'a job LAVA would refuse is refused')
  const bad = await execa('node', [CLI, 'lava', 'job', '--kernel', 'k', '--ramdisk', 'r', '--device-type', 'beaglebone-black'], { reject: false })
  t.equal(bad.exitCode, 2)
  t.match(bad.stderr, /--device-type.*beaglebone-black.*qemu/s, 'names the device types there are')
})
