/* routes.c — the execution, file, session and cleanup routes.
 *
 * Ephemeral executions run in this (per-connection) process through the library, so they take
 * a warm sandbox from isol8-pool when one fits. Sessions are isol8-session supervisors: created
 * with `isol8-session create --options -` and then spoken to over their ctl.sock, whose JSON
 * lines become SSE frames as they are. They live in the run dir, not in this process, so they
 * survive a restart of the server. A session belongs to the key that created it: its name on
 * disk is "k<12 hex of SHA-256(key)>-<sessionId>", so another key's request for the same
 * sessionId names a different (absent) session and gets 404.
 *
 * Ids: a client's session id is checked in full before use — a NUL inside ("abc\u0000def" in
 * JSON, %00 in a URL) would otherwise cut the C string and land in session "abc" — and one
 * with a slash or over MAX_CLIENT_SESSION_ID bytes is refused with 400, never shortened.
 *
 * Bounds: no wait here is open-ended, so no request can hold its execution slot (or its
 * key's share, see shared.c) for good: a session's answer is awaited for the execution's
 * timeout plus serve.graceMs (a file operation: serve.graceMs), then 504; and a watchdog ends
 * the connection's process if an execution overruns that (see conn.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/events.h"
#include "core/json.h"
#include "state/reaper.h"
#include "serve.h"
#include "run/session.h"
#include "core/util.h"

#define MAX_CLIENT_SESSION_ID 48

/* true when id (len bytes, NULs included) is a usable client session id; else answers 400
 * naming what (sessionId, session id) and returns false. */
static bool client_sid_ok(serve_conn *k, const char *what, const char *id, size_t len)
{
	if (strlen(id) != len) {
		reply_error(k, 400, "%s must not contain a NUL byte", what);
		return false;
	}
	if (!session_id_valid(id, MAX_CLIENT_SESSION_ID)) {
		reply_error(k, 400, "%s must be 1-%d letters, digits, '-', '_' or '.' (not starting with '.')", what,
			    MAX_CLIENT_SESSION_ID);
		return false;
	}
	return true;
}

/* ---- reading a session's answers by a deadline --------------------------------------------- */

typedef struct reply_reader {
	int fd;
	isol8_buf b;
	size_t off;
	bool eof;
} reply_reader;

/* The next JSON line from the session, or invalid at its end; *late when the deadline passed
 * first (the session may be stuck, e.g. on a FIFO: the caller gives up and says so). */
static jv read_reply(reply_reader *r, uint64_t deadline_ns, bool *late)
{
	*late = false;
	for (;;) {
		const char *base = r->b.data ? (const char *)r->b.data + r->off : "";
		size_t have = r->b.len - r->off;
		const char *nl = memchr(base, '\n', have);
		if (nl || (r->eof && have)) {
			size_t n = nl ? (size_t)(nl - base) + 1 : have;
			jv v = jv_parse_sized(base, (int)n);
			r->off += n;
			return v;
		}
		if (r->eof)
			return jv_invalid();
		if (r->off) {
			memmove(r->b.data, r->b.data + r->off, have);
			r->b.len = have;
			r->off = 0;
		}
		uint64_t now = now_mono_ns();
		struct pollfd p = {r->fd, POLLIN, 0};
		int pr = now >= deadline_ns ? 0 : poll(&p, 1, (int)((deadline_ns - now) / 1000000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0 && now_mono_ns() >= deadline_ns) {
			*late = true;
			return jv_invalid();
		}
		char tmp[65536];
		ssize_t got = pr > 0 ? read(r->fd, tmp, sizeof tmp) : 0;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			r->eof = true;
		else
			buf_append(&r->b, tmp, (size_t)got);
	}
}

/* ---- sessions on disk ------------------------------------------------------------------- */

static void internal_id(const serve_conn *k, const char *sid, char out[80])
{
	snprintf(out, 80, "k%s-%s", k->owner, sid);
}

int sessions_count(const char *owner)
{
	char *dir = xasprintf("%s/sessions", isol8_run_dir());
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || (owner && (e->d_name[0] != 'k' || strncmp(e->d_name + 1, owner, 12))))
			continue;
		jv m = session_meta_live(e->d_name);
		n += jv_is_valid(m);
		jv_free(m);
	}
	if (d)
		closedir(d);
	free(dir);
	return n;
}

