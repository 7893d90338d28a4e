#define _GNU_SOURCE
#include "reference_heap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define DMAHEAP_REFERENCE_MEMFD_NAME "dmaheap-reference"

/* The same masks as include/uapi/linux/dma-heap.h. */
#define REF_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE)
#define REF_VALID_HEAP_FLAGS 0ULL

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
	int fd;

	if (dev < 0)
		return errno;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	int err = fd < 0 ? errno : 0;
	close(dev);
	if (fd < 0)
		return err;
	*out = fd;
	return 0;
}

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

int reference_alloc(uint64_t len, uint32_t fd_in, uint32_t fd_flags, uint64_t heap_flags,
		    struct reference_alloc_result *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t size;
	int memfd, err;

	/* dma_heap_ioctl_allocate: the three EINVAL checks, in kernel order. */
	if (fd_in)
		return EINVAL;
	if (fd_flags & ~(uint32_t)REF_VALID_FD_FLAGS)
		return EINVAL;
	if (heap_flags & ~REF_VALID_HEAP_FLAGS)
		return EINVAL;
	/* dma_heap_buffer_alloc: PAGE_ALIGN may wrap to 0. */
	size = (len + page - 1) & ~(page - 1);
	if (!size)
		return EINVAL;

	/* A deliberate bound the upstream system heap lacks: the memfd's tmpfs
	 * has no size limit, so allocating beyond what is available would wake
	 * the OOM killer on whatever machine runs the reference heap. Refuse it
	 * as a heap refuses memory it does not have. */
	if (size > mem_available())
		return ENOMEM;

	memfd = memfd_create(DMAHEAP_REFERENCE_MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		return errno;
	/* Allocate every page now: a heap fails an allocation it cannot back. */
	if (fallocate(memfd, 0, 0, (off_t)size) < 0) {
		err = (errno == ENOSPC || errno == EFBIG) ? ENOMEM : errno;
		goto out;
	}
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = errno;
		goto out;
	}
	if ((fd_flags & O_ACCMODE) == O_RDWR && reference_has_udmabuf()) {
		err = to_udmabuf(memfd, size, fd_flags, &out->fd);
		out->backing = BACKING_UDMABUF;
	} else {
		err = reopen_with_mode(memfd, fd_flags, &out->fd);
		out->backing = BACKING_MEMFD;
	}
out:
	close(memfd);
	return err;
}
