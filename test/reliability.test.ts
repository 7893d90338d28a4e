// Reliability, by real fault injection: kernel faults provoked through LKDTM
// in the self-built kernel (a panic, a BUG, a WARNING, a task hung in the
// kernel), the agent killed, QEMU killed from outside, the disk filling up.
// Each must be reported for what it is, on the case it hit, never as a pass;
// results before it survive; a broken QEMU target is started again and the
// remaining cases run.
import t from 'tap'
import { execa } from 'execa'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from '../core/result.js'
import { dmaheap, plannedCount as planned, readResults, repo, tempOutput } from './helpers.js'

/** The self-built x86_64 kernel (cached): it has LKDTM. */
async function kernelImage(): Promise<string> {
  const build = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64'], 40 * 60_000)
  if (build.exitCode !== 0) throw new Error(`kernel build failed: ${build.stderr.slice(-1500)}`)
  return build.stdout.trim().split('\n').pop() ?? ''
}

t.test('kernel panic, BUG, WARNING, a hung task and a killed agent, each in its own case of one run', async (t) => {
  const image = await kernelImage()
  const out = tempOutput('faults')
  const r = await dmaheap(
    [
      'run', '--kernel', image, '--suite', 'zero-size,mmap', '--heap', 'system', '--case-timeout', '20', '--output', out,
      '--inject', 'PANIC@zero-size.len-u64-max',
      '--inject', 'WARNING@mmap.sub-ranges',
      '--inject', 'BUG@mmap.past-end',
      '--inject', 'HUNG_TASK@mmap.mremap-grow',
      '--inject', 'AGENT_KILL@mmap.private',
    ],
    600_000,
  )
  t.equal(r.exitCode, 2, `exit 2: a timeout and a killed agent are infrastructure errors (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  const of = (id: string) => results.find((x) => x.id === id) as CaseResult
  t.equal(results.length, planned(out), 'every planned case has a result: the run went on after each break')
  t.equal(of('zero-size.len-0').status, 'PASS', 'the case before the panic kept its result')

  t.equal(of('zero-size.len-u64-max').status, 'FAIL')
  t.match(of('zero-size.len-u64-max').message, /^kernel crash during the case: Kernel panic - not syncing: dumptest/, 'the panic text names the crash')
  t.match(of('zero-size.len-u64-max').kernelLog, /Kernel panic - not syncing/)
  t.equal(of('zero-size.len-wrap').status, 'PASS', 'the next case ran on the rebooted target')

  t.equal(of('mmap.sub-ranges').status, 'FAIL')
  t.match(of('mmap.sub-ranges').message, /kernel printed no WARNING, BUG, Oops or taint: expected "a clean kernel log", observed ".*WARNING: CPU: \d+ PID: \d+ at drivers\/misc\/lkdtm/)

  t.equal(of('mmap.past-end').status, 'FAIL')
  t.match(of('mmap.past-end').message, /^kernel crash during the case: kernel BUG at drivers\/misc\/lkdtm\/bugs\.c/)

  t.equal(of('mmap.mremap-grow').status, 'ERROR')
  t.match(of('mmap.mremap-grow').message, /TIMEOUT: mmap\.mremap-grow system did not finish within 20 s/)

  t.equal(of('mmap.private').status, 'ERROR')
  t.match(of('mmap.private').message, /the agent was restarted on the target \(killed by SIGKILL\)/)
  t.equal(of('mmap.exec').status, 'DONE', 'the case after the killed agent ran')

  t.equal(results.filter((x) => x.status === 'PASS' && /mmap\.(sub-ranges|past-end|mremap-grow|private)|len-u64-max/.test(x.id)).length, 0, 'no injected case passed')
  t.equal((r.stderr.match(/starting it again/g) ?? []).length, 4, 'the target was started again after each of the four breaks')
  t.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /kernel crash during the case: Kernel panic/, 'the views show the crash')
})

t.test('QEMU killed from outside mid-run: an infrastructure error on that case, earlier results kept', async (t) => {
  const image = await kernelImage()
  const out = tempOutput('qemu-killed')
  const run = execa('node', [join(repo, 'bin', 'dmaheap.js'), 'run', '--kernel', image, '--suite', 'alloc', '--heap', 'system', '--output', out], { reject: false, cwd: repo })
  const file = join(out, 'results.jsonl')
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline && !(existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 5)) await new Promise((r) => setTimeout(r, 100))
  const qemu = await execa('pgrep', ['-P', String(run.pid), '-f', 'qemu-system'], { reject: false })
  t.ok(qemu.stdout.trim(), `QEMU runs under the harness (pid ${qemu.stdout.trim()})`)
  const before = readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  await execa('kill', ['-9', ...qemu.stdout.trim().split('\n')])
  const r = await run
  t.equal(r.exitCode, 2, 'exit 2')
  const results = readResults(out)
  t.ok(results.length >= before, `the ${before} results before the kill survive`)
  const broken = results.filter((x) => x.status === 'ERROR')
  t.equal(broken.length, 1, 'one case is the infrastructure error')
  t.match(broken[0]?.message, /infrastructure error: agent link lost/, `named on its case: ${broken[0]?.id}`)
  t.equal(results.filter((x) => x.status === 'PASS').length, results.length - 1, 'every other case passed, none in place of the broken one')
  t.equal(results.length, planned(out), 'the run went on on a new QEMU')
})

t.test('disk full: only whole results, no run.json, a one-line error naming the case', async (t) => {
  const mnt = join(tempOutput('disk-full'), '..', 'tiny')
  mkdirSync(mnt, { recursive: true })
  const mount = await execa('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', mnt], { reject: false })
  t.equal(mount.exitCode, 0, `a 48 KiB tmpfs (needs root): ${mount.stderr}`)
  t.teardown(() => execa('umount', [mnt], { reject: false }))
  const out = join(mnt, 'out')
  const r = await dmaheap(['run', '--target', 'local', '--heap', 'dmaheap-reference', '--output', out])
  t.equal(r.exitCode, 2)
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('dmaheap: error:'))
  t.equal(errors.length, 1, `one error line: ${errors.join(' / ')}`)
  t.match(errors[0], /cannot write .*results\.jsonl: ENOSPC \(the disk is full\); the results before \S+ on dmaheap-reference are kept/)
  const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean)
  t.ok(lines.length > 10, `${lines.length} results were written`)
  t.doesNotThrow(() => lines.forEach((l) => JSON.parse(l)), 'every line is a whole result')
  t.notOk(existsSync(join(out, 'run.json')), 'no half-written run.json')
})
