/**
 * `dmaheap kernel build`: a QEMU-bootable kernel from any kernel tree, built
 * out of tree (O=) from tinyconfig plus the harness's fragments
 * (targets/kconfig/) and the user's own (--config), for x86_64 or arm64.
 * The build folder is kept in the cache and reused: a second build is
 * incremental. Options a fragment asked for that did not end up set are
 * reported, since merge_config.sh only warns about them.
 *
 * With patches (--patch FILE), the build is of a variant tree: the source
 * copied with hard links (`cp -al`, no second copy of the tree) into a
 * folder named after the patch files (patched again in place when they change), the patches applied with
 * `patch -p1` (which replaces the files it changes, breaking only their
 * links, so the original tree is untouched), built in its own build folder.
 */
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync, statSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, realpath, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { execa } from 'execa'
import { InfraError, UsageError } from '../core/errors.js'
import { cacheDir, packageRoot } from '../core/paths.js'
import { importerPatch } from './importer-module.js'

export type KernelArch = 'x86_64' | 'arm64'
export const KERNEL_ARCHES: KernelArch[] = ['x86_64', 'arm64']

interface ArchProfile {
  makeArch: string
  crossCompile: string
  target: string
  image: string
}

const PROFILES: Record<KernelArch, ArchProfile> = {
  x86_64: { makeArch: 'x86_64', crossCompile: '', target: 'bzImage', image: 'arch/x86/boot/bzImage' },
  arm64: { makeArch: 'arm64', crossCompile: 'aarch64-linux-gnu-', target: 'Image', image: 'arch/arm64/boot/Image' },
}

export interface KernelBuildOptions {
  src: string
  arch: KernelArch
  /** the user's fragments, merged after the harness's */
  fragments?: string[]
  /** patches (`patch -p1`) applied to a hard-linked copy of the tree, built as a variant */
  patches?: string[]
  /** the harness's test importer built in (targets/importer-module.ts), applied before the patches */
  importer?: boolean
  /** the kernel's checkers (targets/kconfig/debug.config: KASAN, DEBUG_SG, DMA_API_DEBUG, lockdep, kmemleak), merged like a --config fragment */
  debug?: boolean
  out?: string
  jobs?: number
  log(message: string): void
}

export interface ConfigMismatch {
  option: string
  wanted: string
  got: string
  fragment: string
}

export interface KernelBuildResult {
  image: string
  outDir: string
  release: string
  /** options the fragments asked for that the final .config does not have */
  unmet: ConfigMismatch[]
  /** true when the configuration was reused (an incremental build) */
  incremental: boolean
  seconds: number
}

/** `--debug`: a build folder of its own, like any fragment's */
export const DEBUG_FRAGMENT = join(packageRoot, 'targets', 'kconfig', 'debug.config')

export function harnessFragments(arch: KernelArch): string[] {
  return [join(packageRoot, 'targets', 'kconfig', 'dmaheap.config'), join(packageRoot, 'targets', 'kconfig', `${arch}.config`)]
}

/** "CONFIG_X=y" and "# CONFIG_X is not set" lines: option -> value ("n" for unset). */
export function parseConfig(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line)
    if (set) m.set(set[1]!, set[2]!)
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line)
    if (unset) m.set(unset[1]!, 'n')
  }
  return m
}

/** What each fragment asked for that the final configuration does not have. */
export function unmetOptions(fragments: Array<{ path: string; text: string }>, finalConfig: string): ConfigMismatch[] {
  const final = parseConfig(finalConfig)
  const wanted = new Map<string, { value: string; fragment: string }>()
  for (const f of fragments) for (const [k, v] of parseConfig(f.text)) wanted.set(k, { value: v, fragment: f.path })
  const unmet: ConfigMismatch[] = []
  for (const [option, w] of wanted) {
    const got = final.get(option) ?? 'n'
    if (got !== w.value) unmet.push({ option, wanted: w.value, got, fragment: w.fragment })
  }
  return unmet
}

