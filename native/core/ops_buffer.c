/* The single-call ops: heaps, buffers, mappings, dma-buf ioctls. Each reads
 * its fields, makes its syscall, and writes its result fields; a failed
 * syscall sets r->err and writes nothing. */
#define _GNU_SOURCE
#include "buffer.h"
#include "dmaheap.h"
#include "fault_guard.h"
#include "ops.h"
#include "reference_heap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

void op_hello(struct request *r)
{
	struct utsname u;
	uname(&u);
	jb_u64(r->out, "protocol", DMAHEAP_PROTOCOL_VERSION);
	jb_str(r->out, "agent", DMAHEAP_AGENT_VERSION);
	jb_str(r->out, "sysname", u.sysname);
	jb_str(r->out, "machine", u.machine);
	jb_str(r->out, "release", u.release);
	jb_u64(r->out, "page_size", (uint64_t)sysconf(_SC_PAGESIZE));
	jb_str(r->out, "reference_heap", DMAHEAP_REFERENCE_HEAP);
	jb_bool(r->out, "udmabuf", reference_has_udmabuf());
	jb_bool(r->out, "dma_heap_dir", access("/dev/dma_heap", F_OK) == 0);
	jb_i64(r->out, "pid", getpid());
	/* O_CLOEXEC differs on some architectures; the flag suites need it. */
	jb_u64(r->out, "o_cloexec", O_CLOEXEC);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every heap node, sorted; no /dev/dma_heap is an empty list. */
void op_list_heaps(struct request *r)
{
	DIR *d = opendir("/dev/dma_heap");
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t more = cap ? cap * 2 : 16;
			char **grown = realloc(names, more * sizeof(*names));
			if (!grown) {
				r->err = ENOMEM;
				break;
			}
			names = grown;
			cap = more;
		}
		if (!(names[n] = strdup(e->d_name))) {
			r->err = ENOMEM;
			break;
		}
		n++;
	}
	if (d)
		closedir(d);
	if (!r->err) {
		if (n) /* qsort must not be given NULL, even for nothing */
			qsort(names, n, sizeof(names[0]), cmp_str);
		jb_key(r->out, "heaps");
		jb_raw(r->out, "[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				jb_raw(r->out, ",");
			jb_str_value(r->out, names[i], strlen(names[i]));
		}
		jb_raw(r->out, "]");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void op_heap_open(struct request *r)
{
	const char *name = get_str(r, "name");
	uint64_t flags = get_flags(r, "flags", open_flag_names, O_RDWR | O_CLOEXEC);
	int slot = -1, fd = -1;
	unsigned faults = 0;
	bool reference;

	if (r->error)
		return;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		bad_field(r, "name", "not a heap name");
		return;
	}
	slot = free_heap_slot(r);
	if (slot < 0)
		return;
	reference = !strncmp(name, DMAHEAP_REFERENCE_HEAP, strlen(DMAHEAP_REFERENCE_HEAP));
	if (reference && reference_parse_name(name, &faults) < 0) {
		bad_field(r, "name", "unknown reference heap fault");
		return;
	}
	if (!reference) {
		char path[300];
		snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
		fd = open(path, (int)flags, 0); /* a mode, in case the flags hold O_CREAT */
		if (fd < 0) {
			r->err = errno;
			return;
		}
	}
	jb_u64(r->out, "heap", (uint64_t)slot + 1);
	jb_i64(r->out, "fd", fd);
	if (reference)
		jb_u64(r->out, "capacity", REFERENCE_CAPACITY_BYTES);
	if (r->out->failed) { /* no answer to carry the handle: take nothing */
		if (fd >= 0)
			close(fd);
		return;
	}
	heaps[slot] = (struct heap_slot){ .used = true, .reference = reference, .faults = faults, .fd = fd };
}

void op_heap_close(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	if (!h)
		return;
	if (h->fd >= 0 && close(h->fd) < 0)
		r->err = errno;
	h->used = false;
}

