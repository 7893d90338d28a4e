/* One request in, one response out: parse, find the op, run it under the
 * dispatch lock, answer. The response carries either the op's fields, the
 * errno its syscall failed with, the signal a touch of a mapping raised
 * (fault_guard.h), or why the request was malformed. */
#define _GNU_SOURCE
#include "dmaheap.h"
#include "ops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ "kmsg", op_kmsg },
	{ "kmsg_drain", op_kmsg_drain },
	{ "log_mark", op_log_mark },
	{ "count_fds", op_count_fds },
	{ "alloc_repeat", op_alloc_repeat },
	{ "alloc_threads", op_alloc_threads },
	{ "exhaust", op_exhaust },
	{ "vgem_open", op_vgem_open },
	{ "prime_import", op_prime_import },
	{ "gem_close", op_gem_close },
	{ "bench", op_bench },
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

char *dmaheap_dispatch(const char *line, size_t len)
{
	struct json_object obj;
	struct jbuf out, body;
	struct request r = { 0 };
	const char *perr = NULL, *opname;
	const struct json_field *id;

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
	return jb_take(&out);
}
