/**
 * `--reserved-memory SPEC`: device tree reserved-memory regions without
 * writing a device tree. This module is pure: it reads the specs, places
 * the regions in the guest's RAM clear of what QEMU loads there (the
 * kernel, the initrd, the device tree itself) and of room for the cma=
 * area, and writes the /reserved-memory node as device tree source.
 * targets/device-tree-build.ts merges that into QEMU's own tree with dtc.
 *
 * SPEC is NAME[@BASE]:SIZE[:PROPERTY,PROPERTY...], e.g.
 *   carveout:64M:compatible=dmaheap-test,carveout
 *   pool@0x58000000:48M:compatible=shared-dma-pool,reusable,linux,cma-default
 * A property is KEY=VALUE (VALUE a string, "a string" or <cells>), one of
 * the flags no-map, reusable, linux,cma-default, or +KEY for any other
 * empty (boolean) property. A comma inside a value is kept (compatibles
 * are "vendor,name") unless what follows it is a property itself.
 * heap=NAME names the heap the region should make, heap=none says it makes
 * none; heap= is the harness's, not written to the tree. Without it
 * (defaultHeap): a region with a compatible of a heap driver's own makes a
 * heap named after the node, as a driver naming its heap after its region
 * does; the default CMA area (shared-dma-pool, reusable, linux,cma-default)
 * makes the CMA heap, which 6.12 names after the area's node too; any other
 * shared-dma-pool, or a region with no compatible, makes none that a 6.12
 * kernel would create, so none is expected (heap=NAME claims one).
 */
import { UsageError } from '../core/errors.js'
import { formatSize, parseSizeText } from '../core/sizes.js'
import type { ReservedRegionFact } from '../core/target.js'

/** A DT property's value: a string, raw cells ("<0x1 0x2>"), or empty (a boolean). */
export type PropertyValue = { string: string } | { cells: string } | { empty: true }

export interface RegionSpec {
  /** the node's name without its unit address */
  name: string
  base?: bigint
  size: bigint
  /** every property to write, in order (compatible, no-map, reusable, ...) */
  properties: Array<[string, PropertyValue]>
  /** the heap this region should make; null: none */
  heap: string | null | undefined
  /** the spec as given, for messages */
  text: string
}

export interface PlacedRegion extends Omit<RegionSpec, 'base'> {
  base: bigint
  /** "carveout@50000000": the node's full name, as the kernel names the region */
  node: string
}

/** A spec that cannot be read, or regions that do not fit: the message names the problem. */
export class RegionError extends UsageError {}

/** Boolean properties the spec takes as bare words; "linux,cma-default" is two comma-separated words. */
const FLAGS = ['no-map', 'reusable', 'linux,cma-default']

/** DT node names: letters, digits and , . _ + - (the devicetree spec), at most 31 characters. */
const NODE_NAME = /^[A-Za-z][A-Za-z0-9,._+-]{0,30}$/
const PROPERTY_NAME = /^[A-Za-z0-9,._+#?-]{1,31}$/

const PAGE = 4096n

function parseAddress(text: string, spec: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new RegionError(`--reserved-memory ${spec}: base "${text}" is not an address (write it as 0x50000000)`)
  return BigInt(text)
}

function propertyValue(text: string): PropertyValue {
  if (/^<.*>$/.test(text)) return { cells: text }
  if (/^".*"$/.test(text)) return { string: text.slice(1, -1) }
  return { string: text }
}

/** Splits the property list on commas, keeping a comma that is part of a value or of a flag's name. */
function splitProperties(text: string, spec: string): Array<[string, PropertyValue]> {
  const words = text.split(',')
  const out: Array<[string, PropertyValue]> = []
  let last: { key: string; raw: string } | undefined
  const flush = () => {
    if (last) out.push([last.key, propertyValue(last.raw)])
    last = undefined
  }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    const pair = `${word},${words[i + 1] ?? ''}`
    if (FLAGS.includes(pair)) {
      flush()
      out.push([pair, { empty: true }])
      i++
    } else if (FLAGS.includes(word)) {
      flush()
      out.push([word, { empty: true }])
    } else if (word.startsWith('+')) {
      flush()
      const key = word.slice(1)
      if (!PROPERTY_NAME.test(key)) throw new RegionError(`--reserved-memory ${spec}: "${word}" is not a property name`)
      out.push([key, { empty: true }])
    } else if (word.includes('=')) {
      flush()
      const eq = word.indexOf('=')
      const key = word.slice(0, eq)
      if (!PROPERTY_NAME.test(key)) throw new RegionError(`--reserved-memory ${spec}: "${key}" is not a property name`)
      last = { key, raw: word.slice(eq + 1) }
    } else if (last) {
      last.raw += `,${word}`
    } else {
      throw new RegionError(`--reserved-memory ${spec}: "${word}" is not a property (write KEY=VALUE, no-map, reusable, linux,cma-default or +KEY)`)
    }
  }
  flush()
  return out
}

