/* Which fuzzed requests may really run on the machine doing the fuzzing.
 * The fuzzer drives the real parser and the real ops against the reference
 * heap (userspace), so a request is let through unless running it could
 * harm that machine or the fuzzer itself: programs run (exec, file_put), the
 * kernel provoked or its log written (provoke, kmsg, log_mark), tracefs
 * changed (alloc_traced), a device node opened (heap_open of a kernel heap),
 * a file read that may block or is not the fuzzer's business, an fd touched
 * that the input did not create (the fuzzer's own), or more memory, threads,
 * time or allocations asked for than one input may take. Requests the parser
 * or the op's own checks refuse always run: those are the paths to fuzz. */
#ifndef DMAHEAP_FUZZ_POLICY_H
#define DMAHEAP_FUZZ_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* Every fd below this is the fuzzer's: the driver fills the free ones with
 * /dev/null, so an input's buffers are numbered from here, the same on every
 * run (the seed corpus refers to them). */
#define FUZZ_FIRST_INPUT_FD 100

/* The fds open when the input started; any of them is off limits. */
struct fd_snapshot {
	int fds[64];
	int count;      /* of fds at or above FUZZ_FIRST_INPUT_FD */
	bool overflow;  /* more than fit: every fd at or above counts as taken */
};

void fd_snapshot_take(struct fd_snapshot *s);
bool fd_snapshot_has(const struct fd_snapshot *s, long fd);

/* True if the request line may be dispatched; *why names the rule otherwise. */
bool fuzz_request_allowed(const char *line, size_t len, const struct fd_snapshot *start, const char **why);

#endif
