/* engine.h — one execution: request + options in, events out, an ExecutionResult at the end.
 * This is the library entry point (isol8.h re-exports it); isol8-run is a thin CLI over it. */
#ifndef ISOL8_ENGINE_H
#define ISOL8_ENGINE_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/cgroup.h"
#include "core/err.h"
#include "wire/request.h"
#include "core/util.h"

typedef enum { ISOL8_EV_STDOUT, ISOL8_EV_STDERR, ISOL8_EV_EXIT, ISOL8_EV_ERROR } isol8_event_type;

typedef struct isol8_event {
	isol8_event_type type;
	const unsigned char *data; /* stdout/stderr bytes (masked, within the output cap), or text */
	size_t len;
} isol8_event;

typedef void (*isol8_event_fn)(void *ctx, const isol8_event *ev);

typedef struct isol8_out_file {
	char *path;
	isol8_buf data;
} isol8_out_file;

typedef struct isol8_result {
	isol8_buf out, err;         /* masked; capped; markers appended; not yet trimmed */
	int exit_code;
	const char *status;         /* ok error timeout oom signal output_limit */
	int signal;                 /* 0 or the terminating signal */
	bool truncated;
	uint64_t duration_ms;
	char execution_id[37];
	char runtime[16];
	char timestamp[32];
	char sandbox_id[33];
	pid_t sandbox_pid;          /* for --persist: the init's host pid */
	bool persisted;
	bool warm;                  /* the sandbox came prepared from isol8-pool */
	isol8_cg_stats stats;
	isol8_out_file *files;
	size_t nfiles;
	jv *network_logs;           /* --log-network: this run's proxy log entries, or NULL */
} isol8_result;

/* Runs req under opts. fn (may be NULL) receives events as they happen; cancel_fd (or -1)
 * becoming readable aborts the run (e.g. a signalfd for SIGINT/SIGTERM).
 * Returns 0 with *res filled whenever the program ran (whatever its outcome), -1 when isol8
 * could not run it (err says why; err->kind tells input from sandbox faults). */
int isol8_execute(const isol8_request *req, const isol8_options *opts, isol8_event_fn fn, void *ctx,
		  int cancel_fd, isol8_result *res, isol8_err *err);
/* The reference's ExecutionResult (+ status, signal, resourceUsage) as JSON; stdout/stderr
 * right-trimmed as the reference does. */
jv isol8_result_json(const isol8_result *res);
void isol8_result_free(isol8_result *res);
/* Reads req's outputPaths from the sandbox into res->files (missing ones, and anything but a
 * regular file, are left out), each masked with o's secrets like stdout. */
struct isol8_sandbox;
void isol8_collect_files(struct isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, isol8_result *res);
/* Masks o's secrets in a file's content, in place (as stdout and stderr are). */
void isol8_mask_file(const isol8_options *o, isol8_buf *data);
/* The payload environment: PATH and the runtimes' variables, then secrets, then extra. */
char **isol8_build_env(const isol8_options *o, const isol8_kv *extra, size_t nextra);
void isol8_free_strv(char **v);
/* Right-trims ASCII whitespace in place. */
void rtrim_buf(isol8_buf *b);
const char *signal_name(int sig);

#endif
