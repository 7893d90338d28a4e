/** `dmaheap list`: the suites and their cases, and the heaps a target has. */
import { SUITES } from '../suites/index.js'
import { BOOT_CASE, BOOT_SUITE } from '../suites/boot-log.js'
import { heapsOf } from '../suites/heaps.js'
import { resolveTarget } from '../targets/index.js'
import type { QemuTargetOptions } from '../targets/qemu.js'
import { ExitCode } from '../core/errors.js'
import { makeOutputDir } from './output.js'
import { log } from './run.js'

export function listSuites(verbose: boolean): void {
  console.log(`${BOOT_SUITE}\t1 case, every run\twhat the kernel printed before the first case (on the kernel pseudo-heap, and on each heap a report names)`)
  if (verbose) console.log(`  ${BOOT_CASE}\tno WARNING, BUG, Oops, KASAN/UBSAN/KFENCE report, call trace or problem taint (B D L M W) at boot`)
  for (const s of SUITES) {
    console.log(`${s.name}\t${s.cases.length} cases + ${s.name}.no-fd-leak\t${s.description}`)
    if (verbose) for (const c of s.cases) console.log(`  ${c.id}\t${c.title}`)
  }
}

export async function listHeaps(targetName: string, qemu: QemuTargetOptions, output?: string): Promise<number> {
  const target = resolveTarget(targetName, qemu)
  const session = await target.start({ outputDir: makeOutputDir(output, `${target.name}-list`), log })
  try {
    const { heaps } = await session.agent.must('list_heaps', {})
    for (const h of heapsOf(heaps)) console.log(`${h.name}\t${h.kind === 'reference' ? 'reference heap (userspace)' : 'kernel heap'}`)
  } finally {
    await session.close()
  }
  return ExitCode.pass
}
