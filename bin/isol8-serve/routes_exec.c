/* routes_exec.c — POST /execute and POST /execute/stream (SSE).
 *
 * Ephemeral executions run in this (per-connection) process through the library, so they take
 * a warm sandbox from isol8-pool when one fits. With a sessionId the execution goes to the
 * key's session (sessions.c), created on first use, and its JSON lines become SSE frames as
 * they are.
 *
 * Threats: one key taking every execution slot and the queue (serve.maxConcurrentPerKey, then
 * the shared slots: shared.c), a client asking for more than the operator allows (policy.c) or
 * for the server's debug output, and an execution that never ends: a session's answer is
 * awaited for the execution's timeout plus serve.graceMs, then 504, and the watchdog (conn.c)
 * ends this process if even that is overrun, so no request holds its slot for good. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/imageuse.h"
#include "run/install.h"
#include "state/images.h"
#include "core/json.h"
#include "core/util.h"
#include "run/install.h"
#include "run/session.h"
#include "serve.h"
#include "wire/sessionmsg.h"
#include "wire/events.h"

struct exec_in {
	isol8_request req;
	isol8_options opt;
	jv doc;          /* the body without sessionId (for a session: forwarded as is) */
	char sid[64];    /* the client's sessionId, "" for ephemeral */
	bool options_timeout; /* the body's options name a timeoutMs */
};

/* The longest this execution may run by its own timeout. A session uses its creation options'
 * timeout unless the request names one: the most it can be is serve.maxTimeoutMs. */
static long long exec_bound_ms(const serve_ctx *c, const struct exec_in *x)
{
	if (x->req.timeout_ms > 0)
		return x->req.timeout_ms;
	if (!x->sid[0] || x->options_timeout)
		return x->opt.timeout_ms;
	return c->max_timeout_ms;
}

/* How many budgets as long as the timeout an execution may use: the code's, and one each for the
 * image's setup script (a session's runs at its first exec: options.image), the request's, and
 * an ephemeral run's installs (lib/run/setup.c, lib/run/install.c). */
static long long budgets(const struct exec_in *x)
{
	return 1 + (x->req.image_setup_script || (x->sid[0] && x->opt.image)) + (x->req.setup_script != NULL) +
	       (!x->sid[0] && x->req.ninstall > 0);
}

/* The image and the installs' network. A session's image is its own, resolved when it is created
 * (isol8-session create): a session exec installs its packages at run time. */
static int serve_resolve(serve_ctx *c, struct exec_in *x, bool net_given, isol8_err *err)
{
	if (x->sid[0])
		return request_prepare_install(&x->req, &x->opt, net_given, err);
	return image_resolve_listed(&x->req, &x->opt, &c->cfg, "serve.images", net_given, err); /* the operator's only */
}

