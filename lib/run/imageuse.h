/* imageuse.h — which image a run uses (the reference's resolution): --image names a directory
 * (a root filesystem, as before) or an image of the store; else a run with packages to install
 * uses an image whose packages are exactly those, or else the last one that has them all, and then
 * installs nothing at run time; otherwise it installs as before. An image's own setup script runs
 * before the request's. */
#ifndef ISOL8_RUN_IMAGEUSE_H
#define ISOL8_RUN_IMAGEUSE_H

#include "core/config.h"
#include "wire/request.h"

/* Applies the image to r and o (o->layer, r->setup_script, r->install); store: the image store.
 * An --image that is neither a directory nor an image of the store, or an image of another
 * runtime, is refused. */
int image_apply(isol8_request *r, isol8_options *o, const char *store, isol8_err *err);

/* isol8_request_resolve among the images whose tags c lists under list_key only (isol8-serve:
 * "serve.images"), for --image and for the packages' resolution alike; a missing key lists
 * none. */
int image_resolve_listed(isol8_request *r, isol8_options *o, const isol8_config *c, const char *list_key,
			 bool network_explicit, isol8_err *err);

#endif
