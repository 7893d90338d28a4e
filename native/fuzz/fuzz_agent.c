/* libFuzzer entry point: an input is what the agent reads from its link, a
 * byte stream of request lines. It goes through the agent's own framing
 * (agent/lines.c, with a short line limit so that overlong lines are
 * fuzzed too) and each line through the real parser and dispatch, against
 * the reference heap; fuzz_policy.h says which requests are run. Every
 * reply is checked to be one line of valid JSON in the protocol's shape,
 * and every request line to get exactly one reply; a violation aborts,
 * which libFuzzer reports as a crash. After each input the core is reset
 * and every fd the input opened is closed, so inputs do not see each other
 * and nothing accumulates over millions of them.
 *
 * DMAHEAP_FUZZ_TRACE=1 prints each request and its reply (or why it was not
 * run) on stderr: how the tests see that the seed corpus reaches each op. */
#define _GNU_SOURCE
#include "fuzz_policy.h"

#include "../agent/lines.h"
#include "../core/dmaheap.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Short, so the fuzzer meets overlong lines often. */
#define FUZZ_MAX_LINE 1024

static bool trace;

struct input_run {
	const struct fd_snapshot *start;
	size_t lines;
};

static void fail(const char *what, const char *line, size_t len, const char *reply)
{
	fprintf(stderr, "fuzz-agent: %s\n  request: %.*s\n  reply: %s\n", what, (int)(len > 300 ? 300 : len), line,
		reply ? reply : "(none)");
	abort();
}

/* The reply contract every host relies on: one line, one JSON object, an
 * id that is null or an integer, ok a boolean, and a failure that says why
 * (error) or which errno (errno and errnum). */
static void check_reply(const char *reply, const char *line, size_t len, bool too_long)
{
	const char *end = NULL;
	cJSON *o, *id, *ok;

	if (!reply)
		fail("no reply (dispatch returned NULL with memory to spare)", line, len, reply);
	if (strchr(reply, '\n'))
		fail("the reply spans more than one line", line, len, reply);
	/* the length counts the NUL: cJSON looks for it to see nothing follows */
	o = cJSON_ParseWithLengthOpts(reply, strlen(reply) + 1, &end, true);
	if (!o || !cJSON_IsObject(o) || *end)
		fail("the reply is not one JSON object", line, len, reply);
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	if (!id || !(cJSON_IsNull(id) || (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
					   id->valuedouble == (double)(uint64_t)id->valuedouble)))
		fail("the reply's id is neither null nor a non-negative integer", line, len, reply);
	if (!cJSON_IsBool(ok))
		fail("the reply's ok is not a boolean", line, len, reply);
	if (cJSON_IsFalse(ok)) {
		cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
		cJSON *errno_ = cJSON_GetObjectItemCaseSensitive(o, "errno");
		cJSON *errnum = cJSON_GetObjectItemCaseSensitive(o, "errnum");
		if (!cJSON_IsString(error) && !(cJSON_IsString(errno_) && cJSON_IsNumber(errnum)))
			fail("a failed reply names neither an error nor an errno", line, len, reply);
	}
	if (too_long && (!cJSON_IsFalse(ok) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error"))))
		fail("an overlong line was not refused", line, len, reply);
	cJSON_Delete(o);
}

static int on_line(void *ctx, const char *line, size_t len, bool too_long)
{
	struct input_run *run = ctx;
	const char *why = NULL;
	char *reply;

	run->lines++;
	if (too_long) {
		reply = dmaheap_line_too_long(line, len, len);
	} else if (!fuzz_request_allowed(line, len, run->start, &why)) {
		if (trace)
			fprintf(stderr, "fuzz-agent> %.*s\nfuzz-agent- not run: %s\n", (int)len, line, why);
		return 0;
	} else {
		reply = dmaheap_dispatch(line, len);
	}
	if (trace)
		fprintf(stderr, "fuzz-agent> %.*s\nfuzz-agent< %s\n", (int)(too_long ? 80 : len), line, reply ? reply : "");
	check_reply(reply, line, len, too_long);
	free(reply);
	return 0;
}

/* Counted apart from the reader: non-empty lines that end in a newline, and
 * a last unterminated one once it is longer than the limit (it was answered
 * as too long when it grew past it). */
static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t n = 0, len = 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			n += len > 0;
			len = 0;
		} else {
			len++;
		}
	}
	return n + (len > FUZZ_MAX_LINE);
}

/* Closes what the input left open: the core's heaps and mappings first
 * (dmaheap_reset), then every fd that was not open when it began. */
static void release_input(const struct fd_snapshot *start)
{
	struct fd_snapshot now;

	dmaheap_reset();
	fd_snapshot_take(&now);
	for (int i = 0; i < now.count; i++)
		if (!fd_snapshot_has(start, now.fds[i]))
			close(now.fds[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("DMAHEAP_FUZZ_TRACE");
	static const char warm[] = "{\"id\":0,\"op\":\"kmsg_drain\"}";
	int null;

	trace = t && *t && strcmp(t, "0");
	/* kmsg_drain keeps its /dev/kmsg reader open for good: open it now, so
	 * it is the fuzzer's fd, not one an input opened and the reset closes. */
	free(dmaheap_dispatch(warm, sizeof(warm) - 1));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; null >= 0 && fd < FUZZ_FIRST_INPUT_FD; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			dup3(null, fd, O_CLOEXEC);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_MAX_LINE];
	struct fd_snapshot start;
	struct line_reader lr;
	struct input_run run;

	fd_snapshot_take(&start);
	run = (struct input_run){ .start = &start };
	line_reader_init(&lr, buf, sizeof(buf));
	line_reader_feed(&lr, (const char *)data, size, on_line, &run);
	if (run.lines != count_lines(data, size)) {
		fprintf(stderr, "fuzz-agent: %zu request lines got %zu replies\n", count_lines(data, size), run.lines);
		abort();
	}
	release_input(&start);
	return 0;
}