/* Parses and checks the body. 0, or the status already answered. */
static int parse_exec(serve_ctx *c, serve_conn *k, struct exec_in *x)
{
	isol8_err err = {0};
	isol8_request_init(&x->req);
	isol8_options_from_config(&x->opt, &c->cfg, &err);
	x->doc = jv_invalid();
	jv doc;
	if (json_parse(k->body ? k->body : "", k->body_len, "Invalid JSON body", &doc, &err) < 0)
		return reply_error(k, 400, "%s", err.msg), 400;
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		jv_free(doc);
		return reply_error(k, 400, "the body must be a JSON object {request, options?, sessionId?}"), 400;
	}
	jv sid = json_get(doc, "sessionId");
	const char *bad_sid;
	if (jv_get_kind(sid) == JV_KIND_STRING) {
		if ((bad_sid = session_id_problem(jv_string_value(sid), (size_t)jv_string_length_bytes(jv_copy(sid))))) {
			reply_error(k, 400, "sessionId %s", bad_sid);
			jv_free(sid);
			jv_free(doc);
			return 400;
		}
		snprintf(x->sid, sizeof x->sid, "%s", jv_string_value(sid));
	} else if (jv_is_valid(sid) && jv_get_kind(sid) != JV_KIND_NULL) {
		jv_free(sid);
		jv_free(doc);
		return reply_error(k, 400, "sessionId must be a string"), 400;
	}
	jv_free(sid);
	if (!session_header_agrees(k, x->sid)) {
		jv_free(doc);
		return reply_error(k, 400, SESSION_HEADER_MISMATCH), 400;
	}
	doc = jv_object_delete(doc, jv_string("sessionId"));
	/* the server decides the mode (a sessionId means persistent): a client's "mode" is dropped */
	jv opts = json_get(doc, "options");
	if (jv_get_kind(opts) == JV_KIND_OBJECT)
		doc = jv_object_set(doc, jv_string("options"), jv_object_delete(opts, jv_string("mode")));
	else
		jv_free(opts);
	jv rq = json_get(doc, "request");
	bool has_request = jv_is_valid(rq);
	jv_free(rq);
	if (!has_request) {
		jv_free(doc);
		return reply_error(k, 400, "the body needs a \"request\" object"), 400;
	}
	x->doc = jv_copy(doc);
	jv oj = json_get(doc, "options"), net = json_get(oj, "network"), tmo = json_get(oj, "timeoutMs");
	bool net_given = jv_get_kind(net) == JV_KIND_STRING;
	x->options_timeout = jv_get_kind(tmo) == JV_KIND_NUMBER;
	jv_free(tmo);
	jv_free(net);
	jv_free(oj);
	/* the policy sees the image as the client named it (serve.images), before it is resolved */
	if (isol8_request_from_json(doc, &x->req, &x->opt, &c->cfg, &err) < 0 ||
	    policy_check(&c->cfg, &x->req, &x->opt, &err) < 0 || serve_resolve(c, x, net_given, &err) < 0 ||
	    isol8_request_validate(&x->req, &x->opt, &err) < 0)
		return reply_error(k, 400, "%s", err.msg), 400;
	x->opt.debug = false; /* a client must not turn on the server's debug output */
	return 0;
}

static void exec_free(struct exec_in *x)
{
	isol8_request_free(&x->req);
	isol8_options_free(&x->opt);
	jv_free(x->doc);
}

static const char sse_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
			       "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";

/* The last two frames of a stream the execution could not finish: the error, then exit 1. A
 * writer of their own: bytes the run's writer still holds back (an unfinished UTF-8 character)
 * are not sent. */
static void sse_fail(int fd, const char *msg)
{
	isol8_evwriter w = {.fd = fd, .sse = true};
	isol8_event error = {ISOL8_EV_ERROR, (const unsigned char *)msg, strlen(msg), ISOL8_PHASE_CODE};
	isol8_event exit1 = {ISOL8_EV_EXIT, (const unsigned char *)"1", 1, ISOL8_PHASE_CODE};
	evw_one(&w, &error);
	evw_one(&w, &exit1);
}

/* The execution's audit record (config audit.*): its result, or for one that gave none (it
 * could not start, its session ended) why — the log must hold every execution asked for. One
 * that cannot be written is counted in /metrics, never turned into a failed request. */
static void audit_record(serve_ctx *c, serve_conn *k, const struct exec_in *x, const isol8_result *res, const char *why)
{
	if (!config_bool(&c->cfg, "audit.enabled", 0))
		return;
	char addr[INET6_ADDRSTRLEN];
	peer_text(k->fd, addr, sizeof addr);
	isol8_audit_who who = {.source = x->sid[0] ? "http-session" : "http", .tenant = k->tenant,
			       .key_id = k->key_id, .client = addr};
	isol8_err err = {0};
	int rc = res ? isol8_audit_execution(&c->cfg, &x->req, &x->opt, res, &who, &err)
		     : isol8_audit_failure(&c->cfg, &x->req, &x->opt, why, (now_mono_ns() - k->start_ns) / 1000000, &who, &err);
	if (rc < 0) {
		metrics_audit_failed(c);
		fprintf(stderr, "[ERR] isol8-serve: %s\n", err.msg);
	}
}

