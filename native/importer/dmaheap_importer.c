// SPDX-License-Identifier: GPL-2.0
/*
 * dmaheap_importer: a test importer for the dma-heap conformance harness.
 *
 * A device driver that imports a dma-buf attaches a device to it, maps the
 * attachment and then uses the scatterlist the exporter built. Userspace
 * never sees that table, so a heap that builds it wrong (never filled,
 * entries without pages, a table shorter than the buffer, pages other than
 * the ones its mmap shows) passes every userspace check. This module is
 * that device: /dev/dmaheap_importer takes a dma-buf fd and reports what the
 * table holds and what the bytes read through it are, against the pattern
 * userspace wrote through mmap (the agent's prng pattern, native/core/pattern.c),
 * then writes a pattern of its own for userspace to read back.
 *
 * The device is a platform device of its own with a 64-bit DMA mask and no
 * IOMMU: DMA goes direct, through swiotlb when the kernel bounces (so a
 * skipped sync shows), non-coherent on arm64 as most SoC devices are.
 *
 * Built out of tree against the kernel under test (Kbuild), or into it.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/iosys-map.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "dmaheap_importer.h"

static struct platform_device *importer_pdev;

/* native/core/pattern.c's prng pattern: word i of a buffer is
 * splitmix64(seed) + i * STEP, little-endian. */
#define STEP 0x9e3779b97f4a7c15ULL

static u64 splitmix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline u8 pattern_byte(u64 start, u64 off)
{
	return (u8)((start + (off >> 3) * STEP) >> ((off & 7) * 8));
}

struct compare {
	u64 start; /* splitmix64(seed) */
	u64 mismatches, first_mismatch;
	u8 expected, observed;
};

static void compare_bytes(struct compare *c, const u8 *mem, size_t len, u64 base)
{
	size_t i;

	for (i = 0; i < len; i++) {
		u8 want = pattern_byte(c->start, base + i);

		if (mem[i] == want)
			continue;
		if (!c->mismatches++) {
			c->first_mismatch = base + i;
			c->expected = want;
			c->observed = mem[i];
		}
	}
}

static void fill_bytes(u64 start, u8 *mem, size_t len, u64 base)
{
	size_t i;

	for (i = 0; i < len; i++)
		mem[i] = pattern_byte(start, base + i);
}

static bool page_is_memory(struct page *page)
{
	return page && pfn_valid(page_to_pfn(page));
}

/*
 * A page of the table mapped for the CPU. A carveout over a no-map
 * reserved-memory region has struct pages but no linear mapping (arm64
 * leaves MEMBLOCK_NOMAP memory out of it, virt_addr_valid says so): kmap
 * faults there, so such a page is mapped with memremap, as the exporter's
 * own CPU access has to. NULL: it could not be mapped.
 */
static u8 *map_page(struct page *page, bool *remapped)
{
	*remapped = !PageHighMem(page) && !virt_addr_valid(page_address(page));
	if (*remapped)
		return memremap(page_to_phys(page), PAGE_SIZE, MEMREMAP_WB);
	return kmap_local_page(page);
}

static void unmap_page(u8 *mem, bool remapped)
{
	if (remapped)
		memunmap(mem);
	else
		kunmap_local(mem);
}

/*
 * Every CPU entry of the table, page by page through kmap (memremap for a page out of the linear map), in table order:
 * the buffer offset of a byte is how far into the table it is. Stops at the
 * buffer's size; entries whose page is not memory are skipped (counted in
 * no_page), so checked falls short of the size.
 */
