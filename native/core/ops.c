/* The protocol operations. Each op reads its fields from a flat request and
 * writes its fields into the response; a failed syscall answers
 * {"ok":false,"errno":"EINVAL","errnum":22}, a malformed request answers
 * {"ok":false,"error":"..."}. See runners/protocol.ts for the host side. */
#define _GNU_SOURCE
#include "dmaheap.h"
#include "flags.h"
#include "json.h"
#include "pattern.h"
#include "reference_heap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAPS 64
#define MAX_MAPS 256
#define MAX_ALLOC_STRUCT 128 /* dma_heap_ioctl() switches to kmalloc above this */
#define READ_FILE_MAX (1 << 20)

struct heap_slot {
	bool used;
	bool reference;
	int fd;
};

struct map_slot {
	bool used;
	uint8_t *addr;
	size_t len;
};

static struct heap_slot heaps[MAX_HEAPS];
static struct map_slot maps[MAX_MAPS];
static pthread_mutex_t dispatch_lock = PTHREAD_MUTEX_INITIALIZER;

struct request {
	const struct json_object *obj;
	struct jbuf *out;
	const char *error; /* set by a failed field read; answered as a bad request */
	int err;           /* errno of the failed syscall, 0 on success */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- field readers: on a missing or malformed field they record an error
 * and return a zero value; the op checks req->error before acting. ---- */

static char error_text[256];

static void bad_field(struct request *r, const char *key, const char *why)
{
	if (r->error)
		return;
	snprintf(error_text, sizeof(error_text), "field '%s': %s", key, why);
	r->error = error_text;
}

static uint64_t get_u64_opt(struct request *r, const char *key, uint64_t dflt)
{
	const struct json_field *f = json_get(r->obj, key);
	char *end;
	uint64_t v;

	if (!f || f->kind == JSON_NULL)
		return dflt;
	if (f->kind != JSON_NUMBER && f->kind != JSON_STRING) {
		bad_field(r, key, "expected an unsigned integer");
		return 0;
	}
	if (f->value[0] == '-' || f->value[0] == '\0') {
		bad_field(r, key, "expected an unsigned integer");
		return 0;
	}
	errno = 0;
	v = strtoull(f->value, &end, 0);
	if (errno || *end) {
		bad_field(r, key, "expected an unsigned integer (decimal, or 0x hex in a string)");
		return 0;
	}
	return v;
}

static uint64_t get_u64(struct request *r, const char *key)
{
	if (!json_get(r->obj, key))
		bad_field(r, key, "missing");
	return get_u64_opt(r, key, 0);
}

static int64_t get_i64(struct request *r, const char *key)
{
	const struct json_field *f = json_get(r->obj, key);
	char *end;
	long long v;

	if (!f) {
		bad_field(r, key, "missing");
		return 0;
	}
	if (f->kind != JSON_NUMBER) {
		bad_field(r, key, "expected an integer");
		return 0;
	}
	errno = 0;
	v = strtoll(f->value, &end, 10);
	if (errno || *end)
		bad_field(r, key, "expected an integer");
	return v;
}

static const char *get_str_opt(struct request *r, const char *key, const char *dflt)
{
	const struct json_field *f = json_get(r->obj, key);
	if (!f || f->kind == JSON_NULL)
		return dflt;
	if (f->kind != JSON_STRING) {
		bad_field(r, key, "expected a string");
		return dflt;
	}
	return f->value;
}

static const char *get_str(struct request *r, const char *key)
{
	if (!json_get(r->obj, key))
		bad_field(r, key, "missing");
	return get_str_opt(r, key, "");
}

static bool get_bool_opt(struct request *r, const char *key, bool dflt)
{
	const struct json_field *f = json_get(r->obj, key);
	if (!f || f->kind == JSON_NULL)
		return dflt;
	if (f->kind != JSON_TRUE && f->kind != JSON_FALSE) {
		bad_field(r, key, "expected true or false");
		return dflt;
	}
	return f->kind == JSON_TRUE;
}

/* Flags are a number or a symbolic string resolved with this target's headers. */
static uint64_t get_flags(struct request *r, const char *key, const struct flag_name *table,
			  uint64_t dflt)
{
	const struct json_field *f = json_get(r->obj, key);
	const char *bad;
	uint64_t v;

	if (!f || f->kind == JSON_NULL)
		return dflt;
	if (f->kind == JSON_NUMBER)
		return get_u64_opt(r, key, dflt);
	if (f->kind != JSON_STRING) {
		bad_field(r, key, "expected flags: a number or names joined by '|'");
		return 0;
	}
	if (flags_parse(f->value, table, &v, &bad) < 0) {
		bad_field(r, key, "unknown flag name");
		return 0;
	}
	return v;
}

static int get_fd(struct request *r, const char *key)
{
	int64_t fd = get_i64(r, key);
	if (!r->error && (fd < 0 || fd > INT32_MAX))
		bad_field(r, key, "not a file descriptor");
	return (int)fd;
}

static struct heap_slot *get_heap(struct request *r)
{
	uint64_t h = get_u64(r, "heap");
	if (r->error)
		return NULL;
	if (h < 1 || h > MAX_HEAPS || !heaps[h - 1].used) {
		bad_field(r, "heap", "no open heap with this handle");
		return NULL;
	}
	return &heaps[h - 1];
}

static struct map_slot *get_map(struct request *r)
{
	uint64_t m = get_u64(r, "map");
	if (r->error)
		return NULL;
	if (m < 1 || m > MAX_MAPS || !maps[m - 1].used) {
		bad_field(r, "map", "no mapping with this handle");
		return NULL;
	}
	return &maps[m - 1];
}

/* A [offset, offset+len) range inside a mapping; len 0 means "to the end". */
static bool get_range(struct request *r, const struct map_slot *m, uint64_t *off, uint64_t *len)
{
	*off = get_u64_opt(r, "offset", 0);
	*len = get_u64_opt(r, "len", 0);
	if (r->error)
		return false;
	if (*off > m->len) {
		bad_field(r, "offset", "beyond the end of the mapping");
		return false;
	}
	if (*len == 0)
		*len = m->len - *off;
	if (*len > m->len - *off) {
		bad_field(r, "len", "range beyond the end of the mapping");
		return false;
	}
	return true;
}

static bool get_pattern(struct request *r, struct pattern *p)
{
	const char *kind = get_str(r, "pattern");
	if (r->error)
		return false;
	if (!strcmp(kind, "prng")) {
		p->kind = PATTERN_PRNG;
		p->seed = get_u64(r, "seed");
	} else if (!strcmp(kind, "const")) {
		p->kind = PATTERN_CONST;
		uint64_t b = get_u64(r, "byte");
		if (b > 255)
			bad_field(r, "byte", "must be 0..255");
		p->byte = (uint8_t)b;
	} else {
		bad_field(r, "pattern", "expected \"prng\" or \"const\"");
	}
	return !r->error;
}

static int read_text_file(const char *path, struct jbuf *out, const char *key)
{
	char *buf = malloc(READ_FILE_MAX);
	size_t n = 0;
	int fd, err = 0;

	if (!buf)
		return ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return errno;
	}
	while (n < READ_FILE_MAX) {
		ssize_t k = read(fd, buf + n, READ_FILE_MAX - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (!err)
		jb_strn(out, key, buf, n);
	free(buf);
	return err;
}

/* ---- operations ---- */

static void op_hello(struct request *r)
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
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void op_list_heaps(struct request *r)
{
	DIR *d = opendir("/dev/dma_heap");
	char *names[256];
	int n = 0;
	struct dirent *e;

	jb_key(r->out, "heaps");
	jb_raw(r->out, "[");
	if (d) {
		while ((e = readdir(d)) && n < 256) {
			if (e->d_name[0] == '.')
				continue;
			names[n++] = strdup(e->d_name);
		}
		closedir(d);
	}
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		if (i)
			jb_raw(r->out, ",");
		jb_str_value(r->out, names[i], strlen(names[i]));
		free(names[i]);
	}
	jb_raw(r->out, "]");
}

static void op_heap_open(struct request *r)
{
	const char *name = get_str(r, "name");
	uint64_t flags = get_flags(r, "flags", open_flag_names, O_RDWR | O_CLOEXEC);
	int slot = -1, fd = -1;
	bool reference;

	if (r->error)
		return;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		bad_field(r, "name", "not a heap name");
		return;
	}
	for (int i = 0; i < MAX_HEAPS; i++)
		if (!heaps[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		bad_field(r, "name", "too many open heaps");
		return;
	}
	reference = !strcmp(name, DMAHEAP_REFERENCE_HEAP);
	if (!reference) {
		char path[300];
		snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
		fd = open(path, (int)flags);
		if (fd < 0) {
			r->err = errno;
			return;
		}
	}
	heaps[slot] = (struct heap_slot){ .used = true, .reference = reference, .fd = fd };
	jb_u64(r->out, "heap", (uint64_t)slot + 1);
	jb_i64(r->out, "fd", fd);
}

static void op_heap_close(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	if (!h)
		return;
	if (h->fd >= 0 && close(h->fd) < 0)
		r->err = errno;
	h->used = false;
}

/* DMA_HEAP_IOCTL_ALLOC with a caller-chosen struct size and ioctl nr, the
 * way old and new userspace call it: dma_heap_ioctl() copies in
 * min(size, 24) bytes, zero-fills the rest, and copies `size` bytes back. */
static void op_alloc(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	uint64_t len = get_u64(r, "len");
	uint64_t fd_flags = get_flags(r, "fd_flags", open_flag_names, O_RDWR | O_CLOEXEC);
	uint64_t heap_flags = get_u64_opt(r, "heap_flags", 0);
	uint64_t fd_in = get_u64_opt(r, "fd_in", 0);
	uint64_t struct_size = get_u64_opt(r, "struct_size", sizeof(struct dma_heap_allocation_data));
	uint64_t nr = get_u64_opt(r, "nr", 0);
	uint64_t trailing = get_u64_opt(r, "trailing", 0);
	uint64_t t0, t1;
	int fd;

	if (!h)
		return;
	if (struct_size < 16 || struct_size > MAX_ALLOC_STRUCT || struct_size % 8)
		bad_field(r, "struct_size", "must be a multiple of 8 from 16 to 128");
	if (fd_in > UINT32_MAX)
		bad_field(r, "fd_in", "must fit in 32 bits");
	if (fd_flags > UINT32_MAX)
		bad_field(r, "fd_flags", "must fit in 32 bits");
	if (nr > 255)
		bad_field(r, "nr", "must be 0..255");
	if (r->error)
		return;

	if (h->reference) {
		struct reference_alloc_result res;
		int err;
		t0 = now_ns();
		/* The reference answers an unknown ioctl nr like dma_heap_ioctl(). */
		err = nr >= 1 ? EINVAL
			      : reference_alloc(len, (uint32_t)fd_in, (uint32_t)fd_flags,
						struct_size >= 24 ? heap_flags : 0, &res);
		t1 = now_ns();
		if (err) {
			r->err = err;
			return;
		}
		fd = res.fd;
		jb_str(r->out, "backing", res.backing == BACKING_UDMABUF ? "udmabuf" : "memfd");
	} else {
		uint64_t data[MAX_ALLOC_STRUCT / 8];
		unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, DMA_HEAP_IOC_MAGIC, (unsigned)nr,
					 (unsigned)struct_size);
		memset(data, 0, sizeof(data));
		data[0] = len;
		data[1] = fd_in | (fd_flags << 32); /* __u32 fd; __u32 fd_flags (little/big endian below) */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		data[1] = (fd_in << 32) | fd_flags;
#endif
		if (struct_size >= 24)
			data[2] = heap_flags;
		for (uint64_t i = 3; i < struct_size / 8; i++)
			data[i] = trailing;
		t0 = now_ns();
		int ret = ioctl(h->fd, cmd, data);
		t1 = now_ns();
		if (ret < 0) {
			r->err = errno;
			return;
		}
		fd = (int)(uint32_t)data[1];
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		fd = (int)(uint32_t)(data[1] >> 32);
#endif
		/* Bytes past 24 must come back unchanged; report them so the
		 * compat case can check the kernel did not touch them. */
		bool trailing_intact = true;
		for (uint64_t i = 3; i < struct_size / 8; i++)
			if (data[i] != trailing)
				trailing_intact = false;
		jb_bool(r->out, "trailing_intact", trailing_intact);
	}
	jb_i64(r->out, "fd", fd);
	jb_u64(r->out, "ns", t1 - t0);
}

