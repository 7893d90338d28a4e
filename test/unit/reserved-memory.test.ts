// --reserved-memory: reading the specs, placing the regions in the guest's
// RAM clear of what QEMU loads there, and the /reserved-memory source. Pure.
import t from 'tap'
import { kcidbComponent } from '../../reports/kcidb.js'
import { heapsOf, isCmaHeap, missingHeaps } from '../../suites/heaps.js'
import { defaultHeap, memoryOfDts, parseRegionSpec, placeRegions, regionFact, regionsOfDts, reservedMemoryDts, type GuestLayout } from '../../targets/reserved-memory.js'

const MiB = 1n << 20n
/** QEMU virt with 512 MiB: RAM from 0x40000000, a 30 MiB kernel, a 6 MiB initrd, cma=64M. */
const layout: GuestLayout = { ramBase: 0x40000000n, ramSize: 512n * MiB, kernelSize: 30n * MiB, initrdSize: 6n * MiB, cmaSize: 64n * MiB }

t.test('a spec: name, base, size, properties; commas inside values kept', async (t) => {
  const s = parseRegionSpec('carveout:64M:compatible=dmaheap-test,carveout')
  t.equal(s.name, 'carveout')
  t.equal(s.base, undefined)
  t.equal(s.size, 64n * MiB)
  t.same(s.properties, [['compatible', { string: 'dmaheap-test,carveout' }]])
  t.equal(s.heap, undefined, 'the heap is named after the node by default')

  const pool = parseRegionSpec('pool@0x58000000:48M:compatible=shared-dma-pool,reusable,linux,cma-default')
  t.equal(pool.base, 0x58000000n)
  t.same(pool.properties.map(([k]) => k), ['compatible', 'reusable', 'linux,cma-default'], 'reusable and linux,cma-default are flags, not part of the compatible')
  t.same(pool.properties[0], ['compatible', { string: 'shared-dma-pool' }])

  const free = parseRegionSpec('fw@0x50000000:4M:no-map,+dmaheap,alignment=<0x0 0x400000>,label="a,b",heap=none')
  t.same(free.properties, [['no-map', { empty: true }], ['dmaheap', { empty: true }], ['alignment', { cells: '<0x0 0x400000>' }], ['label', { string: 'a,b' }]])
  t.equal(free.heap, null, 'heap=none: no heap expected, and heap= is not written to the tree')
  t.equal(parseRegionSpec('c:8M:heap=my-heap').heap, 'my-heap')
})

