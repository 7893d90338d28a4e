/* Importing a buffer into vgem, the software DRM driver the upstream
 * selftest uses as a stand-in for a device: PRIME fd-to-handle attaches the
 * dma-buf. The DRM structs are spelled out (include/uapi/drm/drm.h) so the
 * agent builds without DRM headers. */
#define _GNU_SOURCE
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct drm_version_arg {
	int version_major, version_minor, version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_prime_handle_arg {
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
};

struct drm_gem_close_arg {
	uint32_t handle;
	uint32_t pad;
};

#define DRM_IOCTL_VERSION_ _IOWR('d', 0x00, struct drm_version_arg)
#define DRM_IOCTL_GEM_CLOSE_ _IOW('d', 0x09, struct drm_gem_close_arg)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE_ _IOWR('d', 0x2e, struct drm_prime_handle_arg)

/* Scans /dev/dri/card0..15 for the driver named "vgem". */
void op_vgem_open(struct request *r)
{
	for (int i = 0; i < 16; i++) {
		char path[32], name[8];
		struct drm_version_arg v;
		int fd;
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (ioctl(fd, DRM_IOCTL_VERSION_, &v) == 0 && v.name_len == 4 && !memcmp(name, "vgem", 4)) {
			jb_i64(r->out, "fd", fd);
			jb_str(r->out, "path", path);
			if (r->out->failed)
				close(fd);
			return;
		}
		close(fd);
	}
	r->err = ENOENT;
}

void op_prime_import(struct request *r)
{
	int dev = get_fd(r, "dev");
	int fd = get_fd(r, "fd");
	struct drm_prime_handle_arg p = { .fd = fd };
	if (r->error)
		return;
	if (ioctl(dev, DRM_IOCTL_PRIME_FD_TO_HANDLE_, &p) < 0) {
		r->err = errno;
		return;
	}
	jb_u64(r->out, "handle", p.handle);
}

void op_gem_close(struct request *r)
{
	int dev = get_fd(r, "dev");
	uint64_t handle = get_u64(r, "handle");
	struct drm_gem_close_arg c = { .handle = (uint32_t)handle };
	if (r->error)
		return;
	if (ioctl(dev, DRM_IOCTL_GEM_CLOSE_, &c) < 0)
		r->err = errno;
}
