/* node.c — this isol8-serve as one node of several (cluster.node), on the key keeper's side:
 * joining the session registry (registry.h) at start, answering the questions a connection's
 * process asks about its sessions (cluster.c), the heartbeat, and leaving.
 *
 * The keeper (keys.c) holds the database connection and passes each JSON question line here.
 * Every cluster.heartbeatMs it stamps the node alive (or draining) and reconciles the node's
 * rows with its run dir — it ends the copies clients deleted through other nodes, and forgets
 * the sessions that expired here.
 *
 * Threats: a node name shared by two nodes (refused at start); the keeper's socket (the run
 * dir's, 0700) carrying malformed questions (every field checked, anything else refused); a
 * copy of a session another node took over while this one seemed gone (ended at start). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "run/session.h"
#include "serve.h"
#include "state/rundir.h"

/* ---- setting up ------------------------------------------------------------------------------ */

static bool url_ok(const char *u)
{
	return strlen(u) <= REG_ADDRESS_MAX && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) &&
	       strcspn(u, " \t\r\n\"\\") == strlen(u);
}

/* The node's name and address from the flags, else the config. 0 (c->cluster false when no
 * name is set), or -1 with err. */
static int read_node(serve_ctx *c, const char *flag_node, const char *flag_address, isol8_err *err)
{
	const char *name = flag_node ? flag_node : config_str(&c->cfg, "cluster.node", "");
	const char *addr = flag_address ? flag_address : config_str(&c->cfg, "cluster.address", "");
	long long hb = (long long)config_num(&c->cfg, "cluster.heartbeatMs", 2000);
	long long timeout = (long long)config_num(&c->cfg, "cluster.nodeTimeoutMs", 5 * hb);
	if (!*name) {
		if (flag_address || *addr)
			return isol8_input_error(err, "cluster.address (--advertise) needs a node name: set cluster.node or --node");
		return 0;
	}
	if (!registry_node_name_ok(name))
		return isol8_input_error(err, "node name \"%.80s\" must be 1-%d letters, digits, '-', '_' or '.' (cluster.node, --node)",
					 name, REG_NODE_MAX);
	if (*addr && !url_ok(addr))
		return isol8_input_error(err, "cluster.address (--advertise) must be an http:// or https:// URL of at most %d "
					      "characters, not \"%.80s\"", REG_ADDRESS_MAX, addr);
	if (hb < 100 || hb > 60000 || timeout < 2 * hb || timeout > 3600000)
		return isol8_input_error(err, "config cluster.heartbeatMs must be from 100 to 60000 and cluster.nodeTimeoutMs "
					      "at least twice it (at most 3600000)");
	if (!c->auth_conn)
		return isol8_input_error(err, "a cluster node needs the shared database for its session registry: set "
					      "auth.enabled and auth.connectionString (postgres://…), or --auth-db");
	c->cluster = true;
	c->heartbeat_ms = (int)hb;
	snprintf(c->self.name, sizeof c->self.name, "%s", name);
	snprintf(c->self.address, sizeof c->self.address, "%s", addr);
	c->self.timeout_ms = timeout;
	if (gethostname(c->self.host, sizeof c->self.host - 1) < 0)
		snprintf(c->self.host, sizeof c->self.host, "unknown");
	snprintf(c->self.run_dir, sizeof c->self.run_dir, "%s", isol8_run_dir());
	return 0;
}

static bool local_alive(const char *owner, const char *sid)
{
	char iid[80];
	session_internal_id(owner, sid, iid);
	jv m = session_meta_live(iid);
	bool alive = jv_is_valid(m);
	jv_free(m);
	return alive;
}

void node_stop_local(const char *owner, const char *sid)
{
	char iid[80];
	session_internal_id(owner, sid, iid);
	if (local_alive(owner, sid))
		(void)session_stop_supervisor(iid);
}

/* An ISO time at least ms old. */
static bool older_than(const char *iso, long long ms)
{
	char limit[32];
	iso8601_at(now_real_ms() - (uint64_t)ms, limit);
	return strcmp(iso, limit) < 0;
}

/* At start: the rows naming this node against the sessions its run dir still holds (they
 * outlive a restart of the server, not of the machine). */
static int reconcile_start(serve_ctx *c, keydb *db, isol8_err *err)
{
	jv rows;
	if (registry_mine(db, &c->self, &rows, err) < 0)
		return -1;
	int rc = 0;
	jv_array_foreach(rows, i, row) {
		(void)i;
		char owner[16], sid[64], state[16], used[32];
		json_array_str(row, 0, owner, sizeof owner);
		json_array_str(row, 1, sid, sizeof sid);
		json_array_str(row, 2, state, sizeof state);
		json_array_str(row, 4, used, sizeof used);
		bool alive = local_alive(owner, sid);
		if (!strcmp(state, "deleted")) {
			node_stop_local(owner, sid);
			rc |= registry_drop(db, &c->self, owner, sid, "deleted", err) < 0 ? -1 : 0;
		} else if (strcmp(state, "lost")) {
			/* gone with the machine: lost (410) until deleted, unless it had expired anyway */
			const char *to = alive ? "active" : c->idle_ms > 0 && older_than(used, c->idle_ms) ? NULL : "lost";
			rc |= (to ? registry_move(db, &c->self, owner, sid, state, to, err)
				  : registry_drop(db, &c->self, owner, sid, state, err)) < 0 ? -1 : 0;
		}
		jv_free(row);
	}
	jv_free(rows);
	return rc;
}

