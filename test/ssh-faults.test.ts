// Boards that break mid-run, for real: the SSH link dropped (QEMU monitor
// set_link off) and the board rebooted (system_reset) while a run goes on.
// Each is an infrastructure error (exit 2) on the case it hit, never a pass;
// results before it survive; a board that comes back gets the rest of the
// run, one that does not leaves the rest reported as not run (MISS).
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { plannedCount, readResults, repo, tempOutput } from './helpers.js'
import { bootBoard, makeBoardImage, onBoard, type Board, type BoardImage } from './support/ssh-board.js'

let image: BoardImage
let image32: BoardImage
let dropped: Board
let rebooted: Board
let i686: Board

t.before(async () => {
  ;[image, image32] = await Promise.all([makeBoardImage(), makeBoardImage(() => {}, { linux32: true })])
  ;[dropped, rebooted, i686] = await Promise.all([bootBoard(image, 'f1'), bootBoard(image, 'f2', 240_000, { rebootable: true }), bootBoard(image32, 'f3')])
})

t.teardown(async () => {
  await Promise.all([dropped, rebooted, i686].filter(Boolean).map((b) => b.stop()))
  if (t.passing()) for (const i of [image, image32]) if (i) await rm(i.dir, { recursive: true, force: true })
})

function describeBoard(board: Board, timeouts: Record<string, number>, keys: BoardImage = image): string {
  const dir = join(tempOutput('fault-board'), '..')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${board.name}.yaml`)
  writeFileSync(
    file,
    [`host: ${board.host}`, `port: ${board.port}`, 'user: root', `key: ${keys.clientKey}`, `hostKey: ${keys.hostFingerprint}`, `timeouts: ${JSON.stringify(timeouts)}`, ''].join('\n'),
  )
  return file
}

/** Starts a run on a board; resolves once it has written `count` results. */
async function runUntil(file: string, out: string, count: number) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && !k.startsWith('_TAPJS')))
  const run = execa('node', [join(repo, 'bin', 'dmaheap.js'), 'run', '--board', file, '--suite', 'alloc,invalid-flags', '--heap', 'system', '--output', out], {
    reject: false,
    timeout: 600_000,
    env,
    extendEnv: false,
    cwd: repo,
  })
  const results = join(out, 'results.jsonl')
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline && !(existsSync(results) && readFileSync(results, 'utf8').split('\n').length > count)) await new Promise((r) => setTimeout(r, 100))
  return { run, before: readFileSync(results, 'utf8').split('\n').filter(Boolean).length }
}

/** The checks every break shares: exit 2, earlier results kept, exactly one case holding the infrastructure error. */
function brokenOnce(t: Test, r: { exitCode?: number; stderr: string }, out: string, before: number, what: string) {
  t.equal(r.exitCode, 2, `exit 2 (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  t.ok(results.length >= before, `the ${before} results from before ${what} are kept`)
  const broken = results.filter((x) => x.status === 'ERROR')
  t.equal(broken.length, 1, 'one case holds the infrastructure error')
  t.match(broken[0]?.message, /infrastructure error: agent link lost/, `on ${broken[0]?.id}`)
  return { results, broken }
}

t.test('SSH link dropped mid-run: exit 2 naming the case, earlier results kept, the rest not run', async (t) => {
  const out = tempOutput('link-dropped')
  const file = describeBoard(dropped, { connect: 5, ready: 10, keepalive: 1, reboot: 10 })
  const { run, before } = await runUntil(file, out, 10)
  t.match(await dropped.monitor('set_link n0 off'), /set_link/, 'the board\'s network is cut')
  const r = await run
  await dropped.monitor('set_link n0 on')
  const { results, broken } = brokenOnce(t, r, out, before, 'the cut')
  t.equal(results.filter((x) => x.status === 'PASS').length, results.length - 1, 'every other result is a case that completed')
  t.match(r.stderr, new RegExp(`dmaheap: error: after ${broken[0]?.id.replace(/\./g, '\\.')} on system broke the target, it did not come back`), 'the error names the case')
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8')) as { tests: Array<{ status: string }> }
  t.ok(kcidb.tests.filter((x) => x.status === 'MISS').length > 50, 'the cases never reached are MISS in the views, not passes')
})

t.test('board rebooted mid-run: exit 2 naming the case, the board reconnected, the rest of the run done', async (t) => {
  const out = tempOutput('board-rebooted')
  const file = describeBoard(rebooted, { connect: 10, ready: 30, keepalive: 2, reboot: 180 })
  const { run, before } = await runUntil(file, out, 10)
  await rebooted.monitor('system_reset')
  const r = await run
  const { results } = brokenOnce(t, r, out, before, 'the reboot')
  t.equal(results.length, plannedCount(out), 'after the board came back, every remaining case ran')
  t.match(r.stderr, /starting it again/)
  t.equal((await onBoard(image, rebooted, 'ls -d /tmp/dmaheap.* 2>/dev/null; true')).stdout.trim(), '', 'nothing uploaded is left on the board')
  // No secret in anything the run kept: the private key's body appears in no output file and not on stderr.
  const keyBody = readFileSync(image.clientKey, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('')
  const kept = readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8').replace(/\s/g, ''))
  t.notOk(kept.some((text) => text.includes(keyBody.slice(0, 40))) || r.stderr.replace(/\s/g, '').includes(keyBody.slice(0, 40)), 'the private key is in no output file')
})

t.test('a board of an architecture without an agent (i686): one line, exit 2, nothing written, nothing left', async (t) => {
  t.equal((await onBoard(image32, i686, 'uname -m')).stdout.trim(), 'i686', 'the board reports i686 (32-bit personality)')
  const out = tempOutput('i686')
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && !k.startsWith('_TAPJS')))
  const r = await execa('node', [join(repo, 'bin', 'dmaheap.js'), 'run', '--board', describeBoard(i686, { connect: 10 }, image32), '--output', out], { reject: false, env, extendEnv: false, cwd: repo })
  t.equal(r.exitCode, 2)
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('dmaheap: error:'))
  t.same(errors, ['dmaheap: error: f3 is i686: there is no agent for it (the agent is built for x86_64 and aarch64)'])
  t.notOk(existsSync(join(out, 'results.jsonl')), 'no results written')
  t.equal((await onBoard(image32, i686, 'ls -d /tmp/dmaheap.* 2>/dev/null; true')).stdout.trim(), '', 'the private directory made before the check is removed')
})
