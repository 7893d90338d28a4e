#include "lines.h"

#include <string.h>

void line_reader_init(struct line_reader *lr, char *buf, size_t max)
{
	lr->buf = buf;
	lr->max = max;
	lr->used = 0;
	lr->dropping = false;
}

int line_reader_feed(struct line_reader *lr, const char *data, size_t n, line_fn fn, void *ctx)
{
	const char *end = data + n;
	int rc;

	while (data < end) {
		const char *nl = memchr(data, '\n', (size_t)(end - data));
		size_t chunk = (size_t)((nl ? nl : end) - data);

		if (lr->dropping) {
			/* the rest of a line already answered */
		} else if (lr->used == 0 && nl && chunk <= lr->max) {
			/* a whole line in the input: no copy */
			if (chunk && (rc = fn(ctx, data, chunk, false)))
				return rc;
		} else if (chunk > lr->max - lr->used) {
			memcpy(lr->buf + lr->used, data, lr->max - lr->used);
			lr->used = 0;
			lr->dropping = true;
			if ((rc = fn(ctx, lr->buf, lr->max, true)))
				return rc;
		} else {
			memcpy(lr->buf + lr->used, data, chunk);
			lr->used += chunk;
			if (nl) {
				size_t len = lr->used;
				lr->used = 0;
				if (len && (rc = fn(ctx, lr->buf, len, false)))
					return rc;
			}
		}
		if (!nl)
			break;
		lr->dropping = false; /* a newline ends whatever line it was */
		data = nl + 1;
	}
	return 0;
}