/* Local copies another node has taken over while this one was thought gone: ended. */
static int end_superseded(serve_ctx *c, keydb *db, isol8_err *err)
{
	char *dir = rundir_sessions(NULL);
	DIR *d = opendir(dir);
	free(dir);
	struct dirent *e;
	int rc = 0;
	while (d && rc == 0 && (e = readdir(d))) {
		const char *n = e->d_name;
		if (n[0] != 'k' || strlen(n) < 15 || n[13] != '-' || strspn(n + 1, "0123456789abcdef") != 12)
			continue;
		char owner[13], node[REG_NODE_MAX + 1];
		snprintf(owner, sizeof owner, "%.12s", n + 1);
		rc = registry_holder(db, owner, n + 14, node, err);
		if (rc == 0 && node[0] && strcmp(node, c->self.name))
			node_stop_local(owner, n + 14);
	}
	if (d)
		closedir(d);
	return rc;
}

int node_setup(serve_ctx *c, const char *flag_node, const char *flag_address, bool single_connection,
		  isol8_err *err)
{
	if (read_node(c, flag_node, flag_address, err) < 0)
		return -1;
	if (!c->cluster)
		return 0;
	if (single_connection)
		return isol8_input_error(err, "a cluster node must be a listening server (its heartbeat keeps its sessions "
					      "reachable): not --inetd or one accepted connection");
	keydb *db = keydb_open(c->auth_conn, false, err);
	int rc = !db || registry_migrate(db, err) < 0 || registry_join(db, &c->self, err) < 0 ||
			 reconcile_start(c, db, err) < 0 || end_superseded(c, db, err) < 0
		 ? -1
		 : 0;
	keydb_close(db);
	return rc;
}

/* ---- the keeper's answers ----------------------------------------------------------------------- */

/* A question's string field, checked: 1 set, 0 missing or not usable. */
static int field(jv q, const char *key, char *out, size_t n, bool (*ok)(const char *))
{
	jv v = json_get(q, key);
	int r = jv_get_kind(v) == JV_KIND_STRING && !json_string_has_nul(v) && (size_t)jv_string_length_bytes(jv_copy(v)) < n;
	if (r)
		snprintf(out, n, "%s", jv_string_value(v));
	jv_free(v);
	return r && (!ok || ok(out));
}

static bool owner_ok(const char *s)
{
	return strlen(s) == 12 && strspn(s, "0123456789abcdef") == 12;
}

static bool sid_ok(const char *s)
{
	return session_id_problem(s, strlen(s)) == NULL;
}

static jv keeper_decide(serve_ctx *c, keydb *db, jv q, const char *owner, const char *sid, isol8_err *err)
{
	char op[16], tenant[130] = "", runtime[32] = "";
	int o = field(q, "op", op, sizeof op, NULL) ? registry_op_of(op) : -1;
	field(q, "tenant", tenant, sizeof tenant, NULL);
	field(q, "runtime", runtime, sizeof runtime, NULL);
	jv cap = json_get(q, "cap");
	int max = jv_get_kind(cap) == JV_KIND_NUMBER ? (int)jv_number_value(cap) : 0;
	jv_free(cap);
	reg_answer a;
	if (o < 0 || registry_decide(db, &c->self, (reg_op)o, owner, sid, tenant, runtime, max, json_get_bool(q, "create"),
				     &a, err) < 0)
		return o < 0 ? (isol8_input_error(err, "unknown registry question"), jv_invalid()) : jv_invalid();
	jv r = jv_object_set(jv_object(), jv_string("verdict"), jv_string(registry_verdict_name(a.v)));
	r = jv_object_set(r, jv_string("node"), jv_string(a.node));
	r = jv_object_set(r, jv_string("address"), jv_string(a.address));
	return jv_object_set(r, jv_string("stopLocal"), jv_bool(a.stop_local));
}

/* One question: the answer as JSON, or invalid with err. */
static jv keeper_question(serve_ctx *c, keydb *db, jv q, isol8_err *err)
{
	char ask[16], owner[16], sid[64], runtime[32] = "";
	if (!field(q, "ask", ask, sizeof ask, NULL) || !field(q, "owner", owner, sizeof owner, owner_ok))
		return isol8_input_error(err, "malformed registry question"), jv_invalid();
	bool has_sid = field(q, "sid", sid, sizeof sid, sid_ok);
	if (!strcmp(ask, "list")) {
		jv out;
		return registry_list(db, &c->self, owner, &out, err) < 0 ? jv_invalid()
									 : jv_object_set(jv_object(), jv_string("sessions"), out);
	}
	if (!strcmp(ask, "cleanup")) {
		jv here;
		int elsewhere;
		if (registry_cleanup(db, &c->self, owner, &here, &elsewhere, err) < 0)
			return jv_free(here), jv_invalid();
		return jv_object_set(jv_object_set(jv_object(), jv_string("here"), here), jv_string("elsewhere"),
				     jv_number(elsewhere));
	}
	if (!has_sid)
		return isol8_input_error(err, "malformed registry question"), jv_invalid();
	if (!strcmp(ask, "decide"))
		return keeper_decide(c, db, q, owner, sid, err);
	field(q, "runtime", runtime, sizeof runtime, NULL);
	if (registry_note(db, &c->self, ask, owner, sid, runtime, err) < 0)
		return jv_invalid();
	return jv_object_set(jv_object(), jv_string("ok"), jv_true());
}

