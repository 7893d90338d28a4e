/**
 * Parsers of command-line values shared by the CLI and the target options
 * (core/target.ts TargetOption.parse). Each throws an Error saying what was
 * expected; the CLI turns it into its one-line usage error.
 */

/** "60", "0.5": a positive number of seconds. */
export function positiveSeconds(v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new Error('expected a positive number of seconds')
  return n
}
