/* registry.h — the shared session registry of several isol8-serve nodes, kept in the key
 * database (keydb.h; PostgreSQL when the nodes are several machines): which node holds each
 * session, and which nodes are alive.
 *
 *   SQLite      isol8_nodes(name PK, address, host, runDir, state, startedAt, heartbeatAt)
 *               isol8_sessions(owner, sessionId, tenantId, node, runtime, state, busy,
 *                              createdAt, lastUsedAt, PRIMARY KEY(owner, sessionId))
 *   PostgreSQL  the same tables, columns in snake_case
 *
 * A node is alive while its state is "up" or "draining" and its last heartbeat is at most the
 * node timeout old. Heartbeats are stamped with the database's clock, so the machines' clocks
 * need not agree. A session row is one of:
 *   creating  its node is starting it          active  its node holds it
 *   ended     its node stopped cleanly         lost    its node came back without it
 *   deleted   a tombstone: deleted by a client; the node still holding a copy ends it
 * A session is never made twice: a node claims a row (an insert that fails when another node
 * got there first, or a compare-and-swap on a dead node's row) before it creates the session. */
#ifndef ISOL8_SERVE_REGISTRY_H
#define ISOL8_SERVE_REGISTRY_H

#include <jv.h>
#include <stdbool.h>

#include "core/err.h"
#include "keydb.h"

#define REG_NODE_MAX 63
#define REG_ADDRESS_MAX 255

/* This node, as the registry knows it. */
typedef struct reg_self {
	char name[REG_NODE_MAX + 1];
	char address[REG_ADDRESS_MAX + 1]; /* where clients reach it directly ("" when not said) */
	char host[256], run_dir[4096];     /* a restart of the same node is recognised by these */
	long long timeout_ms;              /* a node silent this long is gone */
} reg_self;

/* What a request about a session should do on this node. */
typedef enum reg_verdict {
	REG_LOCAL,     /* this node holds it: serve it here */
	REG_FRESH,     /* claimed for this node: make it here (stop_local: end a deleted copy first) */
	REG_ABSENT,    /* there is no such session, and none was claimed */
	REG_ELSEWHERE, /* another live node holds it: 421 naming that node */
	REG_LOST,      /* its node is gone: 410 until the client deletes it */
	REG_PENDING,   /* its live node is still ending a deleted copy: retry in a moment */
	REG_FULL,      /* the owner already has the most sessions it may */
} reg_verdict;

typedef enum reg_op { REG_EXEC, REG_FILE, REG_DELETE } reg_op;

typedef struct reg_answer {
	reg_verdict v;
	bool stop_local;
	char node[REG_NODE_MAX + 1];
	char address[REG_ADDRESS_MAX + 1];
} reg_answer;

/* The tables, once, at a server's start. */
int registry_migrate(keydb *db, isol8_err *err);
/* This node joins: refused (-1, err saying why) while a live node of the same name runs on
 * another host or run dir. */
int registry_join(keydb *db, const reg_self *self, isol8_err *err);
int registry_beat(keydb *db, const reg_self *self, bool draining, isol8_err *err);
/* A clean stop: the node is "stopped" and its sessions "ended" (410 everywhere until it is back). */
int registry_leave(keydb *db, const reg_self *self, isol8_err *err);

/* The decision for op on owner's session sid (tenant and runtime are recorded when it is
 * claimed; cap: the most live sessions owner may have; may_create: false while draining). */
int registry_decide(keydb *db, const reg_self *self, reg_op op, const char *owner, const char *sid, const char *tenant,
		    const char *runtime, int cap, bool may_create, reg_answer *a, isol8_err *err);
/* After the decision, this node says what became of the session: "active" (made, runtime),
 * "idle" (an exec ended), "release" (making it failed), "forget" (stopped and gone). */
int registry_note(keydb *db, const reg_self *self, const char *what, const char *owner, const char *sid,
		  const char *runtime, isol8_err *err);

/* owner's sessions on every node, oldest first: [{id, runtime, isActive, lastAccessedAt,
 * createdAt, node, state}] with state "active" or "lost". */
int registry_list(keydb *db, const reg_self *self, const char *owner, jv *out, isol8_err *err);
/* Deletes every session of owner: those on this node come back in *here (ids to stop, then
 * forget); the others become tombstones their nodes act on (*elsewhere counts them). */
int registry_cleanup(keydb *db, const reg_self *self, const char *owner, jv *here, int *elsewhere, isol8_err *err);

/* This node's rows: [[owner, sessionId, state, busy, lastUsedAt], …]. */
int registry_mine(keydb *db, const reg_self *self, jv *rows, isol8_err *err);
/* Sets a row of this node from one state to another (compare-and-swap): 1 changed, 0 not. */
int registry_move(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *from, const char *to,
		  isol8_err *err);
/* Removes a row of this node in state (any state when NULL). */
int registry_drop(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *state, isol8_err *err);
/* The node a row names ("" when there is no row): 0, or -1 with err. */
int registry_holder(keydb *db, const char *owner, const char *sid, char node[REG_NODE_MAX + 1], isol8_err *err);

/* Whether name may be a node's name: 1-63 letters, digits, '-', '_' or '.'. */
bool registry_node_name_ok(const char *name);

/* The names of verdicts and operations in the keeper's JSON lines; _of: -1 for none. */
const char *registry_verdict_name(reg_verdict v);
int registry_verdict_of(const char *s);
const char *registry_op_name(reg_op op);
int registry_op_of(const char *s);

#endif
