#define _GNU_SOURCE
#include "reference_heap.h"
#include "dmaheap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The same masks as include/uapi/linux/dma-heap.h and dma-buf.h. */
#define REF_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE)
#define REF_VALID_HEAP_FLAGS 0ULL
#define REF_SYNC_VALID (DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)
#define REF_NAME_LEN 32 /* DMA_BUF_NAME_LEN */

#define MAX_MODEL_BUFS 8192
#define MAX_POOL 256

struct model_buf {
	bool used;
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t size;
	unsigned faults;
	int pool_slot; /* nozero: the dirty pool entry backing it, or -1 */
	bool has_name;
	char name[REF_NAME_LEN];
};

/* nozero: memfds kept after their buffer is freed, handed out again dirty */
struct pool_entry {
	bool used, in_use;
	int fd;
	uint64_t size;
};

static struct model_buf bufs[MAX_MODEL_BUFS];
/* Live model buffers: with none, lookups (on every close and sync) skip the
 * fstat and the table scan, so kernel heaps pay nothing for the model. */
static unsigned live_model_bufs;
static struct pool_entry pool[MAX_POOL];
/* Buffers are allocated from several threads at once (alloc_threads). */
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The capacity accounting: every buffer handed out (either backing), and the
 * leak fault's hidden references, by fd and inode. Nothing tells the core
 * when the host closes a buffer (close, a child's exit, exec), so an entry
 * is dropped when its fd no longer names the same inode, checked only when
 * the running total says the capacity is used up: a refusal is always measured,
 * never a stale count. `pending` is memory being allocated by another
 * thread right now.
 */
#define MAX_CAPACITY_ENTRIES 16384
struct capacity_use {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t size;
};
static struct capacity_use uses[MAX_CAPACITY_ENTRIES];
static unsigned n_uses;
static uint64_t used_bytes, pending_bytes;

static void capacity_recount(void)
{
	struct stat st;
	unsigned kept = 0;

	used_bytes = 0;
	for (unsigned i = 0; i < n_uses; i++)
		if (fstat(uses[i].fd, &st) == 0 && st.st_dev == uses[i].dev && st.st_ino == uses[i].ino) {
			uses[kept++] = uses[i];
			used_bytes += uses[i].size;
		}
	n_uses = kept;
}

/* Takes `size` from the capacity for an allocation under way, or ENOMEM. Call with model_lock held. */
static int capacity_reserve(uint64_t size)
{
	if (used_bytes + pending_bytes + size > REFERENCE_CAPACITY_BYTES || n_uses == MAX_CAPACITY_ENTRIES)
		capacity_recount();
	if (used_bytes + pending_bytes + size > REFERENCE_CAPACITY_BYTES || n_uses == MAX_CAPACITY_ENTRIES)
		return ENOMEM;
	pending_bytes += size;
	return 0;
}

/* The allocation ended: its memory is held by fd (or by nothing, fd < 0). Call with model_lock held. */
static void capacity_settle(uint64_t size, int fd)
{
	struct stat st;

	pending_bytes -= size;
	if (fd < 0 || n_uses == MAX_CAPACITY_ENTRIES || fstat(fd, &st) < 0)
		return;
	uses[n_uses++] = (struct capacity_use){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino, .size = size };
	used_bytes += size;
}

static const struct {
	const char *name;
	unsigned bit;
} fault_names[] = {
	{ "model", FAULT_MODEL },         { "nozero", FAULT_NOZERO },       { "badflags", FAULT_BADFLAGS },
	{ "acceptzero", FAULT_ACCEPTZERO }, { "wrongsize", FAULT_WRONGSIZE }, { "leak", FAULT_LEAK },
	{ "ignoreoffset", FAULT_IGNOREOFFSET }, { "wrongexp", FAULT_WRONGEXP }, { "badsync", FAULT_BADSYNC },
	{ "holes", FAULT_HOLES },
};

int reference_parse_name(const char *name, unsigned *faults)
{
	size_t base = strlen(DMAHEAP_REFERENCE_HEAP);
	const char *p;

	*faults = 0;
	if (strncmp(name, DMAHEAP_REFERENCE_HEAP, base) || (name[base] && name[base] != '+'))
		return -1;
	p = name + base;
	while (*p == '+') {
		const char *start = ++p;
		size_t n;
		bool found = false;
		while (*p && *p != '+')
			p++;
		n = (size_t)(p - start);
		for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
			if (strlen(fault_names[i].name) == n && !strncmp(fault_names[i].name, start, n)) {
				*faults |= fault_names[i].bit;
				found = true;
			}
		if (!found)
			return -1;
	}
	return 0;
}

bool reference_has_udmabuf(void)
{
	return access("/dev/udmabuf", R_OK | W_OK) == 0;
}

/* MemAvailable in bytes, or UINT64_MAX when it cannot be read. */
static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kb;
	FILE *f = fopen("/proc/meminfo", "re");
	uint64_t bytes = UINT64_MAX;

	if (!f)
		return bytes;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			bytes = (uint64_t)kb * 1024;
			break;
		}
	fclose(f);
	return bytes;
}

