// How we know the suites can fail: the reference heap, clean, passes every
// suite; broken on purpose in one way (a fault profile), it fails exactly
// the cases that check that rule, each naming the fault in its heap name.
// Runs on this machine through the Node addon (local target).
import t from 'tap'
import { BOOT_SUITE, KERNEL_PSEUDO_HEAP } from '../suites/boot-log.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

t.test('the clean reference heap passes every suite', async (t) => {
  const out = tempOutput('clean')
  const r = await dmaheap(['run', '--target', 'local', '--heap', 'dmaheap-reference', '--output', out])
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  t.same(results.filter((x) => x.status === 'FAIL' || x.status === 'ERROR'), [], 'no FAIL and no ERROR')
  t.ok(results.filter((x) => x.status === 'PASS').length > 200, 'more than 200 cases passed')
  for (const s of results.filter((x) => x.status === 'SKIP')) t.ok(s.message && s.message.length > 10, `${s.id} skips with a reason: ${s.message}`)
})

/** fault -> the suite to run and the case ids that must fail */
const PROFILES: Array<{ fault: string; suite: string; mustFail: RegExp[]; note: string }> = [
  { fault: 'nozero', suite: 'zeroing', mustFail: [/^zeroing\.page$/, /^zeroing\.1MiB$/], note: 'hands out freed memory dirty' },
  { fault: 'badflags', suite: 'invalid-flags', mustFail: [/^invalid-flags\.fd_flags\.bit11$/, /^invalid-flags\.heap_flags\.bit0$/, /^invalid-flags\.fd-in$/], note: 'accepts invalid flags' },
  { fault: 'acceptzero', suite: 'zero-size', mustFail: [/^zero-size\.len-0$/, /^zero-size\.len-u64-max$/], note: 'accepts len 0' },
  { fault: 'wrongsize', suite: 'alloc', mustFail: [/^alloc\.size\.4097$/, /^alloc\.fdinfo\.1$/], note: 'skips PAGE_ALIGN' },
  { fault: 'leak', suite: 'release', mustFail: [/^release\.close$/, /^release\.no-fd-leak$/], note: 'never frees' },
  { fault: 'ignoreoffset', suite: 'mmap', mustFail: [/^mmap\.sub-ranges$/], note: 'ignores vm_pgoff' },
  { fault: 'wrongexp', suite: 'alloc', mustFail: [/^alloc\.fdinfo\.4096$/], note: 'wrong exp_name' },
  { fault: 'badsync', suite: 'sync', mustFail: [/^sync\.invalid-bit\.3$/, /^sync\.no-direction$/], note: 'accepts bad SYNC flags' },
]

for (const p of PROFILES) {
  t.test(`fault profile ${p.fault} (${p.note}) fails ${p.suite}`, async (t) => {
    const out = tempOutput(p.fault)
    const r = await dmaheap(['run', '--target', 'local', '--suite', p.suite, '--reference-faults', p.fault, '--output', out])
    t.equal(r.exitCode, 1, 'exit 1: a test failed')
    const results = readResults(out)
    const heap = `dmaheap-reference+${p.fault}`
    // The boot case is the run's, on the kernel pseudo-heap; every case of the suite is on the faulty heap.
    const cases = results.filter((x) => x.suite !== BOOT_SUITE)
    t.ok(cases.length > 0 && cases.every((x) => x.heap === heap), `results name the fault in the heap: ${heap}`)
    t.same(results.filter((x) => x.suite === BOOT_SUITE).map((x) => x.heap), [KERNEL_PSEUDO_HEAP], 'and the boot case is once, on the kernel pseudo-heap')
    const failed = results.filter((x) => x.status === 'FAIL')
    for (const re of p.mustFail) {
      const hit = failed.find((x) => re.test(x.id))
      t.ok(hit, `${re.source} fails`)
      if (hit) t.match(hit.message, /expected .*, observed /, `its message says expected and observed: ${hit.message}`)
    }
    t.match(r.stdout, new RegExp(`^\\s+not ok \\d+ - \\S+ ${heap.replace('+', '\\+')}`, 'm'), 'the TAP names the faulty heap')
    t.same(results.filter((x) => x.status === 'ERROR'), [], 'a broken heap is a FAIL, never a harness ERROR')
  })
}
