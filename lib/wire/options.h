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

/* Limits on what one request may carry (bad input must not exhaust isol8 itself). */
#define ISOL8_MAX_REQUEST_BYTES (64u << 20)
#define ISOL8_MAX_FILES 4096
#define ISOL8_MAX_ENV 1024

enum isol8_net { ISOL8_NET_NONE, ISOL8_NET_HOST, ISOL8_NET_FILTERED };
/* "none", "host" or "filtered" as its enum isol8_net, or -1 for anything else. */
int net_from_name(const char *name);
/* The reverse, from the same table. */
const char *net_to_name(enum isol8_net net);
enum isol8_seccomp { ISOL8_SECCOMP_STRICT, ISOL8_SECCOMP_UNCONFINED };

typedef struct isol8_options {
	enum isol8_net network;
	uint64_t memory_limit;   /* bytes */
	double cpu_limit;        /* cores */
	long long pids_limit;
	uint64_t sandbox_size, tmp_size;
	uint64_t max_output;     /* bytes per stream */
	long long timeout_ms;
	isol8_kv *secrets;
	size_t nsecrets;
	char *image;             /* root filesystem directory, or NULL for the host's runtime dirs */
	bool writable;           /* root filesystem writable (changes discarded) */
	bool persist;            /* leave the sandbox alive after the run */
	bool debug;
	enum isol8_seccomp seccomp;
	char **net_allow, **net_deny; /* --net filtered: host patterns (pcre2) */
	size_t nallow, ndeny;
	bool log_network;             /* put this run's proxy log in the result (networkLogs) */
} isol8_options;

/* Options from the merged config's defaults (timeout, memory, cpu, sizes, network, rootfs, seccomp). */
int options_from_config(isol8_options *o, const isol8_config *c, isol8_err *err);
void options_free(isol8_options *o);
/* The secrets' values, as the maskers take them (a NULL-terminated array to free(); the
 * strings stay o's). */
const char **options_secret_values(const isol8_options *o);

/* Applies an Isol8Options object over *o (consumes opts); the operator's config bounds what it
 * may loosen (seccomp 'unconfined' only where config security.seccomp allows it). */
int options_from_json(jv opts, isol8_options *o, const isol8_config *c, isol8_err *err);
/* The options' own checks (secret names, filter patterns, minimum sizes), which
 * request_validate ends with; for tools that build a sandbox without a request. */
int options_validate(const isol8_options *o, isol8_err *err);

#endif
