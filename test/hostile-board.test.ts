// A hostile board cannot crash, hang or fool the host. The board is a real
// SSH board (a QEMU guest running Dropbear, support/ssh-board.ts) whose
// "agent" is a script (support/hostile-agent.ts): it passes the real
// agent's replies through for a while, then sends bytes without a newline,
// a 10 MB line, garbage, a wrong id, a surplus line, a field of the wrong
// type, a number JSON cannot hold, a reply without a field, or nothing.
// Each run must end with exit 2 and one error line naming what the board
// did; the results measured before are kept, run.json and every view are
// written, the board's dmesg is saved and the upload is removed. And an
// exception nothing caught (thrown into the harness's own process) ends a
// run the same way.
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { dmaheap, readResults, tempOutput } from './helpers.js'
import { bootBoard, makeBoardImage, onBoard, type Board, type BoardImage } from './support/ssh-board.js'
import { HOSTILE_BEHAVIOURS, hostileBoardFiles, type HostileBehaviour } from './support/hostile-agent.js'
import { connectSsh } from '../runners/ssh.js'
import { connectSystemSsh } from '../runners/ssh-system.js'
import { COMMAND_OUTPUT_MAX } from '../runners/remote-shell.js'

let image: BoardImage
let board: Board

t.before(async () => {
  image = await makeBoardImage(() => {}, hostileBoardFiles)
  board = await bootBoard(image, 'hostile')
})

t.teardown(async () => {
  await board?.stop()
  if (t.passing() && image) await rm(image.dir, { recursive: true, force: true })
})

function describeBoard(name: string, timeouts: Record<string, number>): string {
  const file = join(dirname(tempOutput('hostile-board')), `${name}.yaml`)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, [`host: ${board.host}`, `port: ${board.port}`, 'user: root', `key: ${image.clientKey}`, `hostKey: ${image.hostFingerprint}`, `timeouts: ${JSON.stringify(timeouts)}`, ''].join('\n'))
  return file
}

const VIEWS = ['results.jsonl', 'run.json', 'results.tap', 'results.ktap', 'junit.xml', 'kcidb.json', 'summary.md', 'report.html', 'kernel.log']

/** What every hostile run must leave: exit 2, one error line matching `said`, what was measured kept, the board tidied. */
async function endedCleanly(t: Test, r: { exitCode?: number; stderr: string; timedOut?: boolean }, out: string, said: RegExp) {
  t.notOk(r.timedOut, 'the run ended by itself')
  t.equal(r.exitCode, 2, `exit 2 (stderr: ${r.stderr.slice(-800)})`)
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('dmaheap: error: '))
  t.equal(errors.length, 1, 'one error line')
  t.match(errors[0], said, `it says what the board did: ${errors[0]?.slice(0, 400)}`)
  t.ok((errors[0] ?? '').length < 2000, 'a bounded line')
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace')
  for (const f of VIEWS) t.ok(existsSync(join(out, f)), `${f} written`)
  const results = readResults(out)
  const broken = results.findIndex((x) => x.status === 'ERROR')
  const before = broken < 0 ? results.length : broken
  t.ok(before >= 3, `the ${before} results measured before the first break are kept`)
  t.ok(results.slice(0, before).every((x) => x.status === 'PASS'), 'and they are the passes they were')
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { summary: { infraError?: string } }
  t.match(run.summary.infraError, said, 'run.json names the infrastructure error')
  const left = await onBoard(image, board, 'ls -d /tmp/dmaheap.* 2>/dev/null | wc -l')
  t.equal(left.stdout.trim(), '0', 'the upload is removed from the board')
}

const RUN = ['--suite', 'alloc,invalid-flags', '--heap', 'system']