/* Reads the ALLOC fields shared by alloc and the native loops. */
bool get_alloc_args(struct request *r, struct alloc_args *a)
{
	uint64_t struct_size = get_u64_opt(r, "struct_size", 24);
	uint64_t fd_in = get_u64_opt(r, "fd_in", 0);
	uint64_t fd_flags = get_flags(r, "fd_flags", open_flag_names, O_RDWR | O_CLOEXEC);
	uint64_t nr = get_u64_opt(r, "nr", 0);

	a->len = get_u64(r, "len");
	a->heap_flags = get_u64_opt(r, "heap_flags", 0);
	a->trailing = get_u64_opt(r, "trailing", 0);
	if (struct_size < 16 || struct_size > 128 || struct_size % 8)
		bad_field(r, "struct_size", "must be a multiple of 8 from 16 to 128");
	if (fd_in > UINT32_MAX)
		bad_field(r, "fd_in", "must fit in 32 bits");
	if (fd_flags > UINT32_MAX)
		bad_field(r, "fd_flags", "must fit in 32 bits");
	if (nr > 255)
		bad_field(r, "nr", "must be 0..255");
	a->struct_size = (unsigned)struct_size;
	a->fd_in = (uint32_t)fd_in;
	a->fd_flags = (uint32_t)fd_flags;
	a->nr = (unsigned)nr;
	return !r->error;
}

void op_alloc(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	struct alloc_args a;
	struct alloc_out o;

	if (!get_alloc_args(r, &a) || !h)
		return;
	r->err = heap_alloc(h, &a, &o);
	if (r->err)
		return;
	jb_i64(r->out, "fd", o.fd);
	jb_u64(r->out, "ns", o.ns);
	if (o.backing)
		jb_str(r->out, "backing", o.backing);
	if (o.trailing_intact >= 0)
		jb_bool(r->out, "trailing_intact", o.trailing_intact);
	if (r->out->failed)
		buf_close(o.fd); /* the answer cannot carry the fd: nobody else would close it */
}

void op_buf_size(struct request *r)
{
	int fd = get_fd(r, "fd");
	struct model_buf *b;
	off_t size;
	if (r->error)
		return;
	/* A dma-buf's size is fixed at export (dma_buf_llseek answers
	 * dmabuf->size); a model buffer's memfd may be shorter (holes). */
	b = reference_model_lookup(fd);
	if (b) {
		jb_u64(r->out, "size", model_size(b));
		return;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		r->err = errno;
		return;
	}
	jb_u64(r->out, "size", (uint64_t)size);
	/* SEEK_SET 0 is the only other seek a dma-buf allows; restore it. */
	lseek(fd, 0, SEEK_SET);
}

void op_fdinfo(struct request *r)
{
	int fd = get_fd(r, "fd");
	char path[64];
	struct model_buf *b;
	if (r->error)
		return;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	b = reference_model_lookup(fd);
	if (!b) {
		r->err = read_text_file(path, r->out, "text");
		return;
	}
	/* A model buffer: the memfd's own lines, then the dma-buf lines the
	 * model owes (dma_buf_show_fdinfo). */
	struct jbuf tmp;
	jb_init(&tmp);
	char real[4096], model[256];
	int f = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = f < 0 ? -1 : read(f, real, sizeof(real) - 1);
	if (f >= 0)
		close(f);
	if (n < 0) {
		r->err = errno;
		free(tmp.data);
		return;
	}
	real[n] = '\0';
	model_fdinfo(b, model, sizeof(model));
	jb_raw(&tmp, real);
	jb_raw(&tmp, model);
	answer_text(r, "text", &tmp);
}

