/**
 * Kernel version ranges for known failures: "6.12" (that series), ">=6.1",
 * ">=6.1 <6.13" (every comparator must hold). Releases compare by their
 * numeric prefix: "6.12.117+deb12-amd64" is 6.12.117.
 */
const numbers = (v: string) => (/^(\d+(?:\.\d+)*)/.exec(v)?.[1] ?? '').split('.').filter(Boolean).map(Number)

function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d) return Math.sign(d)
  }
  return 0
}

const COMPARATOR = /^(>=|<=|>|<|=)?(\d+(?:\.\d+)*)$/

/** A problem with the range's syntax, or undefined when it is valid. */
export function rangeProblem(range: string): string | undefined {
  const parts = range.trim().split(/\s+/)
  const bad = parts.find((p) => !COMPARATOR.test(p))
  return bad === undefined ? undefined : `"${bad}" is not a version comparator; write e.g. 6.12, >=6.1 or ">=6.1 <6.13"`
}

export function inRange(release: string, range: string): boolean {
  const v = numbers(release)
  if (!v.length) return false
  return range
    .trim()
    .split(/\s+/)
    .every((p) => {
      const [, op, ver] = COMPARATOR.exec(p) ?? []
      if (ver === undefined) return false
      const want = numbers(ver)
      if (!op) return cmp(v.slice(0, want.length), want) === 0 // "6.12" is the 6.12 series
      const c = cmp(v, want)
      return op === '>=' ? c >= 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : op === '<' ? c < 0 : c === 0
    })
}
