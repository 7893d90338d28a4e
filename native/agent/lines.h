/* The agent's request framing: bytes in, whole lines out. A line is
 * answered exactly once whatever its length: one that grows past the limit
 * is handed over once as too long, as soon as it does (with its first bytes,
 * where the id is), and the rest of it up to its newline is dropped, so the
 * host never gets a second reply for the same line. Empty lines are skipped. */
#ifndef DMAHEAP_AGENT_LINES_H
#define DMAHEAP_AGENT_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct line_reader {
	char *buf;      /* room for max bytes: the line being gathered */
	size_t max;     /* the longest line accepted, without its newline */
	size_t used;
	bool dropping;  /* inside a line already answered as too long */
};

/* Called once per line: `too_long` false with the whole line (no newline),
 * or true with its first `max` bytes. A nonzero return stops the feed and
 * is returned by line_reader_feed. */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, bool too_long);

void line_reader_init(struct line_reader *lr, char *buf, size_t max);
int line_reader_feed(struct line_reader *lr, const char *data, size_t n, line_fn fn, void *ctx);

#endif
