// Boards over SSH, for real: two QEMU guests running Debian's dropbear play
// the boards (test/support/ssh-board.ts). The harness connects with ssh2 or
// the system ssh, checks host keys, uploads the agent over SFTP, runs
// suites, and removes what it uploaded; a farm runs both boards at once.
import t from 'tap'
import { checkFigures, readRun } from './support/bench-figures.js'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { createHmac, randomBytes } from 'node:crypto'
import { farmExitCode } from '../cli/farm.js'
import { hostFieldMatches, knownHostsName } from '../runners/host-keys.js'
import { SUITES } from '../suites/index.js'
import { dmaheap, readResults, repo, tempOutput } from './helpers.js'
import { bootBoard, freePort, makeBoardImage, onBoard, type Board, type BoardImage } from './support/ssh-board.js'

let image: BoardImage
let boards: Board[] = []
const timings: Record<string, string> = {}

t.before(async () => {
  const t0 = Date.now()
  image = await makeBoardImage()
  timings['board image (keys, initramfs)'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`
  boards = await Promise.all([bootBoard(image, 'b1'), bootBoard(image, 'b2')])
  for (const b of boards) timings[`${b.name} boot to SSH banner (TCG)`] = `${(b.bootMs / 1000).toFixed(1)} s`
})

t.teardown(async () => {
  await Promise.all(boards.map((b) => b.stop()))
  // The keys and the boards' consoles stay for a look when something failed.
  if (image && t.passing()) await rm(image.dir, { recursive: true, force: true })
  t.comment(`measured: ${Object.entries(timings).map(([k, v]) => `${k}: ${v}`).join('; ')}`)
})

const caseCount = (names: string[]) => SUITES.filter((s) => names.includes(s.name)).reduce((n, s) => n + s.cases.length + 1, 0)

/** A board description file for one of the test boards. */
function describeBoard(dir: string, board: Board, fields: Record<string, unknown> = {}, file = `${board.name}.yaml`): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, file)
  const base = { host: board.host, port: board.port, user: 'root', key: image.clientKey, hostKey: image.hostFingerprint }
  const merged = { ...base, ...fields }
  const lines = Object.entries(merged)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

/** `dmaheap` as a process the test can signal (helpers' dmaheap() only hands back its result). */
function dmaheapProcess(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && !k.startsWith('_TAPJS')))
  return execa('node', [join(repo, 'bin', 'dmaheap.js'), ...args], { reject: false, timeout: 300_000, env, extendEnv: false, cwd: repo })
}

/** What the board has under /tmp that the harness would have made. */
async function leftovers(board: Board): Promise<string> {
  const r = await onBoard(image, board, 'ls -d /tmp/dmaheap.* 2>/dev/null; true')
  return r.stdout.trim()
}

/** "[127.0.0.1]:port ssh-ed25519 AAAA…": the board's key as known_hosts records it. */
function knownHostsLine(board: Board, key = image.hostPublicKey): string {
  return `[${board.host}]:${board.port} ${key}\n`
}

t.test('a board over ssh2: agent uploaded to a 0700 directory, suites pass, kernel log kept, upload removed', async (t) => {
  const [b1] = boards
  const dir = tempOutput('board')
  const file = describeBoard(join(dir, '..', 'boards'), b1!, { heaps: { system: {} } })
  const suites = ['alloc', 'zero-size', 'exhaustion']
  const t0 = Date.now()
  const run = dmaheap(['run', '--board', file, '--suite', suites.join(','), '--output', dir])
  let finished = false
  void run.then(() => (finished = true))
  // While it runs: the private directory and the agent in it, as the board sees them.
  let seen = ''
  while (!seen && !finished) {
    const r = await onBoard(image, b1!, 'for d in /tmp/dmaheap.*; do [ -d "$d" ] && stat -c "%a %U %n" "$d" "$d"/*; done; true')
    if (/dmaheap-agent/.test(r.stdout)) seen = r.stdout
    else await new Promise((r) => setTimeout(r, 250))
  }
  const r = await run
  timings['one board, ssh2, alloc+zero-size+exhaustion'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  t.match(seen, /^700 root \/tmp\/dmaheap\.\S+$/m, 'the upload directory is 0700 while the run goes on')
  t.match(seen, /^700 root \/tmp\/dmaheap\.\S+\/dmaheap-agent$/m, 'the agent in it is 0700')
  t.match(r.stdout, /^TAP version 14$/m)
  t.match(r.stdout, /# board-b1, Linux 6\.12\.\S+ x86_64, page size 4096/, 'the TAP names the board and its kernel')

  const results = readResults(dir)
  const per = caseCount(suites)
  for (const heap of ['system', 'dmaheap-reference']) {
    const mine = results.filter((x) => x.heap === heap)
    t.equal(mine.length, per, `${per} results for ${heap}`)
    t.same(mine.filter((x) => x.status === 'FAIL' || x.status === 'ERROR').map((x) => x.id), [], `nothing failed on ${heap}`)
    const ex = mine.find((x) => x.id === 'exhaustion.refuse-and-recover')
    t.equal(ex?.status, 'SKIP', `exhaustion is off on a board (${heap})`)
    t.match(ex?.message, /--allow-exhaustion/, 'the skip says how to allow it')
  }
  t.ok(results.every((x) => x.target === 'board-b1' && x.kernel.startsWith('6.12.')), 'results name the board and its kernel')

  const runJson = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))
  t.match(runJson.target.facts, { board: 'b1', transport: 'ssh2', arch: 'x86_64', disposable: false, destructiveAllowed: false, remoteDir: /^\/tmp\/dmaheap\./ })
  t.match(readFileSync(join(dir, 'kernel.log'), 'utf8'), /Linux version 6\.12/, "the board's kernel log is saved with the results")
  t.match(readFileSync(join(dir, 'kernel.log'), 'utf8'), /dmaheap: begin alloc\./, 'and it holds the case markers')
  t.match(r.stderr, /agent uploaded to \/tmp\/dmaheap\.\S+ in [\d.]+ s/)
  const m = /connected in ([\d.]+) s, agent uploaded to \S+ in ([\d.]+) s/.exec(r.stderr)
  if (m) timings['ssh2 connect / SFTP upload'] = `${m[1]} s / ${m[2]} s`
  t.equal(await leftovers(b1!), '', 'nothing the harness made is left on the board')
})

t.test('destructive cases run on a board whose description allows them, bounded by its memoryBudget', async (t) => {
  const [b1] = boards
  const dir = tempOutput('board-destructive')
  const file = describeBoard(join(dir, '..', 'boards'), b1!, { destructive: true, memoryBudget: '64MiB' })
  const r = await dmaheap(['run', '--board', file, '--suite', 'exhaustion', '--heap', 'system', '--output', dir])
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const ex = readResults(dir).find((x) => x.id === 'exhaustion.refuse-and-recover')
  t.equal(ex?.status, 'PASS', 'exhaustion ran and passed')
  t.match(ex?.observations, { 'bounded by': /64 MiB/ }, 'bounded by the description\'s memoryBudget')
  t.equal(await leftovers(b1!), '')
})

t.test('the upload is removed when the run is interrupted and when the agent dies', async (t) => {
  const [b1] = boards
  const waitForUpload = async () => {
    for (let i = 0; i < 240; i++) {
      if ((await onBoard(image, b1!, 'pidof dmaheap-agent')).stdout.trim()) return true
      await new Promise((r) => setTimeout(r, 250))
    }
    return false
  }
  const dir = tempOutput('board-interrupt')
  const file = describeBoard(join(dir, '..', 'boards'), b1!)
  const run = dmaheapProcess(['run', '--board', file, '--suite', 'alloc', '--output', dir])
  t.ok(await waitForUpload(), 'the agent runs on the board')
  run.kill('SIGINT')
  const r = await run
  t.equal(r.exitCode, 130, 'Ctrl-C: exit 130')
  t.equal(await leftovers(b1!), '', `Ctrl-C: the upload is removed (stderr: ${r.stderr})`)
  t.equal((await onBoard(image, b1!, 'pidof dmaheap-agent')).stdout.trim(), '', 'Ctrl-C: the agent is gone')
  // Ctrl-C may land while the session is still starting, before the run has
  // an output folder to keep: the kernel log is saved all the same.
  t.ok(existsSync(join(dir, 'kernel.log')), 'Ctrl-C: the board\'s kernel log is kept')

  const dir2 = tempOutput('board-agent-dies')
  const run2 = dmaheapProcess(['run', '--board', file, '--suite', 'alloc', '--output', dir2])
  t.ok(await waitForUpload(), 'the agent runs on the board')
  await onBoard(image, b1!, 'kill -9 $(pidof dmaheap-agent)')
  const r2 = await run2
  t.equal(r2.exitCode, 2, 'a lost agent is an infrastructure error')
  const errors = readResults(dir2).filter((x) => x.status === 'ERROR')
  t.match(errors, [{ message: /agent link lost: (agent over SSH on b1 closed|the agent on b1 exited)/ }], 'the case it broke in is an ERROR saying the agent was lost')
  // The run brings the board back (a fresh upload) and goes on; both uploads go.
  t.match(r2.stderr, /the target broke during a case; starting it again\n.*connecting to b1[^]*agent uploaded to/, 'the board is brought back')
  t.equal(await leftovers(b1!), '', 'agent lost: every upload is removed')
})

t.test('authentication through the ssh-agent when the description names no key', async (t) => {
  const [b1] = boards
  const dir = tempOutput('board-ssh-agent')
  mkdirSync(dir, { recursive: true })
  const sock = join(dir, 'agent.sock')
  const started = await execa('ssh-agent', ['-a', sock, '-s'])
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1])
  t.teardown(() => void process.kill(pid, 'SIGTERM'))
  await execa('ssh-add', [image.clientKey], { env: { SSH_AUTH_SOCK: sock } })
  const file = describeBoard(join(dir, '..', 'boards'), b1!, { key: undefined })
  const saved = process.env.SSH_AUTH_SOCK
  process.env.SSH_AUTH_SOCK = sock
  try {
    const r = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--output', join(dir, 'out')])
    t.equal(r.exitCode, 0, `exit 0 with the agent's key (stderr: ${r.stderr.slice(-800)})`)
    delete process.env.SSH_AUTH_SOCK
    const none = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--output', join(dir, 'out2')])
    t.equal(none.exitCode, 2, 'no key and no agent: exit 2')
    t.match(none.stderr, /^dmaheap: error: no key for root@127\.0\.0\.1: the board description has no key and no ssh-agent runs \(add key: FILE/m)
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK
    else process.env.SSH_AUTH_SOCK = saved
  }
})

t.test('list --heaps and bench take --board as run does: host key flags, the upload removed', async (t) => {
  const [b1] = boards
  const dir = tempOutput('board-bench')
  const knownHosts = join(dir, '..', 'known_hosts')
  writeFileSync(knownHosts, '')
  // No pinned key, so the host key flags have to reach these commands too.
  const file = describeBoard(join(dir, '..', 'boards'), b1!, { hostKey: undefined })

  const refused = await dmaheap(['list', '--heaps', '--board', file, '--known-hosts', knownHosts])
  t.equal(refused.exitCode, 2, 'list --heaps: an unknown host key is refused')
  t.match(refused.stderr, /^dmaheap: error: host key of 127\.0\.0\.1:\d+ is not known/m)
  const list = await dmaheap(['list', '--heaps', '--board', file, '--known-hosts', knownHosts, '--accept-new-host-key'])
  t.equal(list.exitCode, 0, `list --heaps exit 0 (stderr: ${list.stderr.slice(-800)})`)
  t.match(list.stdout, /^dmaheap-reference\treference heap \(userspace\)\nsystem\tkernel heap$/m, "the board's heaps, from the board")
  t.match(list.stderr, /connecting to b1 \(root@127\.0\.0\.1:\d+, ssh2\)/, 'it connected to the board')
  t.match(readFileSync(knownHosts, 'utf8'), knownHostsLine(b1!), '--accept-new-host-key recorded the key')
  t.equal(await leftovers(b1!), '', 'list --heaps: the upload is removed')

  const t0 = Date.now()
  const bench = await dmaheap(['bench', '--board', file, '--known-hosts', knownHosts, '--heap', 'system', '--budget-ms', '20', '--output', dir])
  timings['bench on a board, system, 20 ms a figure'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`
  t.equal(bench.exitCode, 0, `bench exit 0 (stderr: ${bench.stderr.slice(-800)})`)
  const run = readRun(dir)
  t.match(run, { target: 'board-b1', kernel: /^6\.12\./, machine: 'x86_64' }, 'bench.json names the board and its kernel')
  // Every figure as on QEMU: samples, its yardstick, the ratios, each kind.
  checkFigures(t, run, ['system'])
  t.match(bench.stdout, /^system\talloc\t4 KiB\t/m, 'the table on stdout')
  t.match(readFileSync(join(dir, 'kernel.log'), 'utf8'), /Linux version 6\.12/, "the board's kernel log is kept with bench.json")
  t.equal(await leftovers(b1!), '', 'bench: the upload is removed')

  // Bad input is refused before anything connects, as for run.
  const qemuFlag = await dmaheap(['bench', '--board', file, '--cma', '64M'])
  t.match(qemuFlag, { exitCode: 2, stderr: /^dmaheap: error: --cma applies to --target qemu, not to --board \(drop --cma, or run on --target qemu\)$/m }, 'bench: a QEMU flag is refused')
  const both = await dmaheap(['list', '--heaps', '--board', file, '--target', 'local'])
  t.match(both, { exitCode: 2, stderr: /^dmaheap: error: option '--board <name\|file>' cannot be used with option '-t, --target <name>'/m }, 'a board and a --target: refused, not one ignored')
  const noHeaps = await dmaheap(['list', '--board', file])
  t.match(noHeaps, { exitCode: 2, stderr: /^dmaheap: error: --board applies to list --heaps .*\(add --heaps/m }, 'list --board without --heaps says what it needs')
})

t.test('the system ssh transport, with a known_hosts file', async (t) => {
  const [, b2] = boards
  const dir = tempOutput('board-system')
  const knownHosts = join(dir, '..', 'known_hosts')
  writeFileSync(knownHosts, knownHostsLine(b2!))
  const file = describeBoard(join(dir, '..', 'boards'), b2!, { transport: 'system', hostKey: undefined, knownHosts })
  const r = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--output', dir])
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(dir)
  t.equal(results.length, 2 * caseCount(['zero-size']) + 1, 'zero-size on both heaps, and the run\'s boot case')
  t.ok(results.every((x) => x.status === 'PASS'), 'all pass')
  t.match(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).target.facts, { transport: 'ssh', disposable: false })
  t.equal(await leftovers(b2!), '', 'the upload is removed')
})

t.test('host keys', async (t) => {
  const [b1] = boards
  const oneLine = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('dmaheap: error:'))

  await t.test('an unknown key is refused, with its fingerprint; --accept-new-host-key records it', async (t) => {
    for (const transport of ['ssh2', 'system']) {
      const dir = tempOutput(`hostkey-unknown-${transport}`)
      const knownHosts = join(dir, '..', 'known_hosts')
      writeFileSync(knownHosts, '')
      const file = describeBoard(join(dir, '..', 'boards'), b1!, { hostKey: undefined, transport })
      const r = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--known-hosts', knownHosts, '--output', dir])
      t.equal(r.exitCode, 2, `${transport}: exit 2`)
      const fp = image.hostFingerprint.replace(/[+/]/g, (c) => `\\${c}`)
      t.match(oneLine(r.stderr), [new RegExp(`^dmaheap: error: host key of 127\\.0\\.0\\.1:${b1!.port} is not known \\(${fp}\\) \\(check it and pass --accept-new-host-key to record it`)], `${transport}: one line naming the key and the fix`)
      t.notOk(existsSync(join(dir, 'results.jsonl')), `${transport}: no results`)
      t.equal(readFileSync(knownHosts, 'utf8'), '', `${transport}: nothing recorded without the flag`)

      const accepted = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--known-hosts', knownHosts, '--accept-new-host-key', '--output', dir])
      t.equal(accepted.exitCode, 0, `${transport}: accepted (stderr: ${accepted.stderr.slice(-800)})`)
      t.match(readFileSync(knownHosts, 'utf8'), transport === 'ssh2' ? knownHostsLine(b1!) : /^\|1\|\S+ ssh-ed25519 /m, `${transport}: the key is recorded`)
      const again = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--known-hosts', knownHosts, '--output', dir])
      t.equal(again.exitCode, 0, `${transport}: known from then on (stderr: ${again.stderr.slice(-800)})`)
    }
    t.equal(await leftovers(b1!), '')
  })

  await t.test('a hashed known_hosts entry is recognised', async (t) => {
    const dir = tempOutput('hostkey-hashed')
    const knownHosts = join(dir, '..', 'known_hosts')
    writeFileSync(knownHosts, knownHostsLine(b1!))
    await execa('ssh-keygen', ['-H', '-f', knownHosts])
    t.match(readFileSync(knownHosts, 'utf8'), /^\|1\|/, 'the file is hashed')
    const file = describeBoard(join(dir, '..', 'boards'), b1!, { hostKey: undefined, knownHosts })
    const r = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--output', dir])
    t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-800)})`)
  })

  await t.test('a changed key is refused loudly and never recorded', async (t) => {
    const dir = tempOutput('hostkey-changed')
    // A wrong pin.
    const wrongPin = image.hostFingerprint.slice(0, -4) + (image.hostFingerprint.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    const pinned = describeBoard(join(dir, '..', 'boards'), b1!, { hostKey: wrongPin }, 'pinned.yaml')
    const r = await dmaheap(['run', '--board', pinned, '--suite', 'zero-size', '--accept-new-host-key', '--output', dir])
    t.equal(r.exitCode, 2)
    t.match(oneLine(r.stderr), [/^dmaheap: error: HOST KEY OF 127\.0\.0\.1:\d+ HAS CHANGED: it presented SHA256:\S+, the board description \(hostKey\) expects SHA256:\S+; refusing to connect/], 'one loud line')
    t.notOk(existsSync(join(dir, 'results.jsonl')))

    // Another key recorded for the board in known_hosts.
    const knownHosts = join(dir, '..', 'known_hosts')
    const other = join(dir, '..', 'other_key')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(knownHosts, knownHostsLine(b1!, otherLine))
    const before = readFileSync(knownHosts, 'utf8')
    const file = describeBoard(join(dir, '..', 'boards'), b1!, { hostKey: undefined, knownHosts })
    const c = await dmaheap(['run', '--board', file, '--suite', 'zero-size', '--accept-new-host-key', '--output', dir])
    t.equal(c.exitCode, 2)
    t.match(oneLine(c.stderr), [new RegExp(`^dmaheap: error: HOST KEY OF 127\\.0\\.0\\.1:${b1!.port} HAS CHANGED: .*known_hosts:1 expects SHA256:`)], 'names the known_hosts line')
    t.equal(readFileSync(knownHosts, 'utf8'), before, '--accept-new-host-key does not overwrite a changed key')
    t.equal(await leftovers(b1!), '', 'nothing was uploaded')
  })
})

t.test('a farm of two boards runs them at once, each in its own folder', async (t) => {
  const out = tempOutput('farm')
  const boardsDir = join(out, '..', 'farm')
  // The same suite on one board alone first: the yardstick for "in parallel".
  const soloDir = join(out, '..', 'solo')
  describeBoard(soloDir, boards[0]!)
  const s0 = Date.now()
  const solo = await dmaheap(['run', '--farm', soloDir, '--suite', 'alloc', '--output', join(out, '..', 'solo-out')])
  t.equal(solo.exitCode, 0, 'one board alone passes')
  timings['one board alone, alloc (farm of one)'] = `${((Date.now() - s0) / 1000).toFixed(1)} s`
  for (const b of boards) describeBoard(boardsDir, b)
  const t0 = Date.now()
  const r = await dmaheap(['run', '--farm', boardsDir, '--jobs', '2', '--suite', 'alloc', '--output', out])
  const wall = Date.now() - t0
  timings['farm of two boards, alloc, in parallel'] = `${(wall / 1000).toFixed(1)} s`
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  const farm = JSON.parse(readFileSync(join(out, 'farm.json'), 'utf8'))
  t.equal(farm.exitCode, 0)
  t.equal(farm.jobs, 2)
  t.match(farm.boards, [
    { board: 'b1', status: 'pass', exitCode: 0, counts: { FAIL: 0, ERROR: 0 } },
    { board: 'b2', status: 'pass', exitCode: 0, counts: { FAIL: 0, ERROR: 0 } },
  ])
  for (const b of boards) {
    const results = readResults(join(out, b.name))
    t.equal(results.length, 2 * caseCount(['alloc']) + 1, `${b.name}: its own results (both heaps, and the boot case)`)
    t.ok(results.every((x) => x.target === `board-${b.name}` && x.status === 'PASS'), `${b.name}: all pass, named for the board`)
    t.ok(existsSync(join(out, b.name, 'results.tap')) && existsSync(join(out, b.name, 'kernel.log')), `${b.name}: TAP and kernel log in its folder`)
    t.equal(await leftovers(b), '', `${b.name}: upload removed`)
  }
  // Both ran at once: the farm took less than the two boards one after the other.
  const sum = farm.boards.reduce((n: number, b: { durationMs: number }) => n + b.durationMs, 0)
  timings['farm: each board / wall'] = `${farm.boards.map((b: { durationMs: number }) => (b.durationMs / 1000).toFixed(1)).join(' s, ')} s / ${(farm.durationMs / 1000).toFixed(1)} s`
  t.ok(farm.durationMs < sum * 0.8, `in parallel: farm ${farm.durationMs} ms < 0.8 x ${sum} ms`)
  t.match(r.stderr, /\[b1\] PASS in/)
  t.match(r.stderr, /\[b2\] PASS in/)
})

t.test('an unreachable board is an infrastructure error for that board only', async (t) => {
  const out = tempOutput('farm-dead')
  const farmFile = join(out, '..', 'farm.yaml')
  const dir = join(out, '..', 'boards')
  describeBoard(dir, boards[0]!)
  const closed = await freePort()
  describeBoard(dir, { ...boards[0]!, name: 'gone', port: closed })
  writeFileSync(farmFile, 'boards:\n  - boards/b1.yaml\n  - boards/gone.yaml\n')
  const r = await dmaheap(['run', '--farm', farmFile, '--suite', 'zero-size', '--output', out])
  t.equal(r.exitCode, 2, 'exit 2: a board had an infrastructure error')
  const farm = JSON.parse(readFileSync(join(out, 'farm.json'), 'utf8'))
  t.match(farm.boards, [
    { board: 'b1', status: 'pass', exitCode: 0 },
    { board: 'gone', status: 'infra-error', exitCode: 2, error: new RegExp(`^cannot reach 127\\.0\\.0\\.1:${closed}: ECONNREFUSED`) },
  ])
  t.equal(farm.exitCode, 2)
  t.ok(readResults(join(out, 'b1')).every((x) => x.status === 'PASS'), 'the reachable board ran')
  t.notOk(existsSync(join(out, 'gone', 'results.jsonl')), 'the unreachable one has no results')
})

t.test('a bad board description is a one-line error naming the file and the field', async (t) => {
  const dir = tempOutput('bad-yaml')
  mkdirSync(dir, { recursive: true })
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'host: 127.0.0.1\nport: twenty-two\n')
  const r = await dmaheap(['run', '--board', bad])
  t.equal(r.exitCode, 2)
  t.match(r.stderr, new RegExp(`^dmaheap: error: ${bad.replace(/[.]/g, '\\.')}: port: expected number \\(correct the field and run again\\)$`, 'm'))
  writeFileSync(bad, 'host: 127.0.0.1\nhostkey: SHA256:x\n')
  const typo = await dmaheap(['run', '--board', bad])
  t.match(typo.stderr, /^dmaheap: error: .*bad\.yaml: \(top level\): unknown field "hostkey"; check the spelling/m)
  const qemuFlag = await dmaheap(['run', '--board', describeBoard(join(dir, 'ok'), boards[0]!), '--kernel', 'bzImage'])
  t.equal(qemuFlag.exitCode, 2)
  t.match(qemuFlag.stderr, /^dmaheap: error: --kernel applies to --target qemu, not to --board \(drop --kernel, or run on --target qemu\)$/m, 'a QEMU flag is refused, not ignored')
  // In a farm, before any board starts.
  const farmDir = join(dir, 'farm')
  mkdirSync(farmDir)
  describeBoard(farmDir, boards[0]!)
  writeFileSync(join(farmDir, 'zz.yaml'), 'host: x\ndestructive: sometimes\n')
  const f = await dmaheap(['run', '--farm', farmDir, '--output', join(dir, 'out')])
  t.equal(f.exitCode, 2)
  t.match(f.stderr, /^dmaheap: error: .*zz\.yaml: destructive: expected boolean/m)
  t.notOk(existsSync(join(dir, 'out', 'b1')), 'no board started')
})

t.test('known_hosts names and the farm exit code', async (t) => {
  t.equal(knownHostsName('board', 22), 'board')
  t.equal(knownHostsName('10.0.0.5', 2222), '[10.0.0.5]:2222')
  t.ok(hostFieldMatches('a,board,c', 'board'), 'one of a list')
  t.ok(hostFieldMatches('*.lab.example', 'rock5b.lab.example'), 'wildcard')
  t.notOk(hostFieldMatches('*.lab.example,!rock5b.lab.example', 'rock5b.lab.example'), 'negated')
  t.notOk(hostFieldMatches('[10.0.0.5]:2222', '10.0.0.5'), 'the port is part of the name')
  const salt = randomBytes(20)
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.5]:2222').digest('base64')}`
  t.ok(hostFieldMatches(hashed, '[10.0.0.5]:2222'), 'hashed name')
  t.notOk(hostFieldMatches(hashed, '[10.0.0.5]:2223'), 'hashed, other port')
  t.equal(farmExitCode([{ status: 'pass' }, { status: 'pass' }]), 0)
  t.equal(farmExitCode([{ status: 'pass' }, { status: 'fail' }]), 1)
  t.equal(farmExitCode([{ status: 'fail' }, { status: 'infra-error' }]), 2)
})
