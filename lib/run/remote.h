/* remote.h — the remote engine behind client.h: the reference's RemoteIsol8 over
 * libcurl, which is loaded with dlopen on first use (linking it would add ~10 ms to the start
 * of every isol8 process, remote or not). Streaming is SSE (POST /execute/stream); this
 * server has no WebSocket route. */
#ifndef ISOL8_REMOTE_H
#define ISOL8_REMOTE_H

#include <jv.h>

#include "wire/result.h"
#include "wire/request.h"

typedef struct isol8_remote {
	char *host, *key, *session_id;
	jv options;
} isol8_remote;

void remote_init(isol8_remote *r, const char *host, const char *key, const char *session_id, jv options);
void remote_free(isol8_remote *r);
int remote_health(isol8_remote *r, isol8_err *err);
/* fn NULL: POST /execute; else POST /execute/stream with fn called per event. */
int remote_execute(isol8_remote *r, const isol8_request *req, isol8_event_fn fn, void *ctx, isol8_result *res,
		   isol8_err *err);
int remote_put_file(isol8_remote *r, const char *path, const void *data, size_t len, isol8_err *err);
int remote_get_file(isol8_remote *r, const char *path, isol8_buf *out, isol8_err *err);

/* The remote routes the CLI uses directly. */
int isol8_remote_sessions(const char *host, const char *api_key, jv *out, isol8_err *err);
int isol8_remote_delete_session(const char *host, const char *api_key, const char *id, isol8_err *err);
/* POST /auth/login with a master key: 0 with *out {token, expiresAt, keyId}; -1 with err
 * ("Authentication failed: <the server's error>") and *status the HTTP status (-1: none). */
int isol8_remote_login(const char *host, const char *master_key, const char *name, long long ttl_ms, jv *out,
		       long *status, isol8_err *err);

#endif
