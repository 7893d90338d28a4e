/* Ops that loop natively on the target: many allocations in one request, so
 * the protocol's round trip never stands between two ioctls. */
#define _GNU_SOURCE
#include "buffer.h"
#include "fault_guard.h"
#include "ops.h"
#include "start_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-buf.h>

/* ALLOC and close, `count` times (kselftest-style repeated allocation). */
void op_alloc_repeat(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	struct alloc_args a;
	uint64_t count = get_u64(r, "count");
	uint64_t done = 0, t0;
	int err = 0;

	if (!get_alloc_args(r, &a) || !h)
		return;
	t0 = now_ns();
	for (; done < count; done++) {
		struct alloc_out o;
		err = heap_alloc(h, &a, &o);
		if (err)
			break;
		err = buf_close(o.fd);
		if (err)
			break;
	}
	jb_u64(r->out, "done", done);
	jb_str(r->out, "first_errno", errno_or_none(err));
	jb_u64(r->out, "ns", now_ns() - t0);
}

struct thread_job {
	const struct heap_slot *heap;
	struct alloc_args args;
	struct start_gate *start;
	int err;
	const char *step;
	struct fault_report fault; /* .sig set: the write faulted */
};

/* What libdmabufheap's ConcurrentAllocTest does per thread: allocate, map,
 * sync, write, sync, unmap, close. */
