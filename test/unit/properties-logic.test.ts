// Unit tests of the heap-property logic: PFN runs, regions, profiles, the
// expectation schema and its error messages. Pure functions, no target.
import t from 'tap'
import { z } from 'zod'
import { parseDescription } from '../../core/description-file.js'
import { expectationsFileSchema } from '../../core/heap-expectations.js'
import { formatSize, parseSizeText } from '../../core/sizes.js'
import type { CaseResult } from '../../core/result.js'
import { buildProfiles, capacityLoss, describeProfile, profileDifferences } from '../../suites/heap-profile.js'
import { alignmentOf, layoutOf, parseBootAreas, parseIomem, parseRuns } from '../../suites/physical-layout.js'

const MiB = 1n << 20n

t.test('sizes: binary units both ways', async (t) => {
  t.equal(parseSizeText('64MiB'), 64n * MiB)
  t.equal(parseSizeText('1 M'), MiB)
  t.equal(parseSizeText('4096'), 4096n)
  t.equal(parseSizeText('1G'), 1024n * MiB)
  t.equal(parseSizeText('1.5M'), undefined)
  t.equal(parseSizeText('lots'), undefined)
  t.equal(formatSize(64n * MiB), '64 MiB')
  t.equal(formatSize(4097n), '4097 B')
  t.equal(formatSize(12288n), '12 KiB')
})

t.test('PFN runs: contiguity, alignment of the physical start, region', async (t) => {
  const iomem = parseIomem(
    ['00000000-00000fff : Reserved', '00001000-0009fbff : System RAM', '00100000-1ffdffff : System RAM', '  01000000-01ffffff : Kernel code', 'fd000000-fdffffff : PCI Bus 0000:00'].join('\n'),
  )
  t.equal(iomem.length, 4, 'the kernel image\'s section labels are not allocation regions')
  t.match(iomem[3], { name: 'PCI Bus 0000:00', depth: 0 })
  const cma = parseBootAreas('[    0.000000] cma: Reserved 64 MiB at 0x000000001a000000 on node -1\n')
  t.match(cma, [{ kind: 'cma', start: 0x1a000000n, end: 0x1a000000n + 64n * MiB - 1n }])
  const regions = [...cma, ...iomem]

  t.same(parseRuns('1a000+256 1a100+16'), [{ pfn: 0x1a000n, pages: 256n }, { pfn: 0x1a100n, pages: 16n }])
  t.throws(() => parseRuns('zz+1'), /malformed/)
  const inCma = layoutOf(parseRuns('1a000+256'), 4096n, regions)
  t.match(inCma, { contiguous: true, runs: 1, start: 0x1a000000n, region: 'CMA area at 0x000000001a000000 (64 MiB)' })
  t.equal(inCma.alignment, 32n * MiB, '0x1a000000 is 32 MiB-aligned')
  const scattered = layoutOf(parseRuns('10000+1 10002+1'), 4096n, regions)
  t.match(scattered, { contiguous: false, runs: 2, region: 'System RAM' })
  t.equal(layoutOf(parseRuns('9f+1'), 4096n, regions).region, 'System RAM', 'a page whose region ends mid-page (0x9fbff) still lies in it')
  const nested = [...regions, { name: 'reserved', start: 0x1000000n, end: 0x1ffffffn, kind: 'iomem' as const, depth: 1 }]
  t.equal(layoutOf(parseRuns('1000+1'), 4096n, nested).region, 'reserved', 'the innermost iomem region wins')
  t.equal(layoutOf(parseRuns('1a000+1 10000+1'), 4096n, regions).region, undefined, 'pages in two regions: no single region')
  t.equal(alignmentOf(0x3000n), 4096n)
  t.equal(alignmentOf(0n), 1n << 40n)
})

t.test('boot areas: device-tree CMA pools and reserved-memory regions', async (t) => {
  const areas = parseBootAreas(
    [
      'Reserved memory: created CMA memory pool at 0x00000000f6000000, size 32 MiB',
      'OF: reserved mem: 0x0000000080000000..0x00000000803fffff (4096 KiB) nomap non-reusable camera@80000000',
      'unrelated line',
    ].join('\n'),
  )
  t.equal(areas.length, 2)
  t.match(areas[0], { kind: 'cma', start: 0xf6000000n, end: 0xf6000000n + 32n * MiB - 1n })
  t.match(areas[1], { kind: 'reserved-memory', name: 'reserved-memory camera@80000000', end: 0x80000000n + 4n * MiB - 1n })
})

function result(heap: string, id: string, observations: Record<string, unknown>): CaseResult {
  return { id, suite: 'properties', heap, target: 'qemu', kernel: '6.12', status: 'DONE', checks: [], observations, durationMs: 1 }
}

const layout = (size: bigint, runs: number[], alignment = MiB) => ({
  'profile.layout': { size: size.toString(), samples: runs.map((r) => ({ runs: r, start: '0x0', alignment: alignment.toString(), region: 'System RAM' })) },
})