void op_fd_flags(struct request *r)
{
	int fd = get_fd(r, "fd");
	int fdf, fl;
	if (r->error)
		return;
	fdf = fcntl(fd, F_GETFD);
	fl = fcntl(fd, F_GETFL);
	if (fdf < 0 || fl < 0) {
		r->err = errno;
		return;
	}
	jb_bool(r->out, "cloexec", fdf & FD_CLOEXEC);
	jb_str(r->out, "accmode",
	       (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY"
	       : (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
	       : (fl & O_ACCMODE) == O_RDWR ? "O_RDWR"
					     : "O_ACCMODE");
}

void op_close(struct request *r)
{
	int fd = get_fd(r, "fd");
	if (r->error)
		return;
	r->err = buf_close(fd);
}

/* Every mapping is followed by a PROT_NONE guard page, so a touch one byte
 * past its end always faults (SIGSEGV) instead of landing in a neighbour. */
void op_mmap(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t len = get_u64(r, "len");
	uint64_t prot = get_flags(r, "prot", prot_flag_names, PROT_READ | PROT_WRITE);
	uint64_t flags = get_flags(r, "flags", map_flag_names, MAP_SHARED);
	uint64_t offset = get_u64_opt(r, "offset", 0);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct model_buf *b;
	int slot = -1;
	uint8_t *reserve, *p;

	if (r->error)
		return;
	slot = free_map_slot(r);
	if (slot < 0)
		return;
	if (flags & MAP_FIXED) {
		bad_field(r, "flags", "MAP_FIXED is not allowed");
		return;
	}
	if (len == 0 || len > SIZE_MAX - 2 * page) {
		r->err = EINVAL; /* what mmap itself answers for a zero length */
		return;
	}
	b = reference_model_lookup(fd);
	if (b) {
		r->err = model_mmap_check(b, len, (int)flags, offset);
		if (r->err)
			return;
		if (model_faults(b) & FAULT_IGNOREOFFSET)
			offset = 0;
	}
	size_t span = ((size_t)len + page - 1) / page * page;
	reserve = mmap(NULL, span + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED) {
		r->err = errno;
		return;
	}
	p = mmap(reserve, (size_t)len, (int)prot, (int)flags | MAP_FIXED, fd, (off_t)offset);
	if (p == MAP_FAILED) {
		r->err = errno;
		munmap(reserve, span + page);
		return;
	}
	maps[slot] = (struct map_slot){ .used = true, .model = b != NULL, .addr = p, .len = (size_t)len,
					.guard = reserve + span };
	jb_u64(r->out, "map", (uint64_t)slot + 1);
	if (r->out->failed)
		map_slot_release(&maps[slot]);
}

void op_munmap(struct request *r)
{
	struct map_slot *m = get_map(r);
	if (!m)
		return;
	r->err = map_slot_release(m);
}

void op_mremap(struct request *r)
{
	struct map_slot *m = get_map(r);
	uint64_t new_len = get_u64(r, "new_len");
	bool may_move = get_bool_opt(r, "may_move", true);
	void *p;
	if (!m || r->error)
		return;
	/* A model buffer's mapping cannot grow, like a VM_DONTEXPAND one. */
	if (m->model && new_len > m->len) {
		r->err = EFAULT;
		return;
	}
	p = mremap(m->addr, m->len, (size_t)new_len, may_move ? MREMAP_MAYMOVE : 0);
	if (p == MAP_FAILED) {
		r->err = errno;
		return;
	}
	m->addr = p;
	m->len = (size_t)new_len;
}

/* The fields fill and verify share: a mapping, a range in it, the buffer
 * offset of the mapping (base) and the pattern. */
static struct map_slot *get_pattern_request(struct request *r, uint64_t *off, uint64_t *len, uint64_t *base,
					    struct pattern *p)
{
	struct map_slot *m = get_map(r);
	if (!m || !get_range(r, m, off, len) || !get_pattern(r, p))
		return NULL;
	*base = get_u64_opt(r, "base", 0);
	return r->error ? NULL : m;
}

/* fill and verify run through the fault guard: a buffer with pages that
 * cannot be faulted in fails the op with the page, instead of killing us. */
struct pattern_job {
	uint8_t *mem;
	size_t len;
	uint64_t base;
	const struct pattern *p;
	struct verify_result *v; /* NULL: fill */
};

static void pattern_touch(void *arg)
{
	struct pattern_job *j = arg;
	if (j->v)
		pattern_verify(j->mem, j->len, j->base, j->p, j->v);
	else
		pattern_fill(j->mem, j->len, j->base, j->p);
}

static bool pattern_guarded(struct request *r, struct map_slot *m, struct pattern_job *j)
{
	struct fault_report f;
	if (!fault_guard_run(m->addr, m->len, pattern_touch, j, &f))
		return true;
	fault_fail(r, &f, NULL);
	return false;
}

void op_fill(struct request *r)
{
	struct pattern p;
	uint64_t off, len, base, t0;
	struct map_slot *m = get_pattern_request(r, &off, &len, &base, &p);
	if (!m)
		return;
	struct pattern_job j = { .mem = m->addr + off, .len = (size_t)len, .base = base + off, .p = &p };
	t0 = now_ns();
	if (pattern_guarded(r, m, &j))
		jb_u64(r->out, "ns", now_ns() - t0);
}

void op_verify(struct request *r)
{
	struct pattern p;
	struct verify_result v;
	uint64_t off, len, base, t0;
	struct map_slot *m = get_pattern_request(r, &off, &len, &base, &p);
	if (!m)
		return;
	struct pattern_job j = { .mem = m->addr + off, .len = (size_t)len, .base = base + off, .p = &p, .v = &v };
	t0 = now_ns();
	if (!pattern_guarded(r, m, &j))
		return;
	jb_u64(r->out, "ns", now_ns() - t0);
	jb_u64(r->out, "checked", len);
	jb_u64(r->out, "mismatches", v.mismatches);
	if (v.mismatches) {
		jb_u64(r->out, "first_bad", off + v.first_bad);
		jb_u64(r->out, "expected", v.expected);
		jb_u64(r->out, "observed", v.observed);
	}
}

void op_sync(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t flags = get_flags(r, "flags", sync_flag_names, 0);
	if (r->error)
		return;
	r->err = buf_sync(fd, flags);
}

/* DMA_BUF_SET_NAME_A (u32 size) or _B (u64 size): both are the same call. */
void op_set_name(struct request *r)
{
	int fd = get_fd(r, "fd");
	const char *name = get_str(r, "name");
	const char *variant = get_str_opt(r, "variant", "B");
	struct model_buf *b;
	unsigned long cmd;
	if (r->error)
		return;
	if (!strcmp(variant, "A"))
		cmd = DMA_BUF_SET_NAME_A;
	else if (!strcmp(variant, "B"))
		cmd = DMA_BUF_SET_NAME_B;
	else {
		bad_field(r, "variant", "expected \"A\" or \"B\"");
		return;
	}
	b = reference_model_lookup(fd);
	if (b)
		r->err = model_set_name(b, name);
	else if (ioctl(fd, cmd, name) < 0)
		r->err = errno;
}

/* Any ioctl number with a zeroed argument buffer: unknown commands. The
 * buffer is as large as any size an ioctl number can encode (_IOC_SIZE is
 * 14 bits), so a driver that copies that much back stays inside it. */
void op_ioctl_raw(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t cmd = get_u64(r, "cmd");
	static uint8_t arg[1 << 14]; /* used under the dispatch lock */
	int ret;
	if (r->error)
		return;
	if (cmd > UINT32_MAX) {
		bad_field(r, "cmd", "must fit in 32 bits");
		return;
	}
	memset(arg, 0, sizeof(arg));
	ret = ioctl(fd, (unsigned long)cmd, arg);
	if (ret < 0)
		r->err = errno;
	else
		jb_i64(r->out, "ret", ret);
}

void op_export_sync_file(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t flags = get_flags(r, "flags", sync_flag_names, DMA_BUF_SYNC_RW);
	struct dma_buf_export_sync_file e = { .flags = (uint32_t)flags, .fd = -1 };
	if (r->error)
		return;
	if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) < 0) {
		r->err = errno;
		return;
	}
	jb_i64(r->out, "sync_fd", e.fd);
	if (r->out->failed)
		close(e.fd);
}

