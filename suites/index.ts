/** Every suite the harness knows, by name. */
import { UsageError } from '../core/errors.js'
import { allocSuite } from './alloc.js'
import type { SuiteDef } from './harness.js'

export const SUITES: SuiteDef[] = [allocSuite]

export function resolveSuites(names: string[] | undefined): SuiteDef[] {
  if (!names || names.length === 0) return SUITES
  return names.map((n) => {
    const s = SUITES.find((x) => x.name === n)
    if (!s) throw new UsageError(`unknown suite "${n}"`, `choose from: ${SUITES.map((x) => x.name).join(', ')} (see \`dmaheap list\`)`)
    return s
  })
}
