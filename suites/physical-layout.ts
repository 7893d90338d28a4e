/**
 * The physical side of a buffer, as pure functions over what the agent
 * reports: the runs of page frame numbers behind a mapping (pagemap op), the
 * target's memory regions (/proc/iomem, and the CMA and reserved-memory areas
 * the kernel logged at boot), and what they say together: contiguous or not,
 * physical alignment, the region a buffer came from.
 */

export interface PfnRun {
  pfn: bigint
  pages: bigint
}

export interface PhysRegion {
  /** "CMA area reserved", "reserved-memory linux,cma", "System RAM" */
  name: string
  /** first and last byte, inclusive */
  start: bigint
  end: bigint
  kind: 'cma' | 'reserved-memory' | 'iomem'
  /** nesting in /proc/iomem (0 = top level); CMA and DT areas rank above it */
  depth: number
}

export interface BufferLayout {
  pages: bigint
  runs: number
  contiguous: boolean
  /** physical address of the first page */
  start: bigint
  /** largest power of two dividing the start address (bytes) */
  alignment: bigint
  /** the innermost region holding every page; undefined when the pages lie in several */
  region?: string
}

/** "4d3cc0+1 542b51+16" → runs. */
export function parseRuns(text: string): PfnRun[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((item) => {
      const m = /^([0-9a-f]+)\+(\d+)$/i.exec(item)
      if (!m) throw new Error(`malformed pfn run "${item}"`)
      return { pfn: BigInt(`0x${m[1]}`), pages: BigInt(m[2]!) }
    })
}

/** Largest power of two dividing an address; 0 is aligned to anything (capped at 1 TiB). */
export function alignmentOf(address: bigint): bigint {
  const cap = 1n << 40n
  if (address === 0n) return cap
  let a = 1n
  while (a < cap && address % (a * 2n) === 0n) a *= 2n
  return a
}

/** The innermost region holding [start, end]; CMA and DT areas win over iomem's "System RAM". */
export function regionOf(start: bigint, end: bigint, regions: PhysRegion[]): PhysRegion | undefined {
  const rank = (r: PhysRegion) => (r.kind === 'iomem' ? r.depth : 100)
  return regions
    .filter((r) => r.start <= start && end <= r.end)
    .sort((a, b) => rank(b) - rank(a) || Number(a.end - a.start - (b.end - b.start)))[0]
}

export function layoutOf(runs: PfnRun[], pageSize: bigint, regions: PhysRegion[]): BufferLayout {
  if (!runs.length) throw new Error('no pages present')
  const pages = runs.reduce((n, r) => n + r.pages, 0n)
  const start = runs[0]!.pfn * pageSize
  // Each run lies in the region holding its first byte (a region's end in
  // /proc/iomem need not be page-aligned).
  const holders = new Set(runs.map((r) => regionOf(r.pfn * pageSize, r.pfn * pageSize, regions)?.name ?? 'outside every known region'))
  const region = holders.size === 1 ? [...holders][0] : undefined
  return {
    pages,
    runs: runs.length,
    contiguous: runs.length === 1,
    start,
    alignment: alignmentOf(start),
    ...(region !== undefined ? { region } : {}),
  }
}

/**
 * /proc/iomem: "  00100000-3ffdffff : System RAM", two spaces per level.
 * Without CAP_SYS_ADMIN every address reads 0: those lines are dropped.
 */
export function parseIomem(text: string): PhysRegion[] {
  const out: PhysRegion[] = []
  for (const line of text.split('\n')) {
    const m = /^( *)([0-9a-f]+)-([0-9a-f]+) : (.+)$/i.exec(line)
    if (!m) continue
    const start = BigInt(`0x${m[2]}`)
    const end = BigInt(`0x${m[3]}`)
    if (start === 0n && end === 0n) continue
    // The kernel image's sections label its link layout inside System RAM;
    // what the kernel frees of the image (init sections, alignment gaps)
    // goes back to the page allocator under those labels: not a source.
    if (/^Kernel (code|rodata|data|bss)$/.test(m[4]!.trim())) continue
    out.push({ name: m[4]!.trim(), start, end, kind: 'iomem', depth: m[1]!.length / 2 })
  }
  return out
}

/**
 * The areas the kernel logged while reserving memory at boot:
 *   cma: Reserved 64 MiB at 0x000000003c000000 on node -1      (cma= on the command line)
 *   Reserved memory: created CMA memory pool at 0x..., size 64 MiB   (a device-tree CMA pool)
 *   OF: reserved mem: 0x...0x... (65536 KiB) map non-reusable camera@...   (any DT region)
 */
export function parseBootAreas(klog: string): PhysRegion[] {
  const out: PhysRegion[] = []
  const mib = 1n << 20n
  for (const line of klog.split('\n')) {
    let m = /cma: Reserved (\d+) MiB at (0x[0-9a-f]+)/i.exec(line)
    if (m) {
      const start = BigInt(m[2]!)
      out.push({ name: `CMA area at ${m[2]} (${m[1]} MiB)`, start, end: start + BigInt(m[1]!) * mib - 1n, kind: 'cma', depth: 0 })
      continue
    }
    m = /created CMA memory pool at (0x[0-9a-f]+), size (\d+) MiB/i.exec(line)
    if (m) {
      const start = BigInt(m[1]!)
      out.push({ name: `CMA pool at ${m[1]} (${m[2]} MiB)`, start, end: start + BigInt(m[2]!) * mib - 1n, kind: 'cma', depth: 0 })
      continue
    }
    m = /reserved mem: (0x[0-9a-f]+)\.\.(0x[0-9a-f]+) \((\d+) KiB\) \S+ \S+ (\S+)/i.exec(line)
    if (m) {
      const start = BigInt(m[1]!)
      // The logged end is base + size (exclusive); the size in KiB is exact.
      out.push({ name: `reserved-memory ${m[4]}`, start, end: start + BigInt(m[3]!) * 1024n - 1n, kind: 'reserved-memory', depth: 0 })
    }
  }
  return out
}