/* Runs `isol8-session create` with the client's options on stdin (secrets stay out of argv).
 * 0 created, -1 with err (the tool's one-line message). */
static int session_create(serve_ctx *c, const char *iid, const char *runtime, jv options, isol8_err *err)
{
	int in[2], errp[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		jv_free(options);
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "pipe");
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		jv_free(options);
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "pipe");
	}
	char idle[32];
	snprintf(idle, sizeof idle, "%lld", c->idle_ms > 0 ? c->idle_ms : 1ll << 40);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		close(errp[0]);
		close(errp[1]);
		jv_free(options);
		return isol8_fail(err, ISOL8_E_INTERNAL, e, "fork");
	}
	if (pid == 0) {
		dup2(in[0], 0);
		/* close-on-exec: the session supervisor must not keep a stray descriptor for its life */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(null, 1);
		dup2(errp[1], 2);
		char *av[] = {"isol8-session", "create", "--id", (char *)iid, "-r", (char *)runtime, "--idle-timeout", idle,
			      "--options", "-", NULL};
		execv(c->session_bin, av);
		_exit(127);
	}
	close(in[0]);
	close(errp[1]);
	char *t = json_dump(options, 0);
	jv_free(options);
	(void)write_all(in[1], t, strlen(t));
	free(t);
	close(in[1]);
	isol8_buf msg = {0};
	isol8_err rerr = {0};
	(void)read_fd_all(errp[0], 8192, &msg, &rerr);
	close(errp[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		rtrim_buf(&msg);
		const char *m = msg.data ? (const char *)msg.data : "the session could not be created";
		if (!strncmp(m, "[ERR] ", 6))
			m += 6;
		rc = WIFEXITED(st) && WEXITSTATUS(st) == 127 ? isol8_fail(err, ISOL8_E_INTERNAL, 0, "cannot run %s", c->session_bin)
							     : isol8_input_error(err, "%s", m);
	}
	buf_free(&msg);
	return rc;
}

/* ---- execute ----------------------------------------------------------------------------- */

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

/* Parses and checks the body. 0, or the status already answered. */
static int parse_exec(serve_ctx *c, serve_conn *k, struct exec_in *x)
{
	isol8_err err = {0};
	request_init(&x->req);
	options_from_config(&x->opt, &c->cfg, &err);
	x->doc = jv_invalid();
	jv doc;
	if (json_parse(k->body ? k->body : "", k->body_len, "Invalid JSON body", &doc, &err) < 0)
		return reply_error(k, 400, "%s", err.msg), 400;
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		jv_free(doc);
		return reply_error(k, 400, "the body must be a JSON object {request, options?, sessionId?}"), 400;
	}
	jv sid = json_get(doc, "sessionId");
	if (jv_get_kind(sid) == JV_KIND_STRING) {
		if (!client_sid_ok(k, "sessionId", jv_string_value(sid), (size_t)jv_string_length_bytes(jv_copy(sid)))) {
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
	if (request_from_json(doc, &x->req, &x->opt, &c->cfg, &err) < 0 ||
	    request_prepare_install(&x->req, &x->opt, net_given, &err) < 0 || request_validate(&x->req, &x->opt, &err) < 0 ||
	    policy_check(&c->cfg, &x->req, &x->opt, &err) < 0)
		return reply_error(k, 400, "%s", err.msg), 400;
	x->opt.debug = false; /* a client must not turn on the server's debug output */
	return 0;
}

static void exec_free(struct exec_in *x)
{
	request_free(&x->req);
	options_free(&x->opt);
	jv_free(x->doc);
}

static const char sse_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
			       "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";

static void sse_frame(int fd, jv ev)
{
	char *t = json_dump(ev, 0);
	jv_free(ev);
	char *f = xasprintf("data: %s\n\n", t);
	(void)write_all(fd, f, strlen(f));
	free(f);
	free(t);
}

static jv event(const char *type, const char *data)
{
	return jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string(type)), jv_string("data"),
					   jv_string(data)),
			     jv_string("phase"), jv_string("code"));
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
	metrics_count(c, x->req.runtime, rc == 0 ? res.status : "failed", rc == 0 && res.warm, k->start_ns);
	if (rc < 0) {
		if (stream) {
			sse_frame(k->fd, event("error", err.msg));
			sse_frame(k->fd, event("exit", "1"));
		} else {
			reply_error(k, err.kind == ISOL8_E_INPUT ? 400 : 500, "%s", err.msg);
		}
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
	metrics_count(c, runtime, jv_get_kind(st) == JV_KIND_STRING ? jv_string_value(st) : "failed", false, k->start_ns);
	jv_free(st);
}

