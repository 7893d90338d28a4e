/**
 * How fast the harness itself is, on a QEMU target. Prints figures next to
 * their goals; it asserts nothing (speed is measured, not tested).
 *
 *   npm run bench:harness [-- --kernel IMAGE] [--cma 64M] [--pairs N]
 *
 * 1. The full run against the upstream selftest, on the same kernel: the
 *    selftest (tools/testing/selftests/dmabuf-heaps) is built static from
 *    the kernel tree the run uses, against that tree's `make headers_install`
 *    headers; boot + selftest (`dmaheap run --kselftest BIN --case 'boot.*'`)
 *    and boot + every suite on every heap are timed in turn (ABBA), N pairs;
 *    the median of the pairs' ratios, and where the full run's time went
 *    (suite by heap, from results.jsonl).
 * 2. The agent's round trip per request (hello), p50 and p99.
 * 3. fill/verify throughput on the target against memset/memcmp there.
 * 4. `bench`'s ALLOC+close latency against a bare ioctl+close loop.
 *
 * With no --kernel: the default target's Debian kernel, and the selftest
 * from Debian's linux-source-6.12.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { execa } from 'execa'
import { packageRoot } from '../core/paths.js'
import { qemuTarget } from '../targets/qemu.js'
import { resolveSource } from '../targets/kernel-build.js'
import { toStats } from '../core/bench-record.js'

const PAIRS = 16
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const kernel = arg('--kernel') && resolve(arg('--kernel')!)
const cma = arg('--cma') ?? (kernel ? '64M' : undefined)
const pairs = Number(arg('--pairs') ?? 3)
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error(`bench:harness: --pairs ${arg('--pairs')} is not a whole number >= 1 (pass --pairs 3)`)
  process.exit(2)
}
const targetArgs = [...(kernel ? ['--kernel', kernel] : []), ...(cma ? ['--cma', cma] : [])]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

function line(what: string, figure: string, goal: string, met: boolean): void {
  console.log(`${what.padEnd(44)} ${figure.padEnd(34)} goal: ${goal} ${met ? '(met)' : '(NOT met)'}`)
}

/**
 * The tree a kernel image was built from: a `dmaheap kernel build` (or any
 * O= build) keeps a `source` link at the top of its output, which lies
 * three folders above arch/ARCH/boot/IMAGE; an in-tree build is the tree.
 */
function treeOf(image: string): string {
  const top = resolve(dirname(image), '..', '..', '..')
  if (existsSync(join(top, 'source'))) return realpathSync(join(top, 'source'))
  if (existsSync(join(top, 'tools', 'testing', 'selftests', 'dmabuf-heaps'))) return top
  console.error(`bench:harness: no kernel tree found for ${image} (no ${join(top, 'source')}); pass an image from a kernel build's arch/*/boot/`)
  process.exit(2)
}

/** The upstream selftest, static, against the tree's own uAPI headers. */
async function buildSelftest(tree: string): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'dmaheap-ksft-'))
  await execa('make', ['-s', `O=${join(tmp, 'obj')}`, 'headers_install', `INSTALL_HDR_PATH=${join(tmp, 'hdr')}`], { cwd: tree })
  const bin = join(tmp, 'dmabuf-heap')
  await execa('gcc', ['-static', '-O2', `-I${join(tmp, 'hdr', 'include')}`, '-I..', '-o', bin, 'dmabuf-heap.c'], { cwd: join(tree, 'tools', 'testing', 'selftests', 'dmabuf-heaps') })
  return bin
}

interface Timed {
  wall: number
  boot: number
  out: string
  summary: string
}

async function timedRun(args: string[]): Promise<Timed> {
  const out = join(mkdtempSync(join(tmpdir(), 'dmaheap-speed-')), 'out')
  const t0 = performance.now()
  const r = await execa('node', [join(packageRoot, 'bin', 'dmaheap.js'), 'run', ...targetArgs, ...args, '--output', out], { reject: false })
  const wall = (performance.now() - t0) / 1000
  if (!existsSync(join(out, 'run.json'))) {
    console.error(`bench:harness: dmaheap run ${args.join(' ')} ended without a run.json (exit ${r.exitCode}): ${r.stderr.slice(-500)}`)
    process.exit(1)
  }
  const summary = /dmaheap: (\d+ pass, \d+ fail, \d+ skip[^;]*)/.exec(r.stderr)?.[1] ?? `exit ${r.exitCode}`
  return { wall, boot: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).target.facts.bootMs / 1000, out, summary }
}

/** Case time by suite and heap (durationMs in results.jsonl), the largest first. */
function whereTimeWent(out: string): string[] {
  const by = new Map<string, number>()
  const heaps = new Map<string, number>()
  for (const l of readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(l) as { suite: string; heap: string; durationMs?: number }
    by.set(`${r.heap} ${r.suite}`, (by.get(`${r.heap} ${r.suite}`) ?? 0) + (r.durationMs ?? 0))
    heaps.set(r.heap, (heaps.get(r.heap) ?? 0) + (r.durationMs ?? 0))
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  return [
    `  by heap: ${[...heaps].sort((a, b) => b[1] - a[1]).map(([h, ms]) => `${h} ${s(ms)}`).join(', ')}`,
    ...[...by].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, ms]) => `  ${k.padEnd(36)} ${s(ms)}`),
  ]
}

