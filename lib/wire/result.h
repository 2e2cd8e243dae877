/* result.h — an ExecutionResult: what one run produced, and its JSON form both ways (the
 * reference's fields plus status, signal, resourceUsage, warm, files, networkLogs). The engine
 * and sessions fill one, isol8-serve and the CLI print it, the remote client reads it back. */
#ifndef ISOL8_WIRE_RESULT_H
#define ISOL8_WIRE_RESULT_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/util.h"

/* What a run emits as it goes: output (masked, within the cap), then its exit or an error. */
typedef enum { ISOL8_EV_STDOUT, ISOL8_EV_STDERR, ISOL8_EV_EXIT, ISOL8_EV_ERROR } isol8_event_type;

typedef struct isol8_event {
	isol8_event_type type;
	const unsigned char *data; /* stdout/stderr bytes (masked, within the output cap), or text */
	size_t len;
} isol8_event;

typedef void (*isol8_event_fn)(void *ctx, const isol8_event *ev);

/* What a sandbox used, from its cgroup. */
typedef struct isol8_cg_stats {
	uint64_t cpu_ns;
	uint64_t peak_memory;
	uint64_t oom_kills;
	uint64_t pids_max_hits;
} isol8_cg_stats;

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

/* The ExecutionResult as JSON; stdout/stderr right-trimmed as the reference does. */
jv isol8_result_json(const isol8_result *res);
/* Reads one back (consumes j): unknown statuses become "error", absent fields their zero. */
int isol8_result_from_json(jv j, isol8_result *res, isol8_err *err);
void isol8_result_free(isol8_result *res);
/* Right-trims ASCII whitespace in place. */
void rtrim_buf(isol8_buf *b);
/* "SIGKILL" for 9; "SIG?" for a number it does not know. */
const char *signal_name(int sig);

#endif
