/* serve.h — isol8-serve's parts, from the bottom up. Each part calls only parts listed above
 * it, never one below, so the calls go one way:
 *
 *   keydb.c           API keys in a database (SQLite, PostgreSQL): keydb.h
 *   registry.c        the session registry of several nodes, in that database: registry.h
 *   sessions.c        a key's sessions in the run dir: names, client ids, counting, creating,
 *                     reading their answers (answers no client itself)
 *   policy.c          the operator's bounds on what a client may ask for
 *   shared.c          state every server process of a run dir shares: execution slots,
 *                     per-key shares, metrics
 *   conn.c            one connection: a bounded head and body, authentication, the replies,
 *                     the watchdog; knows nothing of routes
 *   node.c            one node of several, the key keeper's side: joining the registry, its
 *                     answers, the heartbeat, leaving
 *   keys.c            DB-backed keys: the key keeper, lookups, the purge job, the /auth routes
 *   cluster.c         one node of several, a connection's side: the registry asked about each
 *                     session (421, 410), cluster-wide /sessions and /cleanup
 *   routes_exec.c     POST /execute, POST /execute/stream
 *   routes_session.c  POST|GET /file, GET /sessions, DELETE /session/ID, POST /cleanup
 *   routes_mcp.c      POST|GET|DELETE /mcp: MCP's Streamable HTTP transport, through isol8-mcp
 *   router.c          method and path to handler; serve_connection, one connection's life
 *   guard.c           the accept loop's table of live connections
 *   main.c            modes, listening (lib/net/listen.c), the accept loop
 */
#ifndef ISOL8_SERVE_H
#define ISOL8_SERVE_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util.h"
#include "isol8.h"
#include "core/config.h"
#include "run/engine.h"
#include "wire/request.h"
#include "core/runtime.h"
#include "net/http.h"
#include "registry.h"

#define SERVE_NRT (ISOL8_NRUNTIMES + 1) /* the runtimes of core/runtime.h, then "other" */
#define SERVE_NST 7   /* ok error timeout oom signal output_limit failed */
#define SERVE_NBUCKETS 12

enum serve_reject {
	REJ_QUEUE_FULL, REJ_QUEUE_TIMEOUT, REJ_TOO_LARGE, REJ_AUTH, REJ_SESSIONS,
	REJ_KEY_SHARE,  /* the key already has serve.maxConcurrentPerKey executions */
	REJ_SLOW,       /* 408: head or body not received by its deadline */
	REJ_EVICTED,    /* an unauthenticated connection closed to make room for a newer one */
	REJ_GAVE_UP,    /* 504: an execution or file operation overran its bound */
	REJ_KEY_CONNS,  /* the key already has serve.maxConnectionsPerKey connections open */
	REJ_N
};

/* Who holds an execution share: the key's owner tag and the holding process (a dead or reused
 * pid is noticed through its start time, so a killed request cannot keep its key's share). */
struct serve_holder {
	char owner[13];
	int pid;
	unsigned long long start;
};
#define SERVE_MAX_HOLDERS 1024
#define SERVE_MAX_TENANTS 64

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
	struct serve_holder holders[SERVE_MAX_HOLDERS];      /* execution shares */
	struct serve_holder conn_holders[SERVE_MAX_HOLDERS]; /* authenticated connections */
	struct serve_tenant {
		uint32_t used;      /* claimed (compare-and-swap), then ready once the name is written */
		uint32_t ready;
		char name[129];
		uint64_t execs[SERVE_NST];
	} tenants[SERVE_MAX_TENANTS]; /* executions by tenant (database keys; past the table: "other") */
	uint64_t tenants_other[SERVE_NST];
	uint64_t audit_failures;       /* audit lines that could not be written */
};

