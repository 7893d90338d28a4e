/* dmaheap-agent: the core's protocol over a byte stream, for targets with no
 * Node (boards, QEMU guests). One request per line in, one response per line
 * out, in order. Static, no dependencies beyond libc.
 *
 *   dmaheap-agent                     stdin/stdout (SSH, qemu-user)
 *   dmaheap-agent --virtio-port NAME  the virtio-serial port named NAME (QEMU)
 */
#define _GNU_SOURCE
#include "../core/dmaheap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	int in = 0, out = 1;
	bool virtio = false;
	static char line[LINE_MAX_BYTES];
	size_t used = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--virtio-port") && i + 1 < argc) {
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
			fprintf(stderr, "usage: dmaheap-agent [--virtio-port NAME] [--version]\n");
			return 2;
		}
	}

	for (;;) {
		ssize_t k = read(in, line + used, sizeof(line) - used);
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
			usleep(20000);
			continue;
		}
		used += (size_t)k;
		char *start = line, *nl;
		while ((nl = memchr(start, '\n', used - (size_t)(start - line)))) {
			size_t n = (size_t)(nl - start);
			if (n) {
				char *resp = dmaheap_dispatch(start, n);
				size_t rn = strlen(resp);
				resp[rn] = '\n'; /* jb buffers always have room for the NUL */
				int rc = write_all(out, resp, rn + 1);
				free(resp);
				if (rc < 0) {
					perror("dmaheap-agent: write");
					return 1;
				}
			}
			start = nl + 1;
		}
		used -= (size_t)(start - line);
		memmove(line, start, used);
		if (used == sizeof(line)) {
			static const char msg[] = "{\"id\":null,\"ok\":false,\"error\":\"request line too long\"}\n";
			write_all(out, msg, sizeof(msg) - 1);
			used = 0;
		}
	}
}