static void *thread_body(void *p)
{
	struct thread_job *j = p;
	struct alloc_out o;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)((j->args.len + page - 1) / page * page);
	void *m;

	if (!start_gate_wait(j->start))
		return NULL;
	j->step = "alloc";
	j->err = heap_alloc(j->heap, &j->args, &o);
	if (j->err)
		return NULL;
	j->step = "mmap";
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd, 0);
	if (m == MAP_FAILED) {
		j->err = errno;
		buf_close(o.fd);
		return NULL;
	}
	j->step = "sync start";
	j->err = buf_sync(o.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (!j->err) {
		j->step = "write";
		/* A faulting write ends this thread's job, which still unmaps
		 * and closes; the op reports it once every thread is joined. */
		if (!fault_guard_memset(m, len, 0x5a, &j->fault)) {
			j->step = "sync end";
			j->err = buf_sync(o.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		}
	}
	munmap(m, len);
	int cerr = buf_close(o.fd);
	if (!j->err && cerr) {
		j->step = "close";
		j->err = cerr;
	}
	return NULL;
}

void op_alloc_threads(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	struct alloc_args a;
	uint64_t n = get_u64(r, "threads");
	uint64_t ok = 0, t0;
	const char *first_step = "none";
	int first_err = 0;

	if (!get_alloc_args(r, &a) || !h)
		return;
	if (n < 1 || n > 1024) {
		bad_field(r, "threads", "must be 1..1024");
		return;
	}
	struct thread_job *jobs = calloc(n, sizeof(*jobs));
	pthread_t *tids = calloc(n, sizeof(*tids));
	struct start_gate start;
	uint64_t started = 0;
	int create_err = 0;
	if (!jobs || !tids) {
		r->err = ENOMEM;
		goto out;
	}
	start_gate_init(&start);
	t0 = now_ns();
	for (; started < n; started++) {
		jobs[started] = (struct thread_job){ .heap = h, .args = a, .start = &start };
		create_err = pthread_create(&tids[started], NULL, thread_body, &jobs[started]);
		if (create_err)
			break;
	}
	/* A thread that cannot start is the answer (EAGAIN under RLIMIT_NPROC):
	 * those already started are let go without doing anything. */
	start_gate_open(&start, !create_err);
	for (uint64_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	start_gate_destroy(&start);
	if (create_err) {
		r->err = create_err;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (jobs[i].fault.sig && !r->fault_sig) {
			char who[64];
			snprintf(who, sizeof(who), "thread %llu of %llu", (unsigned long long)i + 1, (unsigned long long)n);
			fault_fail(r, &jobs[i].fault, who);
		}
		if (!jobs[i].err && !jobs[i].fault.sig)
			ok++;
		else if (!first_err && jobs[i].err) {
			first_err = jobs[i].err;
			first_step = jobs[i].step;
		}
	}
	if (r->fault_sig)
		goto out;
	jb_u64(r->out, "ok", ok);
	jb_u64(r->out, "threads", n);
	jb_str(r->out, "first_errno", errno_or_none(first_err));
	jb_str(r->out, "first_step", first_step);
	jb_u64(r->out, "ns", now_ns() - t0);
out:
	free(jobs);
	free(tids);
}

/* Allocates `chunk`-sized buffers until the heap refuses, the byte budget or
 * the time limit is reached, in a forked child with oom_score_adj 1000: if
 * the kernel answers with the OOM killer, the child is its victim and the
 * agent lives on to report how far it got. The child's exit frees it all. */
struct progress {
	uint64_t total;
	int32_t stop; /* errno, or -1 budget, -2 time */
	int32_t final;
};

void op_exhaust(struct request *r)
{
	struct heap_slot *h = get_heap(r);
	uint64_t chunk = get_u64(r, "chunk");
	uint64_t budget = get_u64_opt(r, "budget", UINT64_MAX);
	uint64_t limit_s = get_u64_opt(r, "time_limit_s", 60);
	int pipefd[2], status;
	pid_t pid;
	uint64_t t0 = now_ns();

	if (!h || r->error)
		return;
	if (chunk == 0) {
		bad_field(r, "chunk", "must be > 0");
		return;
	}
	if (limit_s > 86400) {
		bad_field(r, "time_limit_s", "must be at most 86400");
		return;
	}
	pid = fork_reporting(r, pipefd);
	if (pid < 0)
		return;
	if (pid == 0) {
		struct alloc_args a = { .len = chunk, .fd_flags = O_RDWR | O_CLOEXEC, .struct_size = 24 };
		uint64_t deadline = t0 + limit_s * 1000000000ULL;
		struct progress p = { 0 };
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!write(fd, "1000", 4);
			close(fd);
		}
		for (;;) {
			struct alloc_out o;
			if (chunk > budget - p.total) { /* p.total + chunk > budget, without the wrap */
				p.stop = -1;
				break;
			}
			if (now_ns() > deadline) {
				p.stop = -2;
				break;
			}
			int err = heap_alloc(h, &a, &o);
			if (err) {
				p.stop = err;
				break;
			}
			p.total += chunk;
			/* progress first, so a kill still leaves the count behind */
			(void)!write(pipefd[1], &p, sizeof(p));
		}
		p.final = 1;
		(void)!write(pipefd[1], &p, sizeof(p));
		_exit(0);
	}
	struct progress p = { 0 }, rec;
	/* Records are written whole (16 bytes, atomic on a pipe), read whole. */
	while (read(pipefd[0], &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
		p = rec;
	close(pipefd[0]);
	int werr = wait_child(pid, &status);
	if (werr) {
		r->err = werr;
		return;
	}
	uint64_t total = p.total;
	int32_t stop = p.stop;
	bool stopped = p.final;
	jb_u64(r->out, "bytes", total);
	jb_u64(r->out, "chunks", total / chunk);
	if (WIFSIGNALED(status)) {
		char sig[32];
		snprintf(sig, sizeof(sig), "killed:SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
		jb_str(r->out, "stop", sig);
	} else if (!stopped) {
		jb_str(r->out, "stop", "lost");
	} else if (stop == -1) {
		jb_str(r->out, "stop", "budget");
	} else if (stop == -2) {
		jb_str(r->out, "stop", "time");
	} else {
		jb_str(r->out, "stop", strerrorname_np(stop) ?: "E?");
	}
	jb_u64(r->out, "ns", now_ns() - t0);
}
