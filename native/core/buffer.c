#define _GNU_SOURCE
#include "buffer.h"
#include "reference_heap.h"

#include <errno.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_ALLOC_STRUCT 128 /* dma_heap_ioctl() switches to kmalloc above this */

/* DMA_HEAP_IOCTL_ALLOC with a caller-chosen struct size and ioctl nr, the
 * way old and new userspace call it: dma_heap_ioctl() copies in
 * min(size, 24) bytes, zero-fills the rest, and copies `size` bytes back. */
static int kernel_alloc(const struct heap_slot *h, const struct alloc_args *a, struct alloc_out *o)
{
	uint64_t data[MAX_ALLOC_STRUCT / 8];
	unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, DMA_HEAP_IOC_MAGIC, a->nr, a->struct_size);
	struct dma_heap_allocation_data *d = (struct dma_heap_allocation_data *)data;
	uint64_t t0;
	int ret;

	memset(data, 0, a->struct_size);
	d->len = a->len;
	d->fd = a->fd_in;
	d->fd_flags = a->fd_flags;
	if (a->struct_size >= sizeof(*d))
		d->heap_flags = a->heap_flags;
	for (unsigned i = 3; i < a->struct_size / 8; i++)
		data[i] = a->trailing;
	t0 = a->untimed ? 0 : now_ns();
	ret = ioctl(h->fd, cmd, data);
	o->ns = a->untimed ? 0 : now_ns() - t0;
	if (ret < 0)
		return errno;
	o->fd = (int)d->fd;
	o->backing = NULL;
	/* Bytes past 24 must come back unchanged. */
	o->trailing_intact = 1;
	for (unsigned i = 3; i < a->struct_size / 8; i++)
		if (data[i] != a->trailing)
			o->trailing_intact = 0;
	return 0;
}

int heap_alloc(const struct heap_slot *h, const struct alloc_args *a, struct alloc_out *o)
{
	struct reference_alloc_result res;
	uint64_t t0;
	int err;

	if (!h->reference)
		return kernel_alloc(h, a, o);
	/* The reference answers an unknown ioctl nr like dma_heap_ioctl(). */
	if (a->nr >= 1)
		return EINVAL;
	t0 = now_ns();
	err = reference_alloc(a->len, a->fd_in, a->fd_flags, a->struct_size >= 24 ? a->heap_flags : 0, h->faults,
			      &res);
	o->ns = now_ns() - t0;
	if (err)
		return err;
	o->fd = res.fd;
	o->backing = res.backing == BACKING_UDMABUF ? "udmabuf" : "model";
	o->trailing_intact = -1;
	return 0;
}

int buf_sync(int fd, uint64_t flags)
{
	struct model_buf *b = reference_model_lookup(fd);
	struct dma_buf_sync s = { .flags = flags };

	if (b)
		return model_sync(b, flags);
	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 ? errno : 0;
}

int buf_close(int fd)
{
	reference_model_forget(fd);
	return close(fd) < 0 ? errno : 0;
}