async function ratioToSelftest(): Promise<void> {
  const tree = kernel ? treeOf(kernel) : await resolveSource('debian', () => {})
  const bin = await buildSelftest(tree)
  console.log(`# the upstream selftest built from ${tree}; ${pairs} interleaved pairs on ${kernel ?? "the default target's kernel"}${cma ? ` with cma=${cma}` : ''}`)
  const anchor = ['--kselftest', bin, '--case', 'boot.*']
  const ratios: number[] = []
  const fulls: Timed[] = []
  for (let i = 0; i < pairs; i++) {
    // ABBA: neither side always runs first on a machine whose load drifts.
    let a: Timed
    let b: Timed
    if (i % 2 === 0) {
      a = await timedRun(anchor)
      b = await timedRun([])
    } else {
      b = await timedRun([])
      a = await timedRun(anchor)
    }
    ratios.push(b.wall / a.wall)
    fulls.push(b)
    console.log(`pair ${i + 1}: boot + selftest ${a.wall.toFixed(1)} s (boot ${a.boot.toFixed(1)} s), boot + full run ${b.wall.toFixed(1)} s (boot ${b.boot.toFixed(1)} s; ${b.summary}): ${(b.wall / a.wall).toFixed(2)}x`)
  }
  const r = median(ratios)
  line('full run / upstream selftest (boot included)', `median ${r.toFixed(2)}x of ${pairs} pair(s)`, '<= 4', r <= 4)
  const mid = [...fulls].sort((x, y) => x.wall - y.wall)[Math.floor((fulls.length - 1) / 2)]!
  console.log(`# where the median full run's time went (${mid.wall.toFixed(1)} s wall, boot ${mid.boot.toFixed(1)} s):`)
  for (const l of whereTimeWent(mid.out)) console.log(l)
}

async function main(): Promise<void> {
  await ratioToSelftest()

  const session = await qemuTarget({ ...(kernel ? { kernel } : {}), ...(cma ? { cma } : {}) }).start({ outputDir: mkdtempSync(join(tmpdir(), 'dmaheap-speed-')), log: () => {} })
  try {
    const agent = session.agent
    const rtts: number[] = []
    for (let i = 0; i < 2000; i++) {
      const t0 = process.hrtime.bigint()
      await agent.must('hello', {})
      rtts.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    rtts.sort((a, b) => a - b)
    const p50 = rtts[Math.floor(rtts.length * 0.5)]!
    const p99 = rtts[Math.floor(rtts.length * 0.99)]!
    line('agent round trip (hello, 2000 requests)', `p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`, 'p50 < 1 ms', p50 < 1)

    const fill = await agent.must('bench', { kind: 'fill', len: 16 << 20, budget_ms: 500 })
    const fillRatio = (fill.fill_bytes_per_s ?? 0) / (fill.memset_bytes_per_s ?? 1)
    const verifyRatio = (fill.verify_bytes_per_s ?? 0) / (fill.memcmp_bytes_per_s ?? 1)
    const gbs = (b?: number) => `${((b ?? 0) / 1e9).toFixed(2)} GB/s`
    line('fill vs memset (16 MiB, on the target)', `${gbs(fill.fill_bytes_per_s)} vs ${gbs(fill.memset_bytes_per_s)} = ${fillRatio.toFixed(2)}`, '>= 0.5', fillRatio >= 0.5)
    line('verify vs memcmp (16 MiB, on the target)', `${gbs(fill.verify_bytes_per_s)} vs ${gbs(fill.memcmp_bytes_per_s)} = ${verifyRatio.toFixed(2)}`, '>= 0.5', verifyRatio >= 0.5)

    const { heap } = await agent.must('heap_open', { name: 'system' })
    // A and B in turn (ABBA, so neither always goes first), PAIRS pairs, the
    // ratio pair by pair: the target's speed drifts more between two
    // measurements than the 5% asked for.
    for (const len of [4096, 1 << 20]) {
      const ratios: number[] = []
      let a = 0
      let b = 0
      const one = async (kind: 'alloc' | 'alloc_bare') => toStats(await agent.must('bench', { kind, heap, len, budget_ms: 200 }, 120_000)).p50
      for (let i = 0; i < PAIRS; i++) {
        if (i % 2 === 0) {
          a = await one('alloc')
          b = await one('alloc_bare')
        } else {
          b = await one('alloc_bare')
          a = await one('alloc')
        }
        ratios.push(a / b)
      }
      const r = median(ratios)
      const range = `${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`
      line(`bench alloc / bare loop, system, ${len >> 10} KiB`, `median ratio ${r.toFixed(3)} (${PAIRS} pairs, ${range})`, '<= 1.05', r <= 1.05)
    }
  } finally {
    await session.close()
  }
}

await main()
