/* meta.h — a session's sessions/<id>/meta.json: what its supervisor tells everyone else
 * (isol8-session list, isol8-serve's routes, isol8 run --persistent, the reaper) without being
 * asked, since it serves one connection at a time and may be busy with an exec.
 *
 * The supervisor is the only writer: it replaces the file atomically (a .tmp, then rename), so
 * a reader never sees half of one. Every reader goes through session_meta_read, which refuses
 * (fails closed on) anything that is not a whole, well-typed record: the pid in it is signalled
 * by the reaper and by session_stop_supervisor, so a guess is never acceptable. */
#ifndef ISOL8_STATE_META_H
#define ISOL8_STATE_META_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "state/rundir.h" /* ISOL8_SESSION_META: its name in the session's directory */


typedef struct isol8_session_meta {
	char id[65];                     /* "id": the session id (1-64 characters) */
	char runtime[16];                /* "runtime" */
	uint64_t created_s;              /* "created" (ISO 8601, UTC, whole seconds) */
	uint64_t last_used_ms;           /* "lastUsedMs"; "lastUsed" is its ISO 8601 form */
	uint64_t idle_timeout_ms;        /* "idleTimeoutMs" */
	int execs;                       /* "execs" */
	int daemon;                      /* "daemon": the supervisor's pid */
	unsigned long long daemon_start; /* "daemonStartTime": its start time (proc_start_time) */
	char boot_id[64];                /* "bootId": the boot it runs in */
	char sandbox[33];                /* "sandbox": the sandbox's id */
	int sandbox_pid;                 /* "sandboxPid": the sandbox's init */
	bool busy;                       /* "busy": an exec is running */
} isol8_session_meta;

/* The JSON object, its members in the file's order. */
jv session_meta_json(const isol8_session_meta *m);
/* Writes path (its .tmp first, then renamed over it; mode 0600). 0, or -1 with err. */
int session_meta_write(const char *path, const isol8_session_meta *m, isol8_err *err);
/* Checks and converts v (consumed): 0, or -1 with err naming what is wrong (not an object, a
 * member missing, of the wrong type, out of range, or a string too long or holding a NUL).
 * Members it does not know are ignored. */
int session_meta_parse(jv v, isol8_session_meta *m, isol8_err *err);
/* Reads and parses path: 0; -1 when it cannot be read (no such file, or over 64 KiB); -2 when
 * it was read but refused (not JSON, truncated, or see session_meta_parse). err says why. */
int session_meta_read(const char *path, isol8_session_meta *m, isol8_err *err);

#endif