static void op_buf_size(struct request *r)
{
	int fd = get_fd(r, "fd");
	off_t size;
	if (r->error)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		r->err = errno;
		return;
	}
	jb_u64(r->out, "size", (uint64_t)size);
	/* SEEK_SET 0 is the only other seek a dma-buf allows; restore it. */
	lseek(fd, 0, SEEK_SET);
}

static void op_fdinfo(struct request *r)
{
	int fd = get_fd(r, "fd");
	char path[64];
	if (r->error)
		return;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	r->err = read_text_file(path, r->out, "text");
}

static void op_fd_flags(struct request *r)
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

static void op_close(struct request *r)
{
	int fd = get_fd(r, "fd");
	if (r->error)
		return;
	if (close(fd) < 0)
		r->err = errno;
}

static void op_mmap(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t len = get_u64(r, "len");
	uint64_t prot = get_flags(r, "prot", prot_flag_names, PROT_READ | PROT_WRITE);
	uint64_t flags = get_flags(r, "flags", map_flag_names, MAP_SHARED);
	uint64_t offset = get_u64_opt(r, "offset", 0);
	int slot = -1;
	void *p;

	if (r->error)
		return;
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		bad_field(r, "fd", "too many mappings");
		return;
	}
	if (flags & MAP_FIXED) {
		bad_field(r, "flags", "MAP_FIXED is not allowed");
		return;
	}
	p = mmap(NULL, (size_t)len, (int)prot, (int)flags, fd, (off_t)offset);
	if (p == MAP_FAILED) {
		r->err = errno;
		return;
	}
	maps[slot] = (struct map_slot){ .used = true, .addr = p, .len = (size_t)len };
	jb_u64(r->out, "map", (uint64_t)slot + 1);
}

