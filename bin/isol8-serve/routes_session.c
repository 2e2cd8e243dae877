/* routes_session.c — a key's sessions over HTTP: POST and GET /file, GET /sessions,
 * DELETE /session/ID, POST /cleanup.
 *
 * Threats: reaching another key's session (every session id is turned into this key's name on
 * disk, sessions.c, so another key's session is simply absent: 404), ids that are cut short or
 * escape the sessions directory (checked in full, sessions.c), a file operation on a stuck
 * session (its answer is awaited for serve.graceMs, then 504, and the watchdog covers the
 * answer's writing too), and a session that will not stop (ended with SIGTERM; a DELETE that
 * still fails says so with 500). A DELETE is idempotent, so a retried one succeeds. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "run/reaper.h"
#include "run/session.h"
#include "serve.h"
#include "wire/sessionmsg.h"
#include "state/rundir.h"

/* Sends one op to the caller's session and answers with its reply (404 when it is not theirs
 * or not alive). */
static void session_op(serve_ctx *c, serve_conn *k, const char *sid, jv req, bool content_only)
{
	char iid[80];
	reg_answer a;
	if (cluster_route(c, k, REG_FILE, sid, NULL, 0, &a) < 0) { /* 421 another node's, 410 lost */
		jv_free(req);
		return;
	}
	session_internal_id(k->owner, sid, iid);
	jv meta = session_meta_live(iid);
	bool alive = jv_is_valid(meta);
	jv_free(meta);
	int fd = alive ? session_send(iid, req) : (jv_free(req), -1);
	if (fd < 0) {
		reply_error(k, 404, "Session not found");
		return;
	}
	session_reader rr = {.fd = fd};
	bool late;
	/* armed through the answer too: a client that stops reading a large file must not hold
	 * this process (and its place and share) once the session has answered */
	watchdog_arm(k, 2ll * c->grace_ms);
	jv v = session_next_line(&rr, now_mono_ns() + (uint64_t)c->grace_ms * 1000000ull, &late);
	close(fd);
	isol8_buf_free(&rr.b);
	const char *refusal = sessionmsg_error_of(v);
	if (late) {
		metrics_reject(c, REJ_GAVE_UP);
		reply_error(k, 504, "session %s did not answer within %d ms (config serve.graceMs): it may be stuck on this "
			    "file; DELETE /session/%s ends it", sid, c->grace_ms, sid);
	} else if (refusal)
		reply_error(k, 400, "%s", refusal);
	else if (!jv_is_valid(v))
		reply_error(k, 500, "the session closed the connection");
	else
		reply_json(k, 200, content_only ? jv_object_set(jv_object(), jv_string("content"), json_get(v, "content"))
						: jv_parse("{\"ok\":true}"));
	watchdog_arm(k, 0);
	jv_free(v);
}

void route_file_put(serve_ctx *c, serve_conn *k, const char *rest)
{
	jv doc;
	const char *bad;
	isol8_err err = {0};
	if (json_parse(k->body ? k->body : "", k->body_len, "Invalid JSON body", &doc, &err) < 0) {
		reply_error(k, 400, "%s", err.msg);
		return;
	}
	jv sid = json_get(doc, "sessionId"), path = json_get(doc, "path"), content = json_get(doc, "content");
	if (jv_get_kind(sid) != JV_KIND_STRING || jv_get_kind(path) != JV_KIND_STRING || jv_get_kind(content) != JV_KIND_STRING)
		reply_error(k, 400, "POST /file needs {\"sessionId\", \"path\", \"content\" (base64)}");
	else if ((bad = session_id_problem(jv_string_value(sid), (size_t)jv_string_length_bytes(jv_copy(sid)))))
		reply_error(k, 400, "sessionId %s", bad);
	else if (strlen(jv_string_value(path)) != (size_t)jv_string_length_bytes(jv_copy(path)))
		reply_error(k, 400, "path must not contain a NUL byte");
	else if (!session_header_agrees(k, jv_string_value(sid)))
		reply_error(k, 400, SESSION_HEADER_MISMATCH);
	else
		session_op(c, k, jv_string_value(sid), sessionmsg_put(jv_string_value(path), jv_string_value(content)), false);
	jv_free(sid);
	jv_free(path);
	jv_free(content);
	jv_free(doc);
}

