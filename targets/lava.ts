/**
 * The device of the LAVA job this harness runs in. `dmaheap lava job` writes
 * a job whose test action runs the harness in LAVA's docker test shell, on
 * the worker beside the device under test: LAVA deploys and boots the DUT,
 * the harness reaches it over SSH as it reaches any board, and its results
 * go back to LAVA as test cases (`run --lava`, reports/lava.ts).
 *
 * The DUT is new for each job (LAVA deploys it afresh), so there is no host
 * key to pin: the key it shows is recorded in a known_hosts file of this run
 * alone. Its address is the job's: an argument, or DMAHEAP_LAVA_DUT, which
 * the job sets (from `lava-target-ip` on a board, from the hostfwd port on
 * QEMU). Destructive cases stay off, as on any board, unless
 * --allow-exhaustion.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { UsageError } from '../core/errors.js'
import type { TargetKind } from '../core/target.js'
import { boardSchema } from './board.js'
import { boardTarget } from './board-target.js'

/** "10.0.0.5" or "127.0.0.1:2223" to host and port. */
export function parseDutAddress(text: string): { host: string; port: number } {
  const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text.trim())
  const port = m?.[2] === undefined ? 22 : Number(m[2])
  if (!m || port < 1 || port > 65535) throw new UsageError(`"${text}" is not a DUT address`, 'give host or host:port, as `lava-target-ip` prints the host')
  return { host: m[1]!, port }
}

export const lavaKind: TargetKind<{ lavaDut?: string; lavaKey?: string }> = {
  name: 'lava',
  description: "the device of the LAVA job this runs in (LAVA's docker test shell), over SSH",
  options: {
    lavaDut: { flag: '--lava-dut <address>', description: "the job's DUT as host or host:port (in the job: DMAHEAP_LAVA_DUT)", env: 'DMAHEAP_LAVA_DUT' },
    lavaKey: { flag: '--lava-key <file>', description: "the private key that logs in to the job's DUT as root (in the job: DMAHEAP_LAVA_KEY)", env: 'DMAHEAP_LAVA_KEY' },
  },
  facts: { disposable: false, rawIoctls: true },
  create: (o) => {
    if (!o.lavaDut) throw new UsageError("the LAVA target needs the job's DUT address", 'pass --lava-dut HOST[:PORT] or set DMAHEAP_LAVA_DUT (`dmaheap lava job` sets it)')
    const { host, port } = parseDutAddress(o.lavaDut)
    const board = boardSchema.parse({ host, port, ...(o.lavaKey ? { key: resolve(o.lavaKey) } : {}) })
    const knownHosts = join(mkdtempSync(join(tmpdir(), 'dmaheap-lava-')), 'known_hosts')
    return boardTarget({ ...board, name: process.env.LAVA_DEVICE_TYPE ? `lava-${process.env.LAVA_DEVICE_TYPE}` : 'lava-dut', file: 'the LAVA job' }, { knownHosts, acceptNewHostKey: true })
  },
}
