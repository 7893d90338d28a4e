/* The dmaheap core: every syscall the harness makes on a target goes through
 * dmaheap_dispatch(), which takes one protocol request (a flat JSON object)
 * and returns one response. The static agent and the Node addon are two thin
 * front ends over it, so both speak exactly the same protocol. */
#ifndef DMAHEAP_CORE_H
#define DMAHEAP_CORE_H

#include <stddef.h>

/* Bumped on any incompatible change to a request or a response. */
#define DMAHEAP_PROTOCOL_VERSION 1
#define DMAHEAP_AGENT_VERSION "0.1.0"
/* The userspace reference heap's name. It has a prefix no kernel heap uses so
 * it is never mistaken for one; the host refuses a target whose
 * /dev/dma_heap holds a node of this name. */
#define DMAHEAP_REFERENCE_HEAP "dmaheap-reference"

/* Returns a malloc'd JSON object (no trailing newline). Thread-safe: calls are
 * serialised, because the tables of open heaps and mappings are shared.
 * When memory runs out the reply is a short ENOMEM one; NULL only when not
 * even that can be allocated (the caller answers with a fixed line). */
char *dmaheap_dispatch(const char *line, size_t len);

/* The one reply to a request line longer than `max` bytes, which is never
 * parsed: `head` is its first `len` bytes, where the id is looked for so the
 * reply still pairs with its request. Same ownership as dmaheap_dispatch. */
char *dmaheap_line_too_long(const char *head, size_t len, size_t max);

/* The reply when dispatch returned NULL. */
#define DMAHEAP_OOM_REPLY "{\"id\":null,\"ok\":false,\"errno\":\"ENOMEM\",\"errnum\":12}"

/* Releases everything the core holds: open heaps, mappings, the reference
 * heap's buffers and pool. Buffer fds handed out stay open (they are the
 * host's). For a fuzzer, which must start every input from a fresh core. */
void dmaheap_reset(void);

#endif
