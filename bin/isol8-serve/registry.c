/* registry.c — see registry.h. The SQL of the session registry and the decision each request
 * about a session gets; it runs in the key keeper (keys.c), which holds the database connection.
 *
 * Threats: two nodes making the same session (the claim is an insert that only one node can win,
 * or a compare-and-swap on a dead node's row, and every later write names the node it expects);
 * a node thought dead that is only slow (its rows are taken only after the node timeout, and a
 * node that finds its copy claimed by another ends that copy); a client's ids and tenant names
 * (bound parameters only, never SQL text); a database that fails (an error, never a guess: the
 * caller answers 503 and creates nothing). */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

#define NOW_SQLITE "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
#define NOW_PG "(extract(epoch from clock_timestamp()) * 1000)::bigint"

static const char schema_sqlite[] =
	"CREATE TABLE IF NOT EXISTS isol8_nodes(name TEXT PRIMARY KEY, address TEXT NOT NULL, host TEXT NOT NULL,"
	" runDir TEXT NOT NULL, state TEXT NOT NULL, startedAt TEXT NOT NULL, heartbeatAt INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS isol8_sessions(owner TEXT NOT NULL, sessionId TEXT NOT NULL, tenantId TEXT NOT NULL,"
	" node TEXT NOT NULL, runtime TEXT NOT NULL, state TEXT NOT NULL, busy INTEGER NOT NULL DEFAULT 0,"
	" createdAt TEXT NOT NULL, lastUsedAt TEXT NOT NULL, PRIMARY KEY(owner, sessionId));"
	"CREATE INDEX IF NOT EXISTS idx_isol8_sessions_node ON isol8_sessions(node);";
static const char schema_pg[] =
	"CREATE TABLE IF NOT EXISTS isol8_nodes(name TEXT PRIMARY KEY, address TEXT NOT NULL, host TEXT NOT NULL,"
	" run_dir TEXT NOT NULL, state TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS isol8_sessions(owner TEXT NOT NULL, session_id TEXT NOT NULL, tenant_id TEXT NOT NULL,"
	" node TEXT NOT NULL, runtime TEXT NOT NULL, state TEXT NOT NULL, busy INTEGER NOT NULL DEFAULT 0,"
	" created_at TEXT NOT NULL, last_used_at TEXT NOT NULL, PRIMARY KEY(owner, session_id));"
	"CREATE INDEX IF NOT EXISTS idx_isol8_sessions_node ON isol8_sessions(node);";

/* ---- the statements (slots 16 and up: keydb.c has the first ones) ------------------------------ */

/* a session's row with its node's liveness: node, state, address, node state, heartbeat, now */
static const keydb_sql R_GET = {
	16,
	"SELECT s.node, s.state, COALESCE(n.address,''), COALESCE(n.state,'stopped'), COALESCE(n.heartbeatAt,0), " NOW_SQLITE
	" FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node WHERE s.owner=?1 AND s.sessionId=?2",
	"SELECT s.node, s.state, COALESCE(n.address,''), COALESCE(n.state,'stopped'), COALESCE(n.heartbeat_at,0), " NOW_PG
	" FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node WHERE s.owner=$1 AND s.session_id=$2"};
/* owner's sessions that hold a place: on this node, or on a live one */
static const keydb_sql R_COUNT = {
	17,
	"SELECT count(*) FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node WHERE s.owner=?1"
	" AND s.state IN ('creating','active') AND (s.node=?2 OR (n.state IN ('up','draining') AND n.heartbeatAt >= " NOW_SQLITE
	" - ?3))",
	"SELECT count(*) FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node WHERE s.owner=$1"
	" AND s.state IN ('creating','active') AND (s.node=$2 OR (n.state IN ('up','draining') AND n.heartbeat_at >= " NOW_PG
	" - $3::bigint))"};
static const keydb_sql R_CLAIM = {
	18,
	"INSERT INTO isol8_sessions(owner,sessionId,tenantId,node,runtime,state,busy,createdAt,lastUsedAt)"
	" VALUES(?1,?2,?3,?4,?5,'creating',1,?6,?6) ON CONFLICT DO NOTHING",
	"INSERT INTO isol8_sessions(owner,session_id,tenant_id,node,runtime,state,busy,created_at,last_used_at)"
	" VALUES($1,$2,$3,$4,$5,'creating',1,$6,$6) ON CONFLICT DO NOTHING"};
