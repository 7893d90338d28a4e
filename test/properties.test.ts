// Heap properties on a self-built kernel with cma=64M: the CMA heap's
// buffers are contiguous and inside the CMA area the kernel reserved, its
// capacity is measured; the system heap's large buffers are not contiguous.
// Stated expectations are judged: one that holds passes, one that does not
// fails the run with the file named; a heap the file names that the target
// lacks fails; a capacity smaller than a previous run's fails.
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProfilesFile } from '../suites/heap-profile.js'
import { dmaheap, readResults, tempOutput } from './helpers.js'

const MiB = 2 ** 20

t.test('cma=64M: profiles of the CMA, system and reference heaps, judged against an expectations file', async (t) => {
  const build = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64'], 40 * 60_000)
  t.equal(build.exitCode, 0, `kernel build exit 0 (stderr: ${build.stderr.slice(-2000)})`)
  const image = build.stdout.trim().split('\n').pop() ?? ''

  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-expect-'))
  const expectFile = join(dir, 'camera-board.yaml')
  writeFileSync(
    expectFile,
    [
      'heaps:',
      '  reserved: {contiguous: true, align: {to: 1MiB, from: 1MiB}, capacity: 48MiB, largest: 32MiB, zeroed: true}',
      '  system: {capacity: 4GiB}        # a 512 MiB guest cannot: must fail',
      '  camera-carveout: {}             # not on this kernel: must fail',
      '',
    ].join('\n'),
  )
  const out = tempOutput('properties')
  const r = await dmaheap(['run', '--kernel', image, '--cma', '64M', '--suite', 'properties', '--expect', expectFile, '--output', out], 600_000)
  t.equal(r.exitCode, 1, `exit 1: stated expectations failed (stderr: ${r.stderr.slice(-1500)})`)
  const results = readResults(out)
  const on = (heap: string, id: string) => results.find((x) => x.heap === heap && x.id === id)

  // The CMA heap: everything stated holds, contiguity and the CMA area checked.
  const cma = results.filter((x) => x.heap === 'reserved')
  t.same(cma.filter((x) => x.status !== 'PASS').map((x) => `${x.id}: ${x.status} ${x.message ?? ''}`), [], 'every property of the CMA heap passes')
  t.ok(
    on('reserved', 'properties.layout.4MiB')?.checks.some((c) => /buffer 1 inside a CMA area/.test(c.label) && c.pass),
    'its buffers were checked to lie inside the CMA area',
  )

  // The system heap fails the capacity it cannot have, with the file named.
  const capacity = on('system', 'properties.capacity')
  t.equal(capacity?.status, 'FAIL')
  t.match(capacity?.message, `capacity at least 4 GiB (stated by ${expectFile}): expected ">= 4 GiB", observed "`)
  const present = on('camera-carveout', 'properties.present')
  t.equal(present?.status, 'FAIL')
  t.match(present?.message, /exists \(stated by .*camera-board\.yaml\): expected present, observed "absent \(the target has: reserved, system\)"/)
  t.match(r.stdout, /not ok \d+ - properties\.capacity system: capacity at least 4 GiB/, 'the failure is in the TAP')

  // The profiles, as measured.
  const profiles = JSON.parse(readFileSync(join(out, 'profiles.json'), 'utf8')) as ProfilesFile
  const reserved = profiles.profiles.reserved!
  t.equal(reserved.contiguity, 'always', 'CMA buffers are contiguous at every size')
  t.ok(reserved.layouts.every((l) => l.regions.every((g) => g.startsWith('CMA area at 0x'))), `inside the CMA area: ${reserved.layouts.map((l) => l.regions.join('+')).join(', ')}`)
  t.ok(reserved.layouts.filter((l) => Number(l.size) >= MiB).every((l) => BigInt(l.minAlignment) >= BigInt(MiB)), 'buffers of 1 MiB and more start 1 MiB-aligned')
  const bytes = Number(reserved.capacity?.bytes)
  t.ok(bytes >= 48 * MiB && bytes <= 64 * MiB, `capacity within the 64 MiB area: ${bytes / MiB} MiB`)
  t.equal(reserved.capacity?.stop, 'ENOMEM')
  const largest = Number(reserved.largest?.bytes)
  t.ok(largest >= 32 * MiB && largest <= 64 * MiB, `the largest buffer is bounded by the area: ${largest / MiB} MiB (${reserved.largest?.end})`)
  t.equal(reserved.fragmentation?.largest, String(largest), 'fragmentation is judged on that largest buffer')
  t.same(reserved.fragmentation?.rounds.map((x) => x.largestAfter), [true, true, true], 'fragmentation patterns cost no capacity')
  const system = profiles.profiles.system!
  t.not(system.contiguity, 'always', `system heap buffers are not always contiguous: ${JSON.stringify(system.layouts.map((l) => [l.size, l.contiguous]))}`)
  t.equal(profiles.profiles['dmaheap-reference']!.contiguity, 'never', 'the reference heap (shmem pages) never is')
  t.match(r.stdout, /# profile of reserved:\n#\s+contiguous: always/)
  t.match(r.stdout, /# profile of reserved vs the reference heap: contiguous: always vs never/)
  t.match(readFileSync(join(out, 'report.html'), 'utf8'), /<tr data-heap="reserved"><th>reserved<\/th><td>contiguous: always<br>/, 'the HTML report shows the profile')

  // A capacity smaller than a previous run's: the previous profiles as they were, with twice the capacity.
  const previousDir = mkdtempSync(join(tmpdir(), 'dmaheap-previous-'))
  const inflated = structuredClone(profiles)
  inflated.profiles.reserved!.capacity!.bytes = String(2 * bytes)
  writeFileSync(join(previousDir, 'profiles.json'), JSON.stringify(inflated))
  const out2 = tempOutput('properties-previous')
  const again = await dmaheap(['run', '--kernel', image, '--cma', '64M', '--suite', 'properties', '--heap', 'reserved', '--previous', previousDir, '--output', out2], 600_000)
  t.equal(again.exitCode, 1, `exit 1: capacity shrank (stderr: ${again.stderr.slice(-1500)})`)
  const lost = readResults(out2).find((x) => x.heap === 'reserved' && x.id === 'properties.capacity')
  t.equal(lost?.status, 'FAIL')
  t.match(lost?.message, /capacity did not shrink since the previous run \(5% tolerance\): expected "at least 95% of \d+ MiB", observed "capacity \d+ MiB -> \d+ MiB"/)
  t.equal(readResults(out2).find((x) => x.heap === 'reserved' && x.id === 'properties.largest')?.status, 'PASS', 'the largest buffer, unchanged, passes its comparison')
})

t.test('bad expectations: a one-line error naming the file and the field, nothing booted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-expect-bad-'))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'heaps:\n  reserved: {contigous: true}\n')
  const out = tempOutput('expect-bad')
  const r = await dmaheap(['run', '--expect', file, '--output', out], 60_000)
  t.equal(r.exitCode, 2)
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  t.match(r.stderr, `dmaheap: error: ${file}: heaps.reserved: unknown field "contigous"`)
  const missing = await dmaheap(['run', '--previous', join(dir, 'nowhere'), '--output', out], 60_000)
  t.equal(missing.exitCode, 2)
  t.match(missing.stderr, /--previous .*nowhere: cannot read .*nowhere \(ENOENT\)/)
})