static void op_munmap(struct request *r)
{
	struct map_slot *m = get_map(r);
	if (!m)
		return;
	if (munmap(m->addr, m->len) < 0)
		r->err = errno;
	m->used = false;
}

static void op_mremap(struct request *r)
{
	struct map_slot *m = get_map(r);
	uint64_t new_len = get_u64(r, "new_len");
	bool may_move = get_bool_opt(r, "may_move", true);
	void *p;
	if (!m || r->error)
		return;
	p = mremap(m->addr, m->len, (size_t)new_len, may_move ? MREMAP_MAYMOVE : 0);
	if (p == MAP_FAILED) {
		r->err = errno;
		return;
	}
	m->addr = p;
	m->len = (size_t)new_len;
}

static void op_fill(struct request *r)
{
	struct map_slot *m = get_map(r);
	struct pattern p;
	uint64_t off, len, base, t0;
	if (!m || !get_range(r, m, &off, &len) || !get_pattern(r, &p))
		return;
	base = get_u64_opt(r, "base", 0);
	if (r->error)
		return;
	t0 = now_ns();
	pattern_fill(m->addr + off, (size_t)len, base + off, &p);
	jb_u64(r->out, "ns", now_ns() - t0);
}

static void op_verify(struct request *r)
{
	struct map_slot *m = get_map(r);
	struct pattern p;
	struct verify_result v;
	uint64_t off, len, base, t0;
	if (!m || !get_range(r, m, &off, &len) || !get_pattern(r, &p))
		return;
	base = get_u64_opt(r, "base", 0);
	if (r->error)
		return;
	t0 = now_ns();
	pattern_verify(m->addr + off, (size_t)len, base + off, &p, &v);
	jb_u64(r->out, "ns", now_ns() - t0);
	jb_u64(r->out, "checked", len);
	jb_u64(r->out, "mismatches", v.mismatches);
	if (v.mismatches) {
		jb_u64(r->out, "first_bad", off + v.first_bad);
		jb_u64(r->out, "expected", v.expected);
		jb_u64(r->out, "observed", v.observed);
	}
}