/* takes a row from (node ?6, state ?7) for this node: the compare-and-swap of a dead node's row */
static const keydb_sql R_TAKE = {
	19,
	"UPDATE isol8_sessions SET node=?3, tenantId=?4, runtime=?5, state='creating', busy=1, createdAt=?8, lastUsedAt=?8"
	" WHERE owner=?1 AND sessionId=?2 AND node=?6 AND state=?7",
	"UPDATE isol8_sessions SET node=$3, tenant_id=$4, runtime=$5, state='creating', busy=1, created_at=$8, last_used_at=$8"
	" WHERE owner=$1 AND session_id=$2 AND node=$6 AND state=$7"};
/* an exec starts on this node's session (a session this node stopped cleanly is active again) */
static const keydb_sql R_BUSY = {
	20,
	"UPDATE isol8_sessions SET busy=1, lastUsedAt=?4, state=CASE WHEN state='ended' THEN 'active' ELSE state END"
	" WHERE owner=?1 AND sessionId=?2 AND node=?3",
	"UPDATE isol8_sessions SET busy=1, last_used_at=$4, state=CASE WHEN state='ended' THEN 'active' ELSE state END"
	" WHERE owner=$1 AND session_id=$2 AND node=$3"};
static const keydb_sql R_IDLE = {21,
				 "UPDATE isol8_sessions SET busy=0, lastUsedAt=?4 WHERE owner=?1 AND sessionId=?2 AND node=?3",
				 "UPDATE isol8_sessions SET busy=0, last_used_at=$4 WHERE owner=$1 AND session_id=$2 AND node=$3"};
static const keydb_sql R_ACTIVE = {
	22,
	"UPDATE isol8_sessions SET state='active', runtime=?4 WHERE owner=?1 AND sessionId=?2 AND node=?3",
	"UPDATE isol8_sessions SET state='active', runtime=$4 WHERE owner=$1 AND session_id=$2 AND node=$3"};
static const keydb_sql R_MOVE = {
	23,
	"UPDATE isol8_sessions SET state=?5, busy=0 WHERE owner=?1 AND sessionId=?2 AND node=?3 AND state=?4",
	"UPDATE isol8_sessions SET state=$5, busy=0 WHERE owner=$1 AND session_id=$2 AND node=$3 AND state=$4"};
static const keydb_sql R_DROP = {24, "DELETE FROM isol8_sessions WHERE owner=?1 AND sessionId=?2 AND node=?3",
				 "DELETE FROM isol8_sessions WHERE owner=$1 AND session_id=$2 AND node=$3"};
static const keydb_sql R_DROP_IN = {
	25, "DELETE FROM isol8_sessions WHERE owner=?1 AND sessionId=?2 AND node=?3 AND state=?4",
	"DELETE FROM isol8_sessions WHERE owner=$1 AND session_id=$2 AND node=$3 AND state=$4"};
/* owner's rows (tombstones aside) with their nodes' liveness */
static const keydb_sql R_LIST = {
	26,
	"SELECT s.sessionId, s.node, s.state, s.runtime, s.busy, s.createdAt, s.lastUsedAt, COALESCE(n.state,'stopped'),"
	" COALESCE(n.heartbeatAt,0), " NOW_SQLITE " FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node"
	" WHERE s.owner=?1 AND s.state<>'deleted' ORDER BY s.createdAt, s.sessionId",
	"SELECT s.session_id, s.node, s.state, s.runtime, s.busy, s.created_at, s.last_used_at, COALESCE(n.state,'stopped'),"
	" COALESCE(n.heartbeat_at,0), " NOW_PG " FROM isol8_sessions s LEFT JOIN isol8_nodes n ON n.name=s.node"
	" WHERE s.owner=$1 AND s.state<>'deleted' ORDER BY s.created_at, s.session_id"};
static const keydb_sql R_MINE = {
	27, "SELECT owner, sessionId, state, busy, lastUsedAt FROM isol8_sessions WHERE node=?1",
	"SELECT owner, session_id, state, busy, last_used_at FROM isol8_sessions WHERE node=$1"};
static const keydb_sql R_HOLDER = {28, "SELECT node FROM isol8_sessions WHERE owner=?1 AND sessionId=?2",
				   "SELECT node FROM isol8_sessions WHERE owner=$1 AND session_id=$2"};
static const keydb_sql R_NODE_GET = {
	29, "SELECT host, runDir, state, heartbeatAt, " NOW_SQLITE " FROM isol8_nodes WHERE name=?1",
	"SELECT host, run_dir, state, heartbeat_at, " NOW_PG " FROM isol8_nodes WHERE name=$1"};