for (const behaviour of Object.keys(HOSTILE_BEHAVIOURS) as HostileBehaviour[]) {
  t.test(`the board's agent: ${behaviour}`, async (t) => {
    // After 60 replies: some cases pass first, then each session (the run
    // brings the board back five times) goes wrong the same way.
    const written = await onBoard(image, board, `echo '${behaviour} 60' > /tmp/hostile-mode`)
    t.equal(written.exitCode, 0, 'the board is told how to misbehave')
    const out = tempOutput(`hostile-${behaviour}`)
    const file = describeBoard(`hostile-${behaviour}`, behaviour === 'hang' ? { request: 8, reboot: 30 } : { reboot: 30 })
    const r = await dmaheap(['run', '--board', file, ...RUN, '--output', out], 900_000)
    await endedCleanly(t, r, out, HOSTILE_BEHAVIOURS[behaviour])
    const errored = readResults(out).filter((x) => x.status === 'ERROR')
    t.ok(errored.length >= 1, `${errored.length} cases hold the break`)
    t.ok(errored.every((x) => /^infrastructure error: agent link lost: /.test(x.message ?? '') && HOSTILE_BEHAVIOURS[behaviour].test(x.message ?? '')), 'each says how the link was lost')
  })
}

t.test('the board\'s agent over the system ssh: endless', async (t) => {
  // The other SSH client: the agent's bytes come through an ssh process's pipe.
  await onBoard(image, board, "echo 'endless 60' > /tmp/hostile-mode")
  const out = tempOutput('hostile-endless-system')
  const file = describeBoard('hostile-endless-system', { reboot: 30 })
  writeFileSync(file, readFileSync(file, 'utf8') + 'transport: system\n')
  const r = await dmaheap(['run', '--board', file, ...RUN, '--output', out], 900_000)
  await endedCleanly(t, r, out, HOSTILE_BEHAVIOURS.endless)
})

t.test('an SSH command that prints without end: its last 16 MiB kept, either client', async (t) => {
  await onBoard(image, board, 'rm -f /tmp/hostile-mode')
  const common = { host: board.host, port: board.port, user: 'root', key: image.clientKey, hostKey: image.hostFingerprint, acceptNewHostKey: false, connectTimeoutMs: 20_000, keepaliveMs: 10_000 }
  const shells = [
    await connectSsh({ ...common, knownHosts: join(dirname(tempOutput('ssh2-known-hosts')), 'known_hosts'), readyTimeoutMs: 30_000 }),
    await connectSystemSsh(common),
  ]
  for (const shell of shells) {
    try {
      // 20 MB of "a", then a last line: more than the cap, less than twice it.
      const r = await shell.run(`head -c 20000000 /dev/zero | tr '\\000' a; echo; echo END`, 600_000)
      t.equal(r.code, 0, `${shell.description}: the command ran`)
      t.ok(r.stdout.length <= COMMAND_OUTPUT_MAX + 64, `${shell.description}: ${r.stdout.length} characters kept`)
      t.match(r.stdout.slice(0, 64), /^\[\d+ earlier bytes dropped\]\na/, 'it says what it dropped')
      t.match(r.stdout.slice(-16), /a\nEND\n?$/, 'the end is kept')
    } finally {
      await shell.close()
    }
  }
})

t.test('an exception nothing caught, thrown in the harness mid-run on a board', async (t) => {
  await onBoard(image, board, 'rm -f /tmp/hostile-mode')
  const out = tempOutput('hostile-crash')
  // Thrown from a timer in the harness's own process once 5 results are
  // written: no hook in the harness, the real uncaught-exception path.
  const preload = join(dirname(out), 'throw-later.mjs')
  writeFileSync(
    preload,
    `import { existsSync, readFileSync } from 'node:fs'
const file = ${JSON.stringify(join(out, 'results.jsonl'))}
const timer = setInterval(() => {
  if (existsSync(file) && readFileSync(file, 'utf8').split('\\n').filter(Boolean).length >= 5) {
    clearInterval(timer)
    throw new RangeError('Invalid string length (thrown by the test)')
  }
}, 20)
timer.unref()
`,
  )
  const file = describeBoard('hostile-crash', { reboot: 30 })
  const r = await dmaheap(['run', '--board', file, ...RUN, '--output', out], 900_000, { NODE_OPTIONS: `--import ${preload}` })
  await endedCleanly(t, r, out, /internal error: RangeError: Invalid string length \(thrown by the test\) \(at Timeout\.<anonymous> \(file:\/\/\S*throw-later\.mjs:\d+:\d+\)\)/)
  t.ok(readResults(out).length >= 5, 'the results before it are kept')
})
