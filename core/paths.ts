/** Where the harness finds its own files and keeps its cache. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository (or installed package) root. Works from core/ and dist/core/. */
export const packageRoot: string = (() => {
  const here = fileURLToPath(new URL('.', import.meta.url))
  return here.includes('/dist/') ? join(here, '..', '..') : join(here, '..')
})()

/** XDG cache directory for downloaded kernels and built images. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'dmaheap')
}

/** Target architectures the agent is built for, by `uname -m`. */
export type Arch = 'x86_64' | 'aarch64'

export function agentBinary(arch: Arch): string {
  return join(packageRoot, 'native', 'build', arch, 'dmaheap-agent')
}

export function addonPath(): string {
  return join(packageRoot, 'build', 'Release', 'dmaheap_core.node')
}