void op_import_sync_file(struct request *r)
{
	int fd = get_fd(r, "fd");
	int64_t sync_fd = get_i64(r, "sync_fd");
	uint64_t flags = get_flags(r, "flags", sync_flag_names, DMA_BUF_SYNC_RW);
	struct dma_buf_import_sync_file i = { .flags = (uint32_t)flags, .fd = (int32_t)sync_fd };
	if (r->error)
		return;
	if (ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i) < 0)
		r->err = errno;
}

static const char *signal_name(int sig)
{
	const char *n = sigabbrev_np(sig);
	static __thread char buf[16];
	snprintf(buf, sizeof(buf), "SIG%s", n ? n : "?");
	return buf;
}

/* The probe's touch, raw: its address may be anywhere (past the end of the
 * mapping is the point) and only the kernel's answer counts, so neither a
 * sanitizer's check (the fuzz build) nor pointer arithmetic that could wrap
 * stands in front of it. */
__attribute__((no_sanitize("address", "undefined"), noinline))
static uint8_t probe_touch(uintptr_t addr, bool do_write)
{
	volatile uint8_t *p = (volatile uint8_t *)addr;
	if (do_write)
		*p = 0xa5;
	return *p;
}

/* Touch one byte of a mapping from a forked child: a fault there (SIGBUS past
 * the end of a buffer) kills the child, never the agent or Node. The child
 * has an alarm so a fault that never resolves ends as SIGALRM. */