export function parseRegionSpec(text: string): RegionSpec {
  const m = /^([^:@]+)(?:@([^:]+))?:([^:]+)(?::(.*))?$/.exec(text.trim())
  if (!m) throw new RegionError(`--reserved-memory ${text}: expected NAME[@BASE]:SIZE[:PROPERTIES], e.g. carveout:64M:compatible=dmaheap-test,carveout`)
  const [, name, baseText, sizeText, propText] = m
  if (!NODE_NAME.test(name!)) throw new RegionError(`--reserved-memory ${text}: "${name}" is not a device tree node name (a letter, then letters, digits or , . _ + -; at most 31)`)
  const size = parseSizeText(sizeText!)
  if (size === undefined || size === 0n) throw new RegionError(`--reserved-memory ${text}: size "${sizeText}" is not a size (write 64M, 1G or a byte count)`)
  if (size % PAGE) throw new RegionError(`--reserved-memory ${text}: size ${formatSize(size)} is not a whole number of 4 KiB pages`)
  const base = baseText === undefined ? undefined : parseAddress(baseText, text)
  if (base !== undefined && base % PAGE) throw new RegionError(`--reserved-memory ${text}: base 0x${base.toString(16)} is not 4 KiB aligned`)
  let heap: string | null | undefined
  const properties = propText ? splitProperties(propText, text) : []
  const kept = properties.filter(([key, value]) => {
    if (key !== 'heap') return true
    if (!('string' in value) || !value.string) throw new RegionError(`--reserved-memory ${text}: heap= takes the heap's name, or none`)
    heap = value.string === 'none' ? null : value.string
    return false
  })
  const has = (flag: string) => kept.some(([k]) => k === flag)
  if (has('no-map') && has('reusable')) throw new RegionError(`--reserved-memory ${text}: no-map and reusable exclude each other (the kernel refuses such a region)`)
  if (has('reusable') && (size % CMA_ALIGN || (base !== undefined && base % CMA_ALIGN))) {
    throw new RegionError(`--reserved-memory ${text}: a reusable region's base and size must be 4 MiB aligned (CMA's pageblock), ${formatSize(size)}${base !== undefined ? ` at 0x${base.toString(16)}` : ''} is not`)
  }
  return { name: name!, ...(base !== undefined ? { base } : {}), size, properties: kept, heap, text }
}

/** CMA's alignment on arm64 with 4 KiB pages: a pageblock of order 10. */
const CMA_ALIGN = 4n << 20n
/** Where the harness puts a region without a base: on a 16 MiB boundary, so its name reads well. */
const PLACE_ALIGN = 16n << 20n
/** Left free for the kernel's own early allocations (memmap, page tables, the log). */
const HEADROOM = 64n << 20n

/** What occupies RAM before the kernel runs, as QEMU's arm64 loader lays it out. */
export interface GuestLayout {
  ramBase: bigint
  ramSize: bigint
  /** the Image's size as its header gives it (image_size, bss included) */
  kernelSize: bigint
  initrdSize: bigint
  /** cma= on the command line, which the kernel places itself, top down */
  cmaSize: bigint
}

interface Occupied {
  what: string
  start: bigint
  end: bigint
}

const MiB = 1n << 20n
const alignUp = (x: bigint, a: bigint) => ((x + a - 1n) / a) * a
const hex = (x: bigint) => `0x${x.toString(16)}`
const min = (a: bigint, b: bigint) => (a < b ? a : b)
const max = (a: bigint, b: bigint) => (a > b ? a : b)

/**
 * hw/arm/boot.c: the kernel at RAM + 2 MiB (its text_offset is 0), the
 * initrd at RAM + min(RAM/2, 128 MiB) or past the kernel, the device tree
 * after the initrd on a 2 MiB boundary (and it is small: 2 MiB is room).
 */
export function occupiedByBoot(l: GuestLayout): Occupied[] {
  const kernelStart = l.ramBase + 2n * MiB
  const kernelEnd = kernelStart + l.kernelSize
  const initrdStart = alignUp(max(l.ramBase + min(l.ramSize / 2n, 128n * MiB), kernelEnd), PAGE)
  const initrdEnd = initrdStart + l.initrdSize
  const dtbStart = alignUp(initrdEnd, 2n * MiB)
  return [
    { what: 'the boot loader and kernel image', start: l.ramBase, end: kernelEnd },
    { what: 'the initrd', start: initrdStart, end: initrdEnd },
    { what: 'the device tree', start: dtbStart, end: dtbStart + 2n * MiB },
  ]
}

