#define _GNU_SOURCE
#include "flags.h"

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const struct flag_name open_flag_names[] = {
	{ "O_RDONLY", O_RDONLY },   { "O_WRONLY", O_WRONLY },     { "O_RDWR", O_RDWR },
	{ "O_ACCMODE", O_ACCMODE }, { "O_CLOEXEC", O_CLOEXEC },   { "O_NONBLOCK", O_NONBLOCK },
	{ "O_APPEND", O_APPEND },   { "O_SYNC", O_SYNC },         { "O_DSYNC", O_DSYNC },
	{ "O_DIRECT", O_DIRECT },   { "O_LARGEFILE", O_LARGEFILE }, { "O_NOATIME", O_NOATIME },
	{ "O_PATH", O_PATH },       { "O_TRUNC", O_TRUNC },       { "O_CREAT", O_CREAT },
	{ "O_EXCL", O_EXCL },       { "O_NOCTTY", O_NOCTTY },     { "O_DIRECTORY", O_DIRECTORY },
	{ "O_NOFOLLOW", O_NOFOLLOW }, { NULL, 0 },
};

const struct flag_name prot_flag_names[] = {
	{ "PROT_NONE", PROT_NONE }, { "PROT_READ", PROT_READ },
	{ "PROT_WRITE", PROT_WRITE }, { "PROT_EXEC", PROT_EXEC }, { NULL, 0 },
};

const struct flag_name map_flag_names[] = {
	{ "MAP_SHARED", MAP_SHARED },     { "MAP_PRIVATE", MAP_PRIVATE },
	{ "MAP_FIXED", MAP_FIXED },       { "MAP_POPULATE", MAP_POPULATE },
	{ "MAP_NORESERVE", MAP_NORESERVE }, { "MAP_LOCKED", MAP_LOCKED },
	{ "MAP_SHARED_VALIDATE", MAP_SHARED_VALIDATE }, { NULL, 0 },
};

const struct flag_name sync_flag_names[] = {
	{ "START", DMA_BUF_SYNC_START }, { "END", DMA_BUF_SYNC_END },
	{ "READ", DMA_BUF_SYNC_READ },   { "WRITE", DMA_BUF_SYNC_WRITE },
	{ "RW", DMA_BUF_SYNC_RW },       { NULL, 0 },
};

int flags_parse(const char *text, const struct flag_name *table, uint64_t *out, const char **bad)
{
	uint64_t v = 0;
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const struct flag_name *f;
		int found = 0;

		if (n == 0) {
			*bad = p;
			return -1;
		}
		if (*p >= '0' && *p <= '9') {
			char *num_end;
			uint64_t x = strtoull(p, &num_end, 0);
			if ((size_t)(num_end - p) != n) {
				*bad = p;
				return -1;
			}
			v |= x;
			found = 1;
		}
		for (f = table; !found && f->name; f++) {
			if (strlen(f->name) == n && !strncmp(f->name, p, n)) {
				v |= f->value;
				found = 1;
			}
		}
		if (!found) {
			*bad = p;
			return -1;
		}
		p += n;
		if (*p == '|')
			p++;
	}
	*out = v;
	return 0;
}
