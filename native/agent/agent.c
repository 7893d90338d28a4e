/* dmaheap-agent: the core's protocol over a byte stream, for targets with no
 * Node (boards, QEMU guests). One request per line in, one response per line
 * out, in order. Static, no dependencies beyond libc.
 *
 *   dmaheap-agent                     stdin/stdout (SSH, qemu-user)
 *   dmaheap-agent --virtio-port NAME  the virtio-serial port named NAME (QEMU)
 *   dmaheap-agent --init ...          as PID 1 of an initramfs with no shell:
 *                                     mounts /proc, /sys, /dev, debugfs and
 *                                     loads /lib/modules/<name>.ko for each
 *                                     name in /etc/modules, first
 * Started as PID 1 with no arguments (the kernel's rdinit=/init passes none),
 * it means --init --virtio-port dmaheap.agent.
 */
#define _GNU_SOURCE
#include "../core/dmaheap.h"
#include "lines.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* The longest request line; the host's longest (a file_put chunk) is well
 * below. */
#define LINE_MAX_BYTES (1 << 20)

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One reply line per request line (lines.h). */
static int answer(void *ctx, const char *line, size_t len, bool too_long)
{
	int out = *(int *)ctx;
	char *resp = too_long ? dmaheap_line_too_long(line, len, len) : dmaheap_dispatch(line, len);
	int rc;

	if (!resp)
		return write_all(out, DMAHEAP_OOM_REPLY "\n", sizeof(DMAHEAP_OOM_REPLY));
	size_t rn = strlen(resp);
	resp[rn] = '\n'; /* over the NUL: the reply and its newline in one write */
	rc = write_all(out, resp, rn + 1);
	free(resp);
	return rc;
}

/* Virtio-serial ports appear as /dev/vportNpM; their names are in sysfs. */
static int open_virtio_port(const char *name)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	char path[512], buf[256];

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int fd;
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, name)) {
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			closedir(d);
			return open(path, O_RDWR | O_CLOEXEC);
		}
	}
	closedir(d);
	errno = ENOENT;
	return -1;
}

/* What the shell init does on targets that have a static busybox. */
static void init_system(void)
{
	static const struct {
		const char *source, *target, *type;
	} mounts[] = {
		{ "proc", "/proc", "proc" },
		{ "sysfs", "/sys", "sysfs" },
		{ "devtmpfs", "/dev", "devtmpfs" },
		{ "debugfs", "/sys/kernel/debug", "debugfs" },
		/* the properties suite traces allocations; absent without CONFIG_FTRACE */
		{ "tracefs", "/sys/kernel/tracing", "tracefs" },
	};
	char name[256], path[300];
	FILE *f;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		mkdir(mounts[i].target, 0755);
		if (mount(mounts[i].source, mounts[i].target, mounts[i].type, 0, NULL) < 0 && errno != EBUSY && errno != ENODEV)
			fprintf(stderr, "dmaheap-init: mount %s: %s\n", mounts[i].target, strerror(errno));
	}
	f = fopen("/etc/modules", "re");
	while (f && fscanf(f, "%255s", name) == 1) {
		snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
			fprintf(stderr, "dmaheap-init: insmod %s failed: %s\n", name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (f)
		fclose(f);
}

/* As PID 1 the agent serves from a child and restarts it when it dies (the
 * OOM killer, a SIGKILL, an Oops in a syscall): PID 1 itself cannot be
 * killed, and its exit would panic the kernel. Each restart is announced on
 * the port, so the host knows the agent's state (open heaps, buffers) is
 * gone instead of waiting for an answer that will never come. Returns in
 * the child. */
static void supervise(int port)
{
	for (;;) {
		int status = 0;
		bool reaped = false;
		pid_t child = fork();
		if (child < 0) {
			perror("dmaheap-init: fork");
			return; /* serve from PID 1 itself */
		}
		if (child == 0)
			return;
		/* Reap every orphan too (PID 1's duty) until the agent itself ends. */
		for (;;) {
			pid_t w = waitpid(-1, &status, 0);
			if (w == child)
				reaped = true;
			if (w == child || (w < 0 && errno != EINTR))
				break;
		}
		char why[64], event[160];
		if (!reaped)
			snprintf(why, sizeof(why), "was lost (waitpid: %s)", strerrorname_np(errno) ?: "?");
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
		else
			snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
		fprintf(stderr, "dmaheap-init: the agent %s; restarting it\n", why);
		int n = snprintf(event, sizeof(event), "{\"id\":null,\"event\":\"agent restarted\",\"why\":\"%s\"}\n", why);
		write_all(port, event, (size_t)n);
	}
}

int main(int argc, char **argv)
{
	int in = 0, out = 1;
	bool virtio = false;
	static char line[LINE_MAX_BYTES], chunk[64 * 1024];
	struct line_reader lr;

	static char *as_init[] = { "dmaheap-agent", "--init", "--virtio-port", "dmaheap.agent", NULL };
	if (getpid() == 1 && argc == 1) {
		argv = as_init;
		argc = 4;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--init")) {
			init_system();
			fprintf(stderr, "dmaheap-init: starting agent\n");
		} else if (!strcmp(argv[i], "--virtio-port") && i + 1 < argc) {
			const char *name = argv[++i];
			int fd = -1;
			/* The port shows up a moment after the driver probes. */
			for (int tries = 0; tries < 100 && fd < 0; tries++) {
				fd = open_virtio_port(name);
				if (fd < 0)
					usleep(50000);
			}
			if (fd < 0) {
				fprintf(stderr, "dmaheap-agent: no virtio-serial port named %s\n", name);
				return 2;
			}
			in = out = fd;
			virtio = true;
		} else if (!strcmp(argv[i], "--version")) {
			printf("dmaheap-agent %s protocol %d\n", DMAHEAP_AGENT_VERSION, DMAHEAP_PROTOCOL_VERSION);
			return 0;
		} else {
			fprintf(stderr, "usage: dmaheap-agent [--init] [--virtio-port NAME] [--version]\n");
			return 2;
		}
	}

	if (getpid() == 1)
		supervise(out);

	line_reader_init(&lr, line, sizeof(line));
	for (;;) {
		ssize_t k = read(in, chunk, sizeof(chunk));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			perror("dmaheap-agent: read");
			return 1;
		}
		if (k == 0) {
			/* A virtio port reads EOF while the host side is not
			 * connected; wait for it to come back. stdin EOF ends. */
			if (!virtio)
				return 0;
			/* what was left of a line belongs to the link that went */
			line_reader_init(&lr, line, sizeof(line));
			usleep(20000);
			continue;
		}
		if (line_reader_feed(&lr, chunk, (size_t)k, answer, &out)) {
			perror("dmaheap-agent: write");
			return 1;
		}
	}
}
