// End to end on a real kernel: `dmaheap run` boots Debian's 6.12 kernel in
// QEMU and runs the alloc suite on the system heap and the reference heap.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALLOC_SIZES } from '../suites/alloc.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

t.test('alloc passes on system and on the reference heap of Debian 6.12', async (t) => {
  const out = tempOutput('qemu')
  const r = await dmaheap(['run', '--suite', 'alloc', '--output', out])
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-2000)})`)
  t.match(r.stdout, /^TAP version 14$/m)
  t.notMatch(r.stdout, /^\s*not ok/m, 'no failing line in the TAP')
  for (const heap of ['system', 'dmaheap-reference']) {
    for (const len of ALLOC_SIZES) {
      t.match(r.stdout, new RegExp(`^\\s+ok \\d+ - alloc\\.size\\.${len} ${heap} # time=`, 'm'), `alloc.size.${len} on ${heap} in the TAP`)
    }
  }
  const results = readResults(out)
  const perCase = ALLOC_SIZES.length * 2
  for (const heap of ['system', 'dmaheap-reference']) {
    const mine = results.filter((x) => x.heap === heap)
    t.equal(mine.length, perCase, `${perCase} results for ${heap}`)
    t.same(mine.filter((x) => x.status !== 'PASS'), [], `every case on ${heap} passed`)
  }
  t.ok(results.every((x) => x.kernel.startsWith('6.12.')), 'results name the booted kernel')
  t.match(readFileSync(join(out, 'console.log'), 'utf8'), /dmaheap-init: starting agent/, 'console log saved')
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
  t.match(run.target.facts, { accel: /^(kvm|tcg)$/, disposable: true })
  t.match(run.summary.counts, { PASS: perCase * 2, FAIL: 0, ERROR: 0 })
})

t.test('an unknown heap is a one-line error naming the heaps there are', async (t) => {
  const out = tempOutput('badheap')
  const r = await dmaheap(['run', '--heap', 'no-such-heap', '--output', out])
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /^dmaheap: error: unknown heap "no-such-heap" on qemu-x86_64 \(this target has: system, dmaheap-reference\)$/m)
  t.notOk(existsSync(join(out, 'results.jsonl')), 'nothing that looks like a result is written')
})

t.test('a file that is not a kernel fails the boot with a diagnosis, fast', async (t) => {
  const out = tempOutput('notkernel')
  const r = await dmaheap(['run', '--kernel', '/etc/hostname', '--accel', 'tcg', '--output', out], 120_000)
  t.equal(r.exitCode, 2)
  t.match(r.stderr, /dmaheap: error: boot failed: /)
  t.notMatch(r.stdout, /^ok/m, 'no result is reported')
})
