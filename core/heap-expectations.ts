/**
 * What a heap must deliver, as a target or board description states it:
 *
 *   heaps:
 *     system: {}                       # must exist
 *     reserved:
 *       contiguous: true               # every buffer physically contiguous
 *       align: {to: 1MiB, from: 1MiB}  # physical alignment for sizes >= 1 MiB
 *       capacity: 64MiB                # at least this much allocatable in total
 *       largest: 32MiB                 # one allocation of this size succeeds
 *       zeroed: true                   # new buffers read as zero
 *
 * Defined once here; board descriptions and `dmaheap run --expect` both use it.
 */
import { z } from 'zod'
import { parseSizeText } from './sizes.js'

/** A size in bytes: a plain number or text such as "64MiB". */
export const sizeSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const bytes = typeof v === 'number' ? BigInt(v) : parseSizeText(v)
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size; write e.g. 4096, 1MiB or 64M` })
    return z.NEVER
  }
  return bytes
})

const alignSchema = z.union([
  sizeSchema.transform((to) => ({ to, from: 0n })),
  z.strictObject({ to: sizeSchema, from: sizeSchema.default(0n) }),
])

export const heapExpectationSchema = z
  .strictObject({
    contiguous: z.boolean().optional(),
    align: alignSchema.optional(),
    capacity: sizeSchema.optional(),
    largest: sizeSchema.optional(),
    zeroed: z.boolean().optional(),
  })
  .refine((e) => e.align === undefined || (e.align.to > 0n && (e.align.to & (e.align.to - 1n)) === 0n), {
    message: 'align.to must be a power of two',
    path: ['align'],
  })

/** heap name -> what it must deliver; a heap listed with nothing must only exist. */
export const heapExpectationsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.:+-]+$/, 'a heap name as in /dev/dma_heap'),
  heapExpectationSchema.nullable().transform((e) => e ?? {}),
)

export type HeapExpectation = z.output<typeof heapExpectationSchema>
export type HeapExpectations = z.output<typeof heapExpectationsSchema>

/** The file `dmaheap run --expect FILE` reads: only the heaps section of a board description. */
export const expectationsFileSchema = z.strictObject({ heaps: heapExpectationsSchema })
