/**
 * The device tree an arm64 guest boots with (-dtb): the user's (--dtb), or
 * QEMU's own for the same machine, CPU, vCPUs and memory (-M
 * virt,dumpdtb=), with the --reserved-memory regions added as a
 * /reserved-memory node and compiled again with dtc
 * (device-tree-compiler). QEMU still writes the command line, the initrd's
 * place and the memory node into whichever tree it boots.
 */
import { existsSync } from 'node:fs'
import { open, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { InfraError, UsageError } from '../core/errors.js'
import { formatSize, parseSizeText } from '../core/sizes.js'
import type { ReservedRegionFact } from '../core/target.js'
import type { KernelArch } from './kernel-build.js'
import { memoryOfDts, placeRegions, regionFact, regionsOfDts, reservedMemoryDts, type PlacedRegion, type RegionSpec } from './reserved-memory.js'

async function dtc(args: string[], input?: string): Promise<string> {
  const r = await execa('dtc', ['-q', ...args], { ...(input !== undefined ? { input } : {}), reject: false, all: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new UsageError('dtc is not installed', 'apt-get install device-tree-compiler')
    throw e
  })
  if (r.exitCode !== 0) throw new InfraError(`dtc ${args.join(' ')} failed`, String(r.all ?? '').split('\n').slice(-4).join('; '))
  return String(r.stdout)
}

/** A .dtb's source text. */
export async function decompileDtb(path: string): Promise<string> {
  if (!existsSync(path)) throw new UsageError(`no device tree at ${path}`, 'pass --dtb with a compiled tree (.dtb, e.g. from dtc -O dtb)')
  return dtc(['-I', 'dtb', '-O', 'dts', path])
}

/** QEMU's own tree for this machine as it would boot it. */
export async function dumpQemuDtb(qemu: string, machineArgs: string[], memory: string, smp: number, out: string): Promise<void> {
  // dumpdtb is a -M property: it joins the machine's own.
  const args = [...machineArgs]
  const m = args.indexOf('-M')
  args[m + 1] = `${args[m + 1]},dumpdtb=${out}`
  const r = await execa(qemu, [...args, '-accel', 'tcg', '-m', memory, '-smp', String(smp), '-nographic', '-nodefaults'], { reject: false, all: true })
  if (!existsSync(out)) throw new InfraError(`${qemu} did not dump its device tree`, String(r.all ?? '').split('\n').slice(-3).join('; '))
}

/** One line when the tree's /memory disagrees with --memory, else undefined. */
export function memoryMismatch(dts: string, memory: string, file: string): string | undefined {
  const inTree = memoryOfDts(dts)
  const wanted = parseSizeText(memory)
  if (inTree === undefined || wanted === undefined || inTree === wanted) return undefined
  return `${file} describes ${formatSize(inTree)} of memory, --memory is ${formatSize(wanted)}: QEMU rewrites the tree's memory node to ${formatSize(wanted)}`
}

export interface GuestTree {
  /** the .dtb to boot */
  dtb: string
  /** its source, kept beside it for whoever reads the run */
  dts: string
}

/** `base` (a .dtb) with the regions added, compiled into `dir`. */
export async function treeWithRegions(base: string, regions: PlacedRegion[], dir: string): Promise<GuestTree> {
  const source = await decompileDtb(base)
  if (regions.length && /^\s*reserved-memory \{/m.test(source)) {
    throw new UsageError(`${base} has a /reserved-memory node already`, 'describe the regions in the tree itself, or drop --reserved-memory')
  }
  const dts = join(dir, 'guest.dts')
  const dtb = join(dir, 'guest.dtb')
  await writeFile(dts, source + '\n' + reservedMemoryDts(regions))
  await dtc(['-I', 'dts', '-O', 'dtb', '-o', dtb, dts])
  return { dtb, dts }
}

/** An arm64 Image's size once loaded: image_size at offset 16 (Documentation/arch/arm64/booting.rst), else the file's. */
async function loadedImageSize(image: string): Promise<bigint> {
  const fh = await open(image, 'r')
  try {
    const head = Buffer.alloc(24)
    await fh.read(head, 0, 24, 0)
    const size = head.readBigUInt64LE(16)
    return size || BigInt((await stat(image)).size)
  } finally {
    await fh.close()
  }
}

export interface GuestTreeOptions {
  arch: KernelArch
  qemu: string
  machineArgs: string[]
  memory: string
  smp: number
  kernel: string
  initrd: string
  cma?: string
  dtb?: string
  reservedMemory?: RegionSpec[]
  dir: string
  log(message: string): void
}

function logRegion(o: Pick<GuestTreeOptions, 'log'>, r: ReservedRegionFact): void {
  o.log(`reserved-memory region ${r.node} (${r.from}): ${formatSize(BigInt(r.size))} at ${r.base}; ${r.heap ? `should make the heap ${r.heap}` : 'makes no heap the run checks for'}`)
}

/** The tree to boot, and the regions in it, for --dtb and --reserved-memory. */
export async function guestTree(o: GuestTreeOptions): Promise<GuestTree & { regions: ReservedRegionFact[] }> {
  if (o.arch !== 'arm64') {
    throw new UsageError(`--dtb and --reserved-memory need an arm64 kernel: this ${o.arch} guest boots without a device tree`, 'pass --kernel with an arm64 Image (dmaheap kernel build --arch arm64)')
  }
  const ramSize = parseSizeText(o.memory)
  if (ramSize === undefined) throw new UsageError(`--memory ${o.memory} is not a size`, 'write it as 512M or 1G')
  let base = o.dtb
  let described: ReturnType<typeof regionsOfDts> = []
  if (base) {
    const source = await decompileDtb(base)
    const note = memoryMismatch(source, o.memory, base)
    if (note) o.log(note)
    // The user's own regions are checked as --reserved-memory's are: each
    // one meant for a heap must make it (targets/reserved-memory.ts defaultHeap).
    described = regionsOfDts(source)
    for (const r of described) logRegion(o, regionFact(r, base))
  } else {
    base = join(o.dir, 'qemu-virt.dtb')
    await dumpQemuDtb(o.qemu, o.machineArgs, o.memory, o.smp, base)
  }
  const placed = placeRegions(o.reservedMemory ?? [], {
    // QEMU's virt machine: RAM from 1 GiB.
    ramBase: 0x40000000n,
    ramSize,
    kernelSize: await loadedImageSize(o.kernel),
    initrdSize: BigInt((await stat(o.initrd)).size),
    cmaSize: (o.cma ? parseSizeText(o.cma) : undefined) ?? 0n,
  })
  for (const r of placed) logRegion(o, regionFact(r))
  // rmem_cma_setup (kernel/dma/contiguous.c) bypasses the default CMA node
  // when cma= is on the command line: the region would silently make nothing.
  const defaultCma = [...described, ...placed].find((r) => r.properties.some(([k]) => k === 'linux,cma-default'))
  if (defaultCma && o.cma) {
    throw new UsageError(`the region ${defaultCma.node} is the default CMA area (linux,cma-default), and --cma ${o.cma} puts cma= on the command line, which makes the kernel ignore that region`, 'drop --cma, or drop linux,cma-default from the region')
  }
  if (!placed.length) return { dtb: base, dts: '', regions: described.map((d) => regionFact(d, base!)) }
  const tree = await treeWithRegions(base, placed, o.dir)
  return { ...tree, regions: placed.map((r) => regionFact(r)) }
}
