/**
 * Measured values as a person reads them: sizes in KiB/MiB (the project's
 * formatSize), times in ms or s, structured findings (a layout's samples, a
 * capacity) as a line of fields and a table, never as JSON. The keys say
 * the unit: the suites store findings with bytes as decimal strings under
 * size, bytes, cap, chunk, alignment, and times in ms.
 */
import { formatSize } from '../core/sizes.js'

const SIZE_KEYS = new Set(['size', 'bytes', 'cap', 'chunk', 'alignment', 'unit', 'largest', 'len', 'length', 'total'])
const MS_KEYS = /^(ms|durationMs|[a-z]+Ms)$/

/** "850 ms", "1.78 s", "2 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
}

/** formatSize, and for a size no unit divides, its value to a tenth in the largest unit with the exact bytes. */
export function humanSize(bytes: bigint): string {
  const exact = formatSize(bytes)
  if (!exact.endsWith(' B') || bytes < 1024n) return exact
  const [unit, shift] = (
    [
      ['GiB', 30n],
      ['MiB', 20n],
      ['KiB', 10n],
    ] as const
  ).find(([, s]) => bytes >= 1n << s)!
  return `${(Number(bytes) / Number(1n << shift)).toFixed(1)} ${unit} (${bytes} B)`
}

const isInteger = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))

/** A field's value in its unit. */
export function humanScalar(key: string | undefined, v: unknown): string {
  if (v === undefined || v === null) return 'nothing'
  if (key !== undefined && SIZE_KEYS.has(key) && isInteger(v)) return humanSize(BigInt(v as string | number))
  if (key !== undefined && MS_KEYS.test(key) && typeof v === 'number') return formatDuration(v)
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  return humanText(v)
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** One line: "size 64 KiB, 3 samples"; a list of scalars joined by commas. */
export function humanText(v: unknown, key?: string): string {
  if (Array.isArray(v)) return v.every((x) => !isRecord(x) && !Array.isArray(x)) ? v.map((x) => humanScalar(key, x)).join(', ') : `${v.length} ${key ?? 'items'}`
  if (isRecord(v)) return Object.entries(v).map(([k, x]) => (Array.isArray(x) && x.some(isRecord) ? `${x.length} ${k}` : `${k} ${humanScalar(k, x)}`)).join(', ')
  return humanScalar(key, v)
}

export interface HumanTable {
  /** what the table lists (the field holding the rows) */
  title: string
  columns: string[]
  rows: string[][]
}

/** The tables inside a structured value: each list of records (a layout's samples) as rows of human values. */
export function humanTables(v: unknown, title = 'values'): HumanTable[] {
  if (Array.isArray(v) && v.some(isRecord)) {
    const records = v.filter(isRecord)
    const columns = [...new Set(records.flatMap((r) => Object.keys(r)))]
    return [{ title, columns, rows: records.map((r) => columns.map((c) => (c in r ? humanScalar(c, r[c]) : ''))) }]
  }
  if (isRecord(v)) return Object.entries(v).flatMap(([k, x]) => humanTables(x, k))
  return []
}

/** Whether a value needs more than its line (it holds a list of records). */
export const hasTables = (v: unknown) => humanTables(v).length > 0