static void op_sync(struct request *r)
{
	int fd = get_fd(r, "fd");
	uint64_t flags = get_flags(r, "flags", sync_flag_names, 0);
	struct dma_buf_sync s;
	if (r->error)
		return;
	s.flags = flags;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
		r->err = errno;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGBUS: return "SIGBUS";
	case SIGSEGV: return "SIGSEGV";
	case SIGALRM: return "SIGALRM";
	case SIGKILL: return "SIGKILL";
	case SIGILL: return "SIGILL";
	default: return "SIG?";
	}
}

/* Touch one byte of a mapping from a forked child: a fault there (SIGBUS past
 * the end of a buffer) kills the child, never the agent or Node. The child
 * has an alarm so a fault that never resolves ends as SIGALRM. */
static void op_probe(struct request *r)
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
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r->err = errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		r->err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		volatile uint8_t *p = (volatile uint8_t *)m->addr + off;
		uint8_t v;
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		alarm((unsigned)timeout_s);
		if (do_write)
			*p = 0xa5;
		v = *p;
		if (write(pipefd[1], &v, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bool got = read(pipefd[0], &value, 1) == 1;
	close(pipefd[0]);
	if (WIFSIGNALED(status)) {
		jb_str(r->out, "signal", signal_name(WTERMSIG(status)));
		jb_i64(r->out, "signum", WTERMSIG(status));
	} else {
		jb_null(r->out, "signal");
		if (got)
			jb_u64(r->out, "value", value);
	}
}

static void op_meminfo(struct request *r)
{
	r->err = read_text_file("/proc/meminfo", r->out, "text");
}

static void op_kmsg(struct request *r)
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

static void op_count_fds(struct request *r)
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

struct op {
	const char *name;
	void (*fn)(struct request *);
};

static const struct op ops[] = {
	{ "hello", op_hello },       { "list_heaps", op_list_heaps }, { "heap_open", op_heap_open },
	{ "heap_close", op_heap_close }, { "alloc", op_alloc },      { "buf_size", op_buf_size },
	{ "fdinfo", op_fdinfo },     { "fd_flags", op_fd_flags },     { "close", op_close },
	{ "mmap", op_mmap },         { "munmap", op_munmap },         { "mremap", op_mremap },
	{ "fill", op_fill },         { "verify", op_verify },         { "sync", op_sync },
	{ "probe", op_probe },       { "meminfo", op_meminfo },       { "kmsg", op_kmsg },
	{ "count_fds", op_count_fds }, { NULL, NULL },
};

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "EUNKNOWN";
}