typedef struct serve_ctx {
	isol8_config cfg;
	unsigned char (*keys)[32];  /* SHA-256 of each accepted key (compared in constant time) */
	size_t nkeys;
	size_t keys_cap; /* grown by doubling: a key file may hold a million */
	uint64_t max_body;
	int max_queue, queue_timeout_ms, max_sessions;
	int head_timeout_ms, body_timeout_ms; /* deadlines for a request's head and body */
	int grace_ms;                /* how long past its own bound an execution or file op is waited for */
	long long max_timeout_ms;    /* serve.maxTimeoutMs: no execution asks for more */
	int key_share;               /* executions one key may have running or queued */
	int key_conns;               /* authenticated connections one key may hold at once */
	int conns_total;             /* …and all keys together (maxConcurrent + maxQueue): the accept
	                              * loop's 16 more are never all keyed work */
	int max_unauth_per_addr;     /* unauthenticated connections one client address may hold */
	int auth_fd;                 /* the accept loop's pipe: "this pid authenticated"; -1 if none */
	bool debug;                  /* one access-log line per request on stderr */
	long long idle_ms;           /* sessions expire after this idle time (0: never) */
	char session_bin[4096];      /* isol8-session next to us */
	char mcp_bin[4096];          /* isol8-mcp next to us (/mcp) */
	struct serve_shared *sh;
	/* This server got SIGTERM: /health says so, no new sandbox or session starts, running ones
	 * finish. A page shared with its own children only — never in *sh, which other servers on
	 * the run dir (and the next one started) share, and which must not drain with it. */
	uint32_t *draining;
	int state_fd;
	char *auth_conn;             /* the key database (SQLite path or postgres:// URL), NULL: off */
	long long auth_ttl_ms;       /* auth.defaultTtlMs */
	long long auth_purge_ms;     /* auth.cleanupIntervalMs */
	char keeper_sock[108];       /* the key keeper's socket ("" when there is none) */
	int keeper_pid;
	bool cluster;                /* one node of several (cluster.node): sessions go through the registry */
	int heartbeat_ms;            /* cluster.heartbeatMs */
	reg_self self;               /* this node as the registry knows it */
} serve_ctx;

typedef struct serve_conn {
	int fd;
	http_request req;
	char *body;
	size_t body_len;
	char owner[13];              /* whose sessions these are: 12 hex of SHA-256 of a static key, or
	                              * of a database key's tenant (its tenant's sessions) */
	bool master;                 /* a static key (--key, --key-file): may use /auth */
	char tenant[129];            /* a database key's tenant ("" for a static key) */
	char key_id[37];             /* a database key's id */
	uint64_t start_ns;
	int status;                  /* the status answered (for the access log) */
	bool answered;               /* a status line has gone out (the watchdog must not send one) */
	bool conn_share;             /* holds one of its key's serve.maxConnectionsPerKey */
} serve_conn;

/* ---- sessions.c ---------------------------------------------------------------------------- */

#define MAX_CLIENT_SESSION_ID 48

/* NULL when id (len bytes, NULs included) is a usable client session id, else what is wrong
 * with it, to follow the id's name in a 400 ("sessionId must not contain a NUL byte"). */
const char *session_id_problem(const char *id, size_t len);
/* The name on disk of owner's session sid: "k<owner>-<sid>". */
void session_internal_id(const char *owner, const char *sid, char out[80]);
/* Whether the request's X-Isol8-Session header, when it has one, names sid ("" for none): a
 * load balancer routed the request by the header, so a body that names another session (or
 * none) must not be served here. */
bool session_header_agrees(const serve_conn *k, const char *sid);
#define SESSION_HEADER_MISMATCH "the X-Isol8-Session header and the request's session id disagree: send the same id in both (load balancers route by the header)"

int sessions_count(const char *owner);   /* owner NULL: all */
/* Runs `isol8-session create` with the client's options on stdin (secrets stay out of argv).
 * 0 created, -1 with err (the tool's one-line message). Consumes options. */
int session_create(serve_ctx *c, const char *iid, const char *runtime, jv options, isol8_err *err);

/* A session's answer, read line by line. */
typedef struct session_reader {
	int fd;
	isol8_buf b;
	size_t off;
	bool eof;
} session_reader;
/* The next JSON line from the session, or invalid at its end; *late when the deadline passed
 * first (the session may be stuck, e.g. on a FIFO: the caller gives up and says so). */
jv session_next_line(session_reader *r, uint64_t deadline_ns, bool *late);

/* ---- policy.c: the operator's bounds on what a client may ask for --------------------------- */

int policy_check(const isol8_config *cfg, const isol8_request *r, const isol8_options *o, isol8_err *err);
/* Start-up check: the config's own defaults must fit its bounds. */
int policy_check_defaults(const isol8_config *cfg, isol8_err *err);

