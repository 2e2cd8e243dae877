/* serve.h — isol8-serve's parts: the accept loop and modes (main.c), one connection (conn.c),
 * the execution and session routes (routes.c), the client-options policy (policy.c), and the
 * state every server process of a run dir shares: execution slots and metrics (shared.c). */
#ifndef ISOL8_SERVE_H
#define ISOL8_SERVE_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "isol8.h"

#define SERVE_NRT 6   /* python node bun deno bash other */
#define SERVE_NST 7   /* ok error timeout oom signal output_limit failed */
#define SERVE_NBUCKETS 12

enum serve_reject { REJ_QUEUE_FULL, REJ_QUEUE_TIMEOUT, REJ_TOO_LARGE, REJ_AUTH, REJ_SESSIONS, REJ_N };

/* Lives in a MAP_SHARED file ($RUN_DIR/serve/state) so every server process of a run dir —
 * the listening daemon's per-connection children, inetd instances — counts into one place. */
struct serve_shared {
	uint32_t magic, version;
	int semid;                 /* SysV semaphore: execution slots (SEM_UNDO frees a killed holder's) */
	int max_concurrent;
	char boot[64];
	uint64_t execs[SERVE_NRT][SERVE_NST];
	uint64_t warm;
	uint64_t lat_buckets[SERVE_NBUCKETS];
	uint64_t lat_count, lat_sum_us;
	uint64_t rejects[REJ_N];
	uint64_t requests;
};

typedef struct serve_ctx {
	isol8_config cfg;
	unsigned char (*keys)[32];  /* SHA-256 of each accepted key (compared in constant time) */
	size_t nkeys;
	uint64_t max_body;
	int max_queue, queue_timeout_ms, max_sessions;
	bool debug;                  /* one access-log line per request on stderr */
	long long idle_ms;           /* sessions expire after this idle time (0: never) */
	char session_bin[4096];      /* isol8-session next to us */
	struct serve_shared *sh;
	int state_fd;
} serve_ctx;

typedef struct serve_conn {
	int fd;
	http_request req;
	char *body;
	size_t body_len;
	char owner[13];              /* 12 hex of SHA-256(key): whose sessions these are */
	uint64_t start_ns;
	int status;                  /* the status answered (for the access log) */
} serve_conn;

/* conn.c */
void serve_connection(serve_ctx *c, int fd);
int reply_json(serve_conn *k, int code, jv body);            /* consumes body */
int reply_error(serve_conn *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* routes.c */
void route_execute(serve_ctx *c, serve_conn *k, bool stream);
void route_file_put(serve_ctx *c, serve_conn *k);
void route_file_get(serve_ctx *c, serve_conn *k);
void route_sessions(serve_ctx *c, serve_conn *k);
void route_session_delete(serve_ctx *c, serve_conn *k, const char *id);
void route_cleanup(serve_ctx *c, serve_conn *k);
int sessions_count(const char *owner);   /* owner NULL: all */

/* policy.c: the operator's bounds on what a client may ask for (reference §D.4 trusts it all) */
int policy_check(const isol8_config *cfg, const isol8_request *r, const isol8_options *o, isol8_err *err);
/* Start-up check: the config's own defaults must fit its bounds. */
int policy_check_defaults(const isol8_config *cfg, isol8_err *err);

/* shared.c */
int shared_open(serve_ctx *c, int max_concurrent, isol8_err *err);
void shared_close(serve_ctx *c);
/* 0 with a slot held (released by slot_release, or by the kernel if we die), or -1 with *why
 * REJ_QUEUE_FULL or REJ_QUEUE_TIMEOUT. */
int slot_acquire(serve_ctx *c, enum serve_reject *why);
void slot_release(serve_ctx *c);
void metrics_count(serve_ctx *c, const char *runtime, const char *status, bool warm, uint64_t start_ns);
void metrics_reject(serve_ctx *c, enum serve_reject why);
char *metrics_render(serve_ctx *c);

#endif
