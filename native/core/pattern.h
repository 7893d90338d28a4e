/* Fill and verify byte patterns over a mapping in native loops, so a 16 MiB
 * write/read-back costs one protocol round trip, not millions.
 *
 * The "prng" pattern is a function of (seed, absolute buffer offset): a
 * mapping of a sub-range at buffer offset `base` must show exactly the bytes
 * the full mapping shows there, which is how an ignored vm_pgoff is caught. */
#ifndef DMAHEAP_PATTERN_H
#define DMAHEAP_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pattern_kind { PATTERN_CONST, PATTERN_PRNG };

struct pattern {
	enum pattern_kind kind;
	uint8_t byte;  /* PATTERN_CONST */
	uint64_t seed; /* PATTERN_PRNG */
};

struct verify_result {
	uint64_t mismatches;
	uint64_t first_bad; /* offset within the verified range */
	uint8_t expected, observed;
};

uint8_t pattern_byte(const struct pattern *p, uint64_t buffer_offset);
/* `base` is the buffer offset of mem[0]. */
void pattern_fill(volatile uint8_t *mem, size_t len, uint64_t base, const struct pattern *p);
void pattern_verify(const volatile uint8_t *mem, size_t len, uint64_t base, const struct pattern *p,
		    struct verify_result *out);

#endif
