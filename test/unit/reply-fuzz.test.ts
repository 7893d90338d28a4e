// The host's reply handling under random and adversarial replies: the real
// StreamTransport and Agent, with a scripted far end in place of the target.
// Every reply that breaks the protocol (wrong types, missing fields, huge
// numbers, wrong ids, surplus lines, lines past the cap, garbage, silence)
// must end as an InfraError that loses the link, never as a crash, a hang,
// another exception or a value handed to a suite. Seeded, so a failure
// reproduces: DMAHEAP_FUZZ_SEED and DMAHEAP_FUZZ_TRIALS change the run.
import t from 'tap'
import { PassThrough } from 'node:stream'
import { Agent } from '../../core/agent.js'
import { InfraError } from '../../core/errors.js'
import { MAX_REPLY_LINE_BYTES, responseSchemas, type Op, type Requests } from '../../core/protocol.js'
import { StreamTransport } from '../../runners/stream-transport.js'

const SEED = Number(process.env.DMAHEAP_FUZZ_SEED ?? 19)
const TRIALS = Number(process.env.DMAHEAP_FUZZ_TRIALS ?? 3000)

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]! }
}
type Rng = ReturnType<typeof prng>

/** What each field must be, told independently of the schemas under test. */
type Kind = 'count' | 'fd' | 'handle' | 'int' | 'u64' | 'string' | 'bool' | 'string|null' | 'errno'
interface Template {
  op: Op
  request: object
  /** a valid reply body (required fields only) */
  body: Record<string, unknown>
  kinds: Record<string, Kind>
}
const TEMPLATES: Template[] = [
  {
    op: 'hello',
    request: {},
    body: { protocol: 1, agent: '0.1', sysname: 'Linux', machine: 'x86_64', release: '6.12.0', page_size: 4096, reference_heap: 'dmaheap-reference', udmabuf: true, dma_heap_dir: true, pid: 1, o_cloexec: 524288 },
    kinds: { protocol: 'count', agent: 'string', sysname: 'string', machine: 'string', release: 'string', page_size: 'count', reference_heap: 'string', udmabuf: 'bool', dma_heap_dir: 'bool', pid: 'handle', o_cloexec: 'count' },
  },
  // fd -1: the reference heap has no device
  { op: 'heap_open', request: { name: 'system' }, body: { heap: 1, fd: 3 }, kinds: { heap: 'handle', fd: 'int' } },
  { op: 'alloc', request: { heap: 1, len: 4096 }, body: { fd: 4, ns: 1200 }, kinds: { fd: 'fd', ns: 'count' } },
  { op: 'buf_size', request: { fd: 4 }, body: { size: '18446744073709551615' }, kinds: { size: 'u64' } },
  { op: 'mmap', request: { fd: 4, len: 4096 }, body: { map: 2 }, kinds: { map: 'handle' } },
  { op: 'verify', request: { map: 2, pattern: 'const', byte: 0 }, body: { ns: 10, checked: 4096, mismatches: 0 }, kinds: { ns: 'count', checked: 'u64', mismatches: 'u64' } },
  { op: 'probe', request: { map: 2, offset: 0 }, body: { signal: null }, kinds: { signal: 'string|null' } },
  { op: 'log_mark', request: { text: 'x' }, body: { text: '', tainted: '0' }, kinds: { text: 'string', tainted: 'string' } },
  { op: 'count_fds', request: {}, body: { count: 5 }, kinds: { count: 'count' } },
  { op: 'ioctl_raw', request: { fd: 4, cmd: 0 }, body: { ret: -1 }, kinds: { ret: 'int' } },
  { op: 'alloc_threads', request: { heap: 1, len: 4096, threads: 4 }, body: { ok: 4, threads: 4, first_errno: 'none', first_step: 'none', ns: 99 }, kinds: { ok: 'count', threads: 'count', first_errno: 'string', first_step: 'string', ns: 'count' } },
  { op: 'exhaust', request: { heap: 1, chunk: 4096 }, body: { bytes: 1048576, chunks: 256, stop: 'ENOMEM', ns: 5 }, kinds: { bytes: 'u64', chunks: 'count', stop: 'string', ns: 'count' } },
  { op: 'exec', request: { name: 'x' }, body: { stdout: 'a', stderr: '', truncated: false, timed_out: false, exit_status: 0, ms: 3 }, kinds: { stdout: 'string', stderr: 'string', truncated: 'bool', timed_out: 'bool', ms: 'count' } },
  { op: 'pagemap', request: { map: 2 }, body: { pages: 1, present: 1, pfns_hidden: false, runs: '1a2b+1' }, kinds: { pages: 'count', present: 'count', pfns_hidden: 'bool', runs: 'string' } },
  { op: 'list_heaps', request: {}, body: { heaps: ['system', 'reserved'] }, kinds: {} },
  { op: 'kmsg_drain', request: {}, body: { text: 'line\n' }, kinds: { text: 'string' } },
  { op: 'fd_flags', request: { fd: 4 }, body: { cloexec: true, accmode: 'O_RDWR' }, kinds: { cloexec: 'bool' } },
]

