// Opt-in (slow, needs a LAVA server): `dmaheap lava submit` sends a job
// `dmaheap lava job` wrote to a real lava-server through its REST API,
// waits for it, and reads its test cases back as our results; they must be
// the verdicts the run recorded inside the job. Runs when DMAHEAP_LAVA_URL
// and DMAHEAP_LAVA_TOKEN name a server (on loopback, set up as the README's
// "Board farms on LAVA" says) whose worker runs on this machine, has a
// device of type qemu with a hostfwd from 127.0.0.1:2223 to the DUT's port
// 22 and the docker options, and bind-mounts DMAHEAP_LAVA_KEYS (as /keys)
// and DMAHEAP_LAVA_RESULTS (as /results, rw) into the docker test shell.
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { packageRoot } from '../core/paths.js'
import { heapVerdict, type CaseResult } from '../core/result.js'
import { lavaName } from '../reports/lava.js'
import { loadRun } from '../reports/run-data.js'
import { makeBoardImage } from './support/ssh-board.js'

const CLI = join(packageRoot, 'bin', 'dmaheap.js')
const { DMAHEAP_LAVA_URL: url, DMAHEAP_LAVA_TOKEN: token, DMAHEAP_LAVA_KEYS: keys, DMAHEAP_LAVA_RESULTS: resultsDir } = process.env
const skip = url && token && keys && resultsDir ? false : 'opt-in: set DMAHEAP_LAVA_URL, DMAHEAP_LAVA_TOKEN, DMAHEAP_LAVA_KEYS and DMAHEAP_LAVA_RESULTS for a LAVA server (see the README)'

t.test('a job submitted to lava-server comes back with the run\'s own verdicts', { skip, timeout: 900_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dmaheap-lava-server-'))
  const image = await makeBoardImage((m) => t.comment(m), { consolePrompt: 'lava-dut# ' })
  await copyFile(image.clientKey, join(keys!, 'id_ed25519'))
  const runDir = `run-${process.pid}`
  const job = join(dir, 'job.yaml')
  const made = await execa('node', [CLI, 'lava', 'job', '--kernel', `file://${image.kernel}`, '--ramdisk', `file://${image.initrd}`, '--append', 'console=ttyS0 panic=-1 init_on_alloc=0',
    '--dut-address', '127.0.0.1:2223', '--key', '/keys/id_ed25519', '--results', `/results/${runDir}`, '--timeout', '12',
    '--suite', 'zero-size,mmap,import', '--heap', 'system,dmaheap-reference+acceptzero', '--reference-faults', 'acceptzero', '-o', job], { reject: false })
  t.equal(made.exitCode, 0, `the job is written ${made.stderr}`)
  const t0 = Date.now()
  const back = join(dir, 'back')
  const sub = await execa('node', [CLI, 'lava', 'submit', job, '--url', url!, '--token', token!, '--wait', '12', '-o', back], { reject: false, timeout: 840_000 })
  t.comment(`submit to results: ${((Date.now() - t0) / 1000).toFixed(0)} s\n${sub.stderr}`)
  t.equal(sub.exitCode, 1, 'exits as the run did: a heap failed')
  t.match(sub.stderr, /Finished \(Complete\)/, 'the job finished complete')
  const ours = join(resultsDir!, runDir)
  if (!t.ok(existsSync(join(ours, 'results.jsonl')), 'the run in the job left its results')) return
  const verdict = (r: CaseResult) => `${r.suite} ${r.id} ${lavaName(r.heap)} ${heapVerdict(r.status)}`
  const recorded = loadRun(ours).results
  t.ok(recorded.length > 20, `${recorded.length} results`)
  t.same(loadRun(back).results.map(verdict).sort(), recorded.map(verdict).sort(), 'the server\'s test cases are the run\'s verdicts')
  await rm(dir, { recursive: true, force: true })
  await rm(image.dir, { recursive: true, force: true })
})
