/* client.h — the engine as the seeds describe it: local and remote engines behind one
 * interface.
 *
 *   isol8_engine *e = isol8_engine_local(&opts, ISOL8_MODE_EPHEMERAL);         // this machine
 *   isol8_engine *e = isol8_engine_remote("http://127.0.0.1:3000", key, NULL, jv_null());
 *   isol8_engine_start(e, &err);
 *   isol8_engine_execute_stream(e, &req, on_event, ctx, &res, &err);   // events as they come
 *   isol8_engine_stop(e, &err);  isol8_engine_free(e);
 *
 * A persistent engine keeps one sandbox (local: an in-process session; remote: a server
 * session named session_id) whose interpreter state and files survive between executes;
 * put_file/get_file need one. The remote engine loads libcurl on first use (dlopen), so
 * programs that only run locally never pay its ~10 ms of start-up. */
#ifndef ISOL8_CLIENT_H
#define ISOL8_CLIENT_H

#include <jv.h>

#include "run/engine.h"
#include "wire/request.h"

typedef struct isol8_engine isol8_engine;
typedef enum { ISOL8_MODE_EPHEMERAL, ISOL8_MODE_PERSISTENT } isol8_mode;

/* opts is copied. */
isol8_engine *isol8_engine_local(const isol8_options *opts, isol8_mode mode);
/* host: "http(s)://host:port" (one trailing '/' ignored). session_id NULL: ephemeral
 * executions. options: the Isol8Options JSON sent with every execute (consumed; jv_null() for
 * the server's defaults). */
isol8_engine *isol8_engine_remote(const char *host, const char *api_key, const char *session_id, jv options);

/* Local: nothing to do. Remote: GET /health ("Remote server health check failed: <status>"). */
int isol8_engine_start(isol8_engine *e, isol8_err *err);
/* Buffered: *res is filled (free with isol8_result_free). */
int isol8_engine_execute(isol8_engine *e, const isol8_request *req, isol8_result *res, isol8_err *err);
/* fn receives stdout/stderr/error/exit events as they happen; *res is filled at the end. */
int isol8_engine_execute_stream(isol8_engine *e, const isol8_request *req, isol8_event_fn fn, void *ctx,
				isol8_result *res, isol8_err *err);
int isol8_engine_put_file(isol8_engine *e, const char *path, const void *data, size_t len, isol8_err *err);
int isol8_engine_get_file(isol8_engine *e, const char *path, isol8_buf *out, isol8_err *err);
/* Ends a persistent engine's sandbox (remote: DELETE /session/<id>). Idempotent. */
int isol8_engine_stop(isol8_engine *e, isol8_err *err);
void isol8_engine_free(isol8_engine *e);


#endif
