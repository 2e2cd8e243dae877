/* config.h — isol8.config.json: ./isol8.config.json, else ~/.isol8/config.json,
 * else defaults. Each section is shallow-merged over the defaults; arrays replace wholesale.
 * Unlike the reference, unknown keys and wrong types are errors (a typo must not silently
 * weaken a limit). */
#ifndef ISOL8_CONFIG_H
#define ISOL8_CONFIG_H

#include <jv.h>

#include "core/err.h"

typedef struct isol8_config {
	jv root;      /* the merged configuration */
	char *source; /* absolute path of the file loaded, or NULL for defaults */
} isol8_config;

/* Loads from cwd/HOME as above. ISOL8_CONFIG=path overrides the search (for tests, services). */
int config_load(isol8_config *c, isol8_err *err);
/* Validates and merges one JSON text over the defaults (what config_load does with a file). */
int config_from_text(isol8_config *c, const char *text, size_t len, const char *what, isol8_err *err);
void config_free(isol8_config *c);

/* Borrowing accessors by dotted path ("defaults.timeoutMs"); fallback when absent. */
double config_num(const isol8_config *c, const char *path, double fallback);
const char *config_str(const isol8_config *c, const char *path, const char *fallback);
int config_bool(const isol8_config *c, const char *path, int fallback);
jv config_get(const isol8_config *c, const char *path); /* copy; jv_invalid() when absent */

/* The human-readable view printed by `isol8 config`. malloc'd. */
char *config_describe(const isol8_config *c);

#endif
