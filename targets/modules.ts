/**
 * Kernel modules for the guest (vgem for the import suite), taken from the
 * kernel package's own modules tree: resolved with their dependencies from
 * each module's .modinfo "depends=", decompressed (busybox insmod takes
 * plain .ko files) and listed dependencies first.
 */
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'

export interface Module {
  name: string
  data: Buffer
}

async function indexTree(dir: string, into = new Map<string, string>()): Promise<Map<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) await indexTree(p, into)
    else {
      const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(e.name)
      if (m) into.set(m[1]!.replace(/-/g, '_'), p)
    }
  }
  return into
}

async function readModule(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return (await import('node:fs/promises')).readFile(path)
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : 'gzip'
  const { stdout } = await execa(tool, ['-dc', path], { encoding: 'buffer' })
  return Buffer.from(stdout)
}

/** The "depends=" list in a module's .modinfo. */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('depends=')
  if (at < 0) return []
  const end = ko.indexOf(0, at)
  return ko
    .subarray(at + 'depends='.length, end)
    .toString()
    .split(',')
    .filter(Boolean)
    .map((d) => d.replace(/-/g, '_'))
}

/**
 * The modules named and everything they depend on, dependencies first.
 * Modules missing from the tree are left out: the suites that need them
 * then skip with the reason.
 */
export async function resolveModules(modulesDir: string, names: string[]): Promise<{ modules: Module[]; missing: string[] }> {
  if (!existsSync(modulesDir)) return { modules: [], missing: names }
  const index = await indexTree(modulesDir)
  const ordered: Module[] = []
  const seen = new Set<string>()
  const missing: string[] = []
  const visit = async (name: string): Promise<void> => {
    if (seen.has(name)) return
    seen.add(name)
    const path = index.get(name)
    if (!path) {
      missing.push(name)
      return
    }
    const data = await readModule(path)
    for (const dep of moduleDepends(data)) await visit(dep)
    ordered.push({ name, data })
  }
  for (const n of names) await visit(n.replace(/-/g, '_'))
  return { modules: ordered, missing }
}