const overlaps = (a: { start: bigint; end: bigint }, b: { start: bigint; end: bigint }) => a.start < b.end && b.start < a.end

/**
 * Every region at a base: a given base is checked (inside RAM, clear of the
 * boot images and of the other regions), a missing one is the first 16 MiB
 * boundary past what is taken. What is left must hold the cma= area and the
 * kernel's headroom. Throws a RegionError naming the region and what it hits.
 */
export function placeRegions(specs: RegionSpec[], l: GuestLayout): PlacedRegion[] {
  const ramEnd = l.ramBase + l.ramSize
  const taken: Occupied[] = occupiedByBoot(l)
  const placed: PlacedRegion[] = []
  const nodeOf = (s: RegionSpec, base: bigint) => `${s.name}@${base.toString(16)}`
  for (const s of specs.filter((s) => s.base !== undefined)) {
    const r = { start: s.base!, end: s.base! + s.size }
    if (r.start < l.ramBase || r.end > ramEnd) throw new RegionError(`region ${nodeOf(s, r.start)} (${hex(r.start)}-${hex(r.end)}) is outside the guest's RAM ${hex(l.ramBase)}-${hex(ramEnd)}: give a base inside it or a larger --memory`)
    const hit = taken.find((t) => overlaps(t, r))
    if (hit) throw new RegionError(`region ${nodeOf(s, r.start)} (${hex(r.start)}-${hex(r.end)}) overlaps ${hit.what} (${hex(hit.start)}-${hex(hit.end)}): give another base, or none and the harness places it`)
    taken.push({ what: `region ${nodeOf(s, r.start)}`, ...r })
    placed.push({ ...s, base: r.start, node: nodeOf(s, r.start) })
  }
  for (const s of specs.filter((s) => s.base === undefined)) {
    let start = alignUp(l.ramBase, PLACE_ALIGN)
    for (;;) {
      const r = { start, end: start + s.size }
      const hit = taken.find((t) => overlaps(t, r))
      if (!hit) break
      start = alignUp(hit.end, PLACE_ALIGN)
    }
    if (start + s.size > ramEnd) throw new RegionError(`region ${s.name} (${formatSize(s.size)}) does not fit in the guest's ${formatSize(l.ramSize)} beside the kernel, initrd and other regions: give a larger --memory or a smaller region`)
    taken.push({ what: `region ${nodeOf(s, start)}`, start, end: start + s.size })
    placed.push({ ...s, base: start, node: nodeOf(s, start) })
  }
  const inRegions = placed.reduce((n, r) => n + r.size, 0n)
  const bootEnd = occupiedByBoot(l).reduce((n, o) => n + (o.end - o.start), 0n)
  if (l.ramSize - inRegions - bootEnd < l.cmaSize + HEADROOM) {
    throw new RegionError(`the regions (${formatSize(inRegions)}) leave ${formatSize(max(0n, l.ramSize - inRegions - bootEnd))} of the guest's ${formatSize(l.ramSize)}, not enough for the cma= area (${formatSize(l.cmaSize)}) and the kernel's ${formatSize(HEADROOM)}: give a larger --memory or smaller regions`)
  }
  // In the order given, so the tree reads like the command line.
  return specs.map((s) => placed.find((p) => p.text === s.text && p.name === s.name)!)
}