static void audit(serve_ctx *c, serve_conn *k, const struct exec_in *x, const isol8_result *res)
{
	audit_record(c, k, x, res, NULL);
}

/* An execution that gave no result: counted as failed in /metrics, and audited with why. */
static void count_failure(serve_ctx *c, serve_conn *k, const struct exec_in *x, const char *why)
{
	metrics_count(c, k, x->req.runtime, "failed", false);
	audit_record(c, k, x, NULL, why);
}

static void run_ephemeral(serve_ctx *c, serve_conn *k, struct exec_in *x, bool stream)
{
	isol8_result res;
	isol8_err err = {0};
	isol8_evwriter w = {.fd = k->fd, .sse = true};
	if (stream) {
		mark_streaming(k);
		(void)write_all(k->fd, sse_head, sizeof sse_head - 1);
	}
	int rc = isol8_execute(&x->req, &x->opt, stream ? evw_event : NULL, &w, k->fd, &res, &err);
	if (rc == 0) { /* before the answer: a client that has its answer finds the record */
		metrics_count(c, k, x->req.runtime, res.status, res.warm);
		audit(c, k, x, &res);
	} else {
		count_failure(c, k, x, err.msg);
	}
	if (rc < 0) {
		if (stream)
			sse_fail(k->fd, err.msg);
		else
			reply_error(k, err.kind == ISOL8_E_INPUT ? 400 : 500, "%s", err.msg);
	} else if (stream) {
		evw_result(&w, isol8_result_json(&res));
	} else {
		reply_json(k, 200, isol8_result_json(&res));
	}
	if (rc == 0)
		isol8_result_free(&res);
	evw_free(&w);
}

static void count_session_result(serve_ctx *c, serve_conn *k, const char *runtime, jv result)
{
	jv st = json_get(result, "status");
	metrics_count(c, k, runtime, jv_get_kind(st) == JV_KIND_STRING ? jv_string_value(st) : "failed", false);
	jv_free(st);
}

static void too_many_sessions(serve_ctx *c, serve_conn *k, int cap)
{
	metrics_reject(c, REJ_SESSIONS);
	if (k->tenant[0])
		reply_error(k, 429, "tenant \"%s\" already has %d sessions (config serve.tenants or "
			    "serve.maxSessionsPerKey): delete one first", k->tenant, cap);
	else
		reply_error(k, 429, "this key already has %d sessions (config serve.maxSessionsPerKey): delete one first", cap);
}

/* The caller's session iid, created with the body's options when there is none yet. counted:
 * the session cap was checked already (the cluster's registry counts every node's). 0, or -1
 * answered already (429: the key has its serve.maxSessionsPerKey; 400 or 500: not created). */
static int ensure_session(serve_ctx *c, serve_conn *k, struct exec_in *x, const char *iid, bool counted)
{
	isol8_err err = {0};
	jv meta = session_meta_live(iid);
	if (!jv_is_valid(meta) && refuse_if_draining(c, k, "a new session") < 0)
		return -1;
	if (!jv_is_valid(meta)) {
		int cap = tenant_limit(c, k, "maxSessions", c->max_sessions);
		if (!counted && sessions_count(k->owner) >= cap) {
			too_many_sessions(c, k, cap);
			return -1;
		}
		jv opts = json_get(x->doc, "options");
		if (jv_get_kind(opts) != JV_KIND_OBJECT) {
			jv_free(opts);
			opts = jv_object();
		}
		if (session_create(c, iid, x->req.runtime, opts, &err) < 0 && !jv_is_valid(meta = session_meta_live(iid))) {
			count_failure(c, k, x, err.msg);
			reply_error(k, err.kind == ISOL8_E_INPUT ? 400 : 500, "%s", err.msg);
			return -1;
		}
	}
	jv_free(meta);
	return 0;
}

