/* The calls every buffer goes through, kernel heap or reference heap alike:
 * ALLOC, SYNC and close. The single ops and the native loops (repeat,
 * threads, exhaustion) share them so they behave the same. */
#ifndef DMAHEAP_BUFFER_H
#define DMAHEAP_BUFFER_H

#include "request.h"

struct alloc_args {
	uint64_t len;
	uint64_t heap_flags;
	uint64_t trailing;   /* value of every u64 past the 24-byte struct */
	uint32_t fd_in;
	uint32_t fd_flags;
	unsigned struct_size; /* 16, 24, 48...: ABI compatibility */
	unsigned nr;          /* ioctl nr; only 0 is ALLOC */
	bool untimed;         /* skip the ns measurement (benchmarks time the call themselves) */
};

struct alloc_out {
	int fd;
	const char *backing;  /* reference heap: "udmabuf" or "model"; else NULL */
	int trailing_intact;  /* kernel heaps: 1/0; -1 when not applicable */
	uint64_t ns;
};

/* Returns 0 or the errno ALLOC failed with. */
int heap_alloc(const struct heap_slot *h, const struct alloc_args *a, struct alloc_out *o);
int buf_sync(int fd, uint64_t flags);
int buf_close(int fd);

#endif
