/**
 * The guest's whole userspace: a static busybox, the static agent and an init
 * that mounts /proc, /sys and /dev and hands the machine to the agent on its
 * virtio-serial port. Packed with `busybox cpio -o -H newc` (Debian has no
 * cpio binary by default) and cached by the hash of what goes in.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { InfraError } from '../core/errors.js'
import { cacheDir } from '../core/paths.js'
import type { Module } from './modules.js'

/** The virtio-serial port name the agent listens on inside a QEMU guest. */
export const AGENT_PORT_NAME = 'dmaheap.agent'

export const BUSYBOX = '/bin/busybox'

export function initScript(): string {
  return `#!/bin/busybox sh
# dmaheap guest init: mount the pseudo filesystems, then hand the machine to
# the agent. If the agent exits, init exits, the kernel panics and (with
# panic=-1 and QEMU's -no-reboot) QEMU ends: the host sees the link drop.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# Modules the suites need (vgem), dependencies first; a failure is reported
# on the console and the suites that need the module skip.
for m in $(cat /etc/modules 2>/dev/null); do
  insmod /lib/modules/$m.ko || echo "dmaheap-init: insmod $m failed"
done
echo "dmaheap-init: starting agent on ${AGENT_PORT_NAME}"
exec /bin/dmaheap-agent --virtio-port ${AGENT_PORT_NAME}
`
}

/** True when the ELF file has no program interpreter (statically linked). */
export async function isStaticElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(64)
    await fh.read(head, 0, 64, 0)
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false // ELF64 only
    const phoff = Number(head.readBigUInt64LE(0x20))
    const phentsize = head.readUInt16LE(0x36)
    const phnum = head.readUInt16LE(0x38)
    const table = Buffer.alloc(phentsize * phnum)
    await fh.read(table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false
    return true
  } finally {
    await fh.close()
  }
}

export interface InitramfsInputs {
  agent: string
  /** a static busybox for the guest; without one the agent itself is /init */
  busybox?: string | undefined
  /** kernel modules to load at boot, in order */
  modules?: Module[]
}

export async function buildInitramfs(inputs: InitramfsInputs): Promise<string> {
  const busybox = inputs.busybox
  if (!existsSync(inputs.agent)) {
    throw new InfraError(`the agent binary ${inputs.agent} is missing`, 'run `npm run build`')
  }
  if (busybox && !(await isStaticElf(busybox))) {
    throw new InfraError(`${busybox} is not a static busybox`, 'install it: apt-get install busybox-static')
  }
  // With busybox, a shell init; without, the agent is /init (it mounts and
  // loads modules itself when it runs as PID 1).
  const init = busybox ? Buffer.from(initScript()) : await readFile(inputs.agent)
  const modules = inputs.modules ?? []
  const hash = createHash('sha256')
  for (const part of [await readFile(inputs.agent), busybox ? await readFile(busybox) : Buffer.alloc(0), init, ...modules.map((m) => m.data)]) hash.update(part)
  const dir = join(cacheDir(), 'initramfs')
  const out = join(dir, `${hash.digest('hex').slice(0, 16)}.cpio`)
  if (existsSync(out)) return out

  await mkdir(dir, { recursive: true })
  const stage = await mkdtemp(join(dir, '.stage-'))
  try {
    for (const d of ['bin', 'dev', 'etc', 'lib', 'lib/modules', 'proc', 'sys', 'tmp']) await mkdir(join(stage, d))
    for (const m of modules) await writeFile(join(stage, 'lib', 'modules', `${m.name}.ko`), m.data)
    await writeFile(join(stage, 'etc', 'modules'), modules.map((m) => m.name).join('\n') + '\n')
    if (busybox) await copyFile(busybox, join(stage, 'bin', 'busybox'))
    await copyFile(inputs.agent, join(stage, 'bin', 'dmaheap-agent'))
    await writeFile(join(stage, 'init'), init)
    await chmod(join(stage, 'init'), 0o755)
    await chmod(join(stage, 'bin', 'dmaheap-agent'), 0o755)
    const files = [
      '.', 'bin', ...(busybox ? ['bin/busybox'] : []), 'bin/dmaheap-agent', 'dev', 'etc', 'etc/modules', 'init',
      'lib', 'lib/modules', ...modules.map((m) => `lib/modules/${m.name}.ko`), 'proc', 'sys', 'tmp',
    ]
    const tmp = `${out}.${process.pid}.tmp`
    // The host's busybox packs it, whatever the guest's architecture.
    await execa(BUSYBOX, ['cpio', '-o', '-H', 'newc'], {
      cwd: stage,
      input: files.join('\n') + '\n',
      stdout: { file: tmp },
    })
    await rename(tmp, out)
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
  return out
}

/**
 * Packs a staged folder as a newc cpio archive, every entry in it (other
 * guests than the harness's own, e.g. the SSH boards of the tests, are built
 * this way). The host's busybox lists and packs it.
 */
export async function packCpio(stageDir: string, out: string): Promise<void> {
  const { stdout } = await execa(BUSYBOX, ['find', '.'], { cwd: stageDir })
  const tmp = `${out}.${process.pid}.tmp`
  await execa(BUSYBOX, ['cpio', '-o', '-H', 'newc'], { cwd: stageDir, input: stdout + '\n', stdout: { file: tmp } })
  await rename(tmp, out)
}
