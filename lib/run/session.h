/* session.h — a persistent session: one sandbox, one runtime, one long-lived interpreter
 * driver that keeps variables, functions, imports and the working directory between execs.
 * Files under /sandbox and /tmp persist too. Each exec has its own timeout and output cap; a
 * timeout kills the processes (the next exec starts a fresh interpreter), never the files. */
#ifndef ISOL8_SESSION_H
#define ISOL8_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "run/engine.h"
#include "wire/request.h"
#include "sandbox/sandbox.h"

typedef struct isol8_session {
	char runtime[16];
	isol8_options opt;      /* the session's limits and secrets (owned) */
	isol8_sandbox sb;
	isol8_proc drv;         /* the interpreter driver, when drv.pid != 0 */
	char *drv_gone;         /* why the previous driver is gone (told to the next exec) */
	int execs;
	int cancel_fd;          /* readable: the session is being stopped, a running exec ends now
				 * (-1: none). Polled, never read: its owner sees it too. */
	int client_fd;          /* the running exec's client connection (-1: none): when the client
				 * has closed it (POLLHUP), nobody waits for the exec, which ends
				 * as a cancelled one — how an MCP client's cancel reaches it */
	char *image_setup;      /* the built image's setup script: before the first exec, until it succeeds */
	isol8_kv *env;          /* what the image adds to every process's environment */
	size_t nenv;
	bool drv_pooled;        /* drv came with the sandbox from isol8-pool (a zygote's fork) and has
				 * run nothing yet: the first exec checks its environment */
	char **drv_env;         /* K=V the pooled driver gets with its first block, or NULL */
} isol8_session;

/* Builds the sandbox (the driver starts with the first exec). opt is copied; a built image is
 * already resolved (opt->layer), and image (NULL: none) carries its setup script and environment
 * (image_apply's image_setup_script and env). */
int session_open(isol8_session *s, const char *runtime, const isol8_options *opt, const isol8_request *image,
		 isol8_err *err);
/* One exec. req->timeout_ms / max_output come from opts_exec (timeout_ms, max_output only).
 * Returns 0 with *res filled when the block ran, -1 with err otherwise (e.g. the runtime
 * switch message). res->restarted tells that a new interpreter had to be started. */
int session_exec(isol8_session *s, const isol8_request *req, const isol8_options *opts_exec, isol8_event_fn fn,
		 void *ctx, isol8_result *res, bool *restarted, isol8_err *err);
int session_put(isol8_session *s, const char *path, const void *data, size_t len, isol8_err *err);
int session_get(isol8_session *s, const char *path, isol8_buf *out, isol8_err *err);
/* The entries of a directory of /sandbox or /tmp (those two included), sorted by name:
 * *entries a new array of {"name","type":"file|directory|symlink|other","size"}, names masked
 * like any output. 0, or -1 with err (a path outside, a link on the way, not a directory). */
int session_list_dir(isol8_session *s, const char *path, jv *entries, isol8_err *err);
void session_close(isol8_session *s);

/* ---- the client side of a session supervisor (isol8-session, isol8-serve) ---------------- */

/* 1..max letters, digits, '-', '_' or '.', not starting with '.': the id is a path component
 * under the run dir, so nothing else may reach the file system. */
bool session_id_valid(const char *id, size_t max);
/* The same for an id of n bytes that may hold a NUL (a JSON string: pass
 * jv_string_length_bytes): any NUL makes it invalid. */
bool session_id_valid_n(const char *id, size_t n, size_t max);
/* $RUN_DIR/sessions/<id>, or a file in it (malloc'd). */
char *session_path(const char *id, const char *file);
/* Connects to the session's ctl.sock, writes one request line (req consumed) and shuts down
 * the write side: the socket to read the reply from, or -1 with errno (EINVAL for a bad id,
 * ENAMETOOLONG for a run dir too long for a socket path). */
int session_send(const char *id, jv req);
/* Deletes the session and waits (up to 10 s) until its supervisor has removed it. A supervisor
 * that does not answer within 1 s (busy with an exec) is sent SIGTERM — identified by the pid
 * and start time in meta.json, never a recycled pid — which ends the exec at once.
 * 1 removed, 0 no such session, -1 still there after 10 s, -2 its supervisor is gone (left
 * for isol8-cleanup). */
int session_stop_supervisor(const char *id);
/* The session's meta.json if its supervisor is alive (its pid and start time match), else
 * jv_invalid(). No socket traffic: a supervisor serves one connection at a time, so asking it
 * would wait for a running exec. */
jv session_meta_live(const char *id);

#endif