char *dmaheap_dispatch(const char *line, size_t len)
{
	struct json_object obj;
	struct jbuf out;
	struct request r = { 0 };
	const char *perr = NULL, *opname;
	const struct json_field *id;
	const struct op *op;

	jb_init(&out);
	jb_raw(&out, "{");
	if (json_parse_flat(line, len, &obj, &perr) < 0) {
		jb_null(&out, "id");
		jb_bool(&out, "ok", false);
		jb_str(&out, "error", perr);
		jb_raw(&out, "}");
		return jb_take(&out);
	}
	pthread_mutex_lock(&dispatch_lock);
	r.obj = &obj;
	r.out = &out;
	id = json_get(&obj, "id");
	if (id && id->kind == JSON_NUMBER) {
		jb_key(&out, "id");
		jb_raw(&out, id->value);
	} else {
		jb_null(&out, "id");
		r.error = "field 'id': missing or not a number";
	}
	opname = get_str(&r, "op");
	/* The op writes its fields into a separate buffer, so that a failed op
	 * answers with the error alone and no half-written result. */
	struct jbuf body;
	jb_init(&body);
	r.out = &body;
	if (!r.error) {
		for (op = ops; op->name; op++)
			if (!strcmp(op->name, opname))
				break;
		if (op->name)
			op->fn(&r);
		else
			r.error = "unknown op";
	}
	if (r.error) {
		jb_bool(&out, "ok", false);
		jb_str(&out, "error", r.error);
	} else if (r.err) {
		jb_bool(&out, "ok", false);
		jb_str(&out, "errno", errno_name(r.err));
		jb_i64(&out, "errnum", r.err);
	} else {
		jb_bool(&out, "ok", true);
		if (body.len) {
			jb_raw(&out, ",");
			jb_raw(&out, body.data);
		}
	}
	free(body.data);
	pthread_mutex_unlock(&dispatch_lock);
	json_object_free(&obj);
	jb_raw(&out, "}");
	return jb_take(&out);
}