static int to_udmabuf(int memfd, uint64_t size, uint32_t fd_flags, int *out)
{
	struct udmabuf_create create = {
		.memfd = (uint32_t)memfd,
		.flags = (fd_flags & O_CLOEXEC) ? UDMABUF_FLAGS_CLOEXEC : 0,
		.offset = 0,
		.size = size,
	};
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int fd, err;

	if (dev < 0)
		return errno;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	err = fd < 0 ? errno : 0;
	close(dev);
	if (fd < 0)
		return err;
	*out = fd;
	return 0;
}

/* A new fd for the memfd with the access mode and close-on-exec asked for. */
static int reopen_with_mode(int memfd, uint32_t fd_flags, int *out)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	fd = open(path, (int)(fd_flags & (O_ACCMODE | O_CLOEXEC)));
	if (fd < 0)
		return errno;
	*out = fd;
	return 0;
}

/*
 * Every page is allocated now (a heap fails an allocation it cannot back)
 * and cleared: where the kernel has MADV_POPULATE_WRITE (5.14+, and madvise), one write
 * fault per page in a single call, which allocates and clears; elsewhere
 * fallocate and a touch of each page. fallocate alone is not enough: it
 * leaves shmem folios "not uptodate", cleared only on their first fault
 * through the memfd, and udmabuf pins and maps them as they are, so a udmabuf
 * made right after fallocate shows whatever the pages held before (seen on
 * Debian's 6.12 with init_on_alloc=0).
 */
static int allocate_pages(int memfd, uint64_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	volatile uint8_t *m;
	int err = 0;

	if (ftruncate(memfd, (off_t)size) < 0)
		return errno == EFBIG ? ENOMEM : errno;
	m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (m == MAP_FAILED)
		return errno;
	if (madvise((void *)m, (size_t)size, MADV_POPULATE_WRITE) < 0) {
		/* EINVAL: a kernel before 5.14; ENOSYS: no madvise at all
		 * (CONFIG_ADVISE_SYSCALLS=n, as in a tinyconfig kernel). */
		if (errno != EINVAL && errno != ENOSYS) {
			err = errno == EFAULT || errno == ENOSPC ? ENOMEM : errno;
		} else if (fallocate(memfd, 0, 0, (off_t)size) < 0) {
			err = (errno == ENOSPC || errno == EFBIG) ? ENOMEM : errno;
		} else {
			for (size_t off = 0; off < size; off += page)
				m[off] = 0;
		}
	}
	munmap((void *)m, (size_t)size);
	return err;
}

/* holes: the memfd is cut back to its first page before it is sealed, while
 * the buffer (the model's size, what lseek and fdinfo answer) keeps its
 * length. A mapping of it still spans the whole buffer, and the kernel
 * answers a touch past the first page with SIGBUS (shmem_fault past i_size),
 * as it would for a heap whose fault handler finds no page. */
