// dmaheap bench on QEMU: distributions that hold together on system and the
// reference heap, each figure against the yardstick measured beside it; and
// the gate for real: a kernel whose system heap clears every page five times
// is SLOWER and fails --gate, the same kernel rerun beside a CPU-heavy job is
// not. The comparison's logic and the yardstick op: test/unit/bench-compare.test.ts.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { dmaheap, repo, tempOutput } from './helpers.js'
import { checkFigures, readRun } from './support/bench-figures.js'

/**
 * The kernel whose system heap does several times the work:
 * `system_heap.test_extra_clears=N` clears every page N more times while
 * allocating (0, the default, is the plain heap). One variant build serves
 * the unchanged and the slow runs; .ci/run builds it first.
 */
const SLOW_HEAP_PATCH = join(repo, 'test', 'kernel-patches', 'system-heap-slow.patch')
const EXTRA_CLEARS = 4

t.test('bench on system and the reference heap in QEMU, with the bare-loop figures', async (t) => {
  const out = tempOutput('bench-qemu')
  const r = await dmaheap(['bench', '--budget-ms', '30', '--output', out], 600_000)
  t.equal(r.exitCode, 0, r.stderr.slice(-1000))
  const run = readRun(out)
  checkFigures(t, run, ['dmaheap-reference', 'system'])
  t.ok(run.figures.some((f) => f.heap === 'system' && f.kind === 'alloc_bare'), 'system has bare-loop figures')
})

/** Both cores busy with a real CPU-heavy job: two processes spinning until stopped, which says how much CPU each got (a share of the wall time). */
function cpuHeavyJob(): { stop: () => Promise<number[]> } {
  const spin = 'let x = 0; for (;;) x = (x * 1103515245 + 12345) % 2147483648'
  const started = performance.now()
  const procs: ResultPromise[] = [0, 1].map(() => execa('node', ['-e', spin], { reject: false }))
  // utime + stime, in clock ticks (USER_HZ, 100 on Linux), fields 14 and 15 of /proc/PID/stat
  const cpuSeconds = (pid?: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  }
  return {
    stop: async () => {
      const wall = (performance.now() - started) / 1000
      const shares = procs.map((p) => cpuSeconds(p.pid) / wall)
      for (const p of procs) p.kill('SIGKILL')
      await Promise.all(procs)
      return shares
    },
  }
}

t.test('bench --compare --gate on QEMU: a system heap that does five times the clearing fails the gate, the unchanged kernel beside a CPU-heavy job does not', async (t) => {
  const b = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64', '--patch', SLOW_HEAP_PATCH], 1_800_000)
  t.equal(b.exitCode, 0, 'the patched kernel builds', { stderr: b.stderr.slice(-1500) })
  const image = b.stdout.trim().split('\n').pop() ?? ''
  const bench = (out: string, clears: number, extra: string[] = []) =>
    dmaheap(['bench', '--kernel', image, '--cmdline', `system_heap.test_extra_clears=${clears}`, '--heap', 'system', '--budget-ms', '30', '--output', out, ...extra], 600_000)
  const baseOut = tempOutput('bench-base')
  const base = await bench(baseOut, 0)
  t.equal(base.exitCode, 0, 'the baseline run', { stderr: base.stderr.slice(-1000) })
  const baseline = join(baseOut, 'bench.json')
  checkFigures(t, readRun(baseOut), ['system'])

  const job = cpuHeavyJob()
  let busy
  let shares: number[] = []
  try {
    busy = await bench(tempOutput('bench-busy'), 0, ['--compare', baseline, '--gate'])
  } finally {
    shares = await job.stop()
  }
  t.ok(shares.every((s) => s > 0.25), `the CPU-heavy job kept both cores busy (${shares.map((s) => `${Math.round(s * 100)}%`).join(' and ')} of a CPU each)`)
  const verdict = (r: typeof busy) => r.stdout.split('\n').filter((l) => /^(SLOWER|faster|# (no change|\d+ figures|absolute))/.test(l))
  t.comment(['beside the CPU-heavy job:', ...verdict(busy)].join('\n'))
  t.equal(busy.exitCode, 0, 'the unchanged kernel beside a CPU-heavy job passes the gate', { stderr: busy.stderr.slice(-500) })
  t.notMatch(busy.stdout, /^SLOWER/m, 'no figure SLOWER')
  t.match(busy.stdout, /19 figures compared, 19 against the yardstick/)

  const slow = await bench(tempOutput('bench-slow'), EXTRA_CLEARS, ['--compare', baseline, '--gate'])
  t.comment([`with system_heap.test_extra_clears=${EXTRA_CLEARS}:`, ...verdict(slow)].join('\n'))
  t.equal(slow.exitCode, 1, 'the slow heap fails the gate', { stderr: slow.stderr.slice(-500) })
  const flagged = slow.stdout.split('\n').filter((l) => l.startsWith('SLOWER\t'))
  const keys = flagged.map((l) => l.split('\t')[1]!)
  // From 64 KiB the clearing is most of an allocation's work: several times slower (a noisy
  // size may still hide in its band; most cannot).
  const allocs = keys.filter((k) => k.startsWith('system alloc '))
  t.ok(allocs.includes('system alloc 65536') && allocs.length >= 4, `ALLOC+close SLOWER at 64 KiB and at 4 or more of the 6 sizes (${allocs.join(', ')})`)
  t.notOk(keys.some((k) => / (sync|fault) /.test(k)), 'SYNC and first touch, which allocate nothing in the measured loop, are not SLOWER')
  t.match(flagged.join('\n'), /vs yardstick [\d.]+ -> [\d.]+ \(\+\d+\.\d%, noise \d+\.\d%\)/, 'judged against the yardstick')
})
