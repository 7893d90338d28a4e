/* Where a buffer lives in physical memory, for the heap property probes:
 * the page frame numbers behind a mapping (from /proc/self/pagemap) and the
 * boot-time kernel log lines that place CMA areas. */
#define _GNU_SOURCE
#include "buffer.h"
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs of consecutive PFNs, "<first pfn hex>+<count>" separated by spaces,
 * in the order the pages were added. */
struct pfn_runs {
	struct jbuf text;
	uint64_t start, len, count;
};

static void runs_flush(struct pfn_runs *r)
{
	char item[48];
	if (!r->len)
		return;
	snprintf(item, sizeof(item), "%s%" PRIx64 "+%" PRIu64, r->text.len ? " " : "", r->start, r->len);
	jb_raw(&r->text, item);
	r->len = 0;
}

static void runs_add(struct pfn_runs *r, uint64_t pfn, uint64_t count)
{
	r->count += count;
	if (r->len && pfn == r->start + r->len) {
		r->len += count;
		return;
	}
	runs_flush(r);
	r->start = pfn;
	r->len = count;
}

/* Answers the runs under `key` (ENOMEM if they ran out of memory) and frees them. */
static void runs_answer(struct pfn_runs *runs, struct request *r, const char *key)
{
	runs_flush(runs);
	answer_text(r, key, &runs->text);
}

#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

/* Runs in a forked child: a mapping that faults (SIGBUS on a heap that
 * cannot be read by the CPU) kills the child, not the agent. Every page is
 * read once first, because heaps that map lazily (the CMA heap inserts PFNs
 * in its fault handler) have no PTE, hence no PFN, until then. */
static void pagemap_child(const struct map_slot *m, size_t page, int out)
{
	size_t pages = (m->len + page - 1) / page;
	uint64_t entries[512];
	int fd;

	/* A fault here must end the child as that signal, as in op_probe: not
	 * run a handler inherited from the parent (the fault guard's chain,
	 * Node's, a sanitizer's) that would report it as a crash of its own. */
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
	for (size_t i = 0; i < pages; i++)
		(void)*(volatile uint8_t *)(m->addr + i * page);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(100 + (errno & 0x7f));
	for (size_t i = 0; i < pages; i += 512) {
		size_t n = pages - i < 512 ? pages - i : 512;
		off_t at = (off_t)(((uintptr_t)m->addr / page + i) * sizeof(uint64_t));
		if (pread(fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t)))
			_exit(100 + (errno & 0x7f));
		if (write(out, entries, n * sizeof(uint64_t)) != (ssize_t)(n * sizeof(uint64_t)))
			_exit(99);
	}
	_exit(0);
}

/* The physical pages behind a mapping as runs of consecutive PFNs,
 * "<first pfn hex>+<count>" separated by spaces, in the mapping's order. */