/* A query parameter's refusal, in words (NULL: found and usable, or absent). */
static const char *param_problem(int r)
{
	return r == HTTP_PCT_NUL ? "must not contain a NUL byte" : r == HTTP_PCT_BAD ? "has a malformed %-escape"
								 : r == HTTP_PCT_LONG ? "is too long" : NULL;
}

void route_file_get(serve_ctx *c, serve_conn *k, const char *rest)
{
	char sid[MAX_CLIENT_SESSION_ID + 2], path[HTTP_MAX_TARGET];
	int rs = http_query_param(k->req.query, "sessionId", sid, sizeof sid);
	int rp = http_query_param(k->req.query, "path", path, sizeof path);
	if (rs == HTTP_PCT_LONG) /* longer than any valid id: the id rule is the clearer message */
		rs = 1, snprintf(sid, sizeof sid, "/");
	if (param_problem(rs) || param_problem(rp)) {
		reply_error(k, 400, "%s %s", param_problem(rs) ? "sessionId" : "path", param_problem(rs) ? param_problem(rs) : param_problem(rp));
		return;
	}
	if (rs != 1 || rp != 1 || !sid[0] || !path[0]) {
		reply_error(k, 400, "Missing sessionId or path");
		return;
	}
	const char *bad = session_id_problem(sid, strlen(sid));
	if (bad) {
		reply_error(k, 400, "sessionId %s", bad);
		return;
	}
	if (!session_header_agrees(k, sid)) {
		reply_error(k, 400, SESSION_HEADER_MISMATCH);
		return;
	}
	session_op(c, k, sid, sessionmsg_get(path), true);
}

/* The caller's live sessions, oldest first: [{id, runtime, isActive, lastAccessedAt, created}]. */
static jv owned_sessions(const serve_conn *k)
{
	char *dir = rundir_sessions(NULL);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	free(dir);
	jv all = jv_array(), keys = jv_array();
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (name[0] == 'k' && !strncmp(name + 1, k->owner, 12) && name[13] == '-') {
			jv m = session_meta_live(name);
			if (jv_is_valid(m)) {
				jv busy = json_get(m, "busy");
				jv s = jv_object_set(jv_object(), jv_string("id"), jv_string(name + 14));
				s = jv_object_set(s, jv_string("runtime"), json_get(m, "runtime"));
				s = jv_object_set(s, jv_string("isActive"), jv_bool(jv_get_kind(busy) == JV_KIND_TRUE));
				s = jv_object_set(s, jv_string("lastAccessedAt"), json_get(m, "lastUsed"));
				s = jv_object_set(s, jv_string("createdAt"), json_get(m, "created"));
				all = jv_array_append(all, s);
				keys = jv_array_append(keys, json_get(m, "created"));
				jv_free(busy);
			}
			jv_free(m);
		}
		free(names[i]);
	}
	free(names);
	return jv_sort(all, keys); /* oldest first, by creation time */
}

/* A node of several lists the caller's sessions on every node (the registry's), with the node
 * that holds each and whether it is lost. */
void route_sessions(serve_ctx *c, serve_conn *k, const char *rest)
{
	jv list;
	if (c->cluster && cluster_sessions(c, k, &list) < 0)
		return;
	reply_json(k, 200, jv_object_set(jv_object(), jv_string("sessions"), c->cluster ? list : owned_sessions(k)));
}

/* Stops the session if it is alive: session_stop_supervisor asks it, and ends an exec that
 * keeps it busy (a program stuck on a FIFO, a long loop) with SIGTERM, so a session can always
 * be stopped. 1 removed, 0 there was none (or its supervisor was already gone, which leaves
 * nothing running: isol8-cleanup takes its directory), -1 it did not go away in time. */
static int session_stop(const char *iid)
{
	jv meta = session_meta_live(iid);
	bool alive = jv_is_valid(meta);
	jv_free(meta);
	if (!alive)
		return 0;
	int r = session_stop_supervisor(iid);
	return r == -2 ? 0 : r;
}

