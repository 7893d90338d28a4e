/* The reference heap: a userspace implementation of the dma-heap allocation
 * contract (drivers/dma-buf/dma-heap.c, dma_heap_ioctl_allocate and
 * dma_heap_buffer_alloc), so every suite has a known-good baseline on every
 * target and each kernel heap can be diffed against it.
 *
 * Memory comes from a sealed memfd whose pages are allocated up front (so an
 * impossible size fails with ENOMEM, as a heap does, instead of succeeding
 * lazily). Where /dev/udmabuf exists and the caller asks for O_RDWR, the
 * memfd is turned into a real dma-buf with UDMABUF_CREATE; udmabuf always
 * exports O_RDWR, so other access modes keep the memfd, reopened with the
 * mode asked for, which gives the same mmap permission checks.
 *
 * One deliberate difference: a size above MemAvailable fails with ENOMEM at
 * once, where the mainline system heap would reclaim and may wake the OOM
 * killer. The reference heap must be safe on any machine. */
#ifndef DMAHEAP_REFERENCE_HEAP_H
#define DMAHEAP_REFERENCE_HEAP_H

#include <stdbool.h>
#include <stdint.h>

enum reference_backing { BACKING_UDMABUF, BACKING_MEMFD };

struct reference_alloc_result {
	int fd;
	enum reference_backing backing;
};

bool reference_has_udmabuf(void);
/* Returns 0 or a positive errno, exactly as the kernel's ALLOC would. */
int reference_alloc(uint64_t len, uint32_t fd_in, uint32_t fd_flags, uint64_t heap_flags,
		    struct reference_alloc_result *out);

#endif
