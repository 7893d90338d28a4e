// The harness as a real LAVA job: `dmaheap lava job` writes it, LAVA's own
// dispatcher (lava-run, Debian's lava-dispatcher 2023.01) runs it on the
// qemu device type (no_kvm: TCG here), deploys Debian's 6.12 kernel with a
// board initramfs (a console shell and dropbear), boots it, and runs the
// harness in its docker test shell (a Debian bookworm image made here with
// debootstrap and docker import; node and the harness bind-mounted), which
// reaches the DUT over SSH through QEMU's hostfwd. Then every result the run
// recorded must arrive as a LAVA test case with its name and result, a FAIL
// (the reference heap broken on purpose) and a SKIP among them, the
// harness's exit as its own case, and `dmaheap lava results` must read the
// same verdicts back.
//
// Needs lava-dispatcher, docker.io and debootstrap (scripts/setup.sh); the
// lava-server package is fetched with apt-get download for its device-type
// templates only; dockerd is started here (its data in a temporary folder)
// when none answers.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa, type ResultPromise } from 'execa'
import t from 'tap'
import { cacheDir, packageRoot } from '../core/paths.js'
import { heapVerdict, type CaseResult } from '../core/result.js'
import { lavaCaseName, lavaName, lavaResult, lavaRunResults } from '../reports/lava.js'
import { loadRun } from '../reports/run-data.js'
import { debianKernel } from '../targets/debian-kernel.js'
import { freePort, makeBoardImage } from './support/ssh-board.js'

const CLI = join(packageRoot, 'bin', 'dmaheap.js')
const PYTHON = '/usr/bin/python3'
const IMAGE = 'dmaheap-host:local'
const PROMPT = 'lava-dut# '
const missing = ['/usr/bin/lava-run', '/usr/bin/docker', '/usr/sbin/dockerd', '/usr/sbin/debootstrap'].filter((p) => !existsSync(p))
const log = (m: string) => t.comment(m)

/** The device-type templates ship only in lava-server: its package unpacked into the cache, once. */
async function deviceTypes(): Promise<string> {
  const root = join(cacheDir(), 'lava', 'lava-server')
  const dir = join(root, 'usr', 'share', 'lava-server', 'device-types')
  if (existsSync(join(dir, 'qemu.jinja2'))) return dir
  const work = await mkdtemp(join(tmpdir(), 'dmaheap-lava-server-'))
  await execa('apt-get', ['download', 'lava-server'], { cwd: work })
  const deb = (await execa('sh', ['-c', 'ls *.deb'], { cwd: work })).stdout.trim()
  await mkdir(root, { recursive: true })
  await execa('dpkg-deb', ['-x', join(work, deb), root])
  await rm(work, { recursive: true, force: true })
  return dir
}

/** A docker daemon: the one running, else one started here (stopped at the end). */
async function docker(dir: string): Promise<(() => Promise<void>) | undefined> {
  if ((await execa('docker', ['info'], { reject: false })).exitCode === 0) return undefined
  const d: ResultPromise = execa('dockerd', ['--bridge=none', '--iptables=false', '--ip-masq=false', '--data-root', join(dir, 'docker'), '--exec-root', join(dir, 'docker-exec'), '--pidfile', join(dir, 'docker.pid')], { reject: false, stdio: ['ignore', 'ignore', 'pipe'], cleanup: true })
  for (let i = 0; i < 60; i++) {
    if ((await execa('docker', ['info'], { reject: false })).exitCode === 0) {
      return async () => {
        d.kill('SIGTERM')
        await d
      }
    }
    await sleep(500)
  }
  d.kill('SIGKILL')
  throw new Error(`dockerd did not answer within 30 s: ${(await d).stderr}`)
}

