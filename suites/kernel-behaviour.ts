/**
 * What the kernel does that differs by version, as data: each entry says
 * what a kernel in a version range does, and where that comes from. Cases
 * ask by key; nothing version-dependent is written inline in a case. (Not
 * to be confused with heap expectations, what a user states a heap must
 * deliver, or known failures.)
 */

/** [major, minor, patch] of a release string such as "6.12.117+deb12-amd64". */
export function kernelVersion(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0]
}

export function versionAtLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = kernelVersion(release)
  return a > major || (a === major && b >= minor)
}

interface Range<T> {
  /** first version it holds for, inclusive ("5.13"); absent: since the beginning */
  from?: string
  /** first version it no longer holds for; absent: still holds */
  until?: string
  value: T
  source: string
}

export const KERNEL_BEHAVIOUR = {
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

export type BehaviourKey = keyof typeof KERNEL_BEHAVIOUR

function cmp(release: string, version: string): number {
  const a = kernelVersion(release)
  const b = kernelVersion(version)
  for (let i = 0; i < 2; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/** What this kernel release does, by key. */
export function kernelBehaviour(key: BehaviourKey, release: string): string {
  const ranges: Range<string>[] = KERNEL_BEHAVIOUR[key]
  const hit = ranges.find((r) => (!r.from || cmp(release, r.from) >= 0) && (!r.until || cmp(release, r.until) < 0))
  if (!hit) throw new Error(`no kernel behaviour ${key} for Linux ${release}`)
  return hit.value
}