/* The session, asked of the cluster's registry first when this is a node of several (never made
 * here when another node holds it), then made here if it is not yet. 0, or -1 answered. */
static int claim_session(serve_ctx *c, serve_conn *k, struct exec_in *x, const char *iid)
{
	int cap = tenant_limit(c, k, "maxSessions", c->max_sessions);
	reg_answer a;
	int r = cluster_route(c, k, REG_EXEC, x->sid, x->req.runtime, cap, &a);
	if (r == 1)
		too_many_sessions(c, k, cap);
	if (r != 0)
		return -1;
	if (a.stop_local) { /* a copy deleted through another node that this one has yet to end */
		jv m = session_meta_live(iid);
		if (jv_is_valid(m))
			(void)session_stop_supervisor(iid);
		jv_free(m);
	}
	if (ensure_session(c, k, x, iid, c->cluster) < 0) {
		cluster_note(c, k, a.v == REG_FRESH ? "release" : "idle", x->sid, NULL);
		return -1;
	}
	if (a.v == REG_FRESH)
		cluster_note(c, k, "active", x->sid, x->req.runtime);
	return 0;
}

/* Where relaying a session's answer stands. */
struct session_relay {
	bool headers; /* the SSE head has gone out: errors are frames now */
	bool done;    /* a result, or the session's refusal, has been answered */
	bool late;    /* the session did not answer by the deadline */
};

static void start_stream(serve_conn *k, struct session_relay *st)
{
	if (!st->headers) {
		mark_streaming(k);
		(void)write_all(k->fd, sse_head, sizeof sse_head - 1);
	}
	st->headers = true;
}

/* The session's result (borrowed) with the client's sessionId, not the name on disk: the answer. */
static void relay_result(serve_ctx *c, serve_conn *k, struct exec_in *x, bool stream, jv result, struct session_relay *st)
{
	jv data = jv_object_set(jv_copy(result), jv_string("sessionId"), jv_string(x->sid));
	count_session_result(c, k, x->req.runtime, data);
	/* audited before the answer goes out: a client that has its answer finds the record */
	isol8_result res;
	isol8_err err = {0};
	if (config_bool(&c->cfg, "audit.enabled", 0) && isol8_result_from_json(jv_copy(data), &res, &err) == 0) {
		audit(c, k, x, &res);
		isol8_result_free(&res);
	}
	if (stream) {
		start_stream(k, st);
		isol8_evwriter w = {.fd = k->fd, .sse = true};
		evw_result(&w, jv_copy(data));
		evw_free(&w);
	} else {
		reply_json(k, 200, jv_copy(data));
	}
	jv_free(data);
	st->done = true;
}

/* One line of the session's answer (consumed): an event is a frame when streaming, the result
 * ends the answer, a refusal too. A malformed line is not passed on. */
static void relay_line(serve_ctx *c, serve_conn *k, struct exec_in *x, bool stream, jv v, struct session_relay *st)
{
	isol8_evread ev;
	isol8_event e;
	evr_kind kind = evr_parse(v, &ev);
	jv_free(v);
	if (kind == EVR_REFUSAL) {
		/* the session refused the exec (e.g. another runtime): a client mistake */
		count_failure(c, k, x, (const char *)ev.data.data);
		if (st->headers)
			sse_fail(k->fd, (const char *)ev.data.data);
		else
			reply_error(k, 400, "%s", (const char *)ev.data.data);
		st->done = true;
	} else if (kind == EVR_RESULT) {
		relay_result(c, k, x, stream, ev.result, st);
	} else if (stream && evr_event(&ev, &e)) {
		start_stream(k, st);
		isol8_evwriter w = {.fd = k->fd, .sse = true};
		evw_one(&w, &e);
	}
	evr_free(&ev);
}

