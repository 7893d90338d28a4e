#define _GNU_SOURCE
#include "fuzz_policy.h"

#include "../core/dmaheap.h"
#include "../core/request.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1ULL << 20)
/* Lengths from here up are refused by every op before it allocates (far
 * above any MemAvailable, or wrapping to 0 in PAGE_ALIGN): safe to run. */
#define HUGE_LEN (1ULL << 48)

void fd_snapshot_take(struct fd_snapshot *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(s, 0, sizeof(*s));
	if (!d) {
		s->overflow = true;
		return;
	}
	while ((e = readdir(d))) {
		long fd = strtol(e->d_name, NULL, 10);
		if (e->d_name[0] == '.' || fd < FUZZ_FIRST_INPUT_FD || fd == dirfd(d))
			continue;
		if (s->count == (int)(sizeof(s->fds) / sizeof(s->fds[0])))
			s->overflow = true;
		else
			s->fds[s->count++] = (int)fd;
	}
	closedir(d);
}

bool fd_snapshot_has(const struct fd_snapshot *s, long fd)
{
	if (fd < FUZZ_FIRST_INPUT_FD || s->overflow)
		return true;
	for (int i = 0; i < s->count; i++)
		if (s->fds[i] == fd)
			return true;
	return false;
}

static const char *const excluded_ops[] = {
	"exec", "file_put", "provoke", "kmsg", "log_mark", "alloc_traced",
};

/* The files the harness reads; any other under /proc or /sys may block
 * (/proc/kmsg, a trace_pipe, /proc/self/fd/0) or have effects. */
static const char *const readable[] = {
	"/proc/meminfo", "/proc/cmdline", "/proc/iomem", "/proc/sys/kernel/tainted",
};

/* Field values one input may ask for. `dflt` is the op's own default, which
 * applies when the field is absent. */
static const struct cap {
	const char *op, *field;
	uint64_t dflt, max;
	bool huge_ok; /* lengths of HUGE_LEN and up are refused, hence safe */
} caps[] = {
	{ "alloc", "len", 0, 4 * MiB, true },
	{ "alloc_repeat", "len", 0, 4 * MiB, true },
	{ "alloc_repeat", "count", 0, 64, false },
	{ "alloc_threads", "len", 0, 4 * MiB, true },
	{ "alloc_threads", "threads", 0, 4, false },
	{ "bench", "len", 4096, 4 * MiB, true },
	{ "bench", "threads", 1, 4, false },
	{ "bench", "budget_ms", 300, 10, false },
	{ "bench", "min_samples", 20, 20, false },
	{ "yardstick", "len", 4096, 4 * MiB, false },
	{ "yardstick", "threads", 1, 4, false },
	{ "yardstick", "budget_ms", 300, 10, false },
	{ "yardstick", "min_samples", 20, 20, false },
	{ "mmap", "len", 0, 4 * MiB, true },
	{ "mremap", "new_len", 0, 4 * MiB, true },
	{ "exhaust", "budget", UINT64_MAX, 4 * MiB, false },
	{ "exhaust", "time_limit_s", 60, 2, false },
	{ "probe", "timeout_s", 5, 5, false },
};

static const char *const fd_fields[] = { "fd", "dev", "sync_fd" };

/* A reader on a scratch request: the same parsing the op will do. */
static bool read_u64(const struct json_object *obj, const char *key, uint64_t dflt, uint64_t *v)
{
	struct request r = { .obj = obj };
	*v = get_u64_opt(&r, key, dflt);
	return !r.error;
}

static bool allowed(const struct json_object *obj, const struct fd_snapshot *start, const char **why)
{
	struct request r = { .obj = obj };
	const char *op = get_str_opt(&r, "op", NULL);
	uint64_t v;

	if (!op || r.error)
		return true; /* dispatch refuses it */
	for (size_t i = 0; i < sizeof(excluded_ops) / sizeof(excluded_ops[0]); i++)
		if (!strcmp(op, excluded_ops[i])) {
			*why = "an op this machine must not run";
			return false;
		}
	for (size_t i = 0; i < sizeof(fd_fields) / sizeof(fd_fields[0]); i++) {
		struct request fr = { .obj = obj };
		const struct json_field *f = json_get(obj, fd_fields[i]);
		if (!f)
			continue;
		int64_t fd = get_i64(&fr, fd_fields[i]);
		if (!fr.error && fd >= 0 && fd <= INT32_MAX && fd_snapshot_has(start, (long)fd)) {
			*why = "an fd the input did not create";
			return false;
		}
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const struct cap *c = &caps[i];
		if (strcmp(op, c->op) || !read_u64(obj, c->field, c->dflt, &v))
			continue;
		if (v > c->max && !(c->huge_ok && v >= HUGE_LEN)) {
			*why = "more than one input may take";
			return false;
		}
	}
	if (!strcmp(op, "exhaust")) {
		uint64_t chunk, budget;
		if (read_u64(obj, "chunk", 0, &chunk) && read_u64(obj, "budget", UINT64_MAX, &budget) && chunk &&
		    budget / chunk > 64) {
			*why = "more allocations than one input may make";
			return false;
		}
	}
	if (!strcmp(op, "heap_open")) {
		const char *name = get_str_opt(&r, "name", NULL);
		bool refused = !name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..");
		if (!r.error && !refused && strncmp(name, DMAHEAP_REFERENCE_HEAP, strlen(DMAHEAP_REFERENCE_HEAP))) {
			*why = "a device node of this machine";
			return false;
		}
	}
	if (!strcmp(op, "read_file")) {
		const char *path = get_str_opt(&r, "path", NULL);
		bool refused = !path || (strncmp(path, "/proc/", 6) && strncmp(path, "/sys/", 5)) || strstr(path, "..");
		bool listed = false;
		for (size_t i = 0; path && i < sizeof(readable) / sizeof(readable[0]); i++)
			listed |= !strcmp(path, readable[i]);
		if (!r.error && !refused && !listed) {
			*why = "a file the fuzzer has no business reading";
			return false;
		}
	}
	return true;
}

bool fuzz_request_allowed(const char *line, size_t len, const struct fd_snapshot *start, const char **why)
{
	struct json_object obj;
	const char *perr;
	bool ok;

	if (json_parse_flat(line, len, &obj, &perr) < 0)
		return true; /* the parser's refusal: what dispatch will answer */
	ok = allowed(&obj, start, why);
	json_object_free(&obj);
	return ok;
}
