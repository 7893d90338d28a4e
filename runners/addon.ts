/**
 * The addon transport: the core linked into this Node process through the
 * addon, for a machine that has /dev/dma_heap itself (the local target,
 * targets/local.ts). Probes that may fault still fork inside the core, so a
 * SIGBUS never reaches Node.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { InfraError } from '../core/errors.js'
import { addonPath } from '../core/paths.js'
import type { Transport } from '../core/transport.js'

interface Addon {
  request(line: string): Promise<string>
  protocol: number
}

function loadAddon(): Addon {
  const path = addonPath()
  if (!existsSync(path)) {
    throw new InfraError('the native addon is not built', 'run `npm ci` (it builds the addon with node-gyp)')
  }
  return createRequire(import.meta.url)(path) as Addon
}

export class AddonTransport implements Transport {
  private readonly addon = loadAddon()
  private lost: InfraError | null = null
  // The addon has no timeout of its own: a syscall that hangs blocks a worker
  // thread; the caller's timeout still reports it.
  request(line: string, timeoutMs: number): Promise<string> {
    if (this.lost) return Promise.reject(this.lost)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new InfraError(`local core did not answer within ${timeoutMs} ms: ${line.slice(0, 120)}`)),
        timeoutMs,
      )
      this.addon.request(line).then(
        (r) => (clearTimeout(timer), resolve(r)),
        (e: Error) => (clearTimeout(timer), reject(e)),
      )
    })
  }
  /** The core is in this process, so a bad reply is its bug; it is not asked again all the same. */
  fail(reason: string): InfraError {
    return (this.lost ??= new InfraError(`local core lost: ${reason}`))
  }
  async close(): Promise<void> {
    this.fail('closed by the harness')
  }
}