static void run_in_session(serve_ctx *c, serve_conn *k, struct exec_in *x, bool stream)
{
	char iid[80];
	internal_id(k, x->sid, iid);
	isol8_err err = {0};
	jv meta = session_meta_live(iid);
	if (!jv_is_valid(meta)) {
		if (sessions_count(k->owner) >= c->max_sessions) {
			metrics_reject(c, REJ_SESSIONS);
			reply_error(k, 429, "this key already has %d sessions (config serve.maxSessionsPerKey): delete one first",
				    c->max_sessions);
			return;
		}
		jv opts = json_get(x->doc, "options");
		if (jv_get_kind(opts) != JV_KIND_OBJECT) {
			jv_free(opts);
			opts = jv_object();
		}
		if (session_create(c, iid, x->req.runtime, opts, &err) < 0 && !jv_is_valid(meta = session_meta_live(iid))) {
			metrics_count(c, x->req.runtime, "failed", false, k->start_ns);
			reply_error(k, err.kind == ISOL8_E_INPUT ? 400 : 500, "%s", err.msg);
			return;
		}
	}
	jv_free(meta);
	jv req = jv_object_set(jv_copy(x->doc), jv_string("op"), jv_string("exec"));
	int fd = session_send(iid, req);
	if (fd < 0) {
		reply_error(k, 404, "Session not found");
		return;
	}
	reply_reader rr = {.fd = fd};
	uint64_t deadline = now_mono_ns() + (uint64_t)(exec_bound_ms(c, x) + c->grace_ms) * 1000000ull;
	bool headers = false, done = false, late = false;
	while (!done) {
		jv v = read_reply(&rr, deadline, &late);
		if (!jv_is_valid(v)) {
			jv_free(v);
			break;
		}
		jv e = json_get(v, "error"), type = json_get(v, "type");
		const char *t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
		if (jv_get_kind(e) == JV_KIND_STRING) {
			/* the session refused the exec (e.g. another runtime): a client mistake */
			metrics_count(c, x->req.runtime, "failed", false, k->start_ns);
			if (headers) {
				sse_frame(k->fd, event("error", jv_string_value(e)));
				sse_frame(k->fd, event("exit", "1"));
			} else {
				reply_error(k, 400, "%s", jv_string_value(e));
			}
			done = true;
		} else if (!strcmp(t, "result")) {
			/* the client's sessionId, not the name on disk */
			jv data = jv_object_set(json_get(v, "data"), jv_string("sessionId"), jv_string(x->sid));
			v = jv_object_set(v, jv_string("data"), jv_copy(data));
			count_session_result(c, k, x->req.runtime, data);
			if (stream) {
				if (!headers) {
					mark_streaming(k);
					(void)write_all(k->fd, sse_head, sizeof sse_head - 1);
				}
				headers = true;
				sse_frame(k->fd, jv_copy(v));
			} else {
				reply_json(k, 200, jv_copy(data));
			}
			jv_free(data);
			done = true;
		} else if (stream) {
			if (!headers) {
				mark_streaming(k);
				(void)write_all(k->fd, sse_head, sizeof sse_head - 1);
			}
			headers = true;
			sse_frame(k->fd, jv_copy(v));
		}
		jv_free(e);
		jv_free(type);
		jv_free(v);
	}
	close(fd);
	buf_free(&rr.b);
	if (!done) {
		char msg[300];
		if (late) {
			metrics_reject(c, REJ_GAVE_UP);
			snprintf(msg, sizeof msg, "session %s did not answer within the execution's timeout plus %d ms "
				 "(config serve.graceMs): it may be stuck; DELETE /session/%s ends it", x->sid, c->grace_ms, x->sid);
		} else {
			snprintf(msg, sizeof msg, "the session ended during the execution");
		}
		metrics_count(c, x->req.runtime, "failed", false, k->start_ns);
		if (headers) {
			sse_frame(k->fd, event("error", msg));
			sse_frame(k->fd, event("exit", "1"));
		} else {
			reply_error(k, late ? 504 : 500, "%s", msg);
		}
	}
}

