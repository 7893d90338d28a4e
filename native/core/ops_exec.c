/* Running a program the host sends (the upstream dmabuf-heaps selftest, a
 * static binary) on a target that has no shell: file_put writes base64
 * chunks into a private folder the agent creates once, exec runs a file
 * from that folder with a time limit and hands back its exit status and
 * what it printed. Only files put there can run. */
#define _GNU_SOURCE
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXEC_OUTPUT_MAX (512 * 1024)

static char put_dir[64];

/* The private folder: /tmp/dmaheap-XXXXXX, made on first use (an initramfs may have no /tmp yet). */
static const char *private_dir(struct request *r)
{
	if (put_dir[0])
		return put_dir;
	mkdir("/tmp", 01777);
	strcpy(put_dir, "/tmp/dmaheap-XXXXXX");
	if (!mkdtemp(put_dir)) {
		r->err = errno;
		put_dir[0] = 0;
		return NULL;
	}
	return put_dir;
}

/* A plain file name: no folder, not "." or "..". */
static bool plain_name(const char *s)
{
	return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && strlen(s) < 64;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes standard base64 in place; -1 on a character outside it. */
static ssize_t b64_decode(const char *in, uint8_t *out)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		int v = b64_value(*in);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

void op_file_put(struct request *r)
{
	const char *name = get_str(r, "name"), *data = get_str(r, "data");
	bool append = get_bool_opt(r, "append", false);
	char path[160];
	uint8_t *buf;
	ssize_t n;
	int fd;
	if (r->error)
		return;
	if (!plain_name(name))
		return bad_field(r, "name", "a plain file name (no '/')");
	buf = malloc(strlen(data) / 4 * 3 + 4);
	if (!buf) {
		r->err = ENOMEM;
		return;
	}
	n = b64_decode(data, buf);
	if (n < 0) {
		free(buf);
		return bad_field(r, "data", "not base64");
	}
	if (!private_dir(r)) {
		free(buf);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", put_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0700);
	if (fd < 0) {
		r->err = errno;
		free(buf);
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t k = write(fd, buf + off, (size_t)(n - off));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->err = errno;
			break;
		}
		off += k;
	}
	close(fd);
	free(buf);
	if (!r->err)
		jb_str(r->out, "path", path);
}

struct capture {
	int fd;
	char *buf;
	size_t len;
	bool truncated;
};

static void drain(struct capture *c)
{
	char tmp[4096];
	ssize_t k = read(c->fd, tmp, sizeof(tmp));
	if (k <= 0) {
		if (k == 0 || errno != EINTR) {
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
	size_t room = EXEC_OUTPUT_MAX - c->len;
	if ((size_t)k > room) {
		c->truncated = true;
		k = (ssize_t)room;
	}
	memcpy(c->buf + c->len, tmp, (size_t)k);
	c->len += (size_t)k;
}

/* Waits for the child until the deadline, then kills it; true if it had to. */
static bool reap_by(int pid, uint64_t deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return false;
		if (w < 0 && errno != EINTR) {
			*status = 0;
			return false;
		}
		if (now_ns() >= deadline) {
			kill(pid, SIGKILL);
			wait_child(pid, status);
			return true;
		}
		usleep(10000);
	}
}

void op_exec(struct request *r)
{
	const char *name = get_str(r, "name");
	uint64_t timeout_s = get_u64_opt(r, "timeout_s", 120);
	char path[160];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, status = 0, pid;
	struct capture cap[2] = { { -1, NULL, 0, false }, { -1, NULL, 0, false } };
	bool timed_out = false;
	uint64_t start = now_ns(), deadline;
	if (r->error)
		return;
	if (!plain_name(name) || !put_dir[0])
		return bad_field(r, "name", "a file put with file_put first");
	if (timeout_s < 1 || timeout_s > 86400)
		return bad_field(r, "timeout_s", "must be 1..86400");
	snprintf(path, sizeof(path), "%s/%s", put_dir, name);
	/* Everything the parent needs is had before the fork, so no failure
	 * after it leaves a child running unwatched. */
	cap[0].buf = malloc(EXEC_OUTPUT_MAX);
	cap[1].buf = malloc(EXEC_OUTPUT_MAX);
	if (!cap[0].buf || !cap[1].buf) {
		r->err = ENOMEM;
		goto out;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r->err = errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r->err = errno;
		goto out;
	}
	if (pid == 0) {
		/* The program's own stdin is empty; it runs in the private folder. */
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0) {
			dup2(devnull, 0);
			if (devnull > 2)
				close(devnull); /* the program gets 0, 1, 2 and nothing else of ours */
		}
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (chdir(put_dir) < 0)
			_exit(127);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	cap[0].fd = out[0];
	cap[1].fd = err[0];
	out[0] = err[0] = -1; /* closed by drain() at EOF, or below */
	deadline = start + timeout_s * 1000000000ull;
	while (cap[0].fd >= 0 || cap[1].fd >= 0) {
		struct pollfd p[2] = { { cap[0].fd, POLLIN, 0 }, { cap[1].fd, POLLIN, 0 } };
		uint64_t now = now_ns();
		if (now >= deadline)
			break;
		int n = poll(p, 2, (int)((deadline - now) / 1000000 + 1));
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				drain(&cap[i]);
	}
	for (int i = 0; i < 2; i++)
		if (cap[i].fd >= 0)
			close(cap[i].fd);
	/* A program may close its output and go on running: the deadline
	 * holds until it has exited, not until its pipes closed. */
	timed_out = reap_by(pid, deadline, &status);
	jb_strn(r->out, "stdout", cap[0].buf, cap[0].len);
	jb_strn(r->out, "stderr", cap[1].buf, cap[1].len);
	jb_bool(r->out, "truncated", cap[0].truncated || cap[1].truncated);
	jb_bool(r->out, "timed_out", timed_out);
	if (WIFEXITED(status))
		jb_i64(r->out, "exit_status", WEXITSTATUS(status));
	else
		jb_null(r->out, "exit_status");
	if (WIFSIGNALED(status))
		jb_str(r->out, "signal", strsignal(WTERMSIG(status)));
	jb_u64(r->out, "ms", (now_ns() - start) / 1000000);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(cap[0].buf);
	free(cap[1].buf);
}