void route_session_delete(serve_ctx *c, serve_conn *k, const char *id)
{
	/* idempotent: 200 whether or not there was such a session, so a retried DELETE succeeds;
	 * but an id that cannot be one is refused, so a client learns that it named none */
	const char *bad = session_id_problem(id, strlen(id));
	char iid[80];
	if (bad) {
		reply_error(k, 400, "session id %s", bad);
		return;
	}
	if (!session_header_agrees(k, id)) {
		reply_error(k, 400, SESSION_HEADER_MISMATCH);
		return;
	}
	reg_answer a;
	if (cluster_route(c, k, REG_DELETE, id, NULL, 0, &a) < 0)
		return;
	session_internal_id(k->owner, id, iid);
	if (session_stop(iid) < 0) { /* a registry's tombstone stays: the heartbeat ends it */
		reply_error(k, 500, "session %s did not stop in time", id);
		return;
	}
	if (a.v == REG_LOCAL)
		cluster_note(c, k, "forget", id, NULL);
	reply_json(k, 200, jv_parse("{\"ok\":true}"));
}

static jv summary(int removed, int failed, jv errors)
{
	jv s = jv_object_set(jv_object(), jv_string("removed"), jv_number(removed));
	s = jv_object_set(s, jv_string("failed"), jv_number(failed));
	return jv_object_set(s, jv_string("errors"), errors);
}

/* Stops the caller's session sid here: 1 removed, 0 there was none, -1 (with a line in *errs)
 * it did not stop in time. */
static int stop_one(serve_ctx *c, serve_conn *k, const char *sid, jv *errs)
{
	char iid[80];
	session_internal_id(k->owner, sid, iid);
	int r = session_stop(iid);
	if (r < 0) {
		char *m = xasprintf("%s: did not stop in time", sid);
		*errs = jv_array_append(*errs, jv_string(m));
		free(m);
	} else {
		cluster_note(c, k, "forget", sid, NULL);
	}
	return r;
}

/* The caller's sessions (on every node, for a node of several: the others end theirs at their
 * next heartbeat), then whatever is stale in the run dir (never another key's live session or a
 * running sandbox: that is what isol8-cleanup judges safe). */
void route_cleanup(serve_ctx *c, serve_conn *k, const char *rest)
{
	jv list, errs = jv_array();
	int removed = 0, failed = 0, elsewhere = 0;
	if (c->cluster && cluster_cleanup(c, k, &list, &elsewhere) < 0) {
		jv_free(errs);
		return;
	}
	if (!c->cluster) {
		jv owned = owned_sessions(k);
		list = jv_array();
		jv_array_foreach(owned, i, s) {
			(void)i;
			list = jv_array_append(list, json_get(s, "id"));
			jv_free(s);
		}
		jv_free(owned);
	}
	jv_array_foreach(list, i, id) {
		(void)i;
		int r = jv_get_kind(id) == JV_KIND_STRING ? stop_one(c, k, jv_string_value(id), &errs) : 0;
		/* a node of several: the registry had the session, so it is removed even when this
		 * node's heartbeat, which ends the copies of tombstones, stopped it first (r == 0) */
		removed += c->cluster ? r >= 0 : r > 0;
		failed += r < 0;
		jv_free(id);
	}
	jv_free(list);
	removed += elsewhere;
	isol8_reap_opts ro = {.orphan_age_s = 60};
	isol8_reap_report rep = {0};
	isol8_err err = {0};
	jv out = jv_object_set(jv_object(), jv_string("ok"), jv_true());
	out = jv_object_set(out, jv_string("sessions"), summary(removed, failed, errs));
	if (isol8_reap(&ro, &rep, &err) < 0) {
		jv_free(out);
		reply_error(k, 500, "%s", err.msg);
		return;
	}
	jv rerrs = jv_array();
	for (size_t i = 0; i < rep.nerrors; i++)
		rerrs = jv_array_append(rerrs, jv_string(rep.errors[i]));
	out = jv_object_set(out, jv_string("containers"), summary(rep.removed, rep.failed, rerrs));
	isol8_reap_report_free(&rep);
	reply_json(k, 200, out);
}