/** Debian's linux-source-6.12 unpacked into the cache: `--src debian`. */
async function debianSource(log: (m: string) => void): Promise<string> {
  const tarball = '/usr/src/linux-source-6.12.tar.xz'
  const dir = join(cacheDir(), 'src', 'linux-source-6.12')
  if (existsSync(join(dir, 'Makefile'))) return dir
  if (!existsSync(tarball)) throw new UsageError(`${tarball} is missing`, 'apt-get install linux-source-6.12, or pass --src DIR')
  log(`unpacking ${tarball} into ${dir} (once)`)
  await mkdir(join(cacheDir(), 'src'), { recursive: true })
  await execa('tar', ['xf', tarball, '-C', join(cacheDir(), 'src')])
  return dir
}

export async function resolveSource(src: string, log: (m: string) => void): Promise<string> {
  if (src === 'debian') return debianSource(log)
  if (!existsSync(join(src, 'Makefile')) || !existsSync(join(src, 'scripts', 'kconfig', 'merge_config.sh'))) {
    throw new UsageError(`${src} is not a kernel source tree`, 'pass --src with the top of a Linux tree, or --src debian')
  }
  return realpath(src)
}

/**
 * What says a tree changed: its git HEAD and index when it is a checkout,
 * else its top Makefile's time (a tarball unpacked again).
 */
async function treeFingerprint(src: string): Promise<string> {
  const git = await execa('git', ['-C', src, 'rev-parse', 'HEAD'], { reject: false })
  const head = git.exitCode === 0 ? git.stdout.trim() : ''
  const index = join(src, '.git', 'index')
  const stamp = existsSync(index) ? statSync(index).mtimeMs : statSync(join(src, 'Makefile')).mtimeMs
  return `${head} ${stamp}`
}

/** The files a unified diff touches, as paths at the top of the tree (-p1). */
export function filesOfPatch(text: string): string[] {
  const files = new Set<string>()
  for (const m of text.matchAll(/^(?:---|\+\+\+) ([^\t\n]+)/gm)) {
    const path = m[1]!.trim()
    if (path !== '/dev/null') files.add(path.split('/').slice(1).join('/'))
  }
  return [...files]
}

/**
 * A patch file's parts: the messages of an mbox (git format-patch, a series
 * saved from a mailing list; each "From <sha1> ..." line starts one), each
 * with its subject, or the whole file when it is a plain diff.
 */
export function patchParts(text: string): Array<{ subject?: string; text: string }> {
  const starts = [...text.matchAll(/^From [0-9a-f]{40} /gm)].map((m) => m.index!)
  if (!starts.length) return [{ text }]
  return starts.map((start, i) => {
    const part = text.slice(start, starts[i + 1] ?? text.length)
    // A folded Subject: header continues on lines that start with blanks.
    const subject = /^Subject: (.*(?:\n[ \t].*)*)/m.exec(part)?.[1]?.replace(/\n[ \t]+/g, ' ').trim()
    return subject ? { subject, text: part } : { text: part }
  })
}

/** What `patch` said went wrong, in one line: each file and hunk that failed, or its last words. */
export function patchFailure(output: string): string {
  let file = ''
  const failed: string[] = []
  for (const line of output.split('\n')) {
    const patching = /^patching file '?([^']*)'?$/.exec(line)
    if (patching) file = patching[1]!
    const hunk = /^Hunk #(\d+) FAILED at (\d+)/.exec(line)
    if (hunk) failed.push(`${file} hunk #${hunk[1]} (at line ${hunk[2]})`)
    if (/^Reversed \(or previously applied\) patch detected/.test(line)) failed.push(`${file || 'a file'} is patched already (the patch is in the tree)`)
    const missing = /^can't find file to patch at input line (\d+)/.exec(line)
    if (missing) failed.push(`a file it changes is not in the tree (input line ${missing[1]})`)
  }
  if (failed.length) return [...new Set(failed)].join(', ')
  return output.trim().split('\n').slice(-2).join('; ') || 'patch failed'
}

