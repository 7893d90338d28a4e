/* What a device sees of a buffer: the test importer's report
 * (native/importer/dmaheap_importer.c, /dev/dmaheap_importer), one ioctl
 * that attaches, maps and reads the buffer in the kernel. The ABI header is
 * shared with the module. */
#define _GNU_SOURCE
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../importer/dmaheap_importer.h"

static const char *vmap_name(uint32_t s)
{
	switch (s) {
	case DMAHEAP_IMPORTER_VMAP_AGREES: return "agrees";
	case DMAHEAP_IMPORTER_VMAP_DIFFERS: return "differs";
	case DMAHEAP_IMPORTER_VMAP_REFUSED: return "refused";
	default: return "not_asked";
	}
}

/* ENOENT when the target has no test importer (the module is not loaded). */
void op_importer_check(struct request *r)
{
	struct dmaheap_importer_check c = { 0 };
	int fd = get_fd(r, "fd");
	bool write = get_bool_opt(r, "write", false);
	bool vmap = get_bool_opt(r, "vmap", false);
	int dev;

	c.read_seed = get_u64(r, "read_seed");
	c.write_seed = get_u64_opt(r, "write_seed", 0);
	if (r->error)
		return;
	c.fd = fd;
	c.flags = (write ? DMAHEAP_IMPORTER_WRITE : 0) | (vmap ? DMAHEAP_IMPORTER_VMAP : 0);
	dev = open("/dev/" DMAHEAP_IMPORTER_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		r->err = errno;
		return;
	}
	if (ioctl(dev, DMAHEAP_IMPORTER_IOC_CHECK, &c) < 0) {
		r->err = errno;
		close(dev);
		return;
	}
	close(dev);
	jb_str(r->out, "attach_error", errno_or_none(-c.attach_error));
	jb_str(r->out, "map_error", errno_or_none(-c.map_error));
	jb_u64(r->out, "size", c.size);
	jb_u64(r->out, "nents", c.nents);
	jb_u64(r->out, "orig_nents", c.orig_nents);
	jb_u64(r->out, "total_len", c.total_len);
	jb_u64(r->out, "dma_len", c.dma_len);
	jb_u64(r->out, "no_page", c.no_page);
	jb_u64(r->out, "no_dma", c.no_dma);
	jb_bool(r->out, "contiguous", c.contiguous != 0);
	jb_u64(r->out, "checked", c.checked);
	jb_u64(r->out, "mismatches", c.mismatches);
	if (c.mismatches) {
		jb_u64(r->out, "first_bad", c.first_mismatch);
		jb_u64(r->out, "expected", c.expected);
		jb_u64(r->out, "observed", c.observed);
	}
	jb_u64(r->out, "written", c.written);
	jb_str(r->out, "vmap", vmap_name(c.vmap_status));
	jb_str(r->out, "vmap_error", errno_or_none(-c.vmap_error));
	if (c.vmap_status == DMAHEAP_IMPORTER_VMAP_DIFFERS)
		jb_u64(r->out, "vmap_first_bad", c.vmap_first_mismatch);
	/* "pfn+pages ..." in hex pfns, as the pagemap op writes its runs */
	{
		char runs[DMAHEAP_IMPORTER_MAX_RUNS * 40 + 1];
		size_t at = 0;
		uint32_t kept = c.nruns < DMAHEAP_IMPORTER_MAX_RUNS ? c.nruns : DMAHEAP_IMPORTER_MAX_RUNS;

		runs[0] = 0;
		for (uint32_t i = 0; i < kept; i++)
			at += (size_t)snprintf(runs + at, sizeof(runs) - at, "%s%llx+%llu", i ? " " : "",
					       (unsigned long long)c.runs[i].pfn, (unsigned long long)c.runs[i].pages);
		jb_str(r->out, "runs", runs);
		jb_u64(r->out, "nruns", c.nruns);
	}
}
