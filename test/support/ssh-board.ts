/**
 * Boards for the SSH tests: QEMU x86_64 guests of Debian's 6.12 kernel that
 * run Debian's dropbear (with OpenSSH's sftp-server) on a virtio-net card,
 * QEMU's user-mode network forwarding a loopback port to the guest's port 22.
 * The guest holds busybox, dropbear and its libraries, and nothing of the
 * harness: the agent has to come over SFTP, which is what is under test.
 *
 * The host key and root's login key are generated here, so the tests know
 * the board's fingerprint and can log in; both are new for every test run.
 */
import { createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa, type ResultPromise } from 'execa'
import { debianKernel } from '../../targets/debian-kernel.js'
import { BUSYBOX, packCpio } from '../../targets/initramfs.js'
import { resolveModules } from '../../targets/modules.js'
import { baseCmdline } from '../../targets/qemu.js'

const DROPBEAR = '/usr/sbin/dropbear'
/** Where Debian's dropbear looks for an SFTP server (strings /usr/sbin/dropbear). */
const SFTP_SERVER = '/usr/lib/openssh/sftp-server'
const SFTP_IN_GUEST = '/usr/lib/sftp-server'
const NET_MODULES = ['virtio_net']

export interface BoardImage {
  kernel: string
  initrd: string
  /** root's private key (OpenSSH format, no passphrase) */
  clientKey: string
  /** the board's host public key, "ssh-ed25519 AAAA…" */
  hostPublicKey: string
  /** SHA256:<base64>, as ssh prints it */
  hostFingerprint: string
  dir: string
}

export interface Board {
  name: string
  host: string
  port: number
  /** from QEMU's start to the SSH banner */
  bootMs: number
  consoleLog: string
  /** a QEMU monitor command (set_link n0 off, system_reset): faults for the reliability tests */
  monitor(command: string): Promise<string>
  stop(): Promise<void>
}

/** SHA256:<unpadded base64> of a public key line's key blob. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1]!, 'base64')
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The shared libraries of a dynamically linked binary, and its loader, by absolute path. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary])
  return stdout
    .split('\n')
    .map((l) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p)
}

function initScript(modules: string[], consolePrompt?: string): string {
  // A LAVA device's boot ends at a shell prompt on the console; the other boards only need sshd.
  const last = consolePrompt ? `export PS1='${consolePrompt}'\nexec setsid cttyhack /bin/sh` : 'while :; do sleep 3600; done'
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko || echo "board-init: insmod $m failed"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "board-init: starting dropbear"
/usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /var/run/dropbear.pid 2>>/var/log/dropbear.log &
${last}
`
}

/** Builds the board's initramfs and its keys, in a fresh temporary folder. */
/**
 * linux32: root's login shell runs under the 32-bit personality, so the
 * board's kernel reports i686 to `uname -m`: a board of an architecture
 * there is no agent for.
 */
/**
 * files: more files in the guest (absolute paths); shell: root's login shell
 * instead of /bin/sh (one of them), through which Dropbear runs every command;
 * consolePrompt: a shell on the console printing it (a LAVA device's boot waits for it).
 */
