// End to end on a real kernel: `dmaheap run` boots Debian's 6.12 kernel in
// QEMU and runs the alloc suite on the system heap and the reference heap.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALLOC_SIZES } from '../suites/alloc.js'
import { SUITES } from '../suites/index.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

t.test('every suite passes on system and on the reference heap of Debian 6.12', async (t) => {
  const out = tempOutput('qemu')
  const r = await dmaheap(['run', '--output', out])
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  t.match(r.stdout, /^TAP version 14$/m)
  t.notMatch(r.stdout, /^\s*not ok/m, 'no failing line in the TAP')
  for (const heap of ['system', 'dmaheap-reference']) {
    for (const len of ALLOC_SIZES) {
      t.match(r.stdout, new RegExp(`^\\s+ok \\d+ - alloc\\.size\\.${len} ${heap} # time=`, 'm'), `alloc.size.${len} on ${heap} in the TAP`)
    }
  }
  const results = readResults(out)
  const caseCount = SUITES.reduce((n, s) => n + s.cases.length + 1, 0) // + each suite's no-fd-leak
  for (const heap of ['system', 'dmaheap-reference']) {
    const mine = results.filter((x) => x.heap === heap)
    t.equal(mine.length, caseCount, `${caseCount} results for ${heap}`)
    t.same(mine.filter((x) => x.status === 'FAIL' || x.status === 'ERROR'), [], `nothing failed on ${heap}`)
    for (const s of SUITES) t.match(r.stdout, new RegExp(`# ${s.name} on ${heap}: ${s.cases.length + 1} cases: `), `TAP counts ${s.name} on ${heap}`)
    // Only the O_CLOEXEC bit is skipped (it is valid); vgem is loaded, the guest is disposable.
    t.same(mine.filter((x) => x.status === 'SKIP').map((x) => x.id), ['invalid-flags.fd_flags.bit19'], `only the O_CLOEXEC bit skips on ${heap}`)
    const observed = mine.filter((x) => x.status === 'DONE').map((x) => x.id)
    t.same(observed.filter((id) => !id.startsWith('properties.')).sort(), ['mmap.exec', 'mmap.private', 'sync.end-unpaired'], 'observed-only cases')
    // Nothing is stated for these heaps: the properties are measured, not judged (fragmentation always is).
    t.same(observed.filter((id) => id.startsWith('properties.')).sort(), ['properties.capacity', 'properties.largest', 'properties.layout.16MiB', 'properties.layout.1MiB', 'properties.layout.4MiB', 'properties.layout.64KiB', 'properties.zeroed'], 'properties observed')
  }
  t.ok(results.every((x) => x.kernel.startsWith('6.12.')), 'results name the booted kernel')
  const zeroing = results.find((x) => x.id === 'zeroing.page' && x.heap === 'system')
  t.match(zeroing?.observations, { init_on_alloc: '0 (kernel command line)' }, 'zeroing says it ran with init_on_alloc=0')
  t.match(readFileSync(join(out, 'console.log'), 'utf8'), /dmaheap-init: starting agent/, 'console log saved')
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
  t.match(run.target.facts, { accel: /^(kvm|tcg)$/, disposable: true, initOnAllocDefault: true })
  t.match(run.summary.counts, { FAIL: 0, ERROR: 0 })
})

t.test('an unknown heap is a one-line error naming the heaps there are', async (t) => {
  const out = tempOutput('badheap')
  const r = await dmaheap(['run', '--heap', 'no-such-heap', '--output', out])
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /^dmaheap: error: unknown heap "no-such-heap" on qemu-x86_64 \(this target has: dmaheap-reference, system\)$/m)
  t.notOk(existsSync(join(out, 'results.jsonl')), 'nothing that looks like a result is written')
})

t.test('a file that is not a kernel is refused before QEMU starts', async (t) => {
  const out = tempOutput('notkernel')
  const r = await dmaheap(['run', '--kernel', '/etc/hostname', '--output', out], 120_000)
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /^dmaheap: error: \/etc\/hostname is not a kernel image QEMU can boot here \(pass an x86 bzImage or an arm64 Image/m)
  t.notMatch(r.stdout, /^ok/m, 'no result is reported')
})

t.test('a kernel whose init fails: exit 2 with the console lines and the cause', async (t) => {
  const out = tempOutput('badinit')
  // busybox as init prints its usage and exits: the kernel panics
  const r = await dmaheap(['run', '--cmdline', 'rdinit=/bin/busybox', '--accel', 'tcg', '--output', out], 180_000)
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /dmaheap: error: boot failed: the init in the initramfs failed/)
  t.notMatch(r.stderr, /trying once more/, 'a failure that would repeat is not retried')
  t.match(r.stderr, /^ {2}\| .*Kernel panic/m, 'the last console lines are shown')
  t.notOk(existsSync(join(out, 'results.jsonl')), 'nothing that looks like a result')
})