void op_probe(struct request *r)
{
	struct map_slot *m = get_map(r);
	uint64_t off = get_u64(r, "offset");
	bool do_write = !strcmp(get_str_opt(r, "access", "read"), "write");
	uint64_t timeout_s = get_u64_opt(r, "timeout_s", 5);
	int pipefd[2], status;
	pid_t pid;
	uint8_t value = 0;

	if (!m || r->error)
		return;
	/* alarm(0) would mean no alarm at all: a touch that never resolves
	 * would then hang the agent. */
	if (timeout_s < 1 || timeout_s > 3600) {
		bad_field(r, "timeout_s", "must be 1..3600");
		return;
	}
	pid = fork_reporting(r, pipefd);
	if (pid < 0)
		return;
	if (pid == 0) {
		uint8_t v;
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		alarm((unsigned)timeout_s);
		v = probe_touch((uintptr_t)m->addr + off, do_write);
		if (write(pipefd[1], &v, 1) != 1)
			_exit(2);
		_exit(0);
	}
	int werr = wait_child(pid, &status);
	bool got = read(pipefd[0], &value, 1) == 1;
	close(pipefd[0]);
	if (werr) {
		r->err = werr;
		return;
	}
	if (WIFSIGNALED(status)) {
		jb_str(r->out, "signal", signal_name(WTERMSIG(status)));
		jb_i64(r->out, "signum", WTERMSIG(status));
	} else {
		jb_null(r->out, "signal");
		if (got)
			jb_u64(r->out, "value", value);
	}
}

void op_meminfo(struct request *r)
{
	r->err = read_text_file("/proc/meminfo", r->out, "text");
}

/* Reads a file under /proc or /sys (cmdline, tainted, sysfs stats). */
void op_read_file(struct request *r)
{
	const char *path = get_str(r, "path");
	if (r->error)
		return;
	if ((strncmp(path, "/proc/", 6) && strncmp(path, "/sys/", 5)) || strstr(path, "..")) {
		bad_field(r, "path", "only files under /proc and /sys can be read");
		return;
	}
	r->err = read_text_file(path, r->out, "text");
}

/*
 * kmemleak (CONFIG_DEBUG_KMEMLEAK, in debugfs): "scan" finds the objects
 * unreferenced now (those older than 5 s), the file lists those not yet
 * cleared, "clear" keeps them from being listed again, so each call
 * returns what is new since the last. ENOENT: no kmemleak here.
 */
void op_kmemleak(struct request *r)
{
	static const char path[] = "/sys/kernel/debug/kmemleak";

	r->err = write_text_file(path, "scan");
	if (r->err)
		return;
	r->err = read_text_file(path, r->out, "text");
	if (!r->err)
		r->err = write_text_file(path, "clear");
}

void op_kmsg(struct request *r)
{
	const char *text = get_str(r, "text");
	int fd;
	if (r->error)
		return;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	if (write(fd, text, strlen(text)) < 0)
		r->err = errno;
	close(fd);
}

/* Appends the messages of the records readable on a /dev/kmsg fd (opened
 * O_NONBLOCK), one per line, keeping only those containing `match` when it
 * is set. The record headers ("prio,seq,usec,flags;") and continuation
 * key=value lines are dropped. */
void kmsg_read_messages(int fd, struct jbuf *text, const char *match)
{
	char rec[8192];

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue; /* records were overwritten; go on with the next */
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: nothing more */
		}
		if (n == 0)
			break; /* not /dev/kmsg after all (the host closed it and the number was reused) */
		rec[n] = '\0';
		char *msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		char *nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (match && !strstr(msg, match))
			continue;
		jb_raw(text, msg);
		jb_raw(text, "\n");
	}
}

/* The kernel log since the previous drain (the first call only positions
 * at the end). */
static int drain_kmsg(struct jbuf *text)
{
	static int kmsg = -1;

	if (kmsg < 0) {
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg < 0)
			return errno;
		lseek(kmsg, 0, SEEK_END);
	}
	kmsg_read_messages(kmsg, text, NULL);
	return 0;
}

void op_kmsg_drain(struct request *r)
{
	struct jbuf text;
	jb_init(&text);
	r->err = drain_kmsg(&text);
	if (!r->err)
		answer_text(r, "text", &text);
	free(text.data);
}

/* What the harness does around every case, in one request: write a marker
 * to the kernel log, take what the kernel printed since the last drain, and
 * the taint flags. */
void op_log_mark(struct request *r)
{
	const char *text = get_str(r, "text");
	struct jbuf drained;
	char taint[32] = "";
	int fd;

	if (r->error)
		return;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		r->err = errno;
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	jb_init(&drained);
	r->err = drain_kmsg(&drained);
	if (!r->err)
		answer_text(r, "text", &drained);
	free(drained.data);
	fd = open("/proc/sys/kernel/tainted", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, taint, sizeof(taint) - 1);
		taint[n > 0 ? n : 0] = '\0';
		taint[strcspn(taint, "\n")] = '\0';
		close(fd);
	}
	jb_str(r->out, "tainted", taint);
}

void op_count_fds(struct request *r)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;
	if (!d) {
		r->err = errno;
		return;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	jb_u64(r->out, "count", n - 1); /* minus the directory's own fd */
}
