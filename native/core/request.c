#define _GNU_SOURCE
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_FILE_MAX (1 << 20)

struct heap_slot heaps[MAX_HEAPS];
struct map_slot maps[MAX_MAPS];

const char *errno_or_none(int e)
{
	return e ? strerrorname_np(e) : "none";
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static char error_text[256];

void bad_field(struct request *r, const char *key, const char *why)
{
	if (r->error)
		return;
	snprintf(error_text, sizeof(error_text), "field '%s': %s", key, why);
	r->error = error_text;
}

/* Decimal digits, or 0x and hex digits in a string: nothing else (no sign,
 * no spaces, no octal, which strtoull would each take), and no overflow. */
static bool parse_u64_text(const char *s, bool hex_ok, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

uint64_t get_u64_opt(struct request *r, const char *key, uint64_t dflt)
{
	const struct json_field *f = json_get(r->obj, key);
	uint64_t v;

	if (!f || f->kind == JSON_NULL)
		return dflt;
	if (f->kind != JSON_NUMBER && f->kind != JSON_STRING) {
		bad_field(r, key, "expected an unsigned integer");
		return 0;
	}
	if (!parse_u64_text(f->value, f->kind == JSON_STRING, &v)) {
		bad_field(r, key, "expected an unsigned 64-bit integer (decimal, or 0x hex in a string)");
		return 0;
	}
	return v;
}

uint64_t get_u64(struct request *r, const char *key)
{
	if (!json_get(r->obj, key))
		bad_field(r, key, "missing");
	return get_u64_opt(r, key, 0);
}

int64_t get_i64(struct request *r, const char *key)
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
	/* strtoll would also take leading spaces and a '+' */
	if (errno || *end || !(f->value[0] == '-' || (f->value[0] >= '0' && f->value[0] <= '9'))) {
		bad_field(r, key, "expected a 64-bit integer");
		return 0;
	}
	return v;
}

const char *get_str_opt(struct request *r, const char *key, const char *dflt)
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

const char *get_str(struct request *r, const char *key)
{
	if (!json_get(r->obj, key))
		bad_field(r, key, "missing");
	return get_str_opt(r, key, "");
}

bool get_bool_opt(struct request *r, const char *key, bool dflt)
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
uint64_t get_flags(struct request *r, const char *key, const struct flag_name *table,
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

int get_fd(struct request *r, const char *key)
{
	int64_t fd = get_i64(r, key);
	if (!r->error && (fd < 0 || fd > INT32_MAX))
		bad_field(r, key, "not a file descriptor");
	return (int)fd;
}

struct heap_slot *get_heap(struct request *r)
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

struct map_slot *get_map(struct request *r)
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
bool get_range(struct request *r, const struct map_slot *m, uint64_t *off, uint64_t *len)
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

bool get_pattern(struct request *r, struct pattern *p)
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

int write_text_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		err = errno;
	close(fd);
	return err;
}

int read_text_file(const char *path, struct jbuf *out, const char *key)
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


int map_slot_release(struct map_slot *m)
{
	int err = munmap(m->addr, m->len) < 0 ? errno : 0;
	munmap(m->guard, (size_t)sysconf(_SC_PAGESIZE));
	*m = (struct map_slot){ 0 };
	return err;
}

void answer_text(struct request *r, const char *key, struct jbuf *text)
{
	if (text->failed)
		r->err = ENOMEM;
	else
		jb_strn(r->out, key, text->data ? text->data : "", text->len);
	free(text->data);
	*text = (struct jbuf){ 0 };
}

int wait_child(int pid, int *status)
{
	*status = 0;
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			*status = 0;
			return errno;
		}
	}
	return 0;
}

int free_heap_slot(struct request *r)
{
	for (int i = 0; i < MAX_HEAPS; i++)
		if (!heaps[i].used)
			return i;
	bad_field(r, "heap", "too many open heaps");
	return -1;
}

int free_map_slot(struct request *r)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].used)
			return i;
	bad_field(r, "map", "too many mappings");
	return -1;
}

int fork_reporting(struct request *r, int pipefd[2])
{
	int pid;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r->err = errno;
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		r->err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	close(pid == 0 ? pipefd[0] : pipefd[1]);
	return pid;
}