void route_execute(serve_ctx *c, serve_conn *k, bool stream)
{
	struct exec_in x;
	memset(&x, 0, sizeof x);
	if (parse_exec(c, k, &x) != 0) {
		exec_free(&x);
		return;
	}
	enum serve_reject why;
	if (key_share_take(c, k->owner) < 0) {
		/* one key must not take every slot and the queue from the others */
		metrics_reject(c, REJ_KEY_SHARE);
		reply_error(k, 429, "this key already has %d executions running or queued (config serve.maxConcurrentPerKey): "
			    "retry when one ends", c->key_share);
	} else if (slot_acquire(c, &why) < 0) {
		metrics_reject(c, why);
		reply_error(k, 503, "%s", why == REJ_QUEUE_FULL ? "server busy: all execution slots and the queue are full"
							       : "server busy: no execution slot freed in time");
		key_share_release(c);
	} else {
		/* the last bound: a session's answer is awaited bound + grace, so this is a backstop.
		 * An ephemeral run's installs have a budget of their own, as long as the timeout
		 * (lib/engine.c): such a run may take twice it, and is not ended before. */
		long long bound = exec_bound_ms(c, &x);
		if (!x.sid[0] && x.req.ninstall)
			bound *= 2;
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

/* ---- files, sessions, cleanup ------------------------------------------------------------ */

/* Sends one op to the caller's session and answers with its reply (404 when it is not theirs
 * or not alive). */
static void session_op(serve_ctx *c, serve_conn *k, const char *sid, jv req, bool content_only)
{
	char iid[80];
	internal_id(k, sid, iid);
	jv meta = session_meta_live(iid);
	bool alive = jv_is_valid(meta);
	jv_free(meta);
	int fd = alive ? session_send(iid, req) : (jv_free(req), -1);
	if (fd < 0) {
		reply_error(k, 404, "Session not found");
		return;
	}
	reply_reader rr = {.fd = fd};
	bool late;
	/* armed through the answer too: a client that stops reading a large file must not hold
	 * this process (and its place and share) once the session has answered */
	watchdog_arm(k, 2ll * c->grace_ms);
	jv v = read_reply(&rr, now_mono_ns() + (uint64_t)c->grace_ms * 1000000ull, &late);
	close(fd);
	buf_free(&rr.b);
	jv e = json_get(v, "error");
	if (late) {
		metrics_reject(c, REJ_GAVE_UP);
		reply_error(k, 504, "session %s did not answer within %d ms (config serve.graceMs): it may be stuck on this "
			    "file; DELETE /session/%s ends it", sid, c->grace_ms, sid);
	} else if (jv_get_kind(e) == JV_KIND_STRING)
		reply_error(k, 400, "%s", jv_string_value(e));
	else if (!jv_is_valid(v))
		reply_error(k, 500, "the session closed the connection");
	else
		reply_json(k, 200, content_only ? jv_object_set(jv_object(), jv_string("content"), json_get(v, "content"))
						: jv_parse("{\"ok\":true}"));
	watchdog_arm(k, 0);
	jv_free(e);
	jv_free(v);
}

void route_file_put(serve_ctx *c, serve_conn *k)
{
	jv doc;
	isol8_err err = {0};
	if (json_parse(k->body ? k->body : "", k->body_len, "Invalid JSON body", &doc, &err) < 0) {
		reply_error(k, 400, "%s", err.msg);
		return;
	}
	jv sid = json_get(doc, "sessionId"), path = json_get(doc, "path"), content = json_get(doc, "content");
	if (jv_get_kind(sid) != JV_KIND_STRING || jv_get_kind(path) != JV_KIND_STRING || jv_get_kind(content) != JV_KIND_STRING)
		reply_error(k, 400, "POST /file needs {\"sessionId\", \"path\", \"content\" (base64)}");
	else if (!client_sid_ok(k, "sessionId", jv_string_value(sid), (size_t)jv_string_length_bytes(jv_copy(sid))))
		;
	else if (strlen(jv_string_value(path)) != (size_t)jv_string_length_bytes(jv_copy(path)))
		reply_error(k, 400, "path must not contain a NUL byte");
	else
		session_op(c, k, jv_string_value(sid),
			   jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("put")),
						       jv_string("path"), jv_copy(path)),
					 jv_string("content"), jv_copy(content)),
			   false);
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

