/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The test importer's ioctl ABI, shared by the kernel module
 * (dmaheap_importer.c) and the agent (native/core/ops_importer.c): what a
 * device sees of a dma-buf once it attaches and maps it.
 */
#ifndef DMAHEAP_IMPORTER_H
#define DMAHEAP_IMPORTER_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint32_t __u32;
typedef int32_t __s32;
typedef uint64_t __u64;
#endif

#define DMAHEAP_IMPORTER_DEVICE "dmaheap_importer"

/* check.flags */
/* after reading, the importer writes the pattern of write_seed through its view of the pages */
#define DMAHEAP_IMPORTER_WRITE (1u << 0)
/* also dma_buf_vmap the buffer and compare the kernel mapping with the pattern */
#define DMAHEAP_IMPORTER_VMAP (1u << 1)

#define DMAHEAP_IMPORTER_NO_MISMATCH (~(__u64)0)

#define DMAHEAP_IMPORTER_MAX_RUNS 64

/* vmap_status */
#define DMAHEAP_IMPORTER_VMAP_NOT_ASKED 0
#define DMAHEAP_IMPORTER_VMAP_AGREES 1
#define DMAHEAP_IMPORTER_VMAP_DIFFERS 2
#define DMAHEAP_IMPORTER_VMAP_REFUSED 3 /* the exporter offers no vmap, or it failed: vmap_error */

struct dmaheap_importer_check {
	/* in */
	__s32 fd;          /* the dma-buf */
	__u32 flags;
	__u64 read_seed;   /* the prng pattern userspace wrote (native/core/pattern.c) */
	__u64 write_seed;  /* with DMAHEAP_IMPORTER_WRITE: the pattern the importer writes */
	/* out: attach and map */
	__s32 attach_error; /* -errno from dma_buf_attach, 0 when it attached */
	__s32 map_error;    /* -errno from dma_buf_map_attachment_unlocked */
	__u64 size;         /* dmabuf->size */
	__u32 nents;        /* DMA-mapped entries (sgt->nents) */
	__u32 orig_nents;   /* CPU entries (sgt->orig_nents) */
	__u64 total_len;    /* sum of the CPU entries' lengths */
	__u64 dma_len;      /* sum of sg_dma_len over the mapped entries */
	__u32 no_page;      /* CPU entries without a valid page (NULL, or a pfn with no memory) */
	__u32 no_dma;       /* mapped entries with a zero DMA address or length */
	__u32 contiguous;   /* 1 when every entry starts where the previous one ended */
	__u32 pad0;
	/* out: the bytes, read through the importer's view of the table's pages */
	__u64 checked;        /* bytes compared (all of the table's pages, up to size) */
	__u64 first_mismatch; /* buffer offset of the first byte not read_seed's, or NO_MISMATCH */
	__u64 mismatches;
	__u32 expected, observed; /* the first mismatching byte: wanted, seen */
	__u64 written;        /* with WRITE: bytes the importer wrote */
	/* out: vmap */
	__u32 vmap_status;
	__s32 vmap_error;
	__u64 vmap_first_mismatch; /* against write_seed with WRITE, else read_seed */
	/*
	 * out: where the CPU entries lie, as runs of consecutive page frames in
	 * table order (what a heap whose mapping pagemap cannot walk, a
	 * VM_PFNMAP carveout, shows of its memory nowhere else)
	 */
	__u32 nruns;        /* runs in the table; only the first MAX_RUNS are kept */
	__u32 pad1;
	struct {
		__u64 pfn;
		__u64 pages;
	} runs[DMAHEAP_IMPORTER_MAX_RUNS];
};

#define DMAHEAP_IMPORTER_IOC_CHECK _IOWR('I', 0x01, struct dmaheap_importer_check)

#endif
