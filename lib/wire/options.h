/* options.h — isol8_options: a run's limits and policy (Isol8Options): from the config's
 * defaults, from a request's JSON within what the operator allows, and their own checks. */
#ifndef ISOL8_WIRE_OPTIONS_H
#define ISOL8_WIRE_OPTIONS_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/util.h"
#include "isol8.h"


/* The secrets' values, as the maskers take them (a NULL-terminated array to free(); the
 * strings stay o's). */
const char **options_secret_values(const isol8_options *o);

/* Applies an Isol8Options object over *o (consumes opts); the operator's config bounds what it
 * may loosen (seccomp 'unconfined' only where config security.seccomp allows it). */
int options_from_json(jv opts, isol8_options *o, const isol8_config *c, isol8_err *err);
/* One member of the Isol8Options JSON (options_from_json reads it back), from o: "network",
 * "memoryLimit" (bytes, as a string), "cpuLimit", ..., "secrets" (an object), "security",
 * "networkFilter", or one of its lists ("networkFilter.whitelist"); jv_invalid() for anything
 * else. options_json: every member. */
jv options_member(const isol8_options *o, const char *key);
jv options_json(const isol8_options *o);

#endif
