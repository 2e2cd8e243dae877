/* config.h — isol8.config.json: ./isol8.config.json, else ~/.isol8/config.json,
 * else defaults. Each section is shallow-merged over the defaults; arrays replace wholesale.
 * Unlike the reference, unknown keys and wrong types are errors (a typo must not silently
 * weaken a limit). */
#ifndef ISOL8_CONFIG_H
#define ISOL8_CONFIG_H

#include <jv.h>

#include "core/err.h"
#include "isol8.h"


/* Borrowing accessors by dotted path ("defaults.timeoutMs"); fallback when absent. */
double config_num(const isol8_config *c, const char *path, double fallback);
const char *config_str(const isol8_config *c, const char *path, const char *fallback);
int config_bool(const isol8_config *c, const char *path, int fallback);
jv config_get(const isol8_config *c, const char *path); /* copy; jv_invalid() when absent */

/* The human-readable view printed by `isol8 config`. malloc'd. */
char *config_describe(const isol8_config *c);

#endif