static const keydb_sql R_NODE_JOIN = {
	30,
	"INSERT INTO isol8_nodes(name,address,host,runDir,state,startedAt,heartbeatAt) VALUES(?1,?2,?3,?4,'up',?5," NOW_SQLITE
	") ON CONFLICT(name) DO UPDATE SET address=excluded.address, host=excluded.host, runDir=excluded.runDir,"
	" state='up', startedAt=excluded.startedAt, heartbeatAt=excluded.heartbeatAt",
	"INSERT INTO isol8_nodes(name,address,host,run_dir,state,started_at,heartbeat_at) VALUES($1,$2,$3,$4,'up',$5," NOW_PG
	") ON CONFLICT(name) DO UPDATE SET address=excluded.address, host=excluded.host, run_dir=excluded.run_dir,"
	" state='up', started_at=excluded.started_at, heartbeat_at=excluded.heartbeat_at"};
static const keydb_sql R_NODE_BEAT = {31, "UPDATE isol8_nodes SET state=?2, heartbeatAt=" NOW_SQLITE " WHERE name=?1",
				      "UPDATE isol8_nodes SET state=$2, heartbeat_at=" NOW_PG " WHERE name=$1"};
static const keydb_sql R_END_MINE = {
	32, "UPDATE isol8_sessions SET state='ended', busy=0 WHERE node=?1 AND state IN ('creating','active')",
	"UPDATE isol8_sessions SET state='ended', busy=0 WHERE node=$1 AND state IN ('creating','active')"};
/* any row of owner's sid from (node, state) to a tombstone: the compare-and-swap of a delete */
static const keydb_sql R_BURY = {
	33, "UPDATE isol8_sessions SET state='deleted', busy=0 WHERE owner=?1 AND sessionId=?2 AND node=?3 AND state=?4",
	"UPDATE isol8_sessions SET state='deleted', busy=0 WHERE owner=$1 AND session_id=$2 AND node=$3 AND state=$4"};

/* ---- helpers ----------------------------------------------------------------------------------- */

bool registry_node_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= REG_NODE_MAX && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* Column i of row as a string ("" when missing). */
static const char *col(jv row, int i, char *buf, size_t n)
{
	json_array_str(row, i, buf, n);
	return buf;
}

static long long col_ll(jv row, int i)
{
	char b[32];
	return atoll(col(row, i, b, sizeof b));
}

static bool node_alive(const char *state, long long heartbeat, long long now, long long timeout_ms)
{
	return (!strcmp(state, "up") || !strcmp(state, "draining")) && now - heartbeat <= timeout_ms;
}

static int run(keydb *db, const keydb_sql *s, const char *const *p, int n, jv *rows, long long *changed, isol8_err *err)
{
	return keydb_run(db, s, p, n, rows, changed, err);
}

int registry_migrate(keydb *db, isol8_err *err)
{
	return keydb_script(db, schema_sqlite, schema_pg, err);
}

/* ---- nodes ------------------------------------------------------------------------------------- */

int registry_join(keydb *db, const reg_self *self, isol8_err *err)
{
	jv rows;
	const char *p[] = {self->name};
	if (run(db, &R_NODE_GET, p, 1, &rows, NULL, err) < 0)
		return -1;
	int rc = 0;
	if (jv_array_length(jv_copy(rows)) == 1) {
		jv row = jv_array_get(jv_copy(rows), 0);
		char host[256], dir[4096], state[16];
		col(row, 0, host, sizeof host);
		col(row, 1, dir, sizeof dir);
		col(row, 2, state, sizeof state);
		long long hb = col_ll(row, 3), now = col_ll(row, 4);
		/* the same host and run dir is this node's earlier life (a crash, a restart); anything
		 * else alive under the name is another node, and two nodes under one name would take
		 * each other's sessions */
		if (node_alive(state, hb, now, self->timeout_ms) && (strcmp(host, self->host) || strcmp(dir, self->run_dir)))
			rc = isol8_input_error(err, "node \"%s\" is already running on %s (run dir %s, heartbeat %lld ms ago): give "
						    "each node its own cluster.node (or --node)", self->name, host, dir, now - hb);
		jv_free(row);
	}
	jv_free(rows);
	if (rc < 0)
		return -1;
	char now[32];
	iso8601_now(now);
	const char *q[] = {self->name, self->address, self->host, self->run_dir, now};
	return run(db, &R_NODE_JOIN, q, 5, NULL, NULL, err);
}