static int new_memfd(uint64_t size, bool holes, int *out)
{
	int memfd = memfd_create("dmaheap-reference", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int err = 0;

	if (memfd < 0)
		return errno;
	if (size)
		err = allocate_pages(memfd, size);
	if (!err && holes && size > page && ftruncate(memfd, (off_t)page) < 0)
		err = errno;
	if (!err && fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		err = errno;
	if (err) {
		close(memfd);
		return err;
	}
	*out = memfd;
	return 0;
}

static int pool_take(uint64_t size)
{
	for (int i = 0; i < MAX_POOL; i++)
		if (pool[i].used && !pool[i].in_use && pool[i].size == size) {
			pool[i].in_use = true;
			return i;
		}
	return -1;
}

static int pool_add(int memfd, uint64_t size)
{
	for (int i = 0; i < MAX_POOL; i++)
		if (!pool[i].used) {
			int dup = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
			if (dup < 0)
				return -1;
			pool[i] = (struct pool_entry){ .used = true, .in_use = true, .fd = dup, .size = size };
			return i;
		}
	return -1;
}

static int model_register(int fd, uint64_t size, unsigned faults, int pool_slot)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errno;
	for (int i = 0; i < MAX_MODEL_BUFS; i++)
		if (!bufs[i].used) {
			bufs[i] = (struct model_buf){ .used = true, .fd = fd, .dev = st.st_dev, .ino = st.st_ino,
						      .size = size, .faults = faults, .pool_slot = pool_slot };
			__atomic_add_fetch(&live_model_bufs, 1, __ATOMIC_RELAXED);
			return 0;
		}
	return EMFILE;
}

static int model_alloc(uint64_t size, uint32_t fd_flags, unsigned faults, int *out)
{
	int memfd = -1, fd = -1, err, slot = -1;

	if (faults & FAULT_NOZERO) {
		slot = pool_take(size);
		if (slot >= 0)
			memfd = pool[slot].fd;
	}
	if (memfd < 0) {
		err = new_memfd(size, faults & FAULT_HOLES, &memfd);
		if (err)
			return err;
		if (faults & FAULT_NOZERO)
			slot = pool_add(memfd, size);
	}
	err = reopen_with_mode(memfd, fd_flags, &fd);
	if (!err && (faults & FAULT_LEAK)) {
		int leaked = fcntl(memfd, F_DUPFD_CLOEXEC, 0); /* the leak: a reference never dropped */
		if (leaked >= 0) { /* it keeps holding the heap's memory: counted (the caller holds model_lock) */
			pending_bytes += size;
			capacity_settle(size, leaked);
		}
	}
	if (!err) {
		err = model_register(fd, size, faults, slot);
		if (err)
			close(fd);
	}
	if (slot < 0 || pool[slot].fd != memfd)
		close(memfd);
	if (err) {
		if (slot >= 0)
			pool[slot].in_use = false;
		return err;
	}
	*out = fd;
	return 0;
}

/* udmabuf refuses buffers above its size_limit_mb parameter (64 MiB by
 * default) with EINVAL, a limit of udmabuf, not of the dma-heap contract:
 * larger buffers are backed by the model instead. */
static uint64_t udmabuf_size_limit(void)
{
	static uint64_t limit;
	if (!limit) {
		char text[32] = "";
		int fd = open("/sys/module/udmabuf/parameters/size_limit_mb", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
		if (fd >= 0)
			close(fd);
		limit = (n > 0 ? strtoull(text, NULL, 10) : 64) << 20;
	}
	return limit;
}

int reference_alloc(uint64_t len, uint32_t fd_in, uint32_t fd_flags, uint64_t heap_flags, unsigned faults,
		    struct reference_alloc_result *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t size;
	bool strict = !(faults & FAULT_BADFLAGS);
	int err;

	/* dma_heap_ioctl_allocate: the three EINVAL checks, in kernel order. */
	if (strict && fd_in)
		return EINVAL;
	if (strict && (fd_flags & ~(uint32_t)REF_VALID_FD_FLAGS))
		return EINVAL;
	if (strict && (heap_flags & ~REF_VALID_HEAP_FLAGS))
		return EINVAL;
	/* dma_heap_buffer_alloc: PAGE_ALIGN may wrap to 0. */
	size = (faults & FAULT_WRONGSIZE) ? len : (len + page - 1) & ~(page - 1);
	if (!size && !(faults & FAULT_ACCEPTZERO))
		return EINVAL;
	if (!size)
		size = 0; /* acceptzero: an empty buffer */
	if (size > mem_available())
		return ENOMEM;
	fd_flags &= REF_VALID_FD_FLAGS; /* badflags: the extra bits are ignored */

	pthread_mutex_lock(&model_lock);
	err = capacity_reserve(size);
	if (err) {
		pthread_mutex_unlock(&model_lock);
		return err;
	}
	if (!faults && (fd_flags & O_ACCMODE) == O_RDWR && size <= udmabuf_size_limit() && reference_has_udmabuf()) {
		int memfd;
		pthread_mutex_unlock(&model_lock);
		err = new_memfd(size, false, &memfd);
		if (!err) {
			err = to_udmabuf(memfd, size, fd_flags, &out->fd);
			close(memfd);
		}
		pthread_mutex_lock(&model_lock);
		capacity_settle(size, err ? -1 : out->fd);
		pthread_mutex_unlock(&model_lock);
		out->backing = BACKING_UDMABUF;
		return err;
	}
	err = model_alloc(size, fd_flags, faults, &out->fd);
	capacity_settle(size, err ? -1 : out->fd);
	pthread_mutex_unlock(&model_lock);
	out->backing = BACKING_MODEL;
	return err;
}

struct model_buf *reference_model_lookup(int fd)
{
	struct stat st;
	struct model_buf *found = NULL;

	if (!__atomic_load_n(&live_model_bufs, __ATOMIC_RELAXED) || fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	pthread_mutex_lock(&model_lock);
	for (int i = 0; i < MAX_MODEL_BUFS; i++)
		if (bufs[i].used && bufs[i].fd == fd && bufs[i].dev == st.st_dev && bufs[i].ino == st.st_ino) {
			found = &bufs[i];
			break;
		}
	pthread_mutex_unlock(&model_lock);
	return found;
}

void reference_model_forget(int fd)
{
	struct model_buf *b = reference_model_lookup(fd);
	if (!b)
		return;
	pthread_mutex_lock(&model_lock);
	if (b->pool_slot >= 0)
		pool[b->pool_slot].in_use = false; /* nozero: back to the pool, dirty */
	b->used = false;
	__atomic_sub_fetch(&live_model_bufs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&model_lock);
}

void reference_reset(void)
{
	pthread_mutex_lock(&model_lock);
	memset(bufs, 0, sizeof(bufs));
	__atomic_store_n(&live_model_bufs, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < MAX_POOL; i++) {
		if (pool[i].used)
			close(pool[i].fd);
		pool[i] = (struct pool_entry){ 0 };
	}
	pthread_mutex_unlock(&model_lock);
}

unsigned model_faults(const struct model_buf *b)
{
	return b->faults;
}

uint64_t model_size(const struct model_buf *b)
{
	return b->size;
}

/* dma_buf_ioctl, DMA_BUF_IOCTL_SYNC: flags outside RW|END, or neither READ
 * nor WRITE, are EINVAL. */
int model_sync(struct model_buf *b, uint64_t flags)
{
	if (b->faults & FAULT_BADSYNC)
		return 0;
	if (flags & ~(uint64_t)REF_SYNC_VALID)
		return EINVAL;
	if (!(flags & DMA_BUF_SYNC_RW))
		return EINVAL;
	return 0;
}

/* dma_buf_set_name: strndup_user(buf, DMA_BUF_NAME_LEN) fails with EINVAL
 * when the string does not fit with its NUL. */
int model_set_name(struct model_buf *b, const char *name)
{
	if (strlen(name) >= REF_NAME_LEN)
		return EINVAL;
	pthread_mutex_lock(&model_lock);
	strcpy(b->name, name);
	b->has_name = true;
	pthread_mutex_unlock(&model_lock);
	return 0;
}

/* dma_buf_mmap_internal's overflow check, and the heaps' (and udmabuf's)
 * refusal of private mappings. */
int model_mmap_check(struct model_buf *b, uint64_t len, int flags, uint64_t offset)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = (len + page - 1) / page;

	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		return EINVAL;
	if (offset % page || len == 0)
		return EINVAL;
	if (offset / page + pages > b->size / page)
		return EINVAL;
	return 0;
}

void model_fdinfo(struct model_buf *b, char *out, size_t cap)
{
	int n = snprintf(out, cap, "size:\t%llu\ncount:\t1\nexp_name:\t%s\n", (unsigned long long)b->size,
			 (b->faults & FAULT_WRONGEXP) ? "system" : DMAHEAP_REFERENCE_HEAP);
	if (b->has_name && n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "name:\t%s\n", b->name);
}
