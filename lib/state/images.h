/* images.h — the store of built images: each is a directory of packages (its layer) and a
 * manifest, kept in a persistent directory (not the run dir, which is tmpfs):
 *
 *   <store>/<tag>                 a symlink to .layers/<tag>-<hash>-<random>, replaced atomically
 *   <store>/.layers/<…>/manifest.json   {"tag","runtime","packages","setupScript"?,"registry"?,"hash",
 *                                        "sizeBytes","created"}
 *   <store>/.layers/<…>/layer/    mounted read-only at /isol8-image in a run (rootfs.h)
 *
 * The store is ISOL8_IMAGE_DIR, else the config's imageStore, else /var/lib/isol8/images as root
 * and $XDG_DATA_HOME/isol8/images (~/.local/share/isol8/images) otherwise. A reader resolves the
 * tag's link once and keeps the directory it names, so a rebuild that replaces the link under a
 * run does not change what that run sees.
 *
 * Retired layers. A rebuild or a removal leaves the old directory in .layers, named by no tag; a
 * session, a --persist or pooled sandbox may still have it mounted. Every sandbox holds a shared
 * flock(2) on its layer directory while it lives (rootfs_hold_layer: its supervisor from before
 * the mount, its init from then on), so images_collect removes a retired directory only when it
 * gets the exclusive lock: nothing has it mounted. It runs after every build and removal, and in
 * isol8-cleanup. Builds and removals of one tag take turns on <store>/.lock-<tag>, which is gone
 * once the tag names no image. */
#ifndef ISOL8_STATE_IMAGES_H
#define ISOL8_STATE_IMAGES_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

typedef struct isol8_image {
	char tag[129];
	char runtime[16];
	char **packages;   /* normalised: trimmed, deduplicated, sorted */
	size_t npackages;
	char *setup_script; /* run before the code of every run on this image, or NULL */
	char *registry;     /* the registry the packages came from, or NULL (deno's cache is keyed by it) */
	char hash[17];      /* of runtime, packages and setup script: a rebuild with the same is skipped */
	unsigned long long size_bytes;
	char created[32];
	char *dir;          /* the resolved .layers/<…> directory (image_find, image_list) */
} isol8_image;

/* The store directory (malloc'd), from the environment, cfg's imageStore (cfg may be NULL), or
 * the default. */
char *images_store(const isol8_config *cfg);
/* A tag: 1-128 of [A-Za-z0-9_.:-], not starting with '.' or '-' (it names files). */
bool image_tag_valid(const char *tag);
/* FNV-1a over the runtime, each package and the setup script, as 16 hex digits (change
 * detection, not integrity: the store is the operator's). */
void image_hash(const char *runtime, char *const *packages, size_t n, const char *setup, char out[17]);

jv image_manifest_json(const isol8_image *im);
int image_manifest_write(const char *path, const isol8_image *im);
/* -1 when unreadable or malformed (fail closed: such an image is not used). */
int image_manifest_read(const char *path, isol8_image *im);
void image_free(isol8_image *im);

/* The image tagged tag: 0 with *im filled (im->dir set), -1 when there is none. */
int image_find(const char *store, const char *tag, isol8_image *im);
/* The layer directory of a found image (malloc'd). */
char *image_layer(const isol8_image *im);
/* Every image of the store, by tag. */
int image_list(const char *store, isol8_image **out, size_t *n);
void image_list_free(isol8_image *v, size_t n);
/* A fresh directory under .layers for a build of tag (its layer/ inside, empty), malloc'd. */
char *image_new_dir(const char *store, const char *tag, const char *hash, isol8_err *err);
/* Points tag at dir (atomically: a new link renamed over the old). The directory the tag named
 * before is retired: images_collect removes it once unused. Call with the tag's lock held. */
int image_publish(const char *store, const char *tag, const char *dir, isol8_err *err);
/* Removes tag (under its lock), and its directory unless a sandbox has it mounted. */
int image_remove(const char *store, const char *tag, isol8_err *err);
/* The lock of builds and removals of tag (an fd, -1 with err). image_unlock_tag releases it, and
 * removes the lock file when the tag names no image. */
int image_lock_tag(const char *store, const char *tag, isol8_err *err);
void image_unlock_tag(const char *store, const char *tag, int fd);
/* Removes every directory of .layers that no tag names, that no sandbox holds and whose tag no
 * build is making (held_tag: the tag whose lock the caller holds, or NULL); *removed counts them.
 * -1 with err when some could not be removed (the others are). */
int images_collect(const char *store, const char *held_tag, size_t *removed, isol8_err *err);
/* rm -rf of a directory the store owns (no link is followed). */
int image_remove_dir(const char *dir);

#endif
