/* rootfs.h — builds the sandbox's filesystem view inside a fresh mount namespace.
 * Runs in the sandbox's init (root of its namespaces) before anything untrusted runs. */
#ifndef ISOL8_ROOTFS_H
#define ISOL8_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

typedef struct isol8_rootfs_opts {
	const char *staging;      /* an empty directory the new root is mounted on */
	const char *image;        /* root filesystem directory, or NULL for the host's runtime dirs */
	const char *runtimes_dir; /* extra host dir bound at the same path (bun, deno); may be NULL */
	bool writable;            /* writable root: host dirs get a throw-away overlay */
	uint64_t sandbox_size, tmp_size;
	uid_t uid;
	gid_t gid;
} isol8_rootfs_opts;

/* Builds the root, pivots into it. On return "/" is the sandbox root. */
int rootfs_build(const isol8_rootfs_opts *o, isol8_err *err);

#endif