/* ---- shared.c ------------------------------------------------------------------------------ */

int shared_open(serve_ctx *c, int max_concurrent, isol8_err *err);
void shared_close(serve_ctx *c);
/* 0 with a slot held (released by slot_release, or by the kernel if we die), or -1 with *why
 * REJ_QUEUE_FULL or REJ_QUEUE_TIMEOUT. */
int slot_acquire(serve_ctx *c, enum serve_reject *why);
void slot_release(serve_ctx *c);
/* 0 with one of owner's cap execution shares held by this process, -1 when the key (or tenant)
 * has them all in use (or the table is full). Given back by key_share_release, or noticed
 * gone when the process dies. */
int key_share_take(serve_ctx *c, const char *owner, int cap);
void key_share_release(serve_ctx *c);
/* The same for the key's open connections (any route), c->key_conns of them. */
int conn_share_take(serve_ctx *c, const char *owner);
void conn_share_release(serve_ctx *c);
/* k: the request (its start, its key's tenant). */
void metrics_count(serve_ctx *c, const struct serve_conn *k, const char *runtime, const char *status, bool warm);
void metrics_audit_failed(serve_ctx *c);
void metrics_reject(serve_ctx *c, enum serve_reject why);
/* k: who asks (a database key sees its own tenant's series only). */
char *metrics_render(serve_ctx *c, const struct serve_conn *k);

/* A database key's tenant limit from config serve.tenants.<tenant>.<what> ("maxConcurrent",
 * "maxSessions"), else fallback (the per-key setting). */
int tenant_limit(const serve_ctx *c, const struct serve_conn *k, const char *what, int fallback);

/* ---- conn.c -------------------------------------------------------------------------------- */

/* Starts serving fd: SIGUSR1 (the accept loop's eviction) is caught from here, and the
 * watchdog knows where to answer. */