/**
 * The tree with the patches applied: a hard-linked copy of `src` in the
 * cache, one per tree and patch file names (`cp -al`, no second copy of the
 * tree; `patch -p1` replaces the files it changes, breaking only their
 * links, so the original tree is untouched). When a patch's content changes,
 * the same copy is patched again in place: the files the old patches touched
 * are put back (as fresh copies, newer than their objects) and the new ones
 * applied, so the variant's build stays incremental while a developer
 * iterates on a patch. A stamp records what was applied; it is cleared while
 * patching, so a patch that fails to apply is undone on the next build.
 */
export async function patchedTree(src: string, patches: string[], log: (m: string) => void): Promise<string> {
  for (const p of patches) if (!existsSync(p)) throw new UsageError(`no patch at ${p}`, 'pass --patch with a unified diff that applies with patch -p1 at the top of the tree')
  const texts = await Promise.all(patches.map((p) => readFile(p, 'utf8')))
  const names = patches.map((p) => basename(p))
  const dir = join(cacheDir(), 'src-variants', `${basename(src)}-${createHash('sha256').update([src, ...names].join('\0')).digest('hex').slice(0, 12)}`)
  // The tree's own state is part of what was applied: after a checkout in
  // src the copy is made again (its build stays incremental: make compares
  // the copied files' times with the objects').
  const tree = await treeFingerprint(src)
  const content = createHash('sha256').update([tree, ...texts].join('\0')).digest('hex')
  const files = [...new Set(texts.flatMap(filesOfPatch))]
  const stampPath = join(dir, '.dmaheap-patches')
  const apply = async (tree: string) => {
    for (const [i, p] of patches.entries()) {
      // A series saved from the list (an mbox) is applied message by
      // message, in order, so a failure names the message it is in.
      for (const part of patchParts(texts[i]!)) {
        if (!/^\+\+\+ /m.test(part.text)) continue // a cover letter: no diff in it
        const r = await execa('patch', ['-p1', '--forward', '--batch', '-d', tree], { input: part.text, all: true, reject: false })
        if (r.exitCode !== 0) {
          const which = part.subject ? `${p}: "${part.subject}"` : p
          throw new UsageError(`${which} does not apply to ${src}: ${patchFailure(String(r.all ?? ''))}`, 'rebase the patch onto this tree, or build the tree it was written for')
        }
      }
    }
  }
  const stamp = (applied: string, touched: string[]) => writeFile(stampPath, JSON.stringify({ content: applied, files: touched, tree }))

  if (existsSync(join(dir, 'Makefile')) && existsSync(stampPath)) {
    const prev = JSON.parse(await readFile(stampPath, 'utf8')) as { content: string; files: string[]; tree?: string }
    if (prev.content === content) return dir
    if (prev.tree !== tree) return freshCopy()
    log(`the patches changed: patching ${dir} again in place (an incremental build)`)
    const touched = [...new Set([...prev.files, ...files])]
    await stamp('', touched)
    for (const f of touched) {
      await rm(join(dir, f), { force: true })
      if (existsSync(join(src, f))) await copyFile(join(src, f), join(dir, f))
    }
    await apply(dir)
    await stamp(content, files)
    return dir
  }
  return freshCopy()

  async function freshCopy(): Promise<string> {
    await rm(dir, { recursive: true, force: true })
    await mkdir(join(cacheDir(), 'src-variants'), { recursive: true })
    const tmp = await mkdtemp(`${dir}.tmp-`)
    try {
      log(`copying ${src} with hard links into ${dir} and applying ${patches.length} patch(es)`)
      await execa('cp', ['-al', `${src}/.`, tmp])
      await apply(tmp)
      await writeFile(join(tmp, '.dmaheap-patches'), JSON.stringify({ content, files, tree }))
      await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another build made the same variant meanwhile: use theirs.
        if (!existsSync(join(dir, 'Makefile'))) throw e
      })
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    return dir
  }
}

/**
 * The user's fragments get a build folder of their own, named after the
 * fragments' file names (not their content: editing a fragment reconfigures
 * the same folder), so building a variant never throws away the plain build.
 */
