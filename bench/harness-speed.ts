/**
 * How fast the harness itself is, on the default QEMU target. Prints figures
 * next to their goals; it asserts nothing (speed is measured, not tested).
 *
 *   npm run bench:harness [-- --runs N]
 *
 * 1. `dmaheap run` to verdict: wall time, boot time (run.json), suites time.
 * 2. The agent's round trip per request (hello), p50 and p99.
 * 3. fill/verify throughput on the target against memset/memcmp there.
 * 4. `bench`'s ALLOC+close latency against a bare ioctl+close loop.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { packageRoot } from '../core/paths.js'
import { qemuTarget } from '../targets/qemu.js'
import { toStats } from '../core/bench-record.js'

const PAIRS = 16
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

function line(what: string, figure: string, goal: string, met: boolean): void {
  console.log(`${what.padEnd(44)} ${figure.padEnd(34)} goal: ${goal} ${met ? '(met)' : '(NOT met)'}`)
}

async function runToVerdict(suiteArgs: string[]): Promise<{ wall: number; boot: number }> {
  const walls: number[] = []
  const boots: number[] = []
  for (let i = 0; i < runs; i++) {
    const out = join(mkdtempSync(join(tmpdir(), 'dmaheap-speed-')), 'out')
    const t0 = performance.now()
    await execa('node', [join(packageRoot, 'bin', 'dmaheap.js'), 'run', ...suiteArgs, '--output', out], { reject: false })
    walls.push((performance.now() - t0) / 1000)
    boots.push(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).target.facts.bootMs / 1000)
  }
  return { wall: median(walls), boot: median(boots) }
}

async function main(): Promise<void> {
  console.log(`# dmaheap harness speed, default QEMU target, median of ${runs} run(s) where it applies`)
  const full = await runToVerdict([])
  line('full run to verdict (boot + all suites)', `${full.wall.toFixed(1)} s (boot ${full.boot.toFixed(1)} s, suites ${(full.wall - full.boot).toFixed(1)} s)`, '< 30 s', full.wall < 30)
  const alloc = await runToVerdict(['--suite', 'alloc'])
  line('alloc suite run to verdict', `${alloc.wall.toFixed(1)} s (boot ${alloc.boot.toFixed(1)} s)`, 'for reference', true)

  const session = await qemuTarget({}).start({ outputDir: mkdtempSync(join(tmpdir(), 'dmaheap-speed-')), log: () => {} })
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
