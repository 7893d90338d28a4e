/**
 * The default target's kernel: Debian's newest 6.12 image for bookworm
 * (linux-image-6.12.*+deb12-amd64-unsigned, from bookworm-security), which
 * has the system heap and /dev/udmabuf built in and vgem as a module.
 * Fetched with `apt-get download` once and unpacked into the XDG cache.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { InfraError } from '../core/errors.js'
import { cacheDir } from '../core/paths.js'

export interface KernelImage {
  /** the package it came from */
  package: string
  /** e.g. "6.12.117+deb12-amd64" */
  release: string
  image: string
  config: string
  modulesDir: string
}

const PACKAGE_PATTERN = '^linux-image-6\\.12\\.[0-9]+\\+deb12-amd64-unsigned$'

/** Newest first, by the numeric patch level in the package name. */
export function newestPackage(names: string[]): string | undefined {
  const patch = (n: string) => Number(/^linux-image-6\.12\.(\d+)\+/.exec(n)?.[1] ?? -1)
  return [...names].sort((a, b) => patch(b) - patch(a))[0]
}

async function findPackage(): Promise<string> {
  const { stdout } = await execa('apt-cache', ['search', '--names-only', PACKAGE_PATTERN], { reject: false })
  const names = stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n): n is string => !!n)
  const pkg = newestPackage(names)
  if (!pkg) {
    throw new InfraError(
      'apt knows no linux-image-6.12.*+deb12-amd64-unsigned package',
      'run `apt-get update` with bookworm-security in the apt sources, or pass --kernel IMAGE',
    )
  }
  return pkg
}

function describe(pkg: string, dir: string): KernelImage {
  const release = pkg.replace(/^linux-image-/, '').replace(/-unsigned$/, '')
  return {
    package: pkg,
    release,
    image: join(dir, 'boot', `vmlinuz-${release}`),
    config: join(dir, 'boot', `config-${release}`),
    modulesDir: join(dir, 'lib', 'modules', release),
  }
}

/**
 * The package chosen last time, while apt's lists have not changed since
 * (apt-get update rewrites them): asking apt-cache costs a second a run.
 */
async function rememberedPackage(stampPath: string): Promise<string | undefined> {
  try {
    const stamp = JSON.parse(await readFile(stampPath, 'utf8')) as { package: string; lists: number }
    return stamp.lists === (await stat(APT_LISTS)).mtimeMs ? stamp.package : undefined
  } catch {
    return undefined
  }
}

const APT_LISTS = '/var/lib/apt/lists'

/** Returns the newest Debian 6.12 kernel, downloading it on first use. */
export async function debianKernel(log: (m: string) => void): Promise<KernelImage> {
  const stampPath = join(cacheDir(), 'kernels', 'newest.json')
  const remembered = await rememberedPackage(stampPath)
  const pkg = remembered ?? (await findPackage())
  const root = join(cacheDir(), 'kernels')
  const dir = join(root, pkg)
  const kernel = describe(pkg, dir)
  const remember = async () => {
    const lists = await stat(APT_LISTS).then((s) => s.mtimeMs).catch(() => 0)
    await writeFile(stampPath, JSON.stringify({ package: pkg, lists }) + '\n').catch(() => {})
  }
  if (existsSync(kernel.image)) {
    if (!remembered) await remember()
    return kernel
  }

  log(`fetching ${pkg} with apt-get download (once; cached in ${root})`)
  await mkdir(root, { recursive: true })
  const work = await mkdtemp(join(root, '.download-'))
  try {
    const dl = await execa('apt-get', ['download', pkg], { cwd: work, reject: false })
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'))
    if (dl.exitCode !== 0 || !deb) {
      throw new InfraError(
        `apt-get download ${pkg} failed: ${dl.stderr.split('\n').filter(Boolean).pop() ?? 'no .deb'}`,
        'check that apt can reach the Debian mirror, or pass --kernel IMAGE',
      )
    }
    const unpacked = join(work, 'unpacked')
    await execa('dpkg-deb', ['-x', join(work, deb), unpacked])
    // Another run may have finished the same download meanwhile: keep theirs.
    await rename(unpacked, dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  if (!existsSync(kernel.image)) {
    throw new InfraError(`${pkg} has no ${kernel.image}`, 'remove the cache folder and try again')
  }
  await remember()
  return kernel
}