void route_file_get(serve_ctx *c, serve_conn *k)
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
	if (!client_sid_ok(k, "sessionId", sid, strlen(sid)))
		return;
	session_op(c, k, sid, jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("get")), jv_string("path"),
					 jv_string(path)),
		   true);
}

/* The caller's live sessions, oldest first: [{id, runtime, isActive, lastAccessedAt, created}]. */
static jv owned_sessions(const serve_conn *k)
{
	char *dir = xasprintf("%s/sessions", isol8_run_dir());
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

void route_sessions(serve_ctx *c, serve_conn *k)
{
	(void)c;
	reply_json(k, 200, jv_object_set(jv_object(), jv_string("sessions"), owned_sessions(k)));
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
	(void)c;
	/* idempotent: 200 whether or not there was such a session, so a retried DELETE succeeds;
	 * but an id that cannot be one is refused, so a client learns that it named none */
	if (client_sid_ok(k, "session id", id, strlen(id))) {
		char iid[80];
		internal_id(k, id, iid);
		if (session_stop(iid) < 0) {
			reply_error(k, 500, "session %s did not stop in time", id);
			return;
		}
		reply_json(k, 200, jv_parse("{\"ok\":true}"));
	}
}

static jv summary(int removed, int failed, jv errors)
{
	jv s = jv_object_set(jv_object(), jv_string("removed"), jv_number(removed));
	s = jv_object_set(s, jv_string("failed"), jv_number(failed));
	return jv_object_set(s, jv_string("errors"), errors);
}

/* The caller's sessions, then whatever is stale in the run dir (never another key's live
 * session or a running sandbox: that is what isol8-cleanup judges safe). */
void route_cleanup(serve_ctx *c, serve_conn *k)
{
	(void)c;
	jv list = owned_sessions(k), errs = jv_array();
	int removed = 0, failed = 0;
	jv_array_foreach(list, i, s) {
		(void)i;
		jv id = json_get(s, "id");
		char iid[80];
		internal_id(k, jv_string_value(id), iid);
		int r = session_stop(iid);
		if (r > 0)
			removed++;
		else if (r < 0) {
			failed++;
			char *m = xasprintf("%s: did not stop in time", jv_string_value(id));
			errs = jv_array_append(errs, jv_string(m));
			free(m);
		}
		jv_free(id);
		jv_free(s);
	}
	jv_free(list);
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
