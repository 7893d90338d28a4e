// The agent's request framing, parser and dispatch under libFuzzer with
// ASan and UBSan (native/fuzz): the seed corpus reaches every op it may run
// here, then a bounded coverage-guided run (60 s, DMAHEAP_FUZZ_SECONDS to
// change it) must end without a crash, a leak, UB or a broken reply.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { repo } from './helpers.js'

const native = join(repo, 'native')
const fuzzer = join(native, 'build', 'fuzz', 'fuzz-agent')
const corpus = join(native, 'fuzz', 'corpus')
const dict = join(native, 'fuzz', 'agent.dict')
const seconds = Number(process.env.DMAHEAP_FUZZ_SECONDS ?? 60)

/** Ops the fuzz policy never runs on the machine doing the fuzzing (native/fuzz/fuzz_policy.c). */
const NOT_RUN_HERE = ['alloc_traced', 'exec', 'file_put', 'kmsg', 'log_mark', 'provoke']

const sanitizerEnv = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:allocator_may_return_null=0',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
}

/** Every op the dispatcher knows, from its table. */
function dispatchOps(): string[] {
  const src = readFileSync(join(native, 'core', 'dispatch.c'), 'utf8')
  return [...src.matchAll(/\{ "(\w+)", op_\w+ \}/g)].map((m) => m[1]!).sort()
}

/** A sanitizer's, libFuzzer's or the driver's report: in the fuzzer, or in a child an op forked (probe, pagemap, exhaust). */
const REPORT = /==\d+==ERROR|runtime error|fuzz-agent: |ERROR: libFuzzer/

/** The lines of such a report, for a failure message. */
function report(output: string): string {
  const at = output.search(REPORT)
  return at < 0 ? output.slice(-3000) : output.slice(at, at + 3000)
}

t.test('the fuzzer builds (clang, libFuzzer, ASan, UBSan, cJSON)', async (t) => {
  const r = await execa('make', ['-C', native, 'fuzz'], { reject: false, all: true })
  t.equal(r.exitCode, 0, `make -C native fuzz${r.exitCode ? `: ${r.all}\nneeds clang, libclang-rt-14-dev and libcjson-dev: bash scripts/setup.sh` : ''}`)
})

t.test('the seed corpus has a real request of every op', async (t) => {
  const seen = new Set<string>()
  for (const f of readdirSync(corpus)) {
    for (const line of readFileSync(join(corpus, f), 'utf8').split('\n')) {
      try {
        const op = (JSON.parse(line) as { op?: unknown }).op
        if (typeof op === 'string') seen.add(op)
      } catch {
        // the framing seeds hold malformed lines on purpose
      }
    }
  }
  const ops = dispatchOps()
  t.ok(ops.length >= 39, `dispatch.c names its ops (${ops.length})`)
  t.same(ops.filter((op) => !seen.has(op)), [], 'ops without a seed')
})

t.test('replayed, the seeds reach every op the policy lets run (past its argument checks)', async (t) => {
  const artifacts = mkdtempSync(join(tmpdir(), 'dmaheap-fuzz-seeds-'))
  const r = await execa(fuzzer, ['-runs=0', `-artifact_prefix=${artifacts}/`, corpus], { reject: false, all: true, env: { ...sanitizerEnv, DMAHEAP_FUZZ_TRACE: '1' } })
  t.equal(r.exitCode, 0, `the seeds run clean${r.exitCode ? `: ${report(r.all)}` : ''}`)
  t.notOk(REPORT.test(r.all), `no sanitizer report, not even from a forked child${REPORT.test(r.all) ? `: ${report(r.all)}` : ''}`)
  t.same(readdirSync(artifacts), [], 'no crash input written')
  const lines = r.all.split('\n')
  const reached = new Set<string>()
  const notRun = new Set<string>()
  for (let i = 0; i < lines.length - 1; i++) {
    const req = /^fuzz-agent> (.*)$/.exec(lines[i]!)
    if (!req) continue
    let op: unknown
    try {
      op = (JSON.parse(req[1]!) as { op?: unknown }).op
    } catch {
      continue
    }
    if (typeof op !== 'string') continue
    const next = lines[i + 1]!
    if (next.startsWith('fuzz-agent- not run')) notRun.add(op)
    const reply = /^fuzz-agent< (.*)$/.exec(next)
    if (!reply) continue
    // ok, or an errno: the op read its fields and made its call
    const answer = JSON.parse(reply[1]!) as { ok: boolean; errno?: string }
    if (answer.ok || answer.errno) reached.add(op)
  }
  t.same([...notRun].sort(), NOT_RUN_HERE, 'the ops not run on this machine, and only those')
  t.same(dispatchOps().filter((op) => !NOT_RUN_HERE.includes(op) && !reached.has(op)), [], 'ops no seed reached')
})

t.test(`${seconds} s of coverage-guided fuzzing: no crash, leak, UB or broken reply`, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'dmaheap-fuzz-'))
  const found = join(work, 'corpus') // new inputs go here; the kept corpus is only read
  const artifacts = join(work, 'artifacts')
  await execa('mkdir', ['-p', found, artifacts])
  const r = await execa(
    fuzzer,
    [
      `-max_total_time=${seconds}`,
      '-timeout=10',
      '-rss_limit_mb=2048',
      '-max_len=8192',
      `-dict=${dict}`,
      `-artifact_prefix=${artifacts}/`,
      '-print_final_stats=1',
      found,
      corpus,
    ],
    { reject: false, all: true, env: sanitizerEnv, timeout: (seconds + 120) * 1000 },
  )
  t.equal(r.exitCode, 0, `libFuzzer ended clean${r.exitCode ? `: ${report(r.all)}` : ''}`)
  t.notOk(REPORT.test(r.all), `no sanitizer report, not even from a forked child${REPORT.test(r.all) ? `: ${report(r.all)}` : ''}`)
  t.same(readdirSync(artifacts), [], 'no crash, leak, timeout or out-of-memory input written')
  const runs = Number(/stat::number_of_executed_units:\s+(\d+)/.exec(r.all)?.[1] ?? 0)
  const cov = /DONE\s+cov: (\d+) ft: (\d+)/.exec(r.all)
  t.comment(`${runs} inputs in ${seconds} s, ${cov?.[1] ?? '?'} edges, ${cov?.[2] ?? '?'} features, ${readdirSync(found).length} new inputs`)
  t.ok(runs >= 1000, `the fuzzer ran at least 1000 inputs (${runs})`)
})
