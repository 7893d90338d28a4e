/**
 * What `dmaheap kernel build --debug` costs: the same tree built with the
 * test importer, plain and with the kernel's checkers (KASAN, DEBUG_SG,
 * DMA_API_DEBUG, lockdep, kmemleak), each booted and run through every
 * suite on every heap, in turn (ABAB...). Prints boot time, wall time and
 * case time per suite, plain against debug; asserts nothing.
 *
 *   npm run bench:debug [-- --arch x86_64|arm64] [--rounds N] [--patch FILE]...
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { packageRoot } from '../core/paths.js'
import type { CaseResult } from '../core/result.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const arch = arg('--arch') ?? 'x86_64'
// --patch FILE (repeatable) builds both from the patched tree: the CI's debug
// kernel (a test patch that changes nothing unless asked at boot) is reused.
const patches = process.argv.flatMap((a, i) => (a === '--patch' && process.argv[i + 1] ? ['--patch', process.argv[i + 1]!] : []))
const rounds = Number(arg('--rounds') ?? 1)
const cli = join(packageRoot, 'bin', 'dmaheap.js')

async function build(extra: string[]): Promise<string> {
  const r = await execa('node', [cli, 'kernel', 'build', '--src', 'debian', '--arch', arch, '--importer', ...extra], { reject: false, stderr: 'inherit' })
  if (r.exitCode !== 0) throw new Error(`kernel build ${extra.join(' ')} failed`)
  return r.stdout.trim().split('\n').pop()!
}

interface Measured {
  wallS: number
  bootS: number
  bySuite: Map<string, number>
  counts: string
}

async function run(image: string): Promise<Measured> {
  const out = join(mkdtempSync(join(tmpdir(), 'dmaheap-bench-debug-')), 'out')
  const t0 = performance.now()
  const r = await execa('node', [cli, 'run', '--kernel', image, '--cma', '64M', '--output', out], { reject: false })
  const wallS = (performance.now() - t0) / 1000
  const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { target?: { facts?: { bootMs?: number } } }
  const results = readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CaseResult)
  const bySuite = new Map<string, number>()
  for (const c of results) bySuite.set(c.suite, (bySuite.get(c.suite) ?? 0) + c.durationMs / 1000)
  const tally = new Map<string, number>()
  for (const c of results) tally.set(c.status, (tally.get(c.status) ?? 0) + 1)
  return { wallS, bootS: (record.target?.facts?.bootMs ?? 0) / 1000, bySuite, counts: `exit ${r.exitCode}: ${[...tally].map(([s, n]) => `${n} ${s}`).join(', ')}` }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const plainImage = await build(patches)
const debugImage = await build(['--debug', ...patches])
const plain: Measured[] = []
const debug: Measured[] = []
for (let i = 0; i < rounds; i++) {
  plain.push(await run(plainImage))
  debug.push(await run(debugImage))
}
const row = (what: string, p: number, d: number) => console.log(`${what.padEnd(22)}${p.toFixed(1).padStart(9)} s${d.toFixed(1).padStart(9)} s${(d / p).toFixed(1).padStart(7)}x`)
console.log(`# dmaheap kernel build --debug on ${arch}: every suite on every heap, --cma 64M, median of ${rounds} run(s) each`)
console.log(`# plain: ${plain.map((m) => m.counts).join('; ')}`)
console.log(`# debug: ${debug.map((m) => m.counts).join('; ')}`)
console.log(`${'what'.padEnd(22)}${'plain'.padStart(11)}${'debug'.padStart(11)}${'cost'.padStart(8)}`)
row('boot', median(plain.map((m) => m.bootS)), median(debug.map((m) => m.bootS)))
row('whole run (wall)', median(plain.map((m) => m.wallS)), median(debug.map((m) => m.wallS)))
for (const suite of plain[0]!.bySuite.keys()) row(`  ${suite}`, median(plain.map((m) => m.bySuite.get(suite) ?? 0)), median(debug.map((m) => m.bySuite.get(suite) ?? 0)))
