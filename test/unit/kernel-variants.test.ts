// Patched kernel trees: made once with hard links, patched again in place when
// a patch changes, and never touching the original tree. A small tree of real
// files and real `patch -p1` stand in for a kernel tree: only the files
// matter here, not what they build.
import t from 'tap'
import { mkdtempSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { filesOfPatch, patchedTree } from '../../targets/kernel-build.js'

const diff = (from: string, to: string) => `--- a/drivers/heap.c\n+++ b/drivers/heap.c\n@@ -1,2 +1,2 @@\n int x;\n-${from}\n+${to}\n`

t.test('the files a patch touches', async (t) => {
  t.same(filesOfPatch(diff('a', 'b') + '--- /dev/null\n+++ b/new/file.c\t2026-01-01\n'), ['drivers/heap.c', 'new/file.c'])
})

t.test('a variant tree is patched once, again in place when the patch changes, and the original is untouched', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dmaheap-variants-'))
  process.env.XDG_CACHE_HOME = join(root, 'cache')
  const src = join(root, 'linux')
  mkdirSync(join(src, 'drivers'), { recursive: true })
  writeFileSync(join(src, 'Makefile'), 'all:\n')
  writeFileSync(join(src, 'drivers', 'heap.c'), 'int x;\nint y = 1;\n')
  const patch = join(root, 'fault.patch')
  const quiet = () => undefined

  writeFileSync(patch, diff('int y = 1;', 'int y = 2;'))
  const tree = await patchedTree(src, [patch], quiet)
  t.equal(readFileSync(join(tree, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 2;\n', 'patched')
  t.equal(statSync(join(tree, 'Makefile')).ino, statSync(join(src, 'Makefile')).ino, 'untouched files are hard links')
  t.equal(await patchedTree(src, [patch], quiet), tree, 'the same patch: the same tree, nothing redone')

  const before = statSync(join(tree, 'drivers', 'heap.c')).mtimeMs
  await new Promise((r) => setTimeout(r, 20))
  writeFileSync(patch, diff('int y = 1;', 'int y = 3;'))
  const messages: string[] = []
  t.equal(await patchedTree(src, [patch], (m) => messages.push(m)), tree, 'a changed patch: the same folder (its build stays incremental)')
  t.match(messages, [/patching .* again in place/])
  t.equal(readFileSync(join(tree, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 3;\n', 'the new patch applied to the original file, not on top of the old patch')
  t.ok(statSync(join(tree, 'drivers', 'heap.c')).mtimeMs > before, 'the patched file is newer than before, so make rebuilds it')
  t.equal(readFileSync(join(src, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 1;\n', 'the original tree is untouched')

  writeFileSync(patch, diff('no such line', 'int y = 4;'))
  await t.rejects(patchedTree(src, [patch], quiet), /fault\.patch does not apply to/)
  writeFileSync(patch, diff('int y = 1;', 'int y = 5;'))
  await patchedTree(src, [patch], quiet)
  t.equal(readFileSync(join(tree, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 5;\n', 'after a patch that failed, the next one starts from the original again')

  // The tree itself moves on (a new tarball, a checkout): the variant follows it.
  writeFileSync(join(src, 'drivers', 'other.c'), 'int z;\n')
  writeFileSync(join(src, 'Makefile'), 'all:\n\ttrue\n')
  utimesSync(join(src, 'Makefile'), new Date(), new Date(Date.now() + 5000))
  await patchedTree(src, [patch], quiet)
  t.equal(readFileSync(join(tree, 'drivers', 'other.c'), 'utf8'), 'int z;\n', 'a changed tree is copied again')
  t.equal(readFileSync(join(tree, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 5;\n', 'and patched again')
})
