/** `dmaheap kernel build`: progress on stderr, the image path on stdout. */
import { ExitCode } from '../core/errors.js'
import { buildKernel, type KernelArch } from '../targets/kernel-build.js'
import { log } from './log.js'

export async function kernelBuildCommand(o: { src: string; arch: KernelArch; config?: string[]; patch?: string[]; importer?: boolean; debug?: boolean; out?: string; jobs?: number }): Promise<number> {
  const r = await buildKernel({
    src: o.src,
    arch: o.arch,
    ...(o.config ? { fragments: o.config } : {}),
    ...(o.patch ? { patches: o.patch } : {}),
    ...(o.importer ? { importer: true } : {}),
    ...(o.debug ? { debug: true } : {}),
    ...(o.out ? { out: o.out } : {}),
    ...(o.jobs ? { jobs: o.jobs } : {}),
    log,
  })
  log(`built Linux ${r.release} (${o.arch}) in ${r.seconds.toFixed(0)} s (${r.incremental ? 'incremental' : 'clean'})`)
  if (r.unmet.length) log(`${r.unmet.length} requested option(s) did not end up set; see the warnings above`)
  log(`boot it: npx dmaheap run --kernel ${r.image} --cma 256M`)
  console.log(r.image)
  return ExitCode.pass
}
