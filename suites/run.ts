/**
 * Runs suites on every heap of a started target, as node-tap subtests under
 * one root: "<suite> on <heap>", each with its cases. Results go to the sink
 * as each case finishes. A broken target (InfraError) stops the run at once.
 */
import type { Test } from 'tap'
import { InfraError } from '../core/errors.js'
import { emptyCounts, type CaseResult, type CaseStatus } from '../core/result.js'
import type { TargetSession } from '../core/target.js'
import { runCase, type SuiteDef } from './harness.js'
import type { HeapUnderTest } from './heaps.js'

export interface SuiteRunInput {
  root: Test
  session: TargetSession
  suites: SuiteDef[]
  heaps: HeapUnderTest[]
  onResult(r: CaseResult): void
}

export interface SuiteRunOutcome {
  counts: Record<CaseStatus, number>
  infra?: InfraError
}

export async function runSuites({ root, session, suites, heaps, onResult }: SuiteRunInput): Promise<SuiteRunOutcome> {
  const counts = emptyCounts()
  const { agent, info } = session
  const pageSize = BigInt(info.hello.page_size)
  let infra: InfraError | undefined

  for (const suite of suites) {
    for (const heap of heaps) {
      if (infra) break
      const perHeap = emptyCounts()
      await root.test(`${suite.name} on ${heap.name}`, async (t: Test) => {
        const opened = await agent.call('heap_open', { name: heap.name, flags: 'O_RDWR|O_CLOEXEC' })
        const heapHandle = opened.ok ? opened.heap : -1
        for (const def of suite.cases) {
          const ctx = { agent, heap, heapHandle, target: info, pageSize }
          const caseDef = opened.ok
            ? def
            : { ...def, run: async (c: Parameters<typeof def.run>[0]) => void c.check.succeeded(`open /dev/dma_heap/${heap.name} O_RDWR`, opened) }
          const out = await runCase({ parent: t, def: caseDef, suite: suite.name, ctx })
          counts[out.result.status]++
          perHeap[out.result.status]++
          onResult(out.result)
          if (out.infra) {
            infra = out.infra
            return
          }
        }
        if (opened.ok) {
          await agent.must('heap_close', { heap: heapHandle }).catch((e: unknown) => {
            if (e instanceof InfraError) infra = e
            else throw e
          })
        }
        t.comment(`${suite.name} on ${heap.name}: ${suite.cases.length} cases: ${perHeap.PASS} pass, ${perHeap.FAIL} fail, ${perHeap.SKIP} skip, ${perHeap.ERROR} error`)
      })
    }
  }
  return infra ? { counts, infra } : { counts }
}
