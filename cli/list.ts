/** `dmaheap list`: the suites and their cases, and the heaps a target has. */
import { resolveSuites } from '../suites/index.js'
import { fdLeakCaseId, hasSelection, selectCases, type CaseSelection } from '../suites/case-filter.js'
import { BOOT_CASE, BOOT_SUITE } from '../suites/boot-log.js'
import { heapsOf } from '../suites/heaps.js'
import { chooseTarget, type TargetChoice } from '../targets/registry.js'
import { ExitCode } from '../core/errors.js'
import { makeOutputDir } from './output.js'
import { withSession } from '../targets/lifecycle.js'
import { log } from './log.js'

/**
 * The suites and cases a run with the same --suite, --case and --skip would
 * run, in run order; with a case selection every chosen case id is listed.
 */
export function listSuites(verbose: boolean, suiteNames?: string[], selection?: CaseSelection): void {
  const { suites, boot } = selectCases(resolveSuites(suiteNames), selection)
  const ids = verbose || hasSelection(selection)
  if (boot) {
    console.log(`${BOOT_SUITE}\t1 case, every run\twhat the kernel printed before the first case (on the kernel pseudo-heap, and on each heap a report names)`)
    if (ids) console.log(`  ${BOOT_CASE}\tno WARNING, BUG, Oops, KASAN/UBSAN/KFENCE report, call trace or problem taint (B D L M W) at boot`)
  }
  for (const s of suites) {
    console.log(`${s.name}\t${s.cases.length} cases + ${fdLeakCaseId(s.name)}\t${s.description}`)
    if (ids) {
      for (const c of s.cases) console.log(`  ${c.id}\t${c.title}`)
      console.log(`  ${fdLeakCaseId(s.name)}\tevery fd the suite opened is closed again`)
    }
  }
}

/** Starts the target (--target, or a board as `run --board` does) and lists its heaps. */
export async function listHeaps(choice: TargetChoice, output?: string): Promise<number> {
  const target = chooseTarget(choice)
  return withSession(target, { outputDir: makeOutputDir(output, `${target.name}-list`), log }, async (session) => {
    const { heaps } = await session.agent.must('list_heaps', {})
    for (const h of heapsOf(heaps)) console.log(`${h.name}\t${h.kind === 'reference' ? 'reference heap (userspace)' : 'kernel heap'}`)
    return ExitCode.pass
  })
}
