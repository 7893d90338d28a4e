/* The benchmarks' yardstick: work of the same size as a figure's, measured in
 * the same guest and interleaved with it by the host, that involves no heap.
 * When the machine under the target is slower (a busy host, a throttled
 * board) the yardstick slows with it, and a figure against its yardstick
 * stays where it was; a heap that does more work moves only the figure.
 *
 *   yardstick {kind, len, budget_ms, threads, min_samples}
 *     populate  mmap of `len` bytes of anonymous memory with MAP_POPULATE
 *               (the kernel allocates and clears every page) and munmap,
 *               per call: the pair of ALLOC + close
 *     touch     the first write to each page of a fresh anonymous mapping of
 *               `len` bytes, per page (mmap and munmap untimed): the pair of
 *               the first-touch fault figure
 *   with `threads` threads at once, samples pooled. Answers the distribution
 *   in ns as bench does (ns_n, ns_min, ns_p10 .. ns_max, ns_mean).
 */
#define _GNU_SOURCE
#include "ops.h"
#include "start_gate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define YARD_MAX_SAMPLES 200000
#define YARD_MAX_LEN (1ULL << 30)

struct yard_thread {
	bool touch;
	size_t len, page;
	uint64_t budget, min_samples;
	struct start_gate *start;
	uint64_t *v;
	size_t n, cap;
	int err;
};

/* One sample: 0 or errno, the time in *ns. */
static int yard_once(const struct yard_thread *t, uint64_t *ns)
{
	if (!t->touch) {
		uint64_t t0 = now_ns();
		void *m = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (m == MAP_FAILED)
			return errno;
		munmap(m, t->len);
		*ns = now_ns() - t0;
		return 0;
	}
	volatile uint8_t *m = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return errno;
	uint64_t t0 = now_ns();
	for (size_t off = 0; off < t->len; off += t->page)
		m[off] = 1;
	uint64_t pages = t->len / t->page + (t->len % t->page != 0);
	*ns = (now_ns() - t0) / pages;
	munmap((void *)m, t->len);
	return 0;
}

static void *yard_body(void *p)
{
	struct yard_thread *t = p;
	uint64_t ns;
	if (!start_gate_wait(t->start))
		return NULL;
	for (int i = 0; i < 2; i++) /* warm-up: code and page tables */
		if ((t->err = yard_once(t, &ns)))
			return NULL;
	for (uint64_t start = now_ns(); t->n < t->cap && (t->n < t->min_samples || now_ns() - start < t->budget);) {
		if ((t->err = yard_once(t, &ns)))
			return NULL;
		t->v[t->n++] = ns;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void yard_report(struct request *r, uint64_t *v, size_t n)
{
	static const struct {
		const char *key;
		unsigned p;
	} ps[] = { { "ns_min", 0 }, { "ns_p10", 10 }, { "ns_p25", 25 }, { "ns_p50", 50 }, { "ns_p75", 75 }, { "ns_p90", 90 }, { "ns_p99", 99 }, { "ns_max", 100 } };
	uint64_t sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	jb_u64(r->out, "ns_n", n);
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		jb_u64(r->out, ps[i].key, v[(n - 1) * ps[i].p / 100]);
	jb_u64(r->out, "ns_mean", sum / n);
}

void op_yardstick(struct request *r)
{
	const char *kind = get_str(r, "kind");
	uint64_t len = get_u64_opt(r, "len", 4096);
	uint64_t budget_ms = get_u64_opt(r, "budget_ms", 300);
	uint64_t threads = get_u64_opt(r, "threads", 1);
	uint64_t min_samples = get_u64_opt(r, "min_samples", 20);
	struct yard_thread *tt = NULL;
	pthread_t *tid = NULL;
	uint64_t *all = NULL;
	struct start_gate start;
	unsigned started = 0;
	size_t n = 0;
	int err = 0;

	if (r->error)
		return;
	if (strcmp(kind, "populate") && strcmp(kind, "touch")) {
		bad_field(r, "kind", "expected populate or touch");
		return;
	}
	if (len < 1 || len > YARD_MAX_LEN) {
		bad_field(r, "len", "must be 1..1073741824 (1 GiB)");
		return;
	}
	if (budget_ms > 3600000) {
		bad_field(r, "budget_ms", "must be at most 3600000 (an hour)");
		return;
	}
	if (threads < 1 || threads > 256) {
		bad_field(r, "threads", "must be 1..256");
		return;
	}
	if (min_samples < 1 || min_samples > 1000) {
		bad_field(r, "min_samples", "must be 1..1000");
		return;
	}
	tt = calloc(threads, sizeof(*tt));
	tid = calloc(threads, sizeof(*tid));
	all = malloc(YARD_MAX_SAMPLES * sizeof(*all));
	if (!tt || !tid || !all) {
		r->err = ENOMEM;
		goto out;
	}
	start_gate_init(&start);
	for (; started < threads; started++) {
		struct yard_thread *t = &tt[started];
		*t = (struct yard_thread){ .touch = !strcmp(kind, "touch"), .len = (size_t)len, .page = (size_t)sysconf(_SC_PAGESIZE),
					   .budget = budget_ms * 1000000ULL, .min_samples = min_samples, .start = &start,
					   .v = all + started * (YARD_MAX_SAMPLES / threads), .cap = YARD_MAX_SAMPLES / threads };
		err = pthread_create(&tid[started], NULL, yard_body, t);
		if (err) /* EAGAIN under RLIMIT_NPROC: the answer */
			break;
	}
	/* Either every thread runs or, when one could not start, none does. */
	start_gate_open(&start, !err);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	start_gate_destroy(&start);
	for (unsigned i = 0; i < started; i++) {
		if (tt[i].err && !err)
			err = tt[i].err;
		memmove(all + n, tt[i].v, tt[i].n * sizeof(*all)); /* slices in order: never overlaps forward */
		n += tt[i].n;
	}
	if (err)
		r->err = err;
	else
		yard_report(r, all, n);
out:
	free(tt);
	free(tid);
	free(all);
}
