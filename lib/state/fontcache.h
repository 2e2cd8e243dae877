/* fontcache.h — matplotlib's font cache (fontlist-v<N>.json), built once by `isol8 setup` in a
 * sandbox and copied into every sandbox's matplotlib config dir, so that a run's first
 * `import matplotlib.pyplot` does not spend ~100 ms scanning the fonts (docs/figures.md).
 * It lives in ISOL8_CACHE_DIR, else /var/cache/isol8 (root), else $XDG_CACHE_HOME/isol8 or
 * ~/.cache/isol8, under matplotlib/. Threat: its content goes into every sandbox, so it is only
 * read from a directory and file that belong to this user or root and that nobody else may
 * write, and only as a regular file of sane size and name; anything else is ignored (the runs
 * then build their own, slower, never wrong). */
#ifndef ISOL8_STATE_FONTCACHE_H
#define ISOL8_STATE_FONTCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/util.h"

#define FONTCACHE_MAX_BYTES (4u << 20)

/* The directory the cache lives in (malloc'd). */
char *fontcache_dir(void);
/* Whether name is a cache file's name: fontlist-v<1-6 digits>.json. */
bool fontcache_name_ok(const char *name);
/* The cache, if a good one is there: 1 with its file name and content, 0 when there is none. */
int fontcache_load(char name[64], isol8_buf *data);
/* Replaces the cache with data under name (atomically; the directory made 0755 if missing,
 * any other cache file removed). */
int fontcache_store(const char *name, const void *data, size_t len, isol8_err *err);

#endif