function dtsValue(v: PropertyValue): string {
  if ('empty' in v) return ''
  if ('cells' in v) return ` = ${v.cells}`
  return ` = "${v.string.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

const cells64 = (x: bigint) => `0x${(x >> 32n).toString(16)} 0x${(x & 0xffffffffn).toString(16)}`

/** The /reserved-memory node for a tree with #address-cells = #size-cells = 2 (QEMU's virt). */
export function reservedMemoryDts(regions: PlacedRegion[]): string {
  const nodes = regions.map((r) => {
    const props = r.properties.map(([k, v]) => `\t\t\t${k}${dtsValue(v)};`)
    return [`\t\t${r.node} {`, `\t\t\treg = <${cells64(r.base)} ${cells64(r.size)}>;`, ...props, '\t\t};'].join('\n')
  })
  return ['/ {', '\treserved-memory {', '\t\t#address-cells = <2>;', '\t\t#size-cells = <2>;', '\t\tranges;', ...nodes, '\t};', '};', ''].join('\n')
}

/** The heap a region makes when the spec does not say (see the header). */
export function defaultHeap(node: string, properties: ReadonlyArray<[string, PropertyValue]>): string | null {
  const compatible = properties.find(([k]) => k === 'compatible')?.[1]
  const has = (flag: string) => properties.some(([k]) => k === flag)
  if (!compatible || !('string' in compatible)) return null
  if (compatible.string !== 'shared-dma-pool') return node
  return has('reusable') && has('linux,cma-default') ? node : null
}

/** What run.json and the suites keep of a region. */
export function regionFact(r: Pick<PlacedRegion, 'node' | 'base' | 'size' | 'properties' | 'heap'>, from = '--reserved-memory'): ReservedRegionFact {
  const compatible = r.properties.find(([k]) => k === 'compatible')?.[1]
  const has = (flag: string) => r.properties.some(([k]) => k === flag)
  return {
    node: r.node,
    base: hex(r.base),
    size: Number(r.size),
    ...(compatible && 'string' in compatible ? { compatible: compatible.string } : {}),
    ...(has('reusable') ? { reusable: true as const } : {}),
    ...(has('no-map') ? { noMap: true as const } : {}),
    heap: r.heap === undefined ? defaultHeap(r.node, r.properties) : r.heap,
    from,
  }
}

/**
 * The regions of a tree the user wrote (--dtb), from its source as dtc
 * prints it: each child of /reserved-memory with a reg, its compatible
 * (the first string) and its flags. Cells per address and size are the
 * node's own #address-cells/#size-cells (2 when absent, as on arm64).
 */
export function regionsOfDts(dts: string): Array<Pick<PlacedRegion, 'node' | 'base' | 'size' | 'properties' | 'heap'>> {
  const start = /^(\s*)reserved-memory \{/m.exec(dts)
  if (!start) return []
  const body = blockAt(dts, start.index + start[0].length)
  const own = body.replace(/\{[^]*\}/g, '')
  const cellsOf = (what: string) => Number(new RegExp(`#${what}-cells = <(0x[0-9a-f]+|\\d+)>`).exec(own)?.[1] ?? 2)
  const addressCells = cellsOf('address')
  const sizeCells = cellsOf('size')
  const out: Array<Pick<PlacedRegion, 'node' | 'base' | 'size' | 'properties' | 'heap'>> = []
  const child = /^\s*([A-Za-z][A-Za-z0-9,._+-]*(?:@[0-9a-fA-F]+)?) \{/gm
  for (let m = child.exec(body); m; m = child.exec(body)) {
    const inner = blockAt(body, m.index + m[0].length)
    child.lastIndex = m.index + m[0].length + inner.length
    const reg = /^\s*reg = <([^>]*)>;/m.exec(inner)
    if (!reg) continue // a dynamically placed region (size/alloc-ranges) has no fixed place to check
    const values = reg[1]!.trim().split(/\s+/).map((c) => BigInt(c))
    const join = (from: number, n: number) => values.slice(from, from + n).reduce((a, c) => (a << 32n) | c, 0n)
    const properties: Array<[string, PropertyValue]> = []
    for (const line of inner.split('\n')) {
      const p = /^\s*([A-Za-z0-9,._+#?-]+)(?: = (.*))?;\s*$/.exec(line)
      if (!p || p[1] === 'reg') continue
      const value = p[2]
      if (value === undefined) properties.push([p[1]!, { empty: true }])
      else if (value.startsWith('"')) properties.push([p[1]!, { string: /^"([^"]*)"/.exec(value)?.[1] ?? '' }])
      else properties.push([p[1]!, { cells: value }])
    }
    out.push({ node: m[1]!, base: join(0, addressCells), size: join(addressCells, sizeCells), properties, heap: undefined })
  }
  return out
}

/** The text of the block that starts after an opening brace at `from`, up to its closing brace. */
function blockAt(text: string, from: number): string {
  let depth = 1
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return text.slice(from, i)
  }
  return text.slice(from)
}

/** The total of a tree's /memory nodes' reg sizes, from its source (dtc -O dts), for #size-cells = 2. */
export function memoryOfDts(dts: string): bigint | undefined {
  let total: bigint | undefined
  for (const m of dts.matchAll(/^\s*memory@[0-9a-f]+ \{[^}]*?reg = <([^>]*)>/gm)) {
    const cells = m[1]!.trim().split(/\s+/).map((c) => BigInt(c))
    for (let i = 0; i + 3 < cells.length; i += 4) total = (total ?? 0n) + ((cells[i + 2]! << 32n) | cells[i + 3]!)
  }
  return total
}
