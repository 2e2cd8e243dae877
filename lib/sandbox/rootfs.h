/* rootfs.h — builds the sandbox's filesystem view inside a fresh mount namespace.
 * Runs in the sandbox's init (root of its namespaces) before anything untrusted runs. */
#ifndef ISOL8_ROOTFS_H
#define ISOL8_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

/* Where isol8 puts its own files for the runtimes (matplotlib's backend and config dir): a small
 * tmpfs of each sandbox, made by rootfs_build with the files below. */
#define ISOL8_SUPPORT_DIR "/.isol8"

typedef struct isol8_support_file {
	const char *path;   /* relative to ISOL8_SUPPORT_DIR, no ".."; parents are made 0755 */
	const void *data;   /* NULL: a directory */
	size_t len;
	unsigned mode;
	bool sandbox_owned; /* owned by the sandbox user, who may change it (a config or cache dir) */
} isol8_support_file;

typedef struct isol8_rootfs_opts {
	const char *staging;      /* an empty directory the new root is mounted on */
	const char *image;        /* root filesystem directory, or NULL for the host's runtime dirs */
	const char *runtimes_dir; /* extra host dir bound at the same path (bun, deno); may be NULL */
	bool writable;            /* writable root: host dirs get a throw-away overlay */
	const char *layer;        /* a host dir bound at ISOL8_LAYER_DIR (an image's packages), or NULL */
	bool layer_writable;      /* …writable (while the image is built), else read-only */
	uint64_t sandbox_size, tmp_size;
	const isol8_support_file *support; /* files for ISOL8_SUPPORT_DIR (none: no such dir) */
	size_t nsupport;
	uid_t uid;
	gid_t gid;
	bool on_template;         /* staging already holds rootfs_template's tree for these options */
} isol8_rootfs_opts;

/* Where an image's layer is in the sandbox. */
#define ISOL8_LAYER_DIR "/isol8-image"

/* Builds the root, pivots into it. On return "/" is the sandbox root. With a layer, the init
 * then holds a shared lock on it (ISOL8_LAYER_DIR, as the sandbox sees it) until it exits. */
int rootfs_build(const isol8_rootfs_opts *o, isol8_err *err);

/* The part of rootfs_build that is the same for every sandbox of o (the host's runtime dirs and
 * /etc files, /dev, and every mount point), built at o->staging in the caller's mount namespace
 * and made read-only: a zygote's, whose forks then build only their own mounts on their copy
 * (o->on_template). Not for an image, a layer or a writable root. -1 with err, nothing left. */
int rootfs_template(const isol8_rootfs_opts *o, isol8_err *err);

/* A shared flock(2) on a layer directory, for as long as the returned fd is open (-1 with err).
 * Threat: the image store removes a layer that no tag names (a rebuild, a removal) once it gets
 * the exclusive lock; a sandbox that has the layer mounted must keep it. Checked after locking:
 * path still names the locked directory (a removal renames it away first), so a layer being
 * removed is refused, never mounted half gone. */
int rootfs_hold_layer(const char *path, isol8_err *err);

#endif