char *node_answer(serve_ctx *c, keydb *db, const char *line, bool *db_failed)
{
	isol8_err err = {0};
	jv q = jv_parse(line);
	jv r = !c->cluster ? (isol8_input_error(&err, "this server is not a cluster node"), jv_invalid())
	       : !db	   ? jv_invalid()
	       : jv_get_kind(q) == JV_KIND_OBJECT ? keeper_question(c, db, q, &err)
						  : (isol8_input_error(&err, "malformed registry question"), jv_invalid());
	jv_free(q);
	*db_failed = !jv_is_valid(r) && err.kind != ISOL8_E_INPUT;
	if (!jv_is_valid(r)) {
		fprintf(stderr, "[ERR] isol8-serve: the session registry: %s\n", db ? err.msg : "the database is unavailable");
		r = jv_object_set(jv_object(), jv_string("error"), jv_string("the session registry is unavailable"));
	}
	char *s = json_dump(r, 0), *out = xasprintf("%s\n", s);
	free(s);
	jv_free(r);
	return out;
}

/* This node's rows against its run dir: deleted copies to end (collected in *stop), sessions
 * that expired here forgotten. */
static int reconcile(serve_ctx *c, keydb *db, jv *stop, isol8_err *err)
{
	jv rows;
	if (registry_mine(db, &c->self, &rows, err) < 0)
		return -1;
	/* an exec longer than this cannot still be running: its busy mark is stale */
	long long exec_bound = 3 * c->max_timeout_ms + 2ll * c->grace_ms;
	int rc = 0;
	jv_array_foreach(rows, i, row) {
		(void)i;
		char owner[16], sid[64], state[16], busy[8], used[32];
		json_array_str(row, 0, owner, sizeof owner);
		json_array_str(row, 1, sid, sizeof sid);
		json_array_str(row, 2, state, sizeof state);
		json_array_str(row, 3, busy, sizeof busy);
		json_array_str(row, 4, used, sizeof used);
		bool alive = local_alive(owner, sid);
		if (!strcmp(state, "deleted") && alive)
			*stop = jv_array_append(*stop, jv_array_append(jv_array_append(jv_array(), jv_string(owner)), jv_string(sid)));
		else if (!strcmp(state, "deleted"))
			rc |= registry_drop(db, &c->self, owner, sid, "deleted", err) < 0 ? -1 : 0;
		else if (!alive && ((!strcmp(state, "active") && (!strcmp(busy, "0") || older_than(used, exec_bound))) ||
				    (!strcmp(state, "creating") && older_than(used, exec_bound))))
			rc |= registry_drop(db, &c->self, owner, sid, state, err) < 0 ? -1 : 0;
		jv_free(row);
	}
	jv_free(rows);
	return rc;
}

/* Ends the listed copies in a child: stopping a session can take seconds, and the keeper answers
 * every lookup of the node meanwhile. The next beat forgets their rows. */
static pid_t stop_in_child(jv stop)
{
	pid_t pid = fork();
	if (pid == 0) {
		jv_array_foreach(stop, i, pair) {
			(void)i;
			char owner[16], sid[64];
			json_array_str(pair, 0, owner, sizeof owner);
			json_array_str(pair, 1, sid, sizeof sid);
			node_stop_local(owner, sid);
			jv_free(pair);
		}
		_exit(0);
	}
	return pid;
}

int node_beat(serve_ctx *c, keydb *db, pid_t *stopper)
{
	isol8_err err = {0};
	if (*stopper > 0 && waitpid(*stopper, NULL, WNOHANG) != 0)
		*stopper = 0;
	jv stop = jv_array();
	bool draining = __atomic_load_n(c->draining, __ATOMIC_RELAXED) != 0;
	int rc = registry_beat(db, &c->self, draining, &err) < 0 || reconcile(c, db, &stop, &err) < 0 ? -1 : 0;
	if (rc < 0)
		fprintf(stderr, "[ERR] isol8-serve: the node's heartbeat: %s\n", err.msg);
	if (jv_array_length(jv_copy(stop)) > 0 && *stopper <= 0)
		*stopper = stop_in_child(stop);
	jv_free(stop);
	return rc;
}

void node_leave(serve_ctx *c, keydb *db)
{
	isol8_err err = {0};
	if (db && registry_leave(db, &c->self, &err) < 0)
		fprintf(stderr, "[ERR] isol8-serve: marking the node stopped: %s\n", err.msg);
}
