#include "pattern.h"

#include <string.h>

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The prng pattern's word at an index is an arithmetic progression from a
 * seed-dependent start: every 8-byte word of a buffer differs from its
 * neighbours (so a shifted or stale page shows), and the fill and verify
 * loops only add, so they run near memset and memcmp speed. */
#define STEP 0x9e3779b97f4a7c15ULL

static inline uint64_t word_at(const struct pattern *p, uint64_t word_index)
{
	if (p->kind == PATTERN_CONST)
		return 0x0101010101010101ULL * p->byte;
	return splitmix64(p->seed) + word_index * STEP;
}

static inline uint64_t word_step(const struct pattern *p)
{
	return p->kind == PATTERN_CONST ? 0 : STEP;
}

uint8_t pattern_byte(const struct pattern *p, uint64_t off)
{
	/* Little-endian byte order of each 8-byte word, on every architecture,
	 * so the host can predict a byte without knowing the target. */
	return (uint8_t)(word_at(p, off >> 3) >> ((off & 7) * 8));
}

static inline uint64_t htole_64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

static inline uint64_t load_le64(const volatile uint8_t *m)
{
	uint64_t v = *(const volatile uint64_t *)m;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

void pattern_fill(volatile uint8_t *mem, size_t len, uint64_t base, const struct pattern *p)
{
	size_t i = 0;
	/* Byte stores until the buffer offset is word aligned, then words. */
	while (i < len && ((base + i) & 7))
		mem[i] = pattern_byte(p, base + i), i++;
	if (p->kind == PATTERN_CONST && ((uintptr_t)(mem + i) & 7) == 0) {
		memset((uint8_t *)(mem + i), p->byte, (len - i) & ~(size_t)7);
		i += (len - i) & ~(size_t)7;
	}
	if (((uintptr_t)(mem + i) & 7) == 0 && i + 8 <= len) {
		uint64_t w = word_at(p, (base + i) >> 3), step = word_step(p);
		uint64_t *q = (uint64_t *)(mem + i);
		size_t words = (len - i) / 8;
		for (size_t k = 0; k < words; k++, w += step)
			q[k] = htole_64(w);
		i += words * 8;
	}
	for (; i < len; i++)
		mem[i] = pattern_byte(p, base + i);
}

void pattern_verify(const volatile uint8_t *mem, size_t len, uint64_t base, const struct pattern *p,
		    struct verify_result *out)
{
	size_t i = 0;
	memset(out, 0, sizeof(*out));

	/* Word compares on the fast path; any mismatching word is rechecked byte
	 * by byte so the report names the first bad byte exactly. */
	if (((base + i) & 7) == 0 && ((uintptr_t)mem & 7) == 0) {
		const uint64_t *q = (const uint64_t *)mem;
		uint64_t w = word_at(p, base >> 3), step = word_step(p);
		size_t words = len / 8, k = 0;
		/* Clean runs compare with no branch per word but the loop's. */
		while (k < words) {
			uint64_t diff = 0;
			size_t end = k + 512 < words ? k + 512 : words, k0 = k;
			uint64_t w0 = w;
			for (; k < end; k++, w += step)
				diff |= q[k] ^ htole_64(w);
			if (diff) { /* recheck this run word by word */
				k = k0;
				w = w0;
				break;
			}
		}
		i = k * 8;
	}
	while (i < len) {
		if (((base + i) & 7) == 0 && ((uintptr_t)(mem + i) & 7) == 0 && i + 8 <= len) {
			uint64_t want = word_at(p, (base + i) >> 3);
			if (load_le64(mem + i) == want) {
				i += 8;
				continue;
			}
			for (size_t k = 0; k < 8; k++) {
				uint8_t e = (uint8_t)(want >> (k * 8)), o = mem[i + k];
				if (e != o) {
					if (!out->mismatches++) {
						out->first_bad = i + k;
						out->expected = e;
						out->observed = o;
					}
				}
			}
			i += 8;
			continue;
		}
		uint8_t e = pattern_byte(p, base + i), o = mem[i];
		if (e != o && !out->mismatches++) {
			out->first_bad = i;
			out->expected = e;
			out->observed = o;
		}
		i++;
	}
}