int registry_beat(keydb *db, const reg_self *self, bool draining, isol8_err *err)
{
	long long n = 0;
	const char *p[] = {self->name, draining ? "draining" : "up"};
	if (run(db, &R_NODE_BEAT, p, 2, NULL, &n, err) < 0)
		return -1;
	return n == 1 ? 0 : registry_join(db, self, err); /* the row was removed by hand: join again */
}

int registry_leave(keydb *db, const reg_self *self, isol8_err *err)
{
	const char *p[] = {self->name, "stopped"};
	if (run(db, &R_NODE_BEAT, p, 2, NULL, NULL, err) < 0)
		return -1;
	const char *q[] = {self->name};
	return run(db, &R_END_MINE, q, 1, NULL, NULL, err);
}

/* ---- decisions --------------------------------------------------------------------------------- */

/* A session's row: 1 found (node, state, the node's address and liveness), 0 none, -1 err. */
static int get_row(keydb *db, const reg_self *self, const char *owner, const char *sid, char node[REG_NODE_MAX + 1],
		   char state[16], char address[REG_ADDRESS_MAX + 1], bool *alive, isol8_err *err)
{
	jv rows;
	const char *p[] = {owner, sid};
	if (run(db, &R_GET, p, 2, &rows, NULL, err) < 0)
		return -1;
	int found = jv_array_length(jv_copy(rows)) == 1;
	if (found) {
		jv row = jv_array_get(jv_copy(rows), 0);
		char nstate[16];
		col(row, 0, node, REG_NODE_MAX + 1);
		col(row, 1, state, 16);
		col(row, 2, address, REG_ADDRESS_MAX + 1);
		col(row, 3, nstate, sizeof nstate);
		*alive = node_alive(nstate, col_ll(row, 4), col_ll(row, 5), self->timeout_ms);
		jv_free(row);
	}
	jv_free(rows);
	return found;
}

static int write1(keydb *db, const keydb_sql *s, const char *const *p, int n, isol8_err *err)
{
	long long changed = 0;
	return run(db, s, p, n, NULL, &changed, err) < 0 ? -1 : changed > 0;
}

/* A new row for this node: 1 claimed, 0 another node got there first, 2 the owner is full. */
static int claim_new(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *tenant,
		     const char *runtime, int cap, isol8_err *err)
{
	char timeout[32], now[32];
	snprintf(timeout, sizeof timeout, "%lld", self->timeout_ms);
	jv rows;
	const char *c[] = {owner, self->name, timeout};
	if (run(db, &R_COUNT, c, 3, &rows, NULL, err) < 0)
		return -1;
	jv row = jv_array_get(jv_copy(rows), 0);
	long long have = jv_is_valid(row) ? col_ll(row, 0) : 0;
	jv_free(row);
	jv_free(rows);
	if (have >= cap)
		return 2;
	iso8601_now(now);
	const char *p[] = {owner, sid, tenant, self->name, runtime, now};
	return write1(db, &R_CLAIM, p, 6, err);
}

/* Takes the row (node, state) for this node: 1 taken, 0 it changed meanwhile. */
static int take(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *tenant,
		const char *runtime, const char *node, const char *state, isol8_err *err)
{
	char now[32];
	iso8601_now(now);
	const char *p[] = {owner, sid, self->name, tenant, runtime, node, state, now};
	return write1(db, &R_TAKE, p, 8, err);
}

static int bury(keydb *db, const char *owner, const char *sid, const char *node, const char *state, isol8_err *err)
{
	const char *p[] = {owner, sid, node, state};
	return write1(db, &R_BURY, p, 4, err);
}

static void answer(reg_answer *a, reg_verdict v, const char *node, const char *address)
{
	a->v = v;
	snprintf(a->node, sizeof a->node, "%s", node);
	snprintf(a->address, sizeof a->address, "%s", address);
}

