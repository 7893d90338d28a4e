/**
 * Sizes as people write them: "4096", "256M", "1G", "64MiB", "1 MiB". Binary
 * units throughout (the kernel's cma= and every heap size are powers of two).
 */
const SHIFT: Record<string, bigint> = { '': 0n, K: 10n, M: 20n, G: 30n, T: 40n }

/** Bytes, or undefined when the text is not a size. */
export function parseSizeText(text: string): bigint | undefined {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim())
  if (!m) return undefined
  return BigInt(m[1]!) << SHIFT[m[2]!.toUpperCase()]!
}

/** "64 MiB", "4 KiB", "4097 B": the largest binary unit that divides the size. */
export function formatSize(bytes: bigint | number): string {
  const b = BigInt(bytes)
  for (const [unit, shift] of [['TiB', 40n], ['GiB', 30n], ['MiB', 20n], ['KiB', 10n]] as const) {
    if (b >= 1n << shift && b % (1n << shift) === 0n) return `${b >> shift} ${unit}`
  }
  return `${b} B`
}
