/** Every suite the harness knows, by name. */
import { UsageError } from '../core/errors.js'
import { allocSuite } from './alloc.js'
import { exhaustionSuite } from './exhaustion.js'
import type { SuiteDef } from './harness.js'
import { importSuite } from './import.js'
import { importerSuite } from './importer.js'
import { invalidFlagsSuite } from './invalid-flags.js'
import { mmapSuite } from './mmap.js'
import { propertiesSuite } from './properties.js'
import { releaseSuite } from './release.js'
import { syncSuite } from './sync.js'
import { zeroSizeSuite } from './zero-size.js'
import { zeroingSuite } from './zeroing.js'

/** In the order they run: the memory-hungry ones last, after every other suite had a clean heap. */
export const SUITES: SuiteDef[] = [
  allocSuite,
  invalidFlagsSuite,
  zeroSizeSuite,
  mmapSuite,
  syncSuite,
  zeroingSuite,
  importSuite,
  importerSuite,
  releaseSuite,
  exhaustionSuite,
  propertiesSuite,
]

export function resolveSuites(names: string[] | undefined): SuiteDef[] {
  if (!names || names.length === 0) return SUITES
  return names.map((n) => {
    const s = SUITES.find((x) => x.name === n)
    if (!s) throw new UsageError(`unknown suite "${n}"`, `choose from: ${SUITES.map((x) => x.name).join(', ')} (see \`dmaheap list\`)`)
    return s
  })
}