export function variantFolder(baseOut: string, fragments: string[]): string {
  return fragments.length ? `${baseOut}+${fragments.map((f) => basename(f).replace(/\.config$/, '')).join('+')}` : baseOut
}

/**
 * A variant's first build starts from a copy of the plain build of the same
 * tree: kbuild tracks which files read each CONFIG_ option, so only what the
 * fragment changed is compiled again (minutes, not a clean build). The copy
 * is made aside and renamed into place, so a stopped copy is never reused.
 */
async function seedFromBase(baseOut: string, outDir: string, log: (m: string) => void): Promise<void> {
  if (existsSync(join(outDir, '.config')) || !existsSync(join(baseOut, '.config'))) return
  log(`starting ${basename(outDir)} from a copy of the plain build ${basename(baseOut)} (an incremental build)`)
  const tmp = `${outDir}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  try {
    await execa('cp', ['-a', baseOut, tmp])
    await rm(join(tmp, 'build.log'), { force: true })
    await rename(tmp, outDir).catch((e: NodeJS.ErrnoException) => {
      // Another build seeded it meanwhile: use theirs.
      if (!existsSync(join(outDir, '.config'))) throw e
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/**
 * A patched tree's first build starts from a copy of the plain tree's build
 * for the same architecture, so a variant costs what its patches touch, not
 * a clean build. kbuild records the absolute source path in every command
 * line it saved (the `.*.cmd` files, the generated Makefile, the `source`
 * link): rewritten to the variant's path, the saved commands match again,
 * and only the files the patches replaced (newer than their objects; the
 * rest are hard links with the plain tree's times) are compiled. Times of
 * the rewritten files are kept, so nothing looks newer than it is.
 */
async function seedFromPlainTree(plainOut: string, outDir: string, plainSrc: string, variantSrc: string, log: (m: string) => void): Promise<void> {
  if (existsSync(join(outDir, '.config')) || !existsSync(join(plainOut, '.config'))) return
  log(`starting ${basename(outDir)} from a copy of the plain build ${basename(plainOut)}, its paths moved to the patched tree (an incremental build)`)
  const [from, to] = await Promise.all([realpath(plainSrc), realpath(variantSrc)])
  const tmp = `${outDir}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  try {
    await execa('cp', ['-a', plainOut, tmp])
    await rm(join(tmp, 'build.log'), { force: true })
    // The build folder's own path is in objtool's dependency files (tools/
    // are built with absolute output paths): left stale, objtool is built
    // again and every object after it.
    const moves: [string, string][] = [[from, to], [await realpath(plainOut), resolve(outDir)]]
    const listed = await execa('grep', ['-rlIZF', '--exclude=*.o', '--exclude=*.a', '--exclude=*.ko', ...moves.flatMap(([old]) => ['-e', old]), tmp], { reject: false, stripFinalNewline: false })
    for (const file of String(listed.stdout).split('\0').filter(Boolean)) {
      const { atime, mtime } = statSync(file)
      let text = await readFile(file, 'utf8')
      for (const [old, now] of moves) text = text.split(old).join(now)
      await writeFile(file, text)
      await utimes(file, atime, mtime)
    }
    await rm(join(tmp, 'source'), { force: true })
    await symlink(to, join(tmp, 'source'))
    await rename(tmp, outDir).catch((e: NodeJS.ErrnoException) => {
      // Another build seeded it meanwhile: use theirs.
      if (!existsSync(join(outDir, '.config'))) throw e
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

export async function buildKernel(opts: KernelBuildOptions): Promise<KernelBuildResult> {
  const started = Date.now()
  const profile = PROFILES[opts.arch]
  const base = await resolveSource(opts.src, opts.log)
  const patches = [...(opts.importer ? [await importerPatch(base)] : []), ...(opts.patches ?? []).map((p) => resolve(p))]
  const src = patches.length ? await patchedTree(base, patches, opts.log) : base
  const userFragments = [...(opts.debug ? [DEBUG_FRAGMENT] : []), ...(opts.fragments ?? []).map((f) => resolve(f))]
  const fragmentPaths = [...harnessFragments(opts.arch), ...userFragments]
  for (const f of fragmentPaths) if (!existsSync(f)) throw new UsageError(`no config fragment at ${f}`, 'pass --config with a file of CONFIG_ lines')
  const fragments = await Promise.all(fragmentPaths.map(async (path) => ({ path, text: await readFile(path, 'utf8') })))
  const baseOut = join(cacheDir(), 'kbuild', `${opts.arch}-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`)
  const outDir = opts.out ?? variantFolder(baseOut, userFragments)
  if (!opts.out && src !== base) {
    const plainOut = join(cacheDir(), 'kbuild', `${opts.arch}-${createHash('sha256').update(base).digest('hex').slice(0, 12)}`)
    await seedFromPlainTree(plainOut, baseOut, base, src, opts.log)
  }
  if (!opts.out && outDir !== baseOut) await seedFromBase(baseOut, outDir, opts.log)
  await mkdir(outDir, { recursive: true })
  const logPath = join(outDir, 'build.log')
  const logFile = createWriteStream(logPath, { flags: 'a' })
  const env = { ...process.env, ARCH: profile.makeArch, ...(profile.crossCompile ? { CROSS_COMPILE: profile.crossCompile } : {}) }
  const make = async (args: string[], what: string) => {
    // stdin closed: a patch that adds a Kconfig option makes kbuild's
    // syncconfig ask about it, and with stdin open the build waits forever;
    // closed, it takes the option's default.
    const p = execa('make', ['-C', src, `O=${outDir}`, ...args], { env, stdin: 'ignore', all: true, reject: false, buffer: { all: true }, lines: false })
    p.all?.pipe(logFile, { end: false })
    const r = await p
    if (r.exitCode !== 0) {
      const tail = String(r.all ?? '').split('\n').slice(-25).join('\n')
      throw new InfraError(`kernel ${what} failed (make ${args.join(' ')})`, `the full log is ${logPath}`, tail)
    }
    return String(r.all ?? '')
  }

  // The configuration is made again only when a fragment's content changed
  // (not its path: another checkout of the harness reuses the same build).
  const configHash = createHash('sha256').update(fragments.map((f) => basename(f.path) + '\0' + f.text).join('\0')).digest('hex')
  const stamp = join(outDir, '.dmaheap-config')
  const incremental = existsSync(join(outDir, '.config')) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === configHash
  if (!incremental) {
    opts.log(`configuring ${opts.arch}: tinyconfig + ${fragmentPaths.length} fragments`)
    await make(['tinyconfig'], 'configuration')
    const merge = await execa(join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', outDir, join(outDir, '.config'), ...fragmentPaths], {
      cwd: src,
      env,
      all: true,
      reject: false,
    })
    logFile.write(String(merge.all ?? ''))
    if (merge.exitCode !== 0) throw new InfraError('merge_config.sh failed', `the full log is ${logPath}`, String(merge.all ?? '').split('\n').slice(-15).join('\n'))
    await make(['olddefconfig'], 'configuration')
    await writeFile(stamp, configHash)
  }
  const unmet = unmetOptions(fragments, await readFile(join(outDir, '.config'), 'utf8'))
  for (const u of unmet) opts.log(`warning: ${u.option}=${u.wanted} (from ${u.fragment}) ended up ${u.got}: a dependency is missing`)

  opts.log(`building ${profile.target} in ${outDir} (${incremental ? 'incremental' : existsSync(join(outDir, 'vmlinux')) ? 'reconfigured, incremental' : 'clean'}, -j${opts.jobs ?? cpus().length}); log: ${logPath}`)
  await make([`-j${opts.jobs ?? cpus().length}`, profile.target], 'build')
  const release = (await make(['-s', 'kernelrelease'], 'release query')).trim().split('\n').pop() ?? ''
  await new Promise<void>((resolve) => logFile.end(resolve))
  return { image: join(outDir, profile.image), outDir, release, unmet, incremental, seconds: (Date.now() - started) / 1000 }
}
