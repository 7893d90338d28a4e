/**
 * Board descriptions: one YAML file per board, validated against this schema
 * (errors name the file, the field and the fix), and farm lists: a YAML file
 * listing board files, or a folder of board files.
 *
 *   host: 192.0.2.10
 *   port: 22
 *   user: root
 *   key: ~/.ssh/farm_ed25519
 *   hostKey: SHA256:yZj7fXBe0R4mT7h6/qTXRwnDFd5i6y37esRYC8tpY+U
 *   arch: aarch64
 *   heaps: {system: {}, reserved: {contiguous: true}}
 *   destructive: false
 *   timeouts: {connect: 20, ready: 30}
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path'
import { z } from 'zod'
import { loadDescription } from '../core/description-file.js'
import { UsageError } from '../core/errors.js'
import { heapExpectationsSchema, sizeSchema } from '../core/heap-expectations.js'

const seconds = z.number().positive('a number of seconds greater than 0')

export const boardSchema = z.strictObject({
  /** the board's name in outputs; default the file name without .yaml */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only').optional(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1).default('root'),
  /** private key file; without it, the ssh-agent at $SSH_AUTH_SOCK */
  key: z.string().min(1).optional(),
  /** pinned host key fingerprint; without it, known_hosts decides */
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a fingerprint as ssh-keygen -l prints it: SHA256: and 43 base64 characters').optional(),
  knownHosts: z.string().min(1).optional(),
  /** what `uname -m` must say; checked, and picks the agent */
  arch: z.enum(['x86_64', 'aarch64']).optional(),
  /** ssh2 (built in) or system (the ssh command: ~/.ssh/config, ProxyJump) */
  transport: z.enum(['ssh2', 'system']).default('ssh2'),
  /** system transport: jump host(s), as ssh -J takes them */
  jump: z.string().min(1).optional(),
  /** where the fresh private directory for the agent is made */
  remoteDir: z.string().regex(/^\//, 'an absolute path on the board').default('/tmp'),
  heaps: heapExpectationsSchema.optional(),
  /** exhaustion and other memory-stressing cases; off on boards unless true */
  destructive: z.boolean().default(false),
  memoryBudget: sizeSchema.optional(),
  timeouts: z
    .strictObject({
      connect: seconds.default(20),
      ready: seconds.default(30),
      keepalive: seconds.default(10),
      request: seconds.default(60),
      /** how long the board may take to answer again after it broke mid-run (a reboot) */
      reboot: seconds.default(180),
    })
    .prefault({}),
})

export type BoardDescription = z.output<typeof boardSchema> & { name: string; file: string }

function expandHome(p: string, base: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1))
  return isAbsolute(p) ? p : resolve(base, p)
}

/** A board file: paths in it (key, knownHosts) are relative to the file's folder. */
export function loadBoard(file: string): BoardDescription {
  const d = loadDescription(file, boardSchema)
  const base = dirname(resolve(file))
  return {
    ...d,
    name: d.name ?? basename(file, extname(file)),
    file,
    ...(d.key ? { key: expandHome(d.key, base) } : {}),
    ...(d.knownHosts ? { knownHosts: expandHome(d.knownHosts, base) } : {}),
  }
}

const YAML = /\.ya?ml$/

/** --board NAME|FILE: a file, else boards/NAME.yaml in the current folder. */
export function resolveBoardFile(nameOrFile: string): string {
  if (existsSync(nameOrFile) && statSync(nameOrFile).isFile()) return nameOrFile
  for (const ext of ['.yaml', '.yml']) {
    const p = join('boards', nameOrFile + ext)
    if (existsSync(p)) return p
  }
  throw new UsageError(`no board "${nameOrFile}": not a file, and no boards/${nameOrFile}.yaml here`, 'pass the path of a board description file')
}

const farmSchema = z.strictObject({
  /** board description files, relative to the farm file */
  boards: z.array(z.string().regex(YAML, 'a .yaml board description file')).min(1, 'list at least one board file'),
})

/** --farm FILE|DIR: the board files a farm file lists, or every .yaml in a folder. */
export function loadFarm(fileOrDir: string): BoardDescription[] {
  let files: string[]
  if (existsSync(fileOrDir) && statSync(fileOrDir).isDirectory()) {
    files = readdirSync(fileOrDir)
      .filter((f) => YAML.test(f))
      .sort()
      .map((f) => join(fileOrDir, f))
    if (!files.length) throw new UsageError(`${fileOrDir} has no board descriptions (*.yaml)`, 'put one YAML file per board in it')
  } else {
    const base = dirname(resolve(fileOrDir))
    files = loadDescription(fileOrDir, farmSchema).boards.map((f) => expandHome(f, base))
  }
  const boards = files.map(loadBoard)
  const seen = new Map<string, string>()
  for (const b of boards) {
    const other = seen.get(b.name)
    if (other) throw new UsageError(`${b.file}: name: "${b.name}" is also the name of ${other}`, 'give each board a unique name (each gets its own results folder)')
    seen.set(b.name, b.file)
  }
  return boards
}
