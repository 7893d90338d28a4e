// Patched kernel trees: made once with hard links, patched again in place when
// a patch changes, and never touching the original tree. A small tree of real
// files and real `patch -p1` stand in for a kernel tree: only the files
// matter here, not what they build.
import t from 'tap'
import { mkdtempSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { filesOfPatch, patchedTree, patchFailure, patchParts } from '../../targets/kernel-build.js'

const diff = (from: string, to: string) => `--- a/drivers/heap.c\n+++ b/drivers/heap.c\n@@ -1,2 +1,2 @@\n int x;\n-${from}\n+${to}\n`

/** A two-file tree standing in for a kernel's, with a cache of its own. */
function smallTree(prefix: string): { root: string; src: string } {
  const root = mkdtempSync(join(tmpdir(), prefix))
  process.env.XDG_CACHE_HOME = join(root, 'cache')
  const src = join(root, 'linux')
  mkdirSync(join(src, 'drivers'), { recursive: true })
  writeFileSync(join(src, 'Makefile'), 'all:\n')
  writeFileSync(join(src, 'drivers', 'heap.c'), 'int x;\nint y = 1;\n')
  return { root, src }
}

t.test('the files a patch touches', async (t) => {
  t.same(filesOfPatch(diff('a', 'b') + '--- /dev/null\n+++ b/new/file.c\t2026-01-01\n'), ['drivers/heap.c', 'new/file.c'])
})

t.test('a variant tree is patched once, again in place when the patch changes, and the original is untouched', async (t) => {
  const { root, src } = smallTree('dmaheap-variants-')
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

const message = (sha: string, subject: string, body: string) =>
  `From ${sha} Mon Sep 17 00:00:00 2001\nFrom: A Developer <dev@example.org>\nDate: Tue, 1 Dec 2026 10:00:00 +0000\nSubject: ${subject}\n\nWhy.\n---\n${body}--\n2.39.5\n\n`

t.test('an mbox series applies message by message; one that does not apply is named with its file and hunk', async (t) => {
  const { root, src } = smallTree('dmaheap-mbox-')
  const series = join(root, 'series.mbox')
  const cover = `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] dma-buf: heaps: a series\n\nThe cover letter.\n\n`
  writeFileSync(series, cover + message('1'.repeat(40), '[PATCH 1/2] heap: y is 2', diff('int y = 1;', 'int y = 2;')) + message('2'.repeat(40), '[PATCH 2/2] heap:\n y is 3', diff('int y = 2;', 'int y = 3;')))
  t.same(patchParts(readFileSync(series, 'utf8')).map((p) => p.subject), ['[PATCH 0/2] dma-buf: heaps: a series', '[PATCH 1/2] heap: y is 2', '[PATCH 2/2] heap: y is 3'], 'the messages, a folded subject unfolded')
  t.same(patchParts(diff('a', 'b')), [{ text: diff('a', 'b') }], 'a plain diff is one part')
  const tree = await patchedTree(src, [series], () => undefined)
  t.equal(readFileSync(join(tree, 'drivers', 'heap.c'), 'utf8'), 'int x;\nint y = 3;\n', 'both patches, in order, the cover letter skipped')

  writeFileSync(series, message('1'.repeat(40), '[PATCH 1/2] heap: y is 2', diff('int y = 1;', 'int y = 2;')) + message('2'.repeat(40), '[PATCH 2/2] heap: y is 4', diff('int y = 7;', 'int y = 4;')))
  await t.rejects(patchedTree(src, [series], () => undefined), { message: /series\.mbox: "\[PATCH 2\/2\] heap: y is 4" does not apply to .*linux: drivers\/heap\.c hunk #1 \(at line 1\)$/ })
})

t.test("patch's complaints, in one line", async (t) => {
  t.equal(patchFailure('patching file drivers/a.c\nHunk #1 succeeded at 3.\nHunk #2 FAILED at 40.\n1 out of 2 hunks FAILED -- saving rejects to file drivers/a.c.rej\npatching file drivers/b.c\nHunk #1 FAILED at 7.\n'), 'drivers/a.c hunk #2 (at line 40), drivers/b.c hunk #1 (at line 7)')
  t.equal(patchFailure("patching file drivers/a.c\nReversed (or previously applied) patch detected!  Skipping patch.\n1 out of 1 hunk ignored\n"), 'drivers/a.c is patched already (the patch is in the tree)')
  t.equal(patchFailure("can't find file to patch at input line 3\nPerhaps you used the wrong -p or --strip option?\n"), 'a file it changes is not in the tree (input line 3)')
  t.equal(patchFailure('patch: **** Only garbage was found in the patch input.\n'), 'patch: **** Only garbage was found in the patch input.')
})
