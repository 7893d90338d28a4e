/* Symbolic flags in requests ("O_RDWR|O_CLOEXEC", "PROT_READ|PROT_WRITE"),
 * resolved with the target's own headers: O_* values differ between x86_64 and
 * arm64, so the host must never encode them itself. */
#ifndef DMAHEAP_FLAGS_H
#define DMAHEAP_FLAGS_H

#include <stdint.h>

struct flag_name {
	const char *name;
	uint64_t value;
};

extern const struct flag_name open_flag_names[];
extern const struct flag_name prot_flag_names[];
extern const struct flag_name map_flag_names[];
extern const struct flag_name sync_flag_names[];

/* Accepts "A|B|C", a decimal or 0x number, or a mix ("O_RDWR|0x40").
 * Returns 0 or -1 (unknown name, with *bad pointing into text). */
int flags_parse(const char *text, const struct flag_name *table, uint64_t *out, const char **bad);

#endif
