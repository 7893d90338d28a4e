/* The reference heap: a userspace implementation of the dma-heap allocation
 * contract (drivers/dma-buf/dma-heap.c, dma_heap_ioctl_allocate and
 * dma_heap_buffer_alloc) and of the dma-buf behaviour a heap's buffers show
 * (drivers/dma-buf/dma-buf.c), so every suite has a known-good baseline on
 * every target and each kernel heap can be diffed against it.
 *
 * Memory comes from a sealed memfd whose pages are allocated up front (so an
 * impossible size fails with ENOMEM, as a heap does, instead of succeeding
 * lazily). Two backings:
 *  - udmabuf: where /dev/udmabuf exists and O_RDWR is asked, UDMABUF_CREATE
 *    turns the memfd into a real dma-buf; the kernel does the rest.
 *  - model: elsewhere (no udmabuf, another access mode, or a fault profile),
 *    the buffer is the memfd itself and the core models the dma-buf side:
 *    fdinfo size/exp_name/name, DMA_BUF_IOCTL_SYNC and SET_NAME validation,
 *    mmap bounds, no MAP_PRIVATE, no mremap growth.
 *
 * Fault profiles ("dmaheap-reference+nozero") make the model break one rule
 * on purpose, so the harness's own tests can show each suite fails the heap
 * that breaks it.
 *
 * One deliberate difference from mainline: a size above MemAvailable fails
 * with ENOMEM at once, where the system heap would reclaim and may wake the
 * OOM killer. The reference heap must be safe on any machine.
 *
 * Its capacity is bounded, as a carveout or CMA heap is: past
 * REFERENCE_CAPACITY_BYTES live it refuses with ENOMEM. Running it out proves
 * the same (a clean refusal, memory back, the same amount again) whatever
 * the capacity, and 64 MiB of pages are faulted in and cleared in a
 * fraction of the time the whole of a guest's memory takes under TCG. */
#ifndef DMAHEAP_REFERENCE_HEAP_H
#define DMAHEAP_REFERENCE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum reference_fault {
	FAULT_MODEL = 1 << 0,       /* no fault: only forces the model backing */
	FAULT_NOZERO = 1 << 1,      /* hands out freed memory without clearing it */
	FAULT_BADFLAGS = 1 << 2,    /* accepts invalid fd_flags, heap_flags and .fd */
	FAULT_ACCEPTZERO = 1 << 3,  /* accepts len 0 and lengths that wrap to 0 */
	FAULT_WRONGSIZE = 1 << 4,   /* sizes the buffer to len, not PAGE_ALIGN(len) */
	FAULT_LEAK = 1 << 5,        /* never frees a buffer (keeps a reference) */
	FAULT_IGNOREOFFSET = 1 << 6, /* mmap ignores the offset (vm_pgoff) */
	FAULT_WRONGEXP = 1 << 7,    /* fdinfo exp_name is not the heap's name */
	FAULT_BADSYNC = 1 << 8,     /* DMA_BUF_IOCTL_SYNC accepts invalid flags */
	FAULT_HOLES = 1 << 9,       /* pages past the first are missing: touching them is SIGBUS */
};

/* Parses "dmaheap-reference[+fault...]"; returns 0 and the fault mask, or
 * -1 if the name is not the reference heap's or names an unknown fault. */
int reference_parse_name(const char *name, unsigned *faults);

enum reference_backing { BACKING_UDMABUF, BACKING_MODEL };

struct reference_alloc_result {
	int fd;
	enum reference_backing backing;
};

/* What the reference heap holds at most, live buffers together. */
#define REFERENCE_CAPACITY_BYTES (64ULL << 20)

bool reference_has_udmabuf(void);
/* Returns 0 or a positive errno, exactly as the kernel's ALLOC would. */
int reference_alloc(uint64_t len, uint32_t fd_in, uint32_t fd_flags, uint64_t heap_flags, unsigned faults,
		    struct reference_alloc_result *out);

/* A model buffer, looked up by fd (and checked by inode, so a reused fd
 * number is never mistaken for an old buffer). */
struct model_buf;
struct model_buf *reference_model_lookup(int fd);
unsigned model_faults(const struct model_buf *b);
uint64_t model_size(const struct model_buf *b);
/* Called when the harness closes fd: the model forgets the buffer (and the
 * nozero fault returns its memory to the dirty pool). */
void reference_model_forget(int fd);

/* Forgets every model buffer (their fds stay open: they are the host's) and
 * closes the nozero pool's memfds. */
void reference_reset(void);

/* The dma-buf behaviour of a model buffer; each returns 0 or an errno. */
int model_sync(struct model_buf *b, uint64_t flags);
int model_set_name(struct model_buf *b, const char *name);
int model_mmap_check(struct model_buf *b, uint64_t len, int flags, uint64_t offset);
/* Appends the dma-buf fdinfo lines dma_buf_show_fdinfo would print. */
void model_fdinfo(struct model_buf *b, char *out, size_t cap);

#endif
