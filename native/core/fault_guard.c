#define _GNU_SOURCE
#include "fault_guard.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct guard {
	sigjmp_buf jb;
	uintptr_t lo, hi;
	volatile int sig;
	volatile uintptr_t addr;
};

/* The guard armed on this thread, or NULL. Only a pointer, and initial-exec:
 * the handler may run on any thread of Node's, and a dynamic TLS block that
 * this thread never touched would be allocated (malloc) on first use, which
 * a signal handler must not do. */
static __thread struct guard *volatile armed __attribute__((tls_model("initial-exec")));

static const int guarded_signals[] = { SIGBUS, SIGSEGV };
static struct sigaction previous[2]; /* in guarded_signals' order */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/* A fault that is not ours goes where it would have gone without us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *p = &previous[sig == SIGBUS ? 0 : 1];

	if (p->sa_flags & SA_SIGINFO) {
		p->sa_sigaction(sig, si, uc);
		return;
	}
	if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
		return;
	}
	/* Default action: a real fault strikes again on return and now kills;
	 * a signal someone sent (kill) has to be raised again. */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct guard *g = armed;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (g && si->si_code > 0 && a >= g->lo && a < g->hi) {
		armed = NULL;
		g->sig = sig;
		g->addr = a;
		siglongjmp(g->jb, 1); /* restores the mask saved by sigsetjmp */
	}
	chain(sig, si, uc);
}

/* SA_ONSTACK: a thread that has an alternate stack (Node's may) handles the
 * signal there; these faults are in a buffer, not the stack, so threads
 * without one handle it on their own stack and need none. */
static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 2; i++)
		sigaction(guarded_signals[i], &sa, &previous[i]);
}

int fault_guard_run(void *base, size_t len, void (*touch)(void *), void *arg, struct fault_report *f)
{
	struct guard g = { .lo = (uintptr_t)base, .hi = (uintptr_t)base + len };

	pthread_once(&install_once, install);
	*f = (struct fault_report){ .len = len };
	if (sigsetjmp(g.jb, 1)) {
		f->sig = g.sig;
		f->addr = g.addr;
		f->offset = g.addr - g.lo;
		return f->sig;
	}
	armed = &g;
	touch(arg);
	armed = NULL;
	return 0;
}

void fault_describe(const struct fault_report *f, char *out, size_t cap)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const char *name = sigabbrev_np(f->sig);

	snprintf(out, cap, "page %zu of %zu of the mapping raised SIG%s (offset %zu, address %#lx)", f->offset / page,
		 (f->len + page - 1) / page, name ? name : "?", f->offset, (unsigned long)f->addr);
}

void fault_fail(struct request *r, const struct fault_report *f, const char *who)
{
	char what[200];
	fault_describe(f, what, sizeof(what));
	r->fault_sig = f->sig;
	snprintf(r->fault, sizeof(r->fault), "%s%s%s", who ? who : "", who ? ": " : "", what);
}

struct memset_job {
	void *p;
	size_t len;
	int byte;
};

static void do_memset(void *arg)
{
	struct memset_job *j = arg;
	memset(j->p, j->byte, j->len);
}

int fault_guard_memset(void *base, size_t len, int byte, struct fault_report *f)
{
	struct memset_job j = { .p = base, .len = len, .byte = byte };
	return fault_guard_run(base, len, do_memset, &j, f);
}