t.test('bad specs: one line naming the problem and the fix', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['carveout', /expected NAME\[@BASE\]:SIZE\[:PROPERTIES\]/],
    ['carveout:lots', /size "lots" is not a size \(write 64M/],
    ['carveout:0', /is not a size/],
    ['carveout:5000', /not a whole number of 4 KiB pages/],
    ['carve out:4M', /not a device tree node name/],
    ['carveout@zz:4M', /base "zz" is not an address \(write it as 0x50000000\)/],
    ['carveout@0x50000100:4M', /base 0x50000100 is not 4 KiB aligned/],
    ['carveout:4M:bogus', /"bogus" is not a property \(write KEY=VALUE, no-map, reusable/],
    ['pool:4M:no-map,reusable', /no-map and reusable exclude each other/],
    ['pool:6M:reusable', /4 MiB aligned \(CMA's pageblock\), 6 MiB is not/],
    ['c:4M:heap=', /heap= takes the heap's name, or none/],
  ]
  for (const [spec, message] of cases) {
    t.throws(() => parseRegionSpec(spec), { message }, spec)
    try {
      parseRegionSpec(spec)
    } catch (e) {
      t.notMatch((e as Error).message, /\n/, `${spec}: one line`)
    }
  }
})

t.test('placement: clear of kernel, initrd and device tree, on 16 MiB boundaries, in the given order', async (t) => {
  const placed = placeRegions([parseRegionSpec('carveout:64M:compatible=x'), parseRegionSpec('chunk:32M'), parseRegionSpec('fixed@0x58000000:16M')], layout)
  t.same(placed.map((r) => r.node), ['carveout@42000000', 'chunk@46000000', 'fixed@58000000'])
  // The kernel ends at 0x40200000 + 30 MiB = 0x42000000; the initrd is at 0x48000000 (RAM/2 capped at 128 MiB).
  const initrd = { start: 0x48000000n, end: 0x48000000n + 6n * MiB }
  for (const r of placed) {
    t.ok(r.base >= 0x42000000n, `${r.node} is past the kernel`)
    t.ok(r.base + r.size <= initrd.start || r.base >= initrd.end + 2n * MiB, `${r.node} is clear of the initrd and the tree after it`)
    t.equal(r.base % (16n * MiB) === 0n || r.node.startsWith('fixed'), true)
  }
  t.same(regionFact(placed[0]!), { node: 'carveout@42000000', base: '0x42000000', size: 64 * 2 ** 20, compatible: 'x', heap: 'carveout@42000000', from: '--reserved-memory' })
})

t.test('placement refuses overlaps and what does not fit, naming both', async (t) => {
  t.throws(() => placeRegions([parseRegionSpec('k@0x40400000:4M')], layout), { message: /region k@40400000 \(0x40400000-0x40800000\) overlaps the boot loader and kernel image \(0x40000000-0x42000000\)/ })
  t.throws(() => placeRegions([parseRegionSpec('i@0x48000000:4M')], layout), { message: /overlaps the initrd/ })
  t.throws(() => placeRegions([parseRegionSpec('a@0x50000000:16M'), parseRegionSpec('b@0x50800000:16M')], layout), { message: /region b@50800000 .* overlaps region a@50000000/ })
  t.throws(() => placeRegions([parseRegionSpec('out@0x80000000:4M')], layout), { message: /outside the guest's RAM 0x40000000-0x60000000: give a base inside it or a larger --memory/ })
  t.throws(() => placeRegions([parseRegionSpec('big:352M')], layout), { message: /not enough for the cma= area \(64 MiB\)/ })
  t.throws(() => placeRegions([parseRegionSpec('huge:1G')], layout), { message: /region huge \(1 GiB\) does not fit in the guest's 512 MiB/ })
})

t.test('the /reserved-memory source and a tree\'s memory', async (t) => {
  const [r] = placeRegions([parseRegionSpec('pool@0x50000000:48M:compatible=shared-dma-pool,reusable,linux,cma-default')], layout)
  const dts = reservedMemoryDts([r!])
  t.match(dts, /pool@50000000 \{\n\t\t\treg = <0x0 0x50000000 0x0 0x3000000>;\n\t\t\tcompatible = "shared-dma-pool";\n\t\t\treusable;\n\t\t\tlinux,cma-default;/)
  t.match(dts, /#address-cells = <2>;[\s\S]*ranges;/)
  t.equal(memoryOfDts('\tmemory@40000000 {\n\t\treg = <0x00 0x40000000 0x00 0x20000000>;\n\t\tdevice_type = "memory";\n\t};'), 512n * MiB)
  t.equal(memoryOfDts('/ { };'), undefined)
})

t.test('which heap a region should make when the spec does not say', async (t) => {
  const props = (spec: string) => parseRegionSpec(`r:4M:${spec}`).properties
  t.equal(defaultHeap('carveout@50000000', props('compatible=dmaheap-test,carveout,no-map')), 'carveout@50000000', "a heap driver's compatible: a heap named after the node")
  t.equal(defaultHeap('linux,cma@58000000', props('compatible=shared-dma-pool,reusable,linux,cma-default')), 'linux,cma@58000000', 'the default CMA area: the CMA heap, named after it')
  t.equal(defaultHeap('pool@58000000', props('compatible=shared-dma-pool,reusable')), null, 'another CMA area makes no heap on 6.12')
  t.equal(defaultHeap('hole@58000000', props('no-map')), null, 'no compatible: no heap')
  t.equal(parseRegionSpec('pool:4M:compatible=shared-dma-pool,reusable,heap=pool').heap, 'pool', 'heap= claims one')
})

t.test("a --dtb tree's regions, from dtc's source", async (t) => {
  const dts = [
    '/ {',
    '\treserved-memory {',
    '\t\t#address-cells = <0x02>;',
    '\t\t#size-cells = <0x02>;',
    '\t\tranges;',
    '\t\tcarveout@50000000 {',
    '\t\t\tcompatible = "dmaheap-test,carveout";',
    '\t\t\treg = <0x00 0x50000000 0x00 0x2000000>;',
    '\t\t\tno-map;',
    '\t\t};',
    '\t\tlinux,cma@58000000 {',
    '\t\t\tcompatible = "shared-dma-pool";',
    '\t\t\treg = <0x00 0x58000000 0x00 0x2000000>;',
    '\t\t\treusable;',
    '\t\t\tlinux,cma-default;',
    '\t\t\tphandle = <0x8001>;',
    '\t\t};',
    '\t\tdynamic {',
    '\t\t\tcompatible = "shared-dma-pool";',
    '\t\t\tsize = <0x00 0x400000>;',
    '\t\t};',
    '\t};',
    '\tmemory@40000000 {',
    '\t\treg = <0x00 0x40000000 0x00 0x20000000>;',
    '\t};',
    '};',
  ].join('\n')
  const facts = regionsOfDts(dts).map((r) => regionFact(r, 'mine.dtb'))
  t.same(facts, [
    { node: 'carveout@50000000', base: '0x50000000', size: 32 * 2 ** 20, compatible: 'dmaheap-test,carveout', noMap: true, heap: 'carveout@50000000', from: 'mine.dtb' },
    { node: 'linux,cma@58000000', base: '0x58000000', size: 32 * 2 ** 20, compatible: 'shared-dma-pool', reusable: true, heap: 'linux,cma@58000000', from: 'mine.dtb' },
  ], 'fixed regions with their flags; a dynamically placed one (no reg) is left out')
  t.same(regionsOfDts('/ { memory@40000000 { }; };'), [], 'no /reserved-memory: no regions')
  t.same(regionsOfDts('/ {\n\treserved-memory {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tc@50000000 {\n\t\t\treg = <0x50000000 0x100000>;\n\t\t};\n\t};\n};').map((r) => [r.base, r.size]), [[0x50000000n, 0x100000n]], 'one cell each')

  // The heaps tied to them, and the one missing.
  const heaps = heapsOf(['carveout@50000000', 'system'], [], facts)
  t.equal(heaps[1]!.region?.node, 'carveout@50000000')
  t.equal(heaps[2]!.region, undefined)
  t.same(missingHeaps(heaps, ['system', 'camera'], facts).map((m) => [m.name, m.region?.node]), [['linux,cma@58000000', 'linux,cma@58000000'], ['camera', undefined]])
  t.equal(isCmaHeap({ name: 'linux,cma@58000000', kind: 'kernel', region: facts[1]! }, '6.12.0'), true, 'a heap over a reusable region is a CMA heap')
  t.equal(isCmaHeap(heaps[1]!, '6.12.0'), false, 'a carveout is not, whatever its name')
})

t.test('KCIDB paths keep heap names apart: reversible escaping into [a-zA-Z0-9_-]', async (t) => {
  const names = ['carveout@50000000', 'carveout_50000000', 'carveout-50000000', 'linux,cma', 'linux_2ccma', 'dmaheap-reference+nozero', 'a.b', 'system']
  const paths = names.map(kcidbComponent)
  t.same(paths, ['carveout_4050000000', 'carveout__50000000', 'carveout-50000000', 'linux_2ccma', 'linux__2ccma', 'dmaheap-reference_2bnozero', 'a_2eb', 'system'])
  t.equal(new Set(paths).size, names.length, 'no two names share a component')
  t.ok(paths.every((p) => /^[a-zA-Z0-9_-]+$/.test(p)), "every component is in KCIDB's alphabet")
})
