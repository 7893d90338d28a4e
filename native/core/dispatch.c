/* One request in, one response out: parse, find the op, run it under the
 * dispatch lock, answer. The response carries either the op's fields, the
 * errno its syscall failed with, the signal a touch of a mapping raised
 * (fault_guard.h), or why the request was malformed. */
#define _GNU_SOURCE
#include "dmaheap.h"
#include "ops.h"
#include "reference_heap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t dispatch_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	op_fn fn;
} ops[] = {
	{ "hello", op_hello },
	{ "list_heaps", op_list_heaps },
	{ "heap_open", op_heap_open },
	{ "heap_close", op_heap_close },
	{ "alloc", op_alloc },
	{ "buf_size", op_buf_size },
	{ "fdinfo", op_fdinfo },
	{ "fd_flags", op_fd_flags },
	{ "close", op_close },
	{ "mmap", op_mmap },
	{ "munmap", op_munmap },
	{ "mremap", op_mremap },
	{ "fill", op_fill },
	{ "verify", op_verify },
	{ "sync", op_sync },
	{ "set_name", op_set_name },
	{ "ioctl_raw", op_ioctl_raw },
	{ "export_sync_file", op_export_sync_file },
	{ "import_sync_file", op_import_sync_file },
	{ "probe", op_probe },
	{ "meminfo", op_meminfo },
	{ "read_file", op_read_file },
	{ "kmemleak", op_kmemleak },
	{ "kmsg", op_kmsg },
	{ "kmsg_drain", op_kmsg_drain },
	{ "log_mark", op_log_mark },
	{ "count_fds", op_count_fds },
	{ "alloc_repeat", op_alloc_repeat },
	{ "alloc_threads", op_alloc_threads },
	{ "exhaust", op_exhaust },
	{ "vgem_open", op_vgem_open },
	{ "prime_import", op_prime_import },
	{ "importer_check", op_importer_check },
	{ "gem_close", op_gem_close },
	{ "bench", op_bench },
	{ "yardstick", op_yardstick },
	{ "pagemap", op_pagemap },
	{ "alloc_traced", op_alloc_traced },
	{ "klog", op_klog },
	{ "provoke", op_provoke },
	{ "file_put", op_file_put },
	{ "exec", op_exec },
};

static op_fn find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name))
			return ops[i].fn;
	return NULL;
}

/* The id is echoed as the host sent it, so it must be a number the host can
 * read back exactly: a decimal integer up to 2^53, no sign, no fraction, no
 * exponent. Returns false for anything else. */
static bool parse_id(const char *s, size_t n, uint64_t *id)
{
	uint64_t v = 0;
	if (n == 0 || n > 16 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (1ULL << 53))
		return false;
	*id = v;
	return true;
}

/* When even the reply cannot be built, a fixed one: the host still gets
 * exactly one line for its request. NULL only if this copy fails too. */
static char *out_of_memory_reply(bool has_id, uint64_t id)
{
	char text[96];
	if (has_id)
		snprintf(text, sizeof(text), "{\"id\":%llu,\"ok\":false,\"errno\":\"ENOMEM\",\"errnum\":%d}",
			 (unsigned long long)id, ENOMEM);
	else
		snprintf(text, sizeof(text), "{\"id\":null,\"ok\":false,\"errno\":\"ENOMEM\",\"errnum\":%d}", ENOMEM);
	return strdup(text);
}

/* The id as the line starts, {"id":12,... (the host writes it first), for
 * the reply to a line that is never parsed whole (malformed, or too long):
 * it still pairs with its request. */
static bool head_id(const char *head, size_t len, uint64_t *id)
{
	const char *p = head, *end = head + len, *digits;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (end - p <= 6 || memcmp(p, "{\"id\":", 6))
		return false;
	p += 6;
	while (p < end && *p == ' ')
		p++;
	digits = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p < end && (*p == ',' || *p == ' ' || *p == '}') && parse_id(digits, (size_t)(p - digits), id);
}

/* A request refused before any op: ok false and why. */
static char *refusal(bool has_id, uint64_t id, const char *why)
{
	struct jbuf out;
	char *reply;

	jb_init(&out);
	jb_raw(&out, "{");
	if (has_id)
		jb_u64(&out, "id", id);
	else
		jb_null(&out, "id");
	jb_bool(&out, "ok", false);
	jb_str(&out, "error", why);
	jb_raw(&out, "}");
	reply = jb_take(&out);
	return reply ? reply : out_of_memory_reply(has_id, id);
}

char *dmaheap_dispatch(const char *line, size_t len)
{
	struct json_object obj;
	struct jbuf out, body;
	struct request r = { 0 };
	const char *perr = NULL, *opname;
	const struct json_field *id;
	uint64_t id_value = 0;
	bool has_id = false;
	char *reply;

	if (json_parse_flat(line, len, &obj, &perr) < 0) {
		has_id = head_id(line, len, &id_value);
		return refusal(has_id, id_value, perr);
	}
	jb_init(&out);
	jb_raw(&out, "{");
	pthread_mutex_lock(&dispatch_lock);
	r.obj = &obj;
	r.out = &out;
	id = json_get(&obj, "id");
	has_id = id && id->kind == JSON_NUMBER && parse_id(id->value, strlen(id->value), &id_value);
	if (has_id) {
		jb_u64(&out, "id", id_value);
	} else {
		jb_null(&out, "id");
		r.error = "field 'id': missing or not an integer from 0 to 2^53";
	}
	opname = get_str(&r, "op");
	/* The op writes into its own buffer, so that a failed op answers with
	 * the error alone and no half-written result. */
	jb_init(&body);
	r.out = &body;
	if (!r.error) {
		op_fn fn = find_op(opname);
		if (fn)
			fn(&r);
		else
			r.error = "unknown op";
	}
	if (body.failed && !r.error && !r.fault_sig)
		r.err = ENOMEM; /* the op's answer did not fit in memory */
	if (r.error) {
		jb_bool(&out, "ok", false);
		jb_str(&out, "error", r.error);
	} else if (r.fault_sig) {
		/* A signal is no errno: errnum 0, and `fault` says where. */
		char name[16];
		snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(r.fault_sig) ?: "?");
		jb_bool(&out, "ok", false);
		jb_str(&out, "errno", name);
		jb_i64(&out, "errnum", 0);
		jb_str(&out, "fault", r.fault);
	} else if (r.err) {
		const char *name = strerrorname_np(r.err);
		jb_bool(&out, "ok", false);
		jb_str(&out, "errno", name ? name : "EUNKNOWN");
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
	reply = jb_take(&out);
	return reply ? reply : out_of_memory_reply(has_id, id_value);
}

char *dmaheap_line_too_long(const char *head, size_t len, size_t max)
{
	uint64_t id = 0;
	bool has_id = head_id(head, len, &id);
	char why[96];

	snprintf(why, sizeof(why), "request line too long (more than %zu bytes)", max);
	return refusal(has_id, id, why);
}

void dmaheap_reset(void)
{
	pthread_mutex_lock(&dispatch_lock);
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used)
			map_slot_release(&maps[i]);
	for (int i = 0; i < MAX_HEAPS; i++) {
		if (heaps[i].used && heaps[i].fd >= 0)
			close(heaps[i].fd);
		heaps[i] = (struct heap_slot){ 0 };
	}
	reference_reset();
	pthread_mutex_unlock(&dispatch_lock);
}
