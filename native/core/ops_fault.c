/* Fault injection for the harness's own reliability tests: a real kernel
 * fault through LKDTM (/sys/kernel/debug/provoke-crash/DIRECT: WARNING,
 * BUG, PANIC, HUNG_TASK), or the agent killed by SIGKILL. Only the hidden
 * `--inject` flag of the host sends it; LKDTM exists only in kernels built
 * for testing (`dmaheap kernel build` turns it on). */
#define _GNU_SOURCE
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

void op_provoke(struct request *r)
{
	static const char *const lkdtm[] = { "WARNING", "BUG", "PANIC", "HUNG_TASK" };
	const char *what = get_str(r, "what");
	int fd;

	if (r->error)
		return;
	if (!strcmp(what, "AGENT_KILL")) {
		kill(getpid(), SIGKILL);
		return;
	}
	for (size_t i = 0; i < sizeof(lkdtm) / sizeof(lkdtm[0]); i++) {
		if (strcmp(what, lkdtm[i]))
			continue;
		fd = open("/sys/kernel/debug/provoke-crash/DIRECT", O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			r->err = errno;
			return;
		}
		/* PANIC and HUNG_TASK never come back from this write. */
		if (write(fd, what, strlen(what)) < 0)
			r->err = errno;
		close(fd);
		return;
	}
	bad_field(r, "what", "one of WARNING, BUG, PANIC, HUNG_TASK, AGENT_KILL");
}