void conn_open(serve_conn *k, int fd);
/* 1 head parsed, 0 the peer left quietly, -1 answered with an error already. */
int conn_read_head(serve_ctx *c, serve_conn *k, isol8_buf *in);
/* 0 ok (k->owner set, one of the key's connections held), else the status already answered. */
int conn_authenticate(serve_ctx *c, serve_conn *k);
/* The body (Content-Length) by its deadline into k->body: 0, or -1 answered (413, 408) or gone. */
int conn_read_body(serve_ctx *c, serve_conn *k, isol8_buf *in);
/* Gives the key's connection back, logs the request (--debug), and closes without a reset. */
void conn_close(serve_ctx *c, serve_conn *k);
int reply_json(serve_conn *k, int code, jv body);            /* consumes body */
int reply_error(serve_conn *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The connection's process ends itself (a 504, or an SSE error frame) if it is still running
 * ms from now: the last bound on anything that holds an execution slot. 0 disarms it. */
void watchdog_arm(serve_conn *k, long long ms);
/* The same with another answer: code and {"error": msg} (msg: plain text, no quote or backslash). */
void watchdog_arm_reply(serve_conn *k, long long ms, int code, const char *msg);
/* A draining server (serve_shared.draining) refuses new work with 503: 0 not draining, -1 answered. */
int refuse_if_draining(serve_ctx *c, serve_conn *k, const char *what);
/* The SSE head has gone out: later errors are frames, not a status. */
void mark_streaming(serve_conn *k);
/* The client's address as text ("" when it has none: a unix socket). */
void peer_text(int fd, char *out, size_t n);

/* ---- node.c: one node of several, the keeper's side ------------------------------------------ */

/* At start: the node's name and address (flags, else config cluster.*), the registry's tables,
 * joining, and the rows of this node put right against its run dir. 0 (not a cluster node, or
 * joined), -1 with err. */
int node_setup(serve_ctx *c, const char *flag_node, const char *flag_address, bool single_connection,
	       isol8_err *err);
/* Ends this node's own copy of a session, if it is alive. */
void node_stop_local(const char *owner, const char *sid);
/* The keeper: one question (a JSON line) answered (malloc'd line); *db_failed when the database
 * failed (it is opened again for the next). */
char *node_answer(serve_ctx *c, keydb *db, const char *line, bool *db_failed);
/* The keeper, every heartbeat: the node stamped alive and its rows reconciled; *stopper is the
 * child ending deleted copies. -1 when the database failed. */
int node_beat(serve_ctx *c, keydb *db, pid_t *stopper);
/* The keeper at a clean stop: the node "stopped", its sessions "ended". */
void node_leave(serve_ctx *c, keydb *db);

/* ---- keys.c: DB-backed keys ------------------------------------------------------------------ */

typedef struct keydb_key keydb_key;
/* DB auth from --auth-db (flag_conn) or the config's auth.*: the schema brought up once. 0, or
 * -1 with err (a database that cannot be opened stops the server from starting). */
int keys_setup(serve_ctx *c, const char *flag_conn, isol8_err *err);
/* The key keeper of a listening server (one database connection for every lookup); it closes the
 * ndrop fds of drop (the server's listening socket, its signalfd). */
int keys_start_keeper(serve_ctx *c, const int *drop, int ndrop);
void keys_stop_keeper(serve_ctx *c);
/* token's key: 1 valid (k's id, name, tenant set), 0 unknown, revoked or expired, -1 the
 * database is unavailable. */
int keys_lookup(serve_ctx *c, const char *token, keydb_key *k);
/* One line to the keeper and its answer (a JSON object), or invalid when there is no keeper or
 * it did not answer. */
jv keeper_ask(serve_ctx *c, const char *line);

/* ---- cluster.c: one node of several, a connection's side ------------------------------------- */

/* A request about the caller's session sid (runtime and cap: an exec's, for a claim): 0 go on
 * here (a->v REG_LOCAL, REG_FRESH, or REG_ABSENT for a file or delete), 1 the caller's session
 * cap is reached (the caller answers 429), -1 answered (421, 410, 503). Not a cluster node:
 * always 0 with REG_LOCAL. */
int cluster_route(serve_ctx *c, serve_conn *k, reg_op op, const char *sid, const char *runtime, int cap, reg_answer *a);
/* Tells the registry "active" (made here; runtime), "idle" (an exec ended), "release" (making
 * it failed) or "forget" (stopped). Nothing when not a cluster node. */
void cluster_note(serve_ctx *c, serve_conn *k, const char *what, const char *sid, const char *runtime);
/* The caller's sessions on every node; -1 answered (503). */
int cluster_sessions(serve_ctx *c, serve_conn *k, jv *out);
/* Deletes the caller's sessions everywhere: *here the ids this node must stop (then forget),
 * *elsewhere how many other nodes end. -1 answered (503). */
int cluster_cleanup(serve_ctx *c, serve_conn *k, jv *here, int *elsewhere);

/* ---- routes_exec.c, routes_session.c ------------------------------------------------------- */

/* A route's handler; rest is the path past the route's prefix ("" for a whole-path route). */
typedef void route_fn(serve_ctx *c, serve_conn *k, const char *rest);
route_fn route_execute, route_execute_stream;
route_fn route_file_put, route_file_get, route_sessions, route_session_delete, route_cleanup;
route_fn route_auth_keys_create, route_auth_keys_list, route_auth_key_revoke, route_auth_login;
route_fn route_mcp; /* routes_mcp.c */

/* ---- router.c ------------------------------------------------------------------------------ */

/* One connection, from its first byte to its close (the connection's own process). */
void serve_connection(serve_ctx *c, int fd);

/* ---- guard.c: the accept loop's table of live connections ----------------------------------- */

/* A per-address cap on unauthenticated connections, and eviction of the oldest unauthenticated
 * one when a newer connection needs room. */
typedef struct guard guard;
guard *guard_new(int max_conns, int per_addr);
void guard_free(guard *g);
/* Whether a new connection from addr may be served; evicts to make room. */
bool guard_admit(serve_ctx *c, guard *g, const unsigned char addr[16]);
void guard_add(guard *g, int pid, const unsigned char addr[16]);
void guard_authenticated(guard *g, int pid);
void guard_gone(guard *g, int pid);
int guard_live(const guard *g);
/* Sends sig to every live connection's process (a stop that does not wait: their sandboxes die with them). */
void guard_signal_all(const guard *g, int sig);
/* The 16-byte key a client address is counted under (IPv6 by /64, IPv4 as itself). */
void guard_addr_key(const void *sockaddr, unsigned char out[16]);

#endif