static u64 walk_pages(struct sg_table *sgt, u64 size, struct compare *c, u64 write_start, bool write)
{
	struct scatterlist *sg;
	u64 offset = 0, checked = 0;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		struct page *first = sg_page(sg);
		size_t done = 0;

		if (!page_is_memory(first)) {
			offset += sg->length;
			continue;
		}
		while (done < sg->length && offset < size) {
			size_t at = sg->offset + done;
			struct page *page = nth_page(first, at >> PAGE_SHIFT);
			size_t in = at & ~PAGE_MASK;
			size_t n = min3((size_t)(PAGE_SIZE - in), (size_t)(sg->length - done), (size_t)(size - offset));
			bool remapped;
			u8 *mem = map_page(page, &remapped);

			if (!mem) {
				/* Not checked: the caller sees checked fall short of the size. */
				done += n;
				offset += n;
				continue;
			}
			if (c)
				compare_bytes(c, mem + in, n, offset);
			if (write)
				fill_bytes(write_start, mem + in, n, offset);
			unmap_page(mem, remapped);
			done += n;
			offset += n;
			checked += n;
		}
		if (done < sg->length)
			offset += sg->length - done;
	}
	return checked;
}

/*
 * With CONFIG_DMABUF_DEBUG, dma-buf hides a mapped table's pages from
 * importers (mangle_sg_table: page_link ^= ~0xff, undone before the
 * exporter's unmap), since a driver must only use the DMA addresses. The
 * test importer looks at the pages on purpose: it undoes the mixing while it
 * holds the mapping and redoes it before the unmap. XOR: the same call both ways.
 */
static void toggle_page_mixing(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_DMABUF_DEBUG))
		return;
	for_each_sgtable_sg(sgt, sg, i)
		sg->page_link ^= ~0xffUL;
}

/* One entry's page frames: the last run grows when they follow on from it. */
static void note_run(struct dmaheap_importer_check *r, u64 pfn, u64 pages)
{
	if (r->nruns && r->nruns <= DMAHEAP_IMPORTER_MAX_RUNS &&
	    r->runs[r->nruns - 1].pfn + r->runs[r->nruns - 1].pages == pfn) {
		r->runs[r->nruns - 1].pages += pages;
		return;
	}
	if (r->nruns < DMAHEAP_IMPORTER_MAX_RUNS) {
		r->runs[r->nruns].pfn = pfn;
		r->runs[r->nruns].pages = pages;
	}
	r->nruns++;
}

static void inspect_table(struct sg_table *sgt, struct dmaheap_importer_check *r)
{
	struct scatterlist *sg;
	phys_addr_t end = 0;
	unsigned int i;

	r->nents = sgt->nents;
	r->orig_nents = sgt->orig_nents;
	r->contiguous = 1;
	for_each_sgtable_sg(sgt, sg, i) {
		struct page *page = sg_page(sg);

		r->total_len += sg->length;
		if (!page_is_memory(page)) {
			r->no_page++;
			r->contiguous = 0;
			continue;
		}
		if (i && page_to_phys(page) + sg->offset != end)
			r->contiguous = 0;
		end = page_to_phys(page) + sg->offset + sg->length;
		note_run(r, page_to_pfn(page) + (sg->offset >> PAGE_SHIFT),
			 DIV_ROUND_UP((sg->offset & ~PAGE_MASK) + sg->length, PAGE_SIZE));
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		r->dma_len += sg_dma_len(sg);
		if (!sg_dma_address(sg) || !sg_dma_len(sg))
			r->no_dma++;
	}
}

static void check_vmap(struct dma_buf *dmabuf, struct dmaheap_importer_check *r, u64 seed)
{
	struct iosys_map map;
	struct compare c = { .start = splitmix64(seed), .first_mismatch = DMAHEAP_IMPORTER_NO_MISMATCH };
	int ret = dma_buf_vmap_unlocked(dmabuf, &map);

	if (ret || map.is_iomem) {
		/* I/O memory cannot be compared byte by byte with a plain load: counted as not offered */
		r->vmap_status = DMAHEAP_IMPORTER_VMAP_REFUSED;
		r->vmap_error = ret;
		if (!ret)
			dma_buf_vunmap_unlocked(dmabuf, &map);
		return;
	}
	ret = dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE);
	compare_bytes(&c, map.vaddr, dmabuf->size, 0);
	if (!ret)
		dma_buf_end_cpu_access(dmabuf, DMA_FROM_DEVICE);
	dma_buf_vunmap_unlocked(dmabuf, &map);
	r->vmap_status = c.mismatches ? DMAHEAP_IMPORTER_VMAP_DIFFERS : DMAHEAP_IMPORTER_VMAP_AGREES;
	r->vmap_first_mismatch = c.first_mismatch;
}