t.test('profiles: contiguity by size, differences from the reference, capacity lost across runs', async (t) => {
  const profiles = buildProfiles(
    [
      result('cma', 'properties.layout.64KiB', layout(64n * 1024n, [1, 1, 1])),
      result('cma', 'properties.layout.16MiB', layout(16n * MiB, [1, 1, 1])),
      result('cma', 'properties.capacity', { 'profile.capacity': { bytes: (60n * MiB).toString(), stop: 'ENOMEM', ms: 100, chunk: MiB.toString() } }),
      result('system', 'properties.layout.4KiB', layout(4096n, [1, 1, 1])),
      result('system', 'properties.layout.1MiB', layout(MiB, [1, 1, 1])),
      result('system', 'properties.layout.16MiB', layout(16n * MiB, [3, 1, 5])),
      result('system', 'properties.zeroed', { zeroed: true }),
      result('ref', 'properties.layout.1MiB', layout(MiB, [256, 256, 200], 4096n)),
      result('ref', 'properties.layout.16MiB', layout(16n * MiB, [4096, 4096, 4000], 4096n)),
    ],
    4096n,
  )
  t.equal(profiles.cma!.contiguity, 'always')
  t.equal(profiles.system!.contiguity, 'depends on size', 'single pages do not count; 1 MiB yes, 16 MiB not always')
  t.equal(profiles.system!.contiguousUpTo, MiB.toString())
  t.equal(profiles.ref!.contiguity, 'never')
  t.match(describeProfile(profiles.cma!).join('\n'), /contiguous: always[\s\S]*capacity: 60 MiB in 1 MiB buffers, exhausted in 0.10 s \(stopped by ENOMEM\)/)
  t.same(profileDifferences(profiles.system!, profiles.ref!), ['contiguous: depends on size vs never', 'alignment at 1 MiB: 1 MiB vs 4 KiB', 'alignment at 16 MiB: 1 MiB vs 4 KiB'])

  const before = { ...profiles.cma!, capacity: { bytes: (64n * MiB).toString(), stop: 'ENOMEM', ms: 1, chunk: MiB.toString() } }
  t.same(capacityLoss(before, profiles.cma!), ['capacity 64 MiB -> 60 MiB'], 'a 6% loss is caught')
  const slight = { ...profiles.cma!, capacity: { bytes: (62n * MiB).toString(), stop: 'ENOMEM', ms: 1, chunk: MiB.toString() } }
  t.same(capacityLoss(slight, profiles.cma!), [], 'within 5%: not a loss')
  const otherStop = { ...before, capacity: { ...before.capacity, stop: 'killed:SIGKILL' } }
  t.same(capacityLoss(otherStop, profiles.cma!), [], 'runs stopped by different things are not compared')
})

t.test('expectations file: accepted forms and one-line errors naming file and field', async (t) => {
  const ok = parseDescription(
    'board.yaml',
    'heaps:\n  system:\n  reserved: {contiguous: true, align: {to: 1MiB, from: 1MiB}, capacity: 64MiB, largest: 32M, zeroed: true}\n  chunk: {align: 2MiB}\n',
    expectationsFileSchema,
  )
  t.same(ok.heaps.system, {})
  t.same(ok.heaps.reserved, { contiguous: true, align: { to: MiB, from: MiB }, capacity: 64n * MiB, largest: 32n * MiB, zeroed: true })
  t.same(ok.heaps.chunk!.align, { to: 2n * MiB, from: 0n })
  const error = (text: string) => {
    try {
      parseDescription('board.yaml', text, expectationsFileSchema)
    } catch (e) {
      return (e as Error).message
    }
    return 'no error'
  }
  t.equal(error('heaps:\n  r: {align: 3MiB}\n'), 'board.yaml: heaps.r.align: align.to must be a power of two')
  t.equal(error('heaps:\n  r: {capacity: lots}\n'), 'board.yaml: heaps.r.capacity: "lots" is not a size; write e.g. 4096, 1MiB or 64M')
  t.equal(error('heaps:\n  r: {contigous: true}\n'), 'board.yaml: heaps.r: unknown field "contigous"; check the spelling against the README')
  t.equal(error('heaps:\n  r: {zeroed: maybe}\n'), 'board.yaml: heaps.r.zeroed: expected boolean')
  t.match(error('heap: {}\n'), /^board\.yaml: \(top level\): unknown field "heap"/)
  t.match(error('heaps: [\n'), /^board\.yaml: line \d+: /)
  t.equal(error('{}\n'), 'board.yaml: heaps: required field missing (expected record)')
  // The same schema nests in other descriptions.
  t.ok(z.object({ heaps: expectationsFileSchema.shape.heaps }).safeParse({ heaps: { a: null } }).success)
})