/* One pass over the row as it is now: 1 decided (a), 0 the row changed under us (look again). */
static int decide_once(keydb *db, const reg_self *self, reg_op op, const char *owner, const char *sid,
		       const char *tenant, const char *runtime, int cap, bool may_create, reg_answer *a, isol8_err *err)
{
	char node[REG_NODE_MAX + 1] = "", state[16] = "", address[REG_ADDRESS_MAX + 1] = "";
	bool alive = false;
	int found = get_row(db, self, owner, sid, node, state, address, &alive, err);
	if (found < 0)
		return -1;
	bool mine = found && !strcmp(node, self->name);
	/* "ended" on this node: it stopped and is back, and still holds the session */
	bool dead_copy = found && (!strcmp(state, "lost") || (!mine && (!strcmp(state, "ended") || !alive)));
	bool tomb = found && !strcmp(state, "deleted");
	int r;
	memset(a, 0, sizeof *a);
	if (!found || (tomb && (mine || !alive))) {
		/* nobody holds it: only an exec makes it, on this node */
		if (op != REG_EXEC || !may_create) {
			if (op == REG_DELETE && tomb && mine)
				return answer(a, REG_LOCAL, node, address), 1; /* end the copy this node still has */
			return answer(a, REG_ABSENT, "", ""), 1;
		}
		r = found ? take(db, self, owner, sid, tenant, runtime, node, state, err)
			  : claim_new(db, self, owner, sid, tenant, runtime, cap, err);
		if (r == 2)
			return answer(a, REG_FULL, "", ""), 1;
		if (r == 1) {
			answer(a, REG_FRESH, self->name, self->address);
			a->stop_local = tomb && mine;
		}
		return r;
	}
	if (tomb) /* deleted, and its live node has yet to end its copy */
		return answer(a, op == REG_EXEC ? REG_PENDING : REG_ABSENT, node, address), 1;
	if (mine && !dead_copy) {
		if (op == REG_DELETE) { /* a tombstone first: if this process dies, the heartbeat ends it */
			r = bury(db, owner, sid, node, state, err);
			return r == 1 ? (answer(a, REG_LOCAL, node, address), 1) : r;
		}
		if (op == REG_EXEC) {
			char now[32];
			iso8601_now(now);
			const char *p[] = {owner, sid, self->name, now};
			if (run(db, &R_BUSY, p, 4, NULL, NULL, err) < 0)
				return -1;
		}
		return answer(a, REG_LOCAL, node, address), 1;
	}
	if (!dead_copy) /* another live node holds it */
		return answer(a, REG_ELSEWHERE, node, address), 1;
	/* its node is gone (or came back without it): lost until the client deletes it */
	if (op != REG_DELETE)
		return answer(a, REG_LOST, node, address), 1;
	r = bury(db, owner, sid, node, state, err);
	return r == 1 ? (answer(a, REG_ABSENT, "", ""), 1) : r;
}

