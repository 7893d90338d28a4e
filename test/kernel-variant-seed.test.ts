// A patched kernel's first build starts from the plain build of the same
// architecture (targets/kernel-build.ts, seedFromPlainTree): a real
// `dmaheap kernel build --patch` of Debian's tree, with a patch of its own
// so its variant is new, compiles the patched file and the version objects,
// not the kernel. .ci/run has built the plain x86_64 kernel before.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { buildKernel, resolveSource } from '../targets/kernel-build.js'

const quiet = () => undefined
const src = await resolveSource('debian', quiet)
const file = 'drivers/dma-buf/heaps/system_heap.c'
const original = readFileSync(join(src, file), 'utf8')
const marker = `/* seeded variant probe ${process.pid}-${Date.now()} */`
const patch = join(mkdtempSync(join(tmpdir(), 'dmaheap-seed-')), 'seed-probe.patch')
const firstLine = original.split('\n')[0]!
writeFileSync(patch, `--- a/${file}\n+++ b/${file}\n@@ -1 +1,2 @@\n ${firstLine}\n+${marker}\n`)

const messages: string[] = []
const built = await buildKernel({ src: 'debian', arch: 'x86_64', patches: [patch], log: (m) => messages.push(m) })
t.teardown(() => {
  // The probe's tree and build are of no use to anyone after this test.
  rmSync(built.outDir, { recursive: true, force: true })
  const tree = messages.map((m) => /into (\S+) and applying/.exec(m)?.[1]).find(Boolean)
  if (tree) rmSync(tree, { recursive: true, force: true })
})

t.test('a new patched variant is built from the plain build, not from nothing', async (t) => {
  t.match(messages.join('\n'), /from a copy of the plain build x86_64-/, 'seeded from the plain x86_64 build')
  t.ok(existsSync(built.image), 'an image was built')
  const compiled = readFileSync(join(built.outDir, 'build.log'), 'utf8').split('\n').filter((l) => /^\s+CC\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]!)
  t.ok(compiled.includes(file.replace(/\.c$/, '.o')), `the patched file was compiled (compiled: ${compiled.join(', ')})`)
  t.ok(compiled.length <= 10, `only the patched file and the version objects were compiled, not the kernel (${compiled.length} files)`)
  t.notOk(compiled.some((f) => f.includes('tools/objtool')), 'objtool was not built again (its dependency files name the build folder)')
  t.equal(readFileSync(join(src, file), 'utf8'), original, 'the original tree is untouched')
  t.equal(dirname(built.image).endsWith('arch/x86/boot'), true)
})