const jsonTypes = ['number', 'string', 'boolean', 'null', 'array', 'object'] as const
type JsonType = (typeof jsonTypes)[number]
const allowed: Record<Kind, JsonType[]> = {
  count: ['number'],
  fd: ['number'],
  handle: ['number'],
  int: ['number'],
  u64: ['number', 'string'],
  string: ['string'],
  errno: ['string'],
  bool: ['boolean'],
  'string|null': ['string', 'null'],
}
function valueOf(type: JsonType, rng: Rng): unknown {
  switch (type) {
    case 'number':
      return rng.pick([0, 1, 7, 4096])
    case 'string':
      return rng.pick(['', 'x', '12', 'true', '\u0000\u001b[2J'])
    case 'boolean':
      return rng.next() < 0.5
    case 'null':
      return null
    case 'array':
      return rng.pick([[], [1], ['a']])
    case 'object':
      return rng.pick([{}, { a: 1 }])
  }
}
/** Numbers no field of the kind may hold (written as JSON text: 1e999 parses to Infinity). */
const hugeFor: Partial<Record<Kind, string[]>> = {
  count: ['9007199254740993', '1e308', '1e999', '-1', '1.5', '-1e999'],
  fd: ['2147483648', '1e308', '-1', '0.5', '1e999'],
  handle: ['0', '-1', '2147483648', '1e999', '2.5'],
  int: ['9007199254740993', '1e999', '-1e999', '0.25'],
  u64: ['9007199254740994', '1e300', '"18446744073709551616"', '"-1"', '"1e3"', '"0x10"', '"01"', '""', '" 1"', '"1.0"', '-1'],
}

interface Trial {
  what: string
  /** the reply bytes for the first request; null: no answer at all */
  reply: string | Buffer | null
  /** true: must be a lost link; false: may also be a valid outcome (a mutation that kept the reply valid) */
  mustFail: boolean
}

function validLine(tp: Template, id: number, extra: object = {}): string {
  return JSON.stringify({ id, ok: tp.op === 'alloc_threads' ? tp.body.ok : true, ...tp.body, ...extra })
}

/** One adversarial reply to request `id` of template `tp`. */
function makeTrial(rng: Rng, tp: Template, id: number): Trial {
  const fields = Object.keys(tp.kinds)
  const kind = rng.int(11)
  switch (kind) {
    case 0: {
      // a required field missing
      if (!fields.length) return { what: 'no heaps field', reply: JSON.stringify({ id, ok: true }) + '\n', mustFail: true }
      const f = rng.pick(fields)
      const body = { id, ok: true, ...tp.body } as Record<string, unknown>
      delete body[f]
      if (f === 'ok') body.ok = true
      return { what: `${tp.op} without ${f}`, reply: JSON.stringify(body) + '\n', mustFail: true }
    }
    case 1: {
      // a field of a type it can never have
      if (!fields.length) return { what: 'heaps not an array', reply: JSON.stringify({ id, ok: true, heaps: 'system' }) + '\n', mustFail: true }
      const f = rng.pick(fields)
      const type = rng.pick(jsonTypes.filter((j) => !allowed[tp.kinds[f]!].includes(j)))
      return { what: `${tp.op}.${f} as ${type}`, reply: validLine(tp, id, { [f]: valueOf(type, rng) }) + '\n', mustFail: true }
    }
    case 2: {
      // a number no field of its kind may hold
      const numeric = fields.filter((f) => hugeFor[tp.kinds[f]!])
      if (!numeric.length) return { what: 'a huge id', reply: `{"id":1e999,"ok":true}\n`, mustFail: true }
      const f = rng.pick(numeric)
      const v = rng.pick(hugeFor[tp.kinds[f]!]!)
      const line = validLine(tp, id, { [f]: '@@' }).replace('"@@"', v)
      return { what: `${tp.op}.${f} = ${v}`, reply: line + '\n', mustFail: true }
    }
    case 3: {
      // the wrong id
      const bad = rng.pick([id + 1, id - 1, id + 1000, 0, -id, null, `${id}`, id + 0.5, 2 ** 53 + 1])
      return { what: `id ${String(bad)} for ${id}`, reply: validLine(tp, id, { id: bad }) + '\n', mustFail: true }
    }
    case 4: {
      // a broken envelope, or no object at all
      const line = rng.pick([
        JSON.stringify({ id, ...tp.body, ok: 'true' }),
        JSON.stringify({ id, ...tp.body, ok: null }),
        JSON.stringify({ id, ...tp.body, ok: undefined }),
        tp.op === 'alloc_threads' ? JSON.stringify({ id, ok: -1, threads: 1, first_errno: 'x', first_step: 'y', ns: 1 }) : JSON.stringify({ id, ok: 1, ...tp.body }),
        '[]',
        `[${id}]`,
        '"ok"',
        '42',
        'null',
        'true',
        '',
        '\ufeff',
        JSON.stringify({ id, ok: false }),
        JSON.stringify({ id, ok: false, errno: 5, errnum: 5 }),
        JSON.stringify({ id, ok: false, errno: 'EINVAL' }),
        JSON.stringify({ id, ok: false, errno: 'EINVAL', errnum: 1e9 }),
        JSON.stringify({ id, ok: false, errno: 'not an errno', errnum: 22 }),
        JSON.stringify({ id, ok: false, error: 42 }),
        JSON.stringify({ id, ok: false, errno: 'EINVAL', errnum: 22, fault: 7 }),
        `{"id":${id},"ok":true,"__proto__":{"ok":false}}`,
      ])
      return { what: `envelope ${line.slice(0, 60)}`, reply: line + '\n', mustFail: true }
    }
    case 5: {
      // a line cut short: never JSON
      const line = validLine(tp, id)
      return { what: `${tp.op} cut`, reply: line.slice(0, 1 + rng.int(line.length - 1)) + '\n', mustFail: true }
    }
    case 6: {
      // surplus lines: the reply and more (a second request must not get the first's reply)
      const line = validLine(tp, id)
      const extra = rng.pick([line, validLine(tp, id + 1), '{}', ''])
      return { what: `${tp.op} plus a surplus line`, reply: `${line}\n${extra}\n`, mustFail: false }
    }
    case 7: {
      // garbage bytes, invalid UTF-8 and NULs included
      const n = 1 + rng.int(300)
      const bytes = Buffer.alloc(n)
      for (let i = 0; i < n; i++) bytes[i] = rng.int(256)
      const noNewline = Buffer.from(bytes.filter((b) => b !== 0x0a))
      return { what: `${n} random bytes`, reply: Buffer.concat([noNewline, Buffer.from('\n')]), mustFail: true }
    }
    case 8: {
      // a valid reply with a few bytes changed: may stay valid, must never crash
      const line = Buffer.from(validLine(tp, id))
      for (let k = 1 + rng.int(3); k > 0; k--) line[rng.int(line.length)] = rng.pick([0x22, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x39, 0x2d, 0x65, 0x5c, 0x20, 0x00, 0xff, 0x0a])
      return { what: `${tp.op} with bytes changed`, reply: Buffer.concat([line, Buffer.from('\n')]), mustFail: false }
    }
    case 9: {
      // silence
      return { what: 'no answer', reply: null, mustFail: true }
    }
    default: {
      // extra fields nobody asked for: allowed, but never in place of a required one
      return { what: `${tp.op} with extra fields`, reply: validLine(tp, id, { extra: 'x', nested: { a: [1] } }) + '\n', mustFail: false }
    }
  }
}

/** The host's real transport and agent on one end of two pipes; `answer` plays the target. */
function scriptedLink(answer: (id: number, n: number) => string | Buffer | null, timeoutMs = 300) {
  const toHost = new PassThrough()
  const fromHost = new PassThrough()
  const transport = new StreamTransport(toHost, fromHost, 'scripted link')
  let pending = ''
  let n = 0
  fromHost.setEncoding('utf8')
  fromHost.on('data', (chunk: string) => {
    pending += chunk
    for (let nl; (nl = pending.indexOf('\n')) >= 0; ) {
      const req = JSON.parse(pending.slice(0, nl)) as { id: number }
      pending = pending.slice(nl + 1)
      const out = answer(req.id, n++)
      if (out !== null) toHost.write(out)
    }
  })
  return { agent: new Agent(transport, timeoutMs), end: () => transport.close() }
}

t.test('valid replies pass, with the fields their schema names', async (t) => {
  for (const tp of TEMPLATES) {
    const { agent, end } = scriptedLink((id) => validLine(tp, id) + '\n')
    const r = await agent.call(tp.op, tp.request as Requests[typeof tp.op])
    t.match(r, { ...tp.body }, `${tp.op} answered as sent`)
    t.ok(responseSchemas[tp.op].safeParse(r).success, `${tp.op}: what the suite gets fits its schema`)
    await end()
  }
  // A failure and a refusal are answers too, not a lost link.
  const { agent, end } = scriptedLink((id, n) => (n === 0 ? JSON.stringify({ id, ok: false, errno: 'SIGBUS', errnum: 0, fault: 'page 1 of 2' }) : JSON.stringify({ id, ok: false, error: 'unknown op' })) + '\n')
  t.same(await agent.call('alloc', { heap: 1, len: 1 }), { ok: false, errno: 'SIGBUS', errnum: 0, fault: 'page 1 of 2' }, 'a fault is an Outcome')
  await t.rejects(agent.call('alloc', { heap: 1, len: 1 }), { name: 'ProtocolError', message: /agent refused alloc: unknown op/ }, 'a refusal is the harness\'s bug, not a lost link')
  await end()
  // alloc_threads' own ok is a count: 0 threads done is a result, not a failure.
  const zero = scriptedLink((id) => JSON.stringify({ id, ok: 0, threads: 4, first_errno: 'ENOMEM', first_step: 'alloc', ns: 1 }) + '\n')
  t.match(await zero.agent.must('alloc_threads', { heap: 1, len: 4096, threads: 4 }), { ok: 0, first_errno: 'ENOMEM' }, 'alloc_threads with none done')
  await zero.end()
})

t.test(`${TRIALS} adversarial replies (seed ${SEED}): every one a lost link or a valid answer, no crash`, async (t) => {
  const rng = prng(SEED)
  const tally = { lost: 0, valid: 0 }
  let wrong = 0
  for (let trial = 0; trial < TRIALS; trial++) {
    const tp = rng.pick(TEMPLATES)
    let made: Trial | undefined
    const { agent, end } = scriptedLink((id, n) => {
      if (n > 0) return validLine(tp, id) + '\n' // later requests get honest answers
      made = makeTrial(rng, tp, id)
      return made.reply
    }, 50)
    const where = () => `trial ${trial} (seed ${SEED}): ${made?.what}: ${JSON.stringify(String(made?.reply).slice(0, 200))}`
    let first: unknown
    try {
      first = await agent.call(tp.op, tp.request as Requests[typeof tp.op])
    } catch (e) {
      first = e
    }
    // A second request on the same link: after a bad line it must fail too
    // (nothing pairs with the wrong reply), after a valid one it works.
    let second: unknown
    try {
      second = await agent.call(tp.op, tp.request as Requests[typeof tp.op])
    } catch (e) {
      second = e
    }
    await end()
    if (first instanceof InfraError) {
      tally.lost++
      if (!/^agent link lost: /.test(first.message) || !(second instanceof InfraError) || second !== first) {
        wrong++
        t.fail(`a lost link that did not stay lost, or said so badly: ${where()}: ${first.message} / ${String(second)}`)
      }
      if (first.message.length > 1200 || first.message.includes('\n')) {
        wrong++
        t.fail(`the error is not one bounded line (${first.message.length} characters): ${where()}`)
      }
    } else if (first instanceof Error) {
      wrong++
      t.fail(`${first.name} instead of an InfraError: ${where()}: ${first.message}`)
    } else {
      tally.valid++
      const body = first as Record<string, unknown>
      const fits = body.ok === false ? typeof body.errno === 'string' : responseSchemas[tp.op].safeParse(body).success
      if (made?.mustFail || !fits) {
        wrong++
        t.fail(`accepted a reply that breaks the protocol: ${where()}: ${JSON.stringify(first).slice(0, 300)}`)
      }
      // A surplus line left on an accepted reply loses the link before the next request is answered.
      if (made?.what.includes('surplus') && !(second instanceof InfraError)) {
        wrong++
        t.fail(`a surplus line did not lose the link: ${where()}`)
      }
    }
    if (wrong > 20) break
  }
  t.equal(wrong, 0, `no reply crashed the host, got through or was misreported (${tally.lost} lost links, ${tally.valid} valid answers)`)
  t.ok(tally.lost > TRIALS / 2, 'most trials were breaches of the protocol')
})

t.test('lines past the cap: a 10 MB line, and bytes that never end in a newline', async (t) => {
  const before = process.memoryUsage().rss
  const tenMB = 10_000_000
  const huge = scriptedLink((id) => `{"id":${id},"ok":true,"text":"${'x'.repeat(tenMB)}"}\n`, 5000)
  await t.rejects(huge.agent.call('kmsg_drain', {}), { name: 'InfraError', message: /^agent link lost: scripted link sent a line longer than 8 MiB \(the cap on one reply line\): \{"id":1,"ok":true,"text":"x{150,}\.\.\.$/ }, 'a 10 MB line')
  await huge.end()
  // Never a newline: 1 MiB chunks without end, as the review's experiment sent them.
  const toHost = new PassThrough()
  const transport = new StreamTransport(toHost, new PassThrough(), 'endless link')
  const agent = new Agent(transport, 20_000)
  const call = agent.call('hello', {})
  const chunk = Buffer.alloc(1 << 20, 0x41)
  let sent = 0
  while (sent < 64 && (await Promise.race([call.then(() => 'done', () => 'done'), new Promise((r) => setImmediate(() => r('more')))])) === 'more') {
    toHost.write(chunk)
    sent++
  }
  await t.rejects(call, { message: /endless link sent a line longer than 8 MiB/ }, `no newline in ${sent} MiB: lost at the cap`)
  t.ok(sent <= 12, `it stopped reading at the cap (${sent} MiB sent before the link was lost)`)
  await transport.close()
  const grown = (process.memoryUsage().rss - before) / 2 ** 20
  t.ok(grown < 400, `memory stayed bounded (${grown.toFixed(0)} MiB more)`)
})

t.test('a line exactly at the cap is taken, one byte more is not', async (t) => {
  const head = (id: number) => `{"id":${id},"ok":true,"text":"`
  const line = (id: number, extra: number) => head(id) + 'y'.repeat(MAX_REPLY_LINE_BYTES - head(id).length - 2 + extra) + '"}'
  const at = scriptedLink((id) => `${line(id, 0)}\n`, 5000)
  const r = await at.agent.must('kmsg_drain', {})
  t.equal(r.text.length, MAX_REPLY_LINE_BYTES - head(1).length - 2, 'the longest line allowed arrives whole')
  await at.end()
  const over = scriptedLink((id) => `${line(id, 1)}\n`, 5000)
  await t.rejects(over.agent.call('kmsg_drain', {}), { message: /longer than 8 MiB/ })
  await over.end()
})

t.test('a line no request waits for loses the link before it can shift the next reply', async (t) => {
  const toHost = new PassThrough()
  const transport = new StreamTransport(toHost, new PassThrough(), 'quiet link')
  toHost.write('{"id":7,"ok":true}\n')
  await new Promise((r) => setImmediate(r))
  await t.rejects(new Agent(transport).call('hello', {}), { message: /^agent link lost: quiet link sent a line no request waits for: \{"id":7,"ok":true\}$/ })
})

t.test('what the target sent reaches an error message escaped and cut', async (t) => {
  const { agent, end } = scriptedLink(() => `\u001b[31mred\u0007${'z'.repeat(5000)}\n`)
  await t.rejects(agent.call('hello', {}), { message: /that is not JSON: \\u001b\[31mred\\u0007z+\.\.\. \(5009 characters\)$/ })
  await end()
})
