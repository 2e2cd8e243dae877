/* imagebuild.h — building an image of the store (state/images.h): the packages installed by the
 * runtime's own package manager inside a build sandbox (the isolation of a run, its network
 * filtered down to the registry this host is configured with), into the image's layer, mounted
 * writable at /isol8-image for the build only. */
#ifndef ISOL8_RUN_IMAGEBUILD_H
#define ISOL8_RUN_IMAGEBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <jv.h>

#include "sandbox/rootfs.h"
#include "wire/request.h"

/* A build's own scratch space, in the layer (so on the store's filesystem, not in the build
 * sandbox's memory): the package managers' downloads, caches and temporary files. Removed before
 * the image is measured and published. */
#define ISOL8_BUILD_SCRATCH ".isol8-build"
#define ISOL8_BUILD_SCRATCH_DIR ISOL8_LAYER_DIR "/" ISOL8_BUILD_SCRATCH

typedef struct isol8_build {
	const char *store, *tag, *runtime;
	char **packages;       /* as given: each may hold several, comma-separated */
	size_t npackages;
	const char *setup;     /* the image's setup script (run before the code of every run), or NULL */
	bool force;            /* rebuild even when nothing changed */
	long long timeout_ms;  /* for the install */
	uint64_t max_bytes;    /* the layer's size cap */
} isol8_build;

/* Splits on commas, trims, drops empties, deduplicates and sorts (the reference's
 * normalisation) into *out; every name is checked (validate_package_name). */
int image_packages_normalise(char *const *in, size_t n, char ***out, size_t *nout, isol8_err *err);

/* Builds and publishes b->tag. 1 when skipped (the image is up to date), 0 when built, -1 with
 * err (nothing under the tag changed). fn gets the install's output as events. opts: the limits
 * of the build sandbox (from the config); its network is set here. */
int image_build(const isol8_build *b, const isol8_options *opts, isol8_event_fn fn, void *ctx, isol8_err *err);

/* The config's prebuiltImages, each built unless its tag exists (or force): one line per image
 * on stderr, as the reference's `isol8 setup` ("[OK] <tag> (already exists)", "[OK] <tag>
 * (<runtime>: <pkg, pkg>)"). 0, or -1 with err at the first that fails. */
int images_setup(const char *store, jv prebuilt, const isol8_options *opts, bool force, isol8_event_fn fn, void *ctx,
		 isol8_err *err);

#endif
