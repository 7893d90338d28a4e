/**
 * Results that differ by kernel version, as data: each entry says what a
 * kernel in a version range does, and where that comes from. Cases ask by
 * key; nothing version-dependent is written inline in a case.
 */
import { kernelVersion } from './heaps.js'

interface Range<T> {
  /** first version it holds for, inclusive ("5.13"); absent: since the beginning */
  from?: string
  /** first version it no longer holds for; absent: still holds */
  until?: string
  value: T
  source: string
}

export const EXPECTATIONS = {
  /** fdinfo exp_name of a heap's buffer */
  exp_name: [
    { until: '5.13', value: 'module name', source: 'before 2eebbdbaab5f the exporter was KBUILD_MODNAME (system_heap, heap_helpers)' },
    { from: '5.13', value: 'heap name', source: '2eebbdbaab5f "Fix the name used when exporting dmabufs to be the actual heap name"' },
  ],
  /** name of the CMA heap for the default area */
  cma_heap_name: [
    { until: '6.17', value: 'reserved', source: 'cma_get_name(dev_get_cma_area(NULL)); "reserved" for cma= / CONFIG_CMA_SIZE_*' },
    { from: '6.17', value: 'default_cma_region', source: '"Give default CMA heap a fixed name" (Jared Kangas)' },
  ],
  /** DMA_BUF_SET_NAME while a device is attached (after a vgem import) */
  set_name_attached: [
    { until: '5.16', value: 'EBUSY', source: 'dma_buf_set_name returned -EBUSY with attachments' },
    { from: '5.16', value: 'success', source: '"dma-buf: remove restriction of IOCTL:DMA_BUF_SET_NAME" (Guangming Cao)' },
  ],
  /** DMA_BUF_IOCTL_EXPORT_SYNC_FILE / IMPORT_SYNC_FILE */
  sync_file_ioctls: [
    { until: '6.0', value: 'ENOTTY', source: 'added in 6.0 (and only with CONFIG_SYNC_FILE)' },
    { from: '6.0', value: 'present', source: 'dma_buf_ioctl: DMA_BUF_IOCTL_EXPORT_SYNC_FILE, IMPORT_SYNC_FILE' },
  ],
} satisfies Record<string, Range<string>[]>

export type ExpectationKey = keyof typeof EXPECTATIONS

function cmp(release: string, version: string): number {
  const a = kernelVersion(release)
  const b = kernelVersion(version)
  for (let i = 0; i < 2; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/** The expected value for this kernel release. */
export function expectation(key: ExpectationKey, release: string): string {
  const ranges: Range<string>[] = EXPECTATIONS[key]
  const hit = ranges.find((r) => (!r.from || cmp(release, r.from) >= 0) && (!r.until || cmp(release, r.until) < 0))
  if (!hit) throw new Error(`no expectation ${key} for Linux ${release}`)
  return hit.value
}