export async function makeBoardImage(log: (m: string) => void = () => {}, opts: { linux32?: boolean; files?: Array<{ path: string; data: string; mode: number }>; shell?: string; consolePrompt?: string } = {}): Promise<BoardImage> {
  const dir = await mkdtemp(join(tmpdir(), 'dmaheap-board-'))
  const k = await debianKernel(log)
  const { modules, missing } = await resolveModules(k.modulesDir, NET_MODULES)
  if (missing.length) throw new Error(`the kernel package has no ${missing.join(', ')}`)

  const clientKey = join(dir, 'id_ed25519')
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dmaheap-test', '-f', clientKey])
  const hostKey = join(dir, 'host_key')
  await execa('dropbearkey', ['-t', 'ed25519', '-f', hostKey])
  const hostPublicKey = (await execa('dropbearkey', ['-y', '-f', hostKey])).stdout.split('\n').find((l) => l.startsWith('ssh-'))!
  const hostPublicKeyLine = hostPublicKey.split(/\s+/).slice(0, 2).join(' ')

  const stage = join(dir, 'stage')
  const put = async (path: string, data: Buffer | string, mode = 0o644) => {
    const p = join(stage, path)
    await mkdir(dirname(p), { recursive: true })
    await writeFile(p, data)
    await chmod(p, mode)
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'var/run', 'var/log', 'root']) await mkdir(join(stage, d), { recursive: true })
  await chmod(join(stage, 'tmp'), 0o1777)
  await chmod(join(stage, 'root'), 0o700)
  await put('bin/busybox', await readFile(BUSYBOX), 0o755)
  await put('init', initScript(modules.map((m) => m.name), opts.consolePrompt), 0o755)
  for (const m of modules) await put(`lib/modules/${m.name}.ko`, m.data)
  await put('usr/sbin/dropbear', await readFile(DROPBEAR), 0o755)
  await put(SFTP_IN_GUEST.slice(1), await readFile(SFTP_SERVER), 0o755)
  for (const lib of new Set([...(await sharedLibraries(DROPBEAR)), ...(await sharedLibraries(SFTP_SERVER))])) {
    await mkdir(dirname(join(stage, lib)), { recursive: true })
    await copyFile(lib, join(stage, lib)) // follows the host's symlinks: the guest gets the files
  }
  const shell = opts.shell ?? (opts.linux32 ? '/bin/sh32' : '/bin/sh')
  if (opts.linux32) await put('bin/sh32', '#!/bin/busybox sh\nexec /bin/busybox linux32 /bin/sh "$@"\n', 0o755)
  for (const f of opts.files ?? []) await put(f.path.slice(1), f.data, f.mode)
  await put('etc/passwd', `root:x:0:0:root:/root:${shell}\n`)
  await put('etc/group', 'root:x:0:\n')
  await put('etc/shells', `${shell}\n`)
  await put('etc/dropbear/dropbear_ed25519_host_key', await readFile(hostKey), 0o600)
  await mkdir(join(stage, 'root', '.ssh'), { mode: 0o700 })
  await put('root/.ssh/authorized_keys', await readFile(`${clientKey}.pub`), 0o600)
  const initrd = join(dir, 'board.cpio')
  await packCpio(stage, initrd)
  return { kernel: k.image, initrd, clientKey, hostPublicKey: hostPublicKeyLine, hostFingerprint: fingerprintOf(hostPublicKeyLine), dir }
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/**
 * True once the guest's sshd answers with its banner. QEMU's user network
 * accepts the host-side connection before the guest listens, so a connect
 * alone proves nothing.
 */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(3000, () => done(false))
    s.once('data', (d) => done(d.toString().startsWith('SSH-')))
    s.once('error', () => done(false))
    s.once('close', () => done(false))
  })
}

/** Sends one command to a QEMU human monitor socket; resolves with what it printed back. */
function monitorCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket)
    let text = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      text += d
      // The banner ends with a prompt; after the command, the next prompt.
      if ((text.match(/\(qemu\) /g) ?? []).length >= 2) s.end()
    })
    s.once('connect', () => s.write(`${command}\n`))
    s.once('error', reject)
    s.once('close', () => resolve(text))
    s.setTimeout(10_000, () => s.destroy())
  })
}

/** Boots one board and waits for its SSH server. */
export async function bootBoard(image: BoardImage, name: string, timeoutMs = 240_000, opts: { rebootable?: boolean } = {}): Promise<Board> {
  const port = await freePort()
  const consoleLog = join(image.dir, `${name}-console.log`)
  const monitorSocket = join(image.dir, `${name}-monitor.sock`)
  const args = [
    '-accel', 'tcg', '-M', 'pc', '-cpu', 'max', '-m', '384M', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none',
    // A board that reboots comes back, like a real one; the others end.
    ...(opts.rebootable ? [] : ['-no-reboot']),
    '-monitor', `unix:${monitorSocket},server=on,wait=off`,
    '-kernel', image.kernel, '-initrd', image.initrd,
    '-append', baseCmdline('ttyS0'),
    '-serial', `file:${consoleLog}`,
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-device', 'virtio-net-pci,netdev=n0',
  ]
  const t0 = Date.now()
  let exited = false
  const proc: ResultPromise = execa('qemu-system-x86_64', args, { stdin: 'ignore', reject: false, cleanup: true })
  void proc.then(() => (exited = true))
  const stop = async () => {
    if (!exited) {
      proc.kill('SIGKILL')
      await proc
    }
  }
  while (Date.now() - t0 < timeoutMs && !exited) {
    if (await sshBanner(port)) return { name, host: '127.0.0.1', port, bootMs: Date.now() - t0, consoleLog, stop, monitor: (c) => monitorCommand(monitorSocket, c) }
    await sleep(1000)
  }
  const consoleText = await readFile(consoleLog, 'utf8').catch(() => '')
  await stop()
  throw new Error(`board ${name} did not bring up SSH within ${timeoutMs / 1000} s; console:\n${consoleText.split('\n').slice(-30).join('\n')}`)
}

/** Runs a command on a board through the system ssh, trusting it blindly (the tests' own look). */
export async function onBoard(image: BoardImage, board: Board, command: string) {
  return execa(
    'ssh',
    [
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes',
      '-i', image.clientKey, '-p', String(board.port), `root@${board.host}`, command,
    ],
    { reject: false, timeout: 60_000 },
  )
}
