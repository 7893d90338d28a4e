/**
 * `dmaheap --version`: what a bug report needs to name the harness that
 * produced a result: the package version, the agent protocol it speaks, and
 * the git commit (with "+dirty" for uncommitted changes) when it runs from a
 * checkout rather than an installed package.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../core/paths.js'
import { PROTOCOL_VERSION } from '../core/protocol.js'

function gitDescription(): string | undefined {
  if (!existsSync(join(packageRoot, '.git'))) return undefined
  const git = (...args: string[]) => execFileSync('git', ['-C', packageRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') ? `${commit}+dirty` : commit
  } catch {
    return undefined // no git binary, or not a repository after all
  }
}

export function versionText(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
  const commit = gitDescription()
  return `dmaheap ${pkg.version} (agent protocol ${PROTOCOL_VERSION}${commit ? `, git ${commit}` : ''})`
}
