/* Touching a heap buffer's mapping in-process (fill, verify, the threads'
 * memset, the benchmarks) must survive a buffer whose pages cannot be
 * faulted in: the kernel answers with SIGBUS (or SIGSEGV), which would kill
 * the agent, or Node itself when the core runs in the addon. A touch run
 * through fault_guard_run ends at the fault instead, and says where it was,
 * so a heap bug is a failed case and not a dead process. */
#ifndef DMAHEAP_FAULT_GUARD_H
#define DMAHEAP_FAULT_GUARD_H

#include "request.h"

#include <stddef.h>
#include <stdint.h>

struct fault_report {
	int sig;        /* SIGBUS or SIGSEGV; 0 when the touch ran to its end */
	size_t offset;  /* of the faulting byte, from the start of the mapping */
	size_t len;     /* of the mapping */
	uintptr_t addr;
};

/* Runs touch(arg), catching SIGBUS and SIGSEGV at addresses inside the
 * mapping [base, base + len) only; any other fault goes on to the handler
 * that was there before (Node's, or the default action). touch must hold
 * no resources of its own when it may be cut short. Returns f->sig. */
int fault_guard_run(void *base, size_t len, void (*touch)(void *), void *arg, struct fault_report *f);

/* "page 1 of 2 of the mapping raised SIGBUS (offset 4096, address 0x...)" */
void fault_describe(const struct fault_report *f, char *out, size_t cap);

/* Answers the request as failed by the fault: errno "SIGBUS", errnum 0,
 * and `fault` the description, prefixed by `who` when it is not NULL. */
void fault_fail(struct request *r, const struct fault_report *f, const char *who);

/* memset(base, byte, len) through the guard. */
int fault_guard_memset(void *base, size_t len, int byte, struct fault_report *f);

#endif
