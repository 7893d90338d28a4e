/**
 * The test importer (native/importer: a kernel module of the harness's own)
 * built for the kernel a target boots, so the importer suite can see what a
 * device sees of a buffer. For Debian's kernel it is built out of tree
 * against Debian's headers of the same release (linux-headers-RELEASE, its
 * -common part and linux-kbuild, fetched with `apt-get download` once and
 * unpacked into the cache, not installed); the .ko is cached by release and
 * by the hash of the module's source.
 *
 * A module that cannot be built is not an infrastructure failure: the run
 * goes on and every importer case skips with the reason returned here.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { cacheDir, packageRoot } from '../core/paths.js'
import type { Module } from './modules.js'

export const IMPORTER_MODULE = 'dmaheap_importer'
const SOURCE_DIR = join(packageRoot, 'native', 'importer')

export type ImporterBuild = { module: Module } | { missing: string }

/** A hash of the module's source files: a changed source builds again. */
async function sourceHash(): Promise<string> {
  const h = createHash('sha256')
  for (const f of (await readdir(SOURCE_DIR)).sort()) h.update(f).update(await readFile(join(SOURCE_DIR, f)))
  return h.digest('hex').slice(0, 12)
}

/** Debian's three header packages for a release such as 6.12.117+deb12-amd64. */
export function debianHeaderPackages(release: string): string[] {
  const base = release.replace(/-[a-z0-9]+$/, '') // 6.12.117+deb12
  return [`linux-headers-${release}`, `linux-headers-${base}-common`, `linux-kbuild-${base}`]
}

/**
 * Debian's headers for `release`, unpacked under the cache: the folder to
 * build against. Their Makefile includes the -common part by its installed
 * path, which is rewritten to the unpacked one.
 */
async function debianHeaders(release: string, log: (m: string) => void): Promise<string> {
  const root = join(cacheDir(), 'headers', release)
  const dir = join(root, 'usr', 'src', `linux-headers-${release}`)
  if (existsSync(join(dir, '.dmaheap-ready'))) return dir
  const packages = debianHeaderPackages(release)
  log(`fetching ${packages.join(', ')} with apt-get download to build the test importer (once; cached in ${root})`)
  await mkdir(join(cacheDir(), 'headers'), { recursive: true })
  const work = await mkdtemp(join(cacheDir(), 'headers', '.download-'))
  try {
    const dl = await execa('apt-get', ['download', ...packages], { cwd: work, reject: false })
    if (dl.exitCode !== 0) throw new Error(`apt-get download ${packages.join(' ')} failed: ${dl.stderr.split('\n').filter((l) => !l.startsWith('W:')).pop() ?? ''}`)
    const unpacked = join(work, 'root')
    for (const deb of (await readdir(work)).filter((f) => f.endsWith('.deb'))) await execa('dpkg-deb', ['-x', join(work, deb), unpacked])
    const makefile = join(unpacked, 'usr', 'src', `linux-headers-${release}`, 'Makefile')
    const text = await readFile(makefile, 'utf8')
    await writeFile(makefile, text.replace(/include \/usr\/src\//g, `include ${join(root, 'usr', 'src')}/`))
    await writeFile(join(unpacked, 'usr', 'src', `linux-headers-${release}`, '.dmaheap-ready'), '')
    await rm(root, { recursive: true, force: true })
    await rename(unpacked, root)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return dir
}

/**
 * Builds the module against a kernel build folder (`make -C DIR M=...`).
 * BTF for the module is left out: it needs pahole, and nothing here reads it.
 */
async function buildAgainst(kernelDir: string, cacheKey: string, makeArgs: string[], log: (m: string) => void): Promise<Module> {
  const cached = join(cacheDir(), 'importer', `${cacheKey}-${await sourceHash()}.ko`)
  if (existsSync(cached)) return { name: IMPORTER_MODULE, data: await readFile(cached) }
  await mkdir(join(cacheDir(), 'importer'), { recursive: true })
  const work = await mkdtemp(join(cacheDir(), 'importer', '.build-'))
  try {
    await cp(SOURCE_DIR, work, { recursive: true })
    log(`building the test importer against ${kernelDir}`)
    const r = await execa('make', ['-C', kernelDir, `M=${work}`, 'CONFIG_DEBUG_INFO_BTF_MODULES=', ...makeArgs, 'modules'], { reject: false, all: true })
    const ko = join(work, `${IMPORTER_MODULE}.ko`)
    if (r.exitCode !== 0 || !existsSync(ko)) {
      const why = (r.all ?? '').split('\n').filter((l) => /error|Error|not found/.test(l)).slice(0, 2).join('; ')
      throw new Error(`make modules failed: ${why || `exit ${r.exitCode}`}`)
    }
    await rename(ko, cached)
    return { name: IMPORTER_MODULE, data: await readFile(cached) }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** The test importer for a Debian kernel release, or why there is none. */
export async function importerForDebianKernel(release: string, log: (m: string) => void): Promise<ImporterBuild> {
  try {
    const headers = await debianHeaders(release, log)
    return { module: await buildAgainst(headers, release, [], log) }
  } catch (e) {
    return { missing: `the test importer could not be built for ${release} (${(e as Error).message}): apt must reach Debian's linux-headers-${release}, and gcc-12 and make must be installed` }
  }
}

/** Where the importer goes in a kernel tree when it is built in. */
const IN_TREE_DIR = 'drivers/dma-buf/dmaheap-importer'

/** Lines of a new file as a unified diff. */
function newFileDiff(path: string, text: string): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
  return [`--- /dev/null`, `+++ b/${path}`, `@@ -0,0 +1,${lines.length} @@`, ...lines.map((l) => `+${l}`), ''].join('\n')
}

/** A line appended to a file whose text is `text`, as a unified diff with the last three lines as context. */
function appendDiff(path: string, text: string, line: string): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
  const context = lines.slice(-3)
  const start = lines.length - context.length + 1
  return [`--- a/${path}`, `+++ b/${path}`, `@@ -${start},${context.length} +${start},${context.length + 1} @@`, ...context.map((l) => ` ${l}`), `+${line}`, ''].join('\n')
}

/**
 * The importer built into a kernel (`dmaheap kernel build --importer`): a
 * patch for `src` that adds native/importer under drivers/dma-buf and a line
 * to drivers/dma-buf/Makefile, written to the cache and returned as a path,
 * to be applied before the user's own patches. Built in, it needs no
 * CONFIG_MODULES (the harness's kernels have none).
 */
export async function importerPatch(src: string): Promise<string> {
  const makefile = 'drivers/dma-buf/Makefile'
  const text = await readFile(join(src, makefile), 'utf8').catch(() => {
    throw new Error(`${src} has no ${makefile}: the test importer is built into Linux trees with dma-buf`)
  })
  const parts = [appendDiff(makefile, text, `obj-y += ${IN_TREE_DIR.split('/').pop()}/`), newFileDiff(`${IN_TREE_DIR}/Makefile`, `obj-y := ${IMPORTER_MODULE}.o\n`)]
  for (const f of ['dmaheap_importer.c', 'dmaheap_importer.h']) parts.push(newFileDiff(`${IN_TREE_DIR}/${f}`, await readFile(join(SOURCE_DIR, f), 'utf8')))
  const path = join(cacheDir(), 'importer', 'dmaheap-importer.patch')
  await mkdir(join(cacheDir(), 'importer'), { recursive: true })
  const body = parts.join('')
  if ((await readFile(path, 'utf8').catch(() => '')) !== body) await writeFile(path, body)
  return path
}