static long importer_check(struct dmaheap_importer_check *r)
{
	struct device *dev = &importer_pdev->dev;
	struct compare c = { .start = splitmix64(r->read_seed), .first_mismatch = DMAHEAP_IMPORTER_NO_MISMATCH };
	bool write = r->flags & DMAHEAP_IMPORTER_WRITE;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;

	if (r->flags & ~(DMAHEAP_IMPORTER_WRITE | DMAHEAP_IMPORTER_VMAP))
		return -EINVAL;
	dmabuf = dma_buf_get(r->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	r->size = dmabuf->size;
	r->first_mismatch = DMAHEAP_IMPORTER_NO_MISMATCH;
	r->vmap_first_mismatch = DMAHEAP_IMPORTER_NO_MISMATCH;

	attach = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(attach)) {
		r->attach_error = PTR_ERR(attach);
		goto put;
	}
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR_OR_NULL(sgt)) {
		r->map_error = sgt ? PTR_ERR(sgt) : -ENOMEM;
		goto detach;
	}
	toggle_page_mixing(sgt);
	inspect_table(sgt, r);
	r->checked = walk_pages(sgt, r->size, &c, splitmix64(r->write_seed), write);
	r->mismatches = c.mismatches;
	r->first_mismatch = c.first_mismatch;
	r->expected = c.expected;
	r->observed = c.observed;
	if (write) {
		r->written = r->checked;
		/*
		 * A device writes memory, not the CPU's cache. The bytes went in
		 * through kmap, so they are pushed out to memory as they would
		 * be after a device's write; the unmap then does what the
		 * exporter does when a device is done (invalidate, or copy back
		 * from a bounce buffer).
		 */
		dma_sync_sgtable_for_device(dev, sgt, DMA_BIDIRECTIONAL);
	}
	toggle_page_mixing(sgt);
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_BIDIRECTIONAL);
detach:
	dma_buf_detach(dmabuf, attach);
	if (!r->attach_error && !r->map_error && (r->flags & DMAHEAP_IMPORTER_VMAP))
		check_vmap(dmabuf, r, write ? r->write_seed : r->read_seed);
put:
	dma_buf_put(dmabuf);
	return 0;
}

static long importer_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dmaheap_importer_check r;
	long ret;

	if (cmd != DMAHEAP_IMPORTER_IOC_CHECK)
		return -ENOTTY;
	if (copy_from_user(&r, (void __user *)arg, sizeof(r)))
		return -EFAULT;
	/* every output starts at zero whatever the caller passed */
	memset((char *)&r + offsetof(struct dmaheap_importer_check, attach_error), 0,
	       sizeof(r) - offsetof(struct dmaheap_importer_check, attach_error));
	ret = importer_check(&r);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &r, sizeof(r)) ? -EFAULT : 0;
}

static const struct file_operations importer_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = importer_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice importer_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DMAHEAP_IMPORTER_DEVICE,
	.fops = &importer_fops,
};

static int __init importer_init(void)
{
	int ret;

	importer_pdev = platform_device_register_simple("dmaheap-importer", -1, NULL, 0);
	if (IS_ERR(importer_pdev))
		return PTR_ERR(importer_pdev);
	ret = dma_coerce_mask_and_coherent(&importer_pdev->dev, DMA_BIT_MASK(64));
	/* a device that takes segments of any length, as a heap's large pages
	 * make them (DMA_API_DEBUG reports longer ones than the device says) */
	dma_set_max_seg_size(&importer_pdev->dev, UINT_MAX);
	if (!ret)
		ret = misc_register(&importer_misc);
	if (ret)
		platform_device_unregister(importer_pdev);
	return ret;
}

static void __exit importer_exit(void)
{
	misc_deregister(&importer_misc);
	platform_device_unregister(importer_pdev);
}

module_init(importer_init);
module_exit(importer_exit);
MODULE_DESCRIPTION("A test importer for dma-buf heap conformance: what a device sees of a dma-buf");
MODULE_LICENSE("GPL");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif
