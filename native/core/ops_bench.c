/* Benchmarks measured on the target in native loops: one request runs a
 * warm-up and then samples for a time budget, and answers with the sample
 * distribution, so no protocol round trip sits between two measured calls.
 *
 *   bench {kind, heap, len, budget_ms, threads, min_samples}
 *   (min_samples, default 20: the fewest samples whatever the budget)
 *     alloc    ALLOC + close, per call, through the core's buffer layer
 *     alloc_bare the same calls as a bare loop of ioctl() and close() (kernel
 *              heaps): the yardstick for the core's own overhead
 *     fault    first touch of each page of a fresh mapping, per page
 *     sync     SYNC START|RW + END|RW on a mapped buffer, per pair
 *     threads  ALLOC + close in `threads` threads at once, per call, and the
 *              total rate
 *     fill     pattern_fill and pattern_verify against memset and memcmp on
 *              anonymous memory (the harness's own data path), bytes/s
 */
#define _GNU_SOURCE
#include "buffer.h"
#include "fault_guard.h"
#include "ops.h"
#include "start_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SAMPLES 200000
#define MIN_SAMPLES 20

/* The request's min_samples, set before any loop of it runs (requests run
 * one at a time, under the dispatch lock). */
static size_t min_samples = MIN_SAMPLES;

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void push(struct samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(const struct samples *s, unsigned p)
{
	size_t i = (s->n - 1) * p / 100;
	return s->v[i];
}

/* {"n":..,"min":..,"p10":..,"p25":..,"p50":..,"p75":..,"p90":..,"p99":..,"max":..,"mean":..} under `prefix_*` */
static void report(struct request *r, const char *prefix, struct samples *s)
{
	char key[64];
	uint64_t sum = 0;
	static const struct {
		const char *name;
		unsigned p;
	} ps[] = { { "min", 0 }, { "p10", 10 }, { "p25", 25 }, { "p50", 50 }, { "p75", 75 }, { "p90", 90 }, { "p99", 99 }, { "max", 100 } };

	qsort(s->v, s->n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	snprintf(key, sizeof(key), "%s_n", prefix);
	jb_u64(r->out, key, s->n);
	if (!s->n)
		return;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		snprintf(key, sizeof(key), "%s_%s", prefix, ps[i].name);
		jb_u64(r->out, key, pct(s, ps[i].p));
	}
	snprintf(key, sizeof(key), "%s_mean", prefix);
	jb_u64(r->out, key, sum / s->n);
}

static bool keep_going(uint64_t start, uint64_t budget_ns, size_t n)
{
	return n < min_samples || (now_ns() - start < budget_ns && n < MAX_SAMPLES);
}

static int bench_alloc(const struct heap_slot *h, uint64_t len, uint64_t budget, struct samples *s)
{
	struct alloc_args a = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC, .struct_size = 24, .untimed = true };
	struct alloc_out o;
	/* Warm-up: the first calls fault in code and page tables. */
	for (int i = 0; i < 3; i++) {
		int err = heap_alloc(h, &a, &o);
		if (err)
			return err;
		buf_close(o.fd);
	}
	for (uint64_t start = now_ns(); keep_going(start, budget, s->n);) {
		uint64_t t0 = now_ns();
		int err = heap_alloc(h, &a, &o);
		if (err)
			return err;
		buf_close(o.fd);
		push(s, now_ns() - t0);
	}
	return 0;
}