int registry_decide(keydb *db, const reg_self *self, reg_op op, const char *owner, const char *sid, const char *tenant,
		    const char *runtime, int cap, bool may_create, reg_answer *a, isol8_err *err)
{
	for (int attempt = 0; attempt < 8; attempt++) { /* each retry follows another node's write */
		int r = decide_once(db, self, op, owner, sid, tenant, runtime, cap, may_create, a, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	return isol8_fail(err, ISOL8_E_SANDBOX, 0, "session %s changed hands too often to decide", sid);
}

int registry_note(keydb *db, const reg_self *self, const char *what, const char *owner, const char *sid,
		  const char *runtime, isol8_err *err)
{
	char now[32];
	iso8601_now(now);
	if (!strcmp(what, "active")) {
		const char *p[] = {owner, sid, self->name, runtime};
		return run(db, &R_ACTIVE, p, 4, NULL, NULL, err);
	}
	if (!strcmp(what, "idle")) {
		const char *p[] = {owner, sid, self->name, now};
		return run(db, &R_IDLE, p, 4, NULL, NULL, err);
	}
	if (!strcmp(what, "release"))
		return registry_drop(db, self, owner, sid, "creating", err) < 0 ? -1 : 0;
	if (!strcmp(what, "forget"))
		return registry_drop(db, self, owner, sid, NULL, err) < 0 ? -1 : 0;
	return isol8_fail(err, ISOL8_E_INTERNAL, 0, "unknown registry note %s", what);
}

/* ---- listings ---------------------------------------------------------------------------------- */

int registry_list(keydb *db, const reg_self *self, const char *owner, jv *out, isol8_err *err)
{
	jv rows;
	const char *p[] = {owner};
	if (run(db, &R_LIST, p, 1, &rows, NULL, err) < 0)
		return -1;
	*out = jv_array();
	jv_array_foreach(rows, i, row) {
		(void)i;
		char id[64], node[REG_NODE_MAX + 1], state[16], runtime[32], created[32], used[32], nstate[16];
		col(row, 0, id, sizeof id);
		col(row, 1, node, sizeof node);
		col(row, 2, state, sizeof state);
		bool here = !strcmp(node, self->name);
		bool alive = here || node_alive(col(row, 7, nstate, sizeof nstate), col_ll(row, 8), col_ll(row, 9), self->timeout_ms);
		bool live = alive && (!strcmp(state, "creating") || !strcmp(state, "active") || (here && !strcmp(state, "ended")));
		jv s = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
		s = jv_object_set(s, jv_string("runtime"), jv_string(col(row, 3, runtime, sizeof runtime)));
		s = jv_object_set(s, jv_string("isActive"), jv_bool(live && col_ll(row, 4) != 0));
		s = jv_object_set(s, jv_string("lastAccessedAt"), jv_string(col(row, 6, used, sizeof used)));
		s = jv_object_set(s, jv_string("createdAt"), jv_string(col(row, 5, created, sizeof created)));
		s = jv_object_set(s, jv_string("node"), jv_string(node));
		s = jv_object_set(s, jv_string("state"), jv_string(live ? "active" : "lost"));
		*out = jv_array_append(*out, s);
		jv_free(row);
	}
	jv_free(rows);
	return 0;
}

int registry_cleanup(keydb *db, const reg_self *self, const char *owner, jv *here, int *elsewhere, isol8_err *err)
{
	jv rows;
	const char *p[] = {owner};
	*here = jv_array();
	*elsewhere = 0;
	if (run(db, &R_LIST, p, 1, &rows, NULL, err) < 0)
		return -1;
	int rc = 0;
	jv_array_foreach(rows, i, row) {
		(void)i;
		char id[64], node[REG_NODE_MAX + 1], state[16];
		col(row, 0, id, sizeof id);
		col(row, 1, node, sizeof node);
		col(row, 2, state, sizeof state);
		int r = rc < 0 ? -1 : bury(db, owner, id, node, state, err);
		if (r < 0)
			rc = -1;
		else if (r == 1 && !strcmp(node, self->name))
			*here = jv_array_append(*here, jv_string(id));
		else if (r == 1)
			++*elsewhere; /* its node ends its copy at its next heartbeat; a gone node's stays a tombstone */
		jv_free(row);
	}
	jv_free(rows);
	return rc;
}

/* ---- a node's own rows --------------------------------------------------------------------------- */

int registry_mine(keydb *db, const reg_self *self, jv *rows, isol8_err *err)
{
	const char *p[] = {self->name};
	return run(db, &R_MINE, p, 1, rows, NULL, err);
}

int registry_move(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *from, const char *to,
		  isol8_err *err)
{
	const char *p[] = {owner, sid, self->name, from, to};
	return write1(db, &R_MOVE, p, 5, err);
}

int registry_drop(keydb *db, const reg_self *self, const char *owner, const char *sid, const char *state, isol8_err *err)
{
	const char *p[] = {owner, sid, self->name, state};
	return state ? write1(db, &R_DROP_IN, p, 4, err) : write1(db, &R_DROP, p, 3, err);
}

int registry_holder(keydb *db, const char *owner, const char *sid, char node[REG_NODE_MAX + 1], isol8_err *err)
{
	jv rows;
	const char *p[] = {owner, sid};
	node[0] = 0;
	if (run(db, &R_HOLDER, p, 2, &rows, NULL, err) < 0)
		return -1;
	jv row = jv_array_get(jv_copy(rows), 0);
	if (jv_is_valid(row))
		col(row, 0, node, REG_NODE_MAX + 1);
	jv_free(row);
	jv_free(rows);
	return 0;
}

/* ---- names, for the keeper's questions and answers ---------------------------------------------- */

static const char *const verdicts[] = {
	[REG_LOCAL] = "local", [REG_FRESH] = "fresh", [REG_ABSENT] = "absent", [REG_ELSEWHERE] = "elsewhere",
	[REG_LOST] = "lost",   [REG_PENDING] = "pending", [REG_FULL] = "full",
};
static const char *const ops[] = {[REG_EXEC] = "exec", [REG_FILE] = "file", [REG_DELETE] = "delete"};

static int index_of(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

const char *registry_verdict_name(reg_verdict v)
{
	return verdicts[v];
}

int registry_verdict_of(const char *s)
{
	return index_of(verdicts, (int)ARRAY_SIZE(verdicts), s);
}

const char *registry_op_name(reg_op op)
{
	return ops[op];
}

int registry_op_of(const char *s)
{
	return index_of(ops, (int)ARRAY_SIZE(ops), s);
}
