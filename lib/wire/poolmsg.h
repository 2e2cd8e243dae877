/* poolmsg.h — the messages on isol8-pool's socket ($RUN_DIR/pool.sock), one JSON line each way.
 *
 *   client → pool  {"op":"acquire","memory":B,"cpu":C,"pids":N,"sandboxSize":B,"tmpSize":B,
 *                   "seccomp":"strict"|"unconfined"[,"runtime":"python","env":"<16 hex>"
 *                   [,"session":true]][,"layer":"<a built image's layer directory>"]}
 *                  {"op":"status"}
 *   pool → client  {"id":"<16 hex>","pid":P[,"driver":"python"|"python-session"][,"driverPid":Q]}
 *                  with the sandbox's fds
 *                  (SCM_RIGHTS), or {"miss":"empty"|"different limits"}, or a status object
 *                  ({"pid","strategy","size","ready","kinds","hits","warmHits","misses",
 *                  "discarded","memoryLimit"}), or {"error":"…"}
 * The pool trusts no client (anyone who can connect may ask): a request it cannot read is
 * answered with an error, never with a sandbox. */
#ifndef ISOL8_WIRE_POOLMSG_H
#define ISOL8_WIRE_POOLMSG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/request.h"

typedef enum { POOL_OP_BAD, POOL_OP_ACQUIRE, POOL_OP_STATUS } pool_op;

typedef struct pool_request {
	pool_op op;
	isol8_options limits;  /* acquire: memory, cpu, pids, sizes and seccomp mode (no other field) */
	char runtime[16];      /* acquire: a pre-started interpreter of this runtime, "" for none */
	uint64_t env_digest;   /* and the digest of the base environment it must have started with */
	bool session;          /* with runtime: its session driver running, not the one-run driver */
	char layer[1024];      /* acquire: a sandbox with this image layer mounted, "" for none */
} pool_request;

/* One line with its '\n' (malloc'd). */
char *poolmsg_request_line(const pool_request *r);
void poolmsg_parse_request(const char *line, size_t len, pool_request *r);

typedef struct pool_reply {
	bool handed;           /* a sandbox came with this reply */
	char id[33];
	pid_t pid;
	char driver[16];       /* "" for a plain sandbox */
	pid_t driver_pid;      /* python-session: the driver's pid inside the sandbox, else 0 */
	char miss[32];         /* why not, when not handed */
} pool_reply;

char *poolmsg_handover_line(const char *id, pid_t pid, const char *driver, pid_t driver_pid);
char *poolmsg_miss_line(const char *why);
/* -1 when the line is not one of the replies above. */
int poolmsg_parse_reply(const char *line, size_t len, pool_reply *r);

/* The pool's status reply. */
#define POOL_KINDS_MAX 16
typedef struct pool_status_msg {
	pid_t pid;
	char strategy[16];           /* "fast" or "secure" */
	long long size, ready;       /* wanted per kind; ready in all */
	int nkinds;
	struct {
		char name[144];      /* "plain", "python", "node", "image:<tag>" */
		long long ready;
	} kinds[POOL_KINDS_MAX];
	unsigned long long hits, warm_hits, misses, discarded;
	unsigned long long zygote_hits;  /* warm hits whose sandbox a zygote forked */
	unsigned long long zygote_forks; /* sandboxes zygotes forked, handed out or not */
	unsigned long long memory_limit;
} pool_status_msg;

jv poolmsg_status_json(const pool_status_msg *s);
char *poolmsg_status_line(const pool_status_msg *s);
/* -1 when the line is not a status reply. */
int poolmsg_parse_status(const char *line, size_t len, pool_status_msg *s);
/* {"error":"…"}: a request the pool could not read. */
char *poolmsg_error_line(const char *msg);

#endif