/* The bare loop: DMA_HEAP_IOCTL_ALLOC and close, nothing else. */
static int bench_alloc_bare(const struct heap_slot *h, uint64_t len, uint64_t budget, struct samples *s)
{
	struct dma_heap_allocation_data d;
	if (h->reference)
		return EOPNOTSUPP;
	for (uint64_t start = now_ns(), i = 0; i < 3 || keep_going(start, budget, s->n); i++) {
		memset(&d, 0, sizeof(d));
		d.len = len;
		d.fd_flags = O_RDWR | O_CLOEXEC;
		uint64_t t0 = now_ns();
		if (ioctl(h->fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
			return errno;
		close((int)d.fd);
		if (i >= 3) /* the first three warm up, as in bench_alloc */
			push(s, now_ns() - t0);
	}
	return 0;
}

struct touch_job {
	volatile uint8_t *m;
	size_t len, page;
	uint64_t ns;
};

static void touch_pages(void *arg)
{
	struct touch_job *j = arg;
	uint64_t t0 = now_ns();
	for (size_t off = 0; off < j->len; off += j->page)
		j->m[off] = 1;
	j->ns = now_ns() - t0;
}

/* First touch of each page of a fresh buffer's fresh mapping, per page. The
 * touches run through the fault guard (once per buffer, outside the timed
 * loop): a page that cannot be faulted in fails the bench with the page. */
static int bench_fault(struct request *r, const struct heap_slot *h, uint64_t len, uint64_t budget, struct samples *s)
{
	struct alloc_args a = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC, .struct_size = 24 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t pages = len / page + (len % page != 0); /* pushed only after a mapping of len >= 1 */
	for (uint64_t start = now_ns(); keep_going(start, budget, s->n);) {
		struct alloc_out o;
		struct fault_report f;
		int err = heap_alloc(h, &a, &o);
		if (err)
			return err;
		volatile uint8_t *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd, 0);
		if (m == MAP_FAILED) {
			err = errno;
			buf_close(o.fd);
			return err;
		}
		struct touch_job j = { .m = m, .len = (size_t)len, .page = page };
		if (fault_guard_run((void *)m, (size_t)len, touch_pages, &j, &f))
			fault_fail(r, &f, NULL);
		else
			push(s, j.ns / pages);
		munmap((void *)m, (size_t)len);
		buf_close(o.fd);
		if (r->fault_sig)
			return 0;
	}
	return 0;
}

static int bench_sync(struct request *r, const struct heap_slot *h, uint64_t len, uint64_t budget, struct samples *s)
{
	struct alloc_args a = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC, .struct_size = 24 };
	struct alloc_out o;
	struct fault_report f;
	int err = heap_alloc(h, &a, &o);
	if (err)
		return err;
	void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd, 0);
	if (m == MAP_FAILED) {
		err = errno;
		buf_close(o.fd);
		return err;
	}
	if (fault_guard_memset(m, (size_t)len, 1, &f))
		fault_fail(r, &f, NULL);
	for (uint64_t start = now_ns(); !err && !r->fault_sig && keep_going(start, budget, s->n);) {
		uint64_t t0 = now_ns();
		err = buf_sync(o.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		if (!err)
			err = buf_sync(o.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		push(s, now_ns() - t0);
	}
	munmap(m, (size_t)len);
	buf_close(o.fd);
	return err;
}

struct thread_bench {
	const struct heap_slot *heap;
	uint64_t len, budget;
	struct start_gate *start;
	struct samples s;
	int err;
};

static void *thread_bench_body(void *p)
{
	struct thread_bench *t = p;
	if (start_gate_wait(t->start))
		t->err = bench_alloc(t->heap, t->len, t->budget, &t->s);
	return NULL;
}

/* Calls from all threads pooled; the rate is total calls over wall time. */
static int bench_threads(struct request *r, const struct heap_slot *h, uint64_t len, uint64_t budget, unsigned n,
			 struct samples *all)
{
	struct thread_bench *tb = calloc(n, sizeof(*tb));
	pthread_t *tid = calloc(n, sizeof(*tid));
	struct start_gate start;
	int err = 0;
	unsigned started = 0;
	uint64_t t0 = 0, wall;

	if (!tb || !tid) {
		err = ENOMEM;
		goto out;
	}
	start_gate_init(&start);
	for (; started < n; started++) {
		tb[started] = (struct thread_bench){ .heap = h, .len = len, .budget = budget, .start = &start };
		tb[started].s.cap = MAX_SAMPLES / n;
		tb[started].s.v = malloc(tb[started].s.cap * sizeof(uint64_t));
		if (!tb[started].s.v) {
			err = ENOMEM;
			break;
		}
		err = pthread_create(&tid[started], NULL, thread_bench_body, &tb[started]);
		if (err) { /* EAGAIN under RLIMIT_NPROC: the bench's answer */
			free(tb[started].s.v);
			tb[started].s.v = NULL;
			break;
		}
	}
	/* Either every thread runs or, when one could not start, none does. */
	t0 = now_ns();
	start_gate_open(&start, !err);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	wall = now_ns() - t0;
	start_gate_destroy(&start);
	for (unsigned i = 0; i < started; i++) {
		if (tb[i].err && !err)
			err = tb[i].err;
		for (size_t k = 0; k < tb[i].s.n; k++)
			push(all, tb[i].s.v[k]);
		free(tb[i].s.v);
	}
	if (!err)
		jb_u64(r->out, "calls_per_s", wall ? (uint64_t)((double)all->n * 1e9 / (double)wall) : 0);
out:
	free(tb);
	free(tid);
	return err;
}

/* Bytes per second of the harness's fill/verify loops and of memset/memcmp. */
static void bench_fill(struct request *r, uint64_t len, uint64_t budget)
{
	uint8_t *a = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint8_t *b = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct pattern p = { .kind = PATTERN_PRNG, .seed = 7 };
	struct verify_result v;
	volatile int sink = 0;
	const char *names[] = { "fill", "verify", "memset", "memcmp" };

	if (a == MAP_FAILED || b == MAP_FAILED) {
		r->err = ENOMEM;
		if (a != MAP_FAILED)
			munmap(a, (size_t)len);
		if (b != MAP_FAILED)
			munmap(b, (size_t)len);
		return;
	}
	for (int which = 0; which < 4; which++) {
		uint64_t bytes = 0, start, t;
		if (which == 3)
			memcpy(b, a, (size_t)len); /* memcmp must read to the end: equal buffers */
		start = now_ns();
		do {
			switch (which) {
			case 0: pattern_fill(a, (size_t)len, 0, &p); break;
			case 1: pattern_verify(a, (size_t)len, 0, &p, &v); sink += (int)v.mismatches; break;
			case 2: memset(b, which, (size_t)len); break;
			case 3: sink += memcmp(a, b, (size_t)len) != 0; break;
			}
			bytes += len;
			t = now_ns() - start;
		} while (t < budget);
		char key[32];
		snprintf(key, sizeof(key), "%s_bytes_per_s", names[which]);
		jb_u64(r->out, key, t ? (uint64_t)((double)bytes * 1e9 / (double)t) : 0);
	}
	(void)sink; /* only there so the compiler keeps the loops */
	munmap(a, (size_t)len);
	munmap(b, (size_t)len);
}

void op_bench(struct request *r)
{
	const char *kind = get_str(r, "kind");
	uint64_t len = get_u64_opt(r, "len", 4096);
	uint64_t budget_ms = get_u64_opt(r, "budget_ms", 300);
	uint64_t threads = get_u64_opt(r, "threads", 1);
	uint64_t min_n = get_u64_opt(r, "min_samples", MIN_SAMPLES);
	struct samples s = { .cap = MAX_SAMPLES };
	const struct heap_slot *h = NULL;
	uint64_t budget;
	int err = 0;

	if (r->error)
		return;
	if (budget_ms > 3600000) {
		bad_field(r, "budget_ms", "must be at most 3600000 (an hour)");
		return;
	}
	if (min_n < 1 || min_n > 1000) {
		bad_field(r, "min_samples", "must be 1..1000");
		return;
	}
	min_samples = (size_t)min_n;
	budget = budget_ms * 1000000ULL;
	if (!strcmp(kind, "fill")) {
		/* Throughputs, no latency samples: every bench reply carries ns_n. */
		jb_u64(r->out, "ns_n", 0);
		bench_fill(r, len, budget);
		return;
	}
	h = get_heap(r);
	if (!h)
		return;
	if (threads < 1 || threads > 256) {
		bad_field(r, "threads", "must be 1..256");
		return;
	}
	s.v = malloc(s.cap * sizeof(uint64_t));
	if (!s.v) {
		r->err = ENOMEM;
		return;
	}
	if (!strcmp(kind, "alloc"))
		err = bench_alloc(h, len, budget, &s);
	else if (!strcmp(kind, "alloc_bare"))
		err = bench_alloc_bare(h, len, budget, &s);
	else if (!strcmp(kind, "fault"))
		err = bench_fault(r, h, len, budget, &s);
	else if (!strcmp(kind, "sync"))
		err = bench_sync(r, h, len, budget, &s);
	else if (!strcmp(kind, "threads"))
		err = bench_threads(r, h, len, budget, (unsigned)threads, &s);
	else
		bad_field(r, "kind", "expected alloc, alloc_bare, fault, sync, threads or fill");
	if (!r->error && !r->fault_sig) {
		if (err)
			r->err = err;
		else
			report(r, "ns", &s);
	}
	free(s.v);
}
