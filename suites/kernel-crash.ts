/**
 * A kernel crash in what the console printed: the headline a maintainer
 * looks for first and the lines around it, for a case that lost its target.
 */
/** A line that says the kernel crashed (not a WARNING: the kernel went on). */
export const CRASH = /Kernel panic - not syncing|Oops:|BUG: |kernel BUG at|general protection fault|Unable to handle kernel/

export function kernelCrash(consoleTail: string): { headline: string; excerpt: string } | undefined {
  const lines = consoleTail.split('\n')
  const at = lines.findIndex((l) => CRASH.test(l))
  if (at < 0) return undefined
  // The panic line names the cause; an Oops before it is the story.
  const panic = lines.findIndex((l) => /Kernel panic - not syncing/.test(l))
  const headline = (panic >= 0 ? lines[panic]! : lines[at]!).replace(/^\[\s*[\d.]+\]\s*/, '').trim()
  return { headline, excerpt: lines.slice(Math.max(0, at - 2), at + 40).join('\n') }
}