/** The container's image: Debian bookworm minbase (debootstrap once, cached as a tarball), imported. */
async function hostImage(): Promise<void> {
  if ((await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode === 0) return
  const tarball = join(cacheDir(), 'lava', 'bookworm-minbase.tar')
  if (!existsSync(tarball)) {
    const rootfs = await mkdtemp(join(tmpdir(), 'dmaheap-lava-rootfs-'))
    const t0 = Date.now()
    await execa('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'])
    await execa('tar', ['-C', rootfs, '-cf', `${tarball}.part`, '.'])
    await execa('mv', [`${tarball}.part`, tarball])
    await rm(rootfs, { recursive: true, force: true })
    log(`debootstrap and tar: ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }
  await execa('docker', ['import', tarball, IMAGE])
}

/** The device dict: qemu.jinja2 with no_kvm, a hostfwd to the DUT's sshd, and the container on the host's network. */
async function deviceDict(dir: string, templates: string, port: number): Promise<string> {
  const jinja = join(dir, 'qemu-01.jinja2')
  await writeFile(jinja, `{% extends 'qemu.jinja2' %}\n{% set no_kvm = True %}\n{% set memory = 1024 %}\n{% set netdevice = 'user,hostfwd=tcp:127.0.0.1:${port}-:22' %}\n`)
  const out = join(dir, 'qemu-01.yaml')
  const script = `
import sys, jinja2, yaml
env = jinja2.Environment(loader=jinja2.FileSystemLoader([sys.argv[1], sys.argv[2]]), trim_blocks=True, autoescape=False)
d = yaml.safe_load(env.get_template('qemu-01.jinja2').render(arch='amd64'))
d['actions'].setdefault('test', {}).setdefault('methods', {})['docker'] = {'options': ['--network=host']}
open(sys.argv[3], 'w').write(yaml.safe_dump(d))
`
  await execa(PYTHON, ['-c', script, dir, templates, out])
  return out
}

t.test('a generated job runs under lava-run and its cases arrive as LAVA test cases', { skip: missing.length ? `not installed: ${missing.join(', ')} (scripts/setup.sh installs them)` : false, timeout: 900_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dmaheap-lava-run-'))
  const stopDocker = await docker(dir)
  t.teardown(async () => {
    await stopDocker?.()
    // Kept when something failed: lava-run.log and the run's folder say why.
    if (!t.passing()) return
    // dockerd leaves its network namespace mounted in its exec root.
    await execa('umount', [join(dir, 'docker-exec', 'netns', 'default')], { reject: false })
    await rm(dir, { recursive: true, force: true }).catch((e: Error) => t.comment(`${dir} not removed: ${e.message}`))
  })
  const t0 = Date.now()
  const [templates, kernel, image] = await Promise.all([deviceTypes(), debianKernel(log), makeBoardImage(log, { consolePrompt: PROMPT }), hostImage()])
  const setupMs = Date.now() - t0

  // libguestfs builds the job's overlay image whatever the test runs on: under TCG, with Debian's kernel and its modules.
  const kmod = join(dir, 'kmod')
  await mkdir(join(kmod, 'lib', 'modules'), { recursive: true })
  await execa('cp', ['-al', kernel.modulesDir, join(kmod, 'lib', 'modules')])
  await execa('depmod', ['-b', kmod, kernel.release])
  const port = await freePort()
  const device = await deviceDict(dir, templates, port)
  const results = join(dir, 'results')
  await mkdir(results)
  const dispatcher = join(dir, 'dispatcher.yaml')
  // node, the harness and the DUT's login key go into the container as they are here; the run's folder comes back out.
  await writeFile(dispatcher, JSON.stringify({ test_docker_bind_mounts: [['/usr/bin/node', '/usr/bin/node'], [packageRoot, '/harness'], [image.dir, '/keys'], [results, '/results', 'rw']] }))
  const job = join(dir, 'job.yaml')
  const made = await execa('node', [CLI, 'lava', 'job', '--kernel', `file://${kernel.image}`, '--ramdisk', `file://${image.initrd}`, '--append', 'console=ttyS0 panic=-1 init_on_alloc=0', '--prompt', PROMPT,
    '--dut-address', `127.0.0.1:${port}`, '--key', '/keys/id_ed25519', '--results', '/results/run', '--timeout', '12',
    '--suite', 'zero-size,mmap,import', '--heap', 'system,dmaheap-reference+acceptzero', '--reference-faults', 'acceptzero', '-o', job], { reject: false })
  t.equal(made.exitCode, 0, `the job is written ${made.stderr}`)

  const t1 = Date.now()
  const run = await execa('lava-run', ['--job-id', String(process.pid), '--output-dir', join(dir, 'out'), '--device', device, '--dispatcher', dispatcher, job], {
    reject: false,
    timeout: 840_000,
    all: true,
    env: {
      LIBGUESTFS_BACKEND: 'direct',
      LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg',
      SUPERMIN_KERNEL: kernel.image,
      SUPERMIN_MODULES: join(kmod, 'lib', 'modules', kernel.release),
      HOME: process.env.HOME ?? '/root',
    },
  })
  const jobMs = Date.now() - t1
  const lavaLog = join(dir, 'lava-run.log')
  await writeFile(lavaLog, run.all ?? '')
  const phases = [...(run.all ?? '').matchAll(/end: \d ([a-z-]+) \(duration (\d\d:\d\d:\d\d)\)/g)].map((m) => `${m[1]} ${m[2]}`)
  t.comment(`setup ${(setupMs / 1000).toFixed(0)} s, lava-run ${(jobMs / 1000).toFixed(0)} s (${phases.join(', ')}); its log: ${lavaLog}`)
  const reported = lavaRunResults(run.all ?? '')
  const job_ = reported.find((r) => r.definition === 'lava' && r.case === 'job')
  t.equal(job_?.result, 'pass', `LAVA says the job passed (lava-run exit ${run.exitCode}); last lines:\n${(run.all ?? '').split('\n').slice(-15).join('\n')}`)

  // What the harness recorded in the job, every planned case included (MISS too).
  if (!t.ok(existsSync(join(results, 'run', 'results.jsonl')), 'the run in the container left its results')) return
  const ours = loadRun(join(results, 'run')).results
  const cases = reported.filter((r) => r.definition === '0_dmaheap' && r.set)
  t.equal(cases.length, ours.length, `every result is a LAVA test case (${ours.length})`)
  const byName = new Map(cases.map((c) => [`${c.set}/${c.case}`, c]))
  const wrong = ours.filter((r) => byName.get(`${r.suite}/${lavaCaseName(r)}`)?.result !== lavaResult(r.status)).map((r) => `${r.id}.${r.heap}: ${r.status}, LAVA ${byName.get(`${r.suite}/${lavaCaseName(r)}`)?.result ?? 'absent'}`)
  t.same(wrong, [], 'each under its own name, in its suite\'s test set, with its result')
  t.ok(ours.some((r) => r.status === 'FAIL') && cases.some((c) => c.result === 'fail'), 'the broken reference heap fails, in LAVA too')
  t.ok(ours.some((r) => r.status === 'SKIP') && cases.some((c) => c.result === 'skip'), 'a case that cannot run is skipped, in LAVA too')
  t.ok(ours.every((r) => r.status !== 'ERROR' && r.status !== 'MISS'), 'no case lost to the infrastructure')
  const exit = reported.find((r) => r.case === 'harness-exit')
  t.same([exit?.result, exit?.measurement], ['pass', 1], 'the harness exited 1 (a heap failed), reported as its own case')

  // Back from the lab: the same verdicts as the run itself recorded.
  const back = join(dir, 'back')
  const read = await execa('node', [CLI, 'lava', 'results', lavaLog, '-o', back], { reject: false })
  t.equal(read.exitCode, 1, `lava results exits as the run did (a failure) ${read.stderr}`)
  const again = loadRun(back).results
  // The heap's name in LAVA's alphabet: `+` of the broken reference heap's name comes back as `_` (the documented mapping).
  const verdict = (r: CaseResult) => `${r.suite} ${r.id} ${lavaName(r.heap)} ${heapVerdict(r.status)}`
  t.same(again.map(verdict).sort(), ours.map(verdict).sort(), 'dmaheap lava results gives the run\'s own verdicts')
  for (const view of ['junit.xml', 'kcidb.json', 'report.html', 'summary.md']) t.ok(existsSync(join(back, view)), `${view} written`)
  const text = await readFile(join(back, 'results.jsonl'), 'utf8')
  t.ok(text.length > 0)
})
