/* request.h — ExecutionRequest + engine options, their JSON form,
 * and validation. Everything a caller can say about one execution is checked here, before
 * any sandbox exists, so bad input changes nothing. */
#ifndef ISOL8_REQUEST_H
#define ISOL8_REQUEST_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

typedef struct isol8_file {
	char *path;          /* absolute, normalized, inside /sandbox or /tmp */
	unsigned char *data;
	size_t len;
	unsigned mode;        /* permission bits; 0 means 0644 */
} isol8_file;

typedef struct isol8_kv {
	char *key, *value;
} isol8_kv;

typedef struct isol8_request {
	char *runtime;
	char *code;            /* exactly one of code / cmd */
	char *cmd;
	char *file_ext;        /* ".py"; used when code is written to /sandbox/main<ext> */
	bool force_file;       /* always materialize code as a file (warm drivers, large code) */
	unsigned char *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	char *workdir;         /* resolved absolute path under /sandbox */
	isol8_kv *env;
	size_t nenv;
	isol8_file *files;
	size_t nfiles;
	char **output_paths;
	size_t noutput;
	long long timeout_ms;  /* -1: use options */
	char **install;        /* packages installed before the code runs (through the proxy) */
	size_t ninstall;
	char *registry;        /* the host's configured registry URL for them, or NULL */
} isol8_request;

enum isol8_net { ISOL8_NET_NONE, ISOL8_NET_HOST, ISOL8_NET_FILTERED };
/* "none", "host" or "filtered" as its enum isol8_net, or -1 for anything else. */
int net_from_name(const char *name);
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

/* Limits on what one request may carry (bad input must not exhaust isol8 itself). */
#define ISOL8_MAX_REQUEST_BYTES (64u << 20)
#define ISOL8_MAX_FILES 4096
#define ISOL8_MAX_ENV 1024

void request_init(isol8_request *r);
void request_free(isol8_request *r);
/* Options from the merged config's defaults (timeout, memory, cpu, sizes, network, rootfs, seccomp). */
int options_from_config(isol8_options *o, const isol8_config *c, isol8_err *err);
void options_free(isol8_options *o);
/* The secrets' values, as the maskers take them (a NULL-terminated array to free(); the
 * strings stay o's). */
const char **options_secret_values(const isol8_options *o);

/* Parses {"request":{…},"options":{…}} or a bare ExecutionRequest object (consumes doc).
 * Options are applied over *o; the operator's config bounds what options may loosen
 * (seccomp 'unconfined' only where config security.seccomp allows it). */
int request_from_json(jv doc, isol8_request *r, isol8_options *o, const isol8_config *c, isol8_err *err);
/* Final checks (runtime known, exactly one of code/cmd, paths) — run for every entry point. */
int request_validate(isol8_request *r, const isol8_options *o, isol8_err *err);
/* The options' own checks (secret names, filter patterns, minimum sizes), which
 * request_validate ends with; for tools that build a sandbox without a request. */
int options_validate(const isol8_options *o, isol8_err *err);

/* Workdir resolution: relative to /sandbox, POSIX-normalized, must stay under
 * /sandbox. Returns malloc'd path or NULL with err set. */
char *resolve_workdir(const char *w, isol8_err *err);
/* For files/outputPaths: absolute, normalized, strictly inside /sandbox or /tmp. */
char *resolve_sandbox_path(const char *p, isol8_err *err);
/* True for a JSON string holding a NUL byte, which as a C string would be silently cut there:
 * paths and ids with one are refused, never cut. */
bool json_string_has_nul(jv s);

/* "Invalid package name: …" unless it matches ^[@a-zA-Z0-9_./\-=]+$. */
int validate_package_name(const char *name, isol8_err *err);
/* Applies --install's network rules: filtered unless the network was chosen explicitly, and
 * the runtime's registry hosts (from the host's npm/pip configuration) added to the whitelist. */
int request_prepare_install(isol8_request *r, isol8_options *o, bool network_explicit, isol8_err *err);
int request_add_file(isol8_request *r, const char *path, const void *data, size_t len, isol8_err *err);
void kv_add(isol8_kv **v, size_t *n, const char *key, const char *value);
void strv_add(char ***v, size_t *n, const char *s);
void strv_clear(char ***v, size_t *n);

#endif