/* The session ended, or went quiet past its deadline, before its result. */
static void session_unfinished(serve_ctx *c, serve_conn *k, struct exec_in *x, const struct session_relay *st)
{
	char msg[300];
	if (st->late) {
		metrics_reject(c, REJ_GAVE_UP);
		snprintf(msg, sizeof msg, "session %s did not answer within the execution's timeout plus %d ms "
			 "(config serve.graceMs): it may be stuck; DELETE /session/%s ends it", x->sid, c->grace_ms, x->sid);
	} else {
		snprintf(msg, sizeof msg, "the session ended during the execution");
	}
	count_failure(c, k, x, msg);
	if (st->headers)
		sse_fail(k->fd, msg);
	else
		reply_error(k, st->late ? 504 : 500, "%s", msg);
}

static void run_in_session(serve_ctx *c, serve_conn *k, struct exec_in *x, bool stream)
{
	char iid[80];
	session_internal_id(k->owner, x->sid, iid);
	if (claim_session(c, k, x, iid) < 0)
		return;
	jv req = sessionmsg_exec(jv_copy(x->doc));
	int fd = session_send(iid, req);
	if (fd < 0) {
		cluster_note(c, k, "idle", x->sid, NULL);
		reply_error(k, 404, "Session not found");
		return;
	}
	session_reader rr = {.fd = fd};
	uint64_t deadline = now_mono_ns() + (uint64_t)(exec_bound_ms(c, x) * budgets(x) + c->grace_ms) * 1000000ull;
	struct session_relay st = {0};
	while (!st.done) {
		jv v = session_next_line(&rr, deadline, &st.late);
		if (!jv_is_valid(v)) {
			jv_free(v);
			break;
		}
		relay_line(c, k, x, stream, v, &st);
	}
	close(fd);
	isol8_buf_free(&rr.b);
	if (!st.done)
		session_unfinished(c, k, x, &st);
	cluster_note(c, k, "idle", x->sid, NULL);
}

static void execute(serve_ctx *c, serve_conn *k, bool stream)
{
	struct exec_in x;
	memset(&x, 0, sizeof x);
	if (parse_exec(c, k, &x) != 0 || (!x.sid[0] && refuse_if_draining(c, k, "an ephemeral execution") < 0)) {
		exec_free(&x);
		return;
	}
	enum serve_reject why;
	int share = tenant_limit(c, k, "maxConcurrent", c->key_share);
	if (key_share_take(c, k->owner, share) < 0) {
		/* one key (or tenant) must not take every slot and the queue from the others */
		metrics_reject(c, REJ_KEY_SHARE);
		if (k->tenant[0])
			reply_error(k, 429, "tenant \"%s\" already has %d executions running or queued (config serve.tenants or "
				    "serve.maxConcurrentPerKey): retry when one ends", k->tenant, share);
		else
			reply_error(k, 429, "this key already has %d executions running or queued (config serve.maxConcurrentPerKey): "
				    "retry when one ends", share);
	} else if (slot_acquire(c, &why) < 0) {
		metrics_reject(c, why);
		reply_error(k, 503, "%s", why == REJ_QUEUE_FULL ? "server busy: all execution slots and the queue are full"
							       : "server busy: no execution slot freed in time");
		key_share_release(c);
	} else {
		/* the last bound: a session's answer is awaited bound + grace, so this is a backstop.
		 * Installs and setup scripts each have a budget of their own (budgets): such a run may
		 * take a few times the timeout, and is not ended before. */
		long long bound = exec_bound_ms(c, &x) * budgets(&x);
		watchdog_arm(k, bound + (x.sid[0] ? 2ll : 1ll) * c->grace_ms);
		if (x.sid[0])
			run_in_session(c, k, &x, stream);
		else
			run_ephemeral(c, k, &x, stream);
		watchdog_arm(k, 0);
		slot_release(c);
		key_share_release(c);
	}
	exec_free(&x);
}

void route_execute(serve_ctx *c, serve_conn *k, const char *rest)
{
	execute(c, k, false);
}

void route_execute_stream(serve_ctx *c, serve_conn *k, const char *rest)
{
	execute(c, k, true);
}
