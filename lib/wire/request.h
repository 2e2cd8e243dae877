/* request.h — an ExecutionRequest, its JSON form both ways, and its validation (the options
 * that go with it: options.h). Everything a caller can say about one execution is checked here, before
 * any sandbox exists, so bad input changes nothing. */
#ifndef ISOL8_REQUEST_H
#define ISOL8_REQUEST_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/sbpath.h"
#include "core/util.h"
#include "wire/options.h"

typedef struct isol8_file {
	char *path;          /* absolute, normalized, inside /sandbox or /tmp */
	unsigned char *data;
	size_t len;
	unsigned mode;        /* permission bits; 0 means 0644 */
} isol8_file;

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


void request_init(isol8_request *r);
void request_free(isol8_request *r);
/* Parses {"request":{…},"options":{…}} or a bare ExecutionRequest object (consumes doc).
 * Options are applied over *o; the operator's config bounds what options may loosen
 * (seccomp 'unconfined' only where config security.seccomp allows it). */
int request_from_json(jv doc, isol8_request *r, isol8_options *o, const isol8_config *c, isol8_err *err);
/* The JSON an ExecutionRequest travels as (what request_from_json reads). */
jv isol8_request_json(const isol8_request *r);
/* Final checks (runtime known, exactly one of code/cmd, paths) — run for every entry point. */
int request_validate(isol8_request *r, const isol8_options *o, isol8_err *err);
/* True for a JSON string holding a NUL byte, which as a C string would be silently cut there:
 * paths and ids with one are refused, never cut. */
bool json_string_has_nul(jv s);

int request_add_file(isol8_request *r, const char *path, const void *data, size_t len, isol8_err *err);

#endif
