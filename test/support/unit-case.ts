/**
 * What the pure-logic tests of the harness share: a target and a case
 * environment that boot nothing, and a throwaway TAP parent so the failures
 * a case is meant to emit do not fail the test file that provokes them.
 */
import { Test, type TestOpts } from 'tap'
import type { Agent } from '../../core/agent.js'
import type { TargetInfo } from '../../core/target.js'
import type { CaseEnv } from '../../suites/harness.js'

export function unitTarget(release = '6.12.0', target = 'unit'): TargetInfo {
  return {
    target,
    hello: {
      protocol: 1, agent: 'x', sysname: 'Linux', machine: 'x86_64', release, page_size: 4096,
      reference_heap: 'dmaheap-reference', udmabuf: true, dma_heap_dir: true, pid: 1, o_cloexec: 0o2000000,
    },
    facts: { disposable: false, destructiveAllowed: false, rawIoctls: true, transport: 'stdio' },
  }
}

/** A case environment on the kernel heap "system" of unitTarget(); fields given replace the defaults. */
export function unitEnv(over: Partial<CaseEnv> = {}): CaseEnv {
  return {
    agent: {} as Agent,
    heap: { name: 'system', kind: 'kernel' },
    heapHandle: 1,
    target: unitTarget(),
    pageSize: 4096n,
    settings: { destructive: false, destructiveReason: 'unit' },
    traits: { cpuAccess: true },
    targetTraits: { vgem: false, importer: false, initOnAlloc: '0', regions: [] },
    referenceObservations: () => undefined,
    earlierObservations: () => undefined,
    ...over,
  }
}

/** A TAP parent of its own, not this file's: what the case prints stays out of the file's count. */
export function throwawayParent(): Test {
  return new Test({ name: 'parent' } as TestOpts)
}