void op_pagemap(struct request *r)
{
	struct map_slot *m = get_map(r);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int pipefd[2], status;
	pid_t pid;
	struct pfn_runs runs = { 0 };
	uint64_t entry, present = 0, pages = 0, nonzero = 0;

	if (!m || r->error)
		return;
	pid = fork_reporting(r, pipefd);
	if (pid < 0)
		return;
	if (pid == 0)
		pagemap_child(m, page, pipefd[1]);
	jb_init(&runs.text);
	/* Entries are 8 bytes and written whole; a pipe read may split them. */
	uint8_t buf[4096];
	size_t have = 0;
	ssize_t n;
	while ((n = read(pipefd[0], buf + have, sizeof(buf) - have)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		have += (size_t)n;
		size_t whole = have / 8 * 8;
		for (size_t i = 0; i < whole; i += 8) {
			memcpy(&entry, buf + i, 8);
			pages++;
			if (!(entry & PM_PRESENT)) {
				runs_flush(&runs); /* a hole breaks any run */
				continue;
			}
			present++;
			if (entry & PM_PFN_MASK)
				nonzero++;
			runs_add(&runs, entry & PM_PFN_MASK, 1);
		}
		memmove(buf, buf + whole, have - whole);
		have -= whole;
	}
	close(pipefd[0]);
	int werr = wait_child(pid, &status);
	if (werr) {
		r->err = werr;
		free(runs.text.data);
		return;
	}
	if (WIFSIGNALED(status)) {
		char sig[32];
		snprintf(sig, sizeof(sig), "SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
		jb_str(r->out, "signal", sig);
	} else if (WEXITSTATUS(status) >= 100) {
		r->err = WEXITSTATUS(status) - 100;
		free(runs.text.data);
		return;
	}
	jb_u64(r->out, "pages", pages);
	jb_u64(r->out, "present", present);
	/* Without CAP_SYS_ADMIN the kernel reports present pages with PFN 0. */
	jb_bool(r->out, "pfns_hidden", present > 0 && nonzero == 0);
	runs_answer(&runs, r, "runs");
}

#define TRACING "/sys/kernel/tracing"

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_text_file(path, text);
}

/* A private trace instance recording this process's page allocations and
 * CMA allocations; 0 or errno (tracefs absent: the kernel has no tracing). */
static int trace_start(char *inst, size_t size)
{
	char pid[24];
	int err;
	/* Never mounted here: on a board or a workstation that is not ours to
	 * change; the QEMU guests' init mounts it. */
	if (access(TRACING "/instances", F_OK) != 0)
		return errno;
	snprintf(inst, size, TRACING "/instances/dmaheap-%d", (int)getpid());
	if (mkdir(inst, 0700) != 0 && errno != EEXIST)
		return errno;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if ((err = write_text(inst, "set_event_pid", pid)) || (err = write_text(inst, "events/kmem/mm_page_alloc/enable", "1")))
		return err;
	(void)write_text(inst, "events/cma/cma_alloc_finish/enable", "1"); /* only with CONFIG_CMA */
	return write_text(inst, "tracing_on", "1");
}

static void trace_stop(const char *inst)
{
	(void)write_text(inst, "tracing_on", "0");
	(void)write_text(inst, "events/kmem/mm_page_alloc/enable", "0");
	(void)write_text(inst, "events/cma/cma_alloc_finish/enable", "0");
}

static uint64_t field_hex(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p ? strtoull(p + strlen(key), NULL, 16) : UINT64_MAX;
}

static uint64_t field_dec(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : UINT64_MAX;
}

/* ALLOC with the page allocator and CMA traced: the page frames the buffer
 * got, in allocation order (the order the system heap and udmabuf lay them
 * out in). A CMA allocation is one event with its PFN and count; its
 * migrations allocate pages too, so when CMA answered, only CMA counts.
 * Page allocations count when their GFP flags are a user page's
 * (GFP_HIGHUSER*, or __GFP_HIGHMEM where the system heap masks the reclaim
 * bits off and the name no longer applies): page tables and slab pages for
 * the sg table are not. */
void op_alloc_traced(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	struct alloc_args a;
	struct alloc_out o;
	char inst[128], line[1024];
	struct pfn_runs cma = { 0 }, pages = { 0 };
	uint64_t events = 0;
	bool lost = false;
	FILE *f;
	int err;

	if (!get_alloc_args(r, &a) || !h)
		return;
	inst[0] = '\0';
	err = trace_start(inst, sizeof(inst));
	if (err) {
		/* No tracing here: the ALLOC still happens, reported untraced. */
		if (inst[0]) {
			trace_stop(inst);
			rmdir(inst);
		}
		r->err = heap_alloc(h, &a, &o);
		if (r->err)
			return;
		jb_i64(r->out, "fd", o.fd);
		jb_str(r->out, "source", "unavailable");
		jb_str(r->out, "trace_errno", strerrorname_np(err) ?: "E?");
		if (r->out->failed)
			buf_close(o.fd);
		return;
	}
	r->err = heap_alloc(h, &a, &o);
	trace_stop(inst);
	if (r->err) {
		rmdir(inst);
		return;
	}
	jb_i64(r->out, "fd", o.fd);
	f = fopen(strcat(strcpy(line, inst), "/trace"), "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			lost |= strstr(line, "LOST") != NULL;
			continue;
		}
		if (strstr(line, "cma_alloc_finish:")) {
			uint64_t pfn = field_hex(line, "pfn=0x"), count = field_dec(line, "count=");
			if (pfn != UINT64_MAX && count != UINT64_MAX && field_dec(line, "errorno=") == 0)
				runs_add(&cma, pfn, count);
			events++;
		} else if (strstr(line, "mm_page_alloc:") && (strstr(line, "HIGHUSER") || strstr(line, "__GFP_HIGHMEM"))) {
			uint64_t pfn = field_hex(line, "pfn=0x"), order = field_dec(line, "order=");
			if (pfn != UINT64_MAX && order < 64)
				runs_add(&pages, pfn, 1ULL << order);
			events++;
		} else if (strstr(line, "LOST")) {
			lost = true;
		}
	}
	if (f)
		fclose(f);
	rmdir(inst);
	jb_u64(r->out, "events", events);
	jb_bool(r->out, "lost", lost);
	jb_str(r->out, "source", cma.count ? "cma" : pages.count ? "page allocator" : "none");
	jb_u64(r->out, "traced_pages", cma.count ? cma.count : pages.count);
	runs_answer(cma.count ? &cma : &pages, r, "runs");
	free(cma.text.data);
	free(pages.text.data);
	if (r->err || r->out->failed)
		buf_close(o.fd); /* the answer cannot carry the fd: nobody else would close it */
}

/* The whole kernel log still in the ring buffer (a fresh /dev/kmsg reader
 * starts at the oldest record), only the lines containing `match`. */
void op_klog(struct request *r)
{
	const char *match = get_str(r, "match");
	struct jbuf text;
	int fd;

	if (r->error)
		return;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	jb_init(&text);
	kmsg_read_messages(fd, &text, match);
	close(fd);
	answer_text(r, "text", &text);
}
