// What a target prints is kept in bounded memory: the tail buffer behind
// QEMU's stderr, an agent process's stderr and SSH command output, and the
// QEMU console (its lines in memory and console.log on disk).
import t from 'tap'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TailBuffer } from '../../runners/tail-buffer.js'
import { Console } from '../../runners/qemu.js'

t.test('a tail buffer keeps the last bytes and says how many went', async (t) => {
  const b = new TailBuffer(1000)
  for (let i = 0; i < 100_000; i++) b.push(`line ${i}\n`)
  t.ok(b.length <= 1000, `it holds at most its cap (${b.length})`)
  t.match(b.text(), /^\[\d+ earlier bytes dropped\]\n/, 'the text says bytes were dropped')
  t.ok(b.raw().endsWith('line 99999\n'), 'the last line is there')
  t.equal(b.dropped + b.raw().length, Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`).join('').length, 'dropped + kept = everything pushed')
  const small = new TailBuffer(1000)
  small.push('short')
  t.equal(small.text(), 'short', 'under the cap nothing is added')
  const big = new TailBuffer(1 << 20)
  const chunk = Buffer.alloc(1 << 20, 0x61)
  const before = process.memoryUsage().rss
  for (let i = 0; i < 200; i++) big.push(chunk) // 200 MiB through a 1 MiB buffer
  t.equal(big.length, 1 << 20)
  t.ok(process.memoryUsage().rss - before < 100 * 2 ** 20, 'memory stays near the cap')
})

t.test('the QEMU console: a line without end, and a guest that never stops printing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-console-'))
  const con = new Console(join(dir, 'console.log'))
  con.push(Buffer.from('[    0.000000] Linux version 6.12\n'))
  const noNewline = Buffer.alloc(1 << 20, 0x78)
  for (let i = 0; i < 80; i++) con.push(noNewline) // 80 MiB, one line
  con.push(Buffer.from('\nKernel panic - not syncing: the end\n'))
  await con.close()
  const tail = con.tail(400)
  t.ok(tail.split('\n').every((l) => l.length <= 16 * 1024), 'no line in memory is longer than 16 KiB')
  t.ok(tail.length < 400 * 16 * 1024 + 400, `the tail is bounded (${tail.length} characters)`)
  t.ok(con.has(/Kernel panic - not syncing: the end/), 'what came after the endless line is seen')
  t.match(con.excerpt(5), /Kernel panic - not syncing: the end/, 'and explains the failure')
  const size = statSync(join(dir, 'console.log')).size
  t.ok(size < 64 * 2 ** 20 + 1024, `console.log stops at 64 MiB (${size} bytes)`)
  t.match(readFileSync(join(dir, 'console.log'), 'utf8').slice(-200), /console\.log stops here, at 64 MiB; the guest printed more/, 'and says so')
})
