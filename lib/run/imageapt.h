/* imageapt.h — the build of a bash image: Debian packages from the host's apt sources, fetched
 * by apt-get inside the build sandbox (as the sandbox user: no root, no dpkg database written)
 * and unpacked into the layer with dpkg-deb -x. Only what the host lacks is fetched: the host's
 * dpkg status goes in with the sources, and the sandbox's /usr is the host's. */
#ifndef ISOL8_RUN_IMAGEAPT_H
#define ISOL8_RUN_IMAGEAPT_H

#include <stddef.h>

#include "wire/request.h"

/* Fills r (its command and the files it needs: sources, keys, dpkg status) and o (a filtered
 * network open to the sources' hosts only) for installing packages pk into the layer's bash/.
 * The host's apt configuration (APT_CONFIG included) says where they are. */
int apt_build_prepare(isol8_request *r, isol8_options *o, char *const *pk, size_t n, isol8_err *err);

/* The hosts of the http(s) sources in one sources file (one-line ".list" or deb822 ".sources"
 * format), added to *pats as anchored patterns (duplicates skipped). */
void apt_source_hosts(const char *text, char ***pats, size_t *n);

#endif
