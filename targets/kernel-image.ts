/** Which architecture a kernel image is for, read from its boot header. */
import { open } from 'node:fs/promises'
import { UsageError } from '../core/errors.js'
import type { KernelArch } from './kernel-build.js'

/**
 * x86 bzImage: "HdrS" at 0x202 (Documentation/arch/x86/boot.rst);
 * arm64 Image: "ARM\x64" at 56 (Documentation/arch/arm64/booting.rst).
 */
export async function kernelImageArch(path: string): Promise<KernelArch> {
  let head: Buffer
  try {
    const fh = await open(path, 'r')
    head = Buffer.alloc(0x210)
    await fh.read(head, 0, head.length, 0)
    await fh.close()
  } catch (e) {
    throw new UsageError(`cannot read the kernel image ${path}: ${(e as Error).message}`, 'pass --kernel with a bzImage or an arm64 Image')
  }
  if (head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'x86_64'
  if (head.readUInt32LE(56) === 0x644d5241) return 'arm64'
  throw new UsageError(`${path} is not a kernel image QEMU can boot here`, 'pass an x86 bzImage or an arm64 Image (e.g. from `dmaheap kernel build`)')
}
