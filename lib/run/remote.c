#include "run/remote.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "run/remote.h"
#include "core/json.h"
#include "core/util.h"
#include "wire/events.h"
#include "wire/sessionmsg.h"

#define MAX_RESPONSE (256u << 20)

/* ---- libcurl, loaded on first use ---------------------------------------------------------- */

static struct {
	bool loaded;
	CURL *(*easy_init)(void);
	CURLcode (*setopt)(CURL *, CURLoption, ...);
	CURLcode (*perform)(CURL *);
	CURLcode (*getinfo)(CURL *, CURLINFO, ...);
	void (*cleanup)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	const char *(*strerror)(CURLcode);
} cu;

static int load_curl(isol8_err *err)
{
	if (cu.loaded)
		return 0;
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "remote execution needs libcurl (apt-get install libcurl4)");
	CURLcode (*global_init)(long) = (CURLcode(*)(long))dlsym(h, "curl_global_init");
	*(void **)&cu.easy_init = dlsym(h, "curl_easy_init");
	*(void **)&cu.setopt = dlsym(h, "curl_easy_setopt");
	*(void **)&cu.perform = dlsym(h, "curl_easy_perform");
	*(void **)&cu.getinfo = dlsym(h, "curl_easy_getinfo");
	*(void **)&cu.cleanup = dlsym(h, "curl_easy_cleanup");
	*(void **)&cu.slist_append = dlsym(h, "curl_slist_append");
	*(void **)&cu.slist_free_all = dlsym(h, "curl_slist_free_all");
	*(void **)&cu.strerror = dlsym(h, "curl_easy_strerror");
	if (!global_init || !cu.easy_init || !cu.setopt || !cu.perform || !cu.getinfo || !cu.cleanup || !cu.slist_append ||
	    !cu.slist_free_all || !cu.strerror)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the installed libcurl lacks the functions isol8 needs");
	global_init(CURL_GLOBAL_DEFAULT);
	cu.loaded = true;
	return 0;
}

/* ---- one HTTP exchange --------------------------------------------------------------------- */

struct call {
	CURL *h;
	isol8_buf body;              /* the response body (non-SSE, or a non-200 SSE answer) */
	bool too_big;
	/* SSE */
	isol8_event_fn fn;
	void *ctx;
	bool sse;
	isol8_buf line;
	jv result;                   /* the "result" frame */
	int exit_code;
	bool got_exit;
	isol8_buf out, err;          /* for a server that sends no result frame */
};

/* One line of the SSE stream: its event delivered and kept (output and errors for a server
 * that sends no result frame). Malformed frames, refusals and other lines are ignored, as the
 * reference's client does. */
static void sse_line(struct call *c, const char *line, size_t n)
{
	isol8_evread ev;
	if (!evr_sse_line(line, n, &ev))
		return;
	isol8_event e;
	if (ev.kind == EVR_RESULT) {
		jv_free(c->result);
		c->result = jv_copy(ev.result);
	} else if (evr_event(&ev, &e)) {
		if (c->fn)
			c->fn(c->ctx, &e);
		if (e.type == ISOL8_EV_STDOUT || e.type == ISOL8_EV_STDERR)
			buf_append(e.type == ISOL8_EV_STDOUT ? &c->out : &c->err, e.data, e.len);
		if (e.type == ISOL8_EV_EXIT) {
			c->got_exit = true;
			c->exit_code = ev.exit_code;
		}
		if (e.type == ISOL8_EV_ERROR) {
			buf_append(&c->err, e.data, e.len);
			buf_append(&c->err, "\n", 1);
		}
	}
	evr_free(&ev);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct call *c = ud;
	size_t n = size * nmemb;
	long status = 0;
	cu.getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (!c->sse || status != 200) {
		if (c->body.len + n > MAX_RESPONSE) {
			c->too_big = true;
			return 0;
		}
		buf_append(&c->body, p, n);
		return n;
	}
	buf_append(&c->line, p, n);
	unsigned char *nl;
	while ((nl = memchr(c->line.data, '\n', c->line.len))) {
		size_t ln = (size_t)(nl - c->line.data);
		sse_line(c, (const char *)c->line.data, ln);
		memmove(c->line.data, nl + 1, c->line.len - ln - 1);
		c->line.len -= ln + 1;
	}
	if (c->line.len > MAX_RESPONSE)
		return 0;
	return n;
}

static const char *reason(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "HTTP error";
	}
}

/* The server's {"error"} or the status text, for "<what> failed: <this>". */
static void failure(struct call *c, long status, const char *what, isol8_err *err)
{
	jv v = jv_parse_sized(c->body.data ? (const char *)c->body.data : "", (int)c->body.len);
	const char *refusal = sessionmsg_error_of(v); /* isol8-serve answers errors in that shape */
	if (refusal)
		isol8_fail(err, status >= 400 && status < 500 ? ISOL8_E_INPUT : ISOL8_E_SANDBOX, 0, "%s: %s", what, refusal);
	else
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s: %s", what, reason(status));
	jv_free(v);
}

/* The X-Isol8-Session header for a request about session sid (NULL: none): load balancers
 * route a session's requests by it, whatever the body's size (a balancer that looks into the
 * body sees only its first buffer). Only an id of the session-id characters goes into a header:
 * anything else could carry a CR LF, and the server refuses such an id anyway. */
static struct curl_slist *session_header(struct curl_slist *hdrs, const char *sid)
{
	if (!sid || !*sid || strlen(sid) > 64 ||
	    strspn(sid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(sid))
		return hdrs;
	char *h = xasprintf("X-Isol8-Session: %s", sid);
	hdrs = cu.slist_append(hdrs, h);
	free(h);
	return hdrs;
}

/* method + path (+ JSON body, consumed; jv_invalid() for none), about session sid (NULL: none).
 * Returns the HTTP status, or -1 (err set) when there was no HTTP answer at all. */
static long http(const char *host, const char *key, const char *sid, const char *method, const char *path, jv body,
		 struct call *c, isol8_err *err)
{
	if (load_curl(err) < 0) {
		jv_free(body);
		return -1;
	}
	c->h = cu.easy_init();
	char *url = xasprintf("%s%s", host, path);
	char *auth = xasprintf("Authorization: Bearer %s", key ? key : "");
	struct curl_slist *hdrs = cu.slist_append(NULL, "Content-Type: application/json");
	hdrs = cu.slist_append(hdrs, auth);
	hdrs = cu.slist_append(hdrs, "Expect:");
	hdrs = session_header(hdrs, sid);
	char *text = jv_is_valid(body) ? json_dump(body, 0) : NULL;
	jv_free(body);
	cu.setopt(c->h, CURLOPT_URL, url);
	cu.setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	cu.setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	if (text) {
		cu.setopt(c->h, CURLOPT_POSTFIELDS, text);
		cu.setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	}
	cu.setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	cu.setopt(c->h, CURLOPT_WRITEDATA, c);
	cu.setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	cu.setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	cu.setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = cu.perform(c->h);
	long status = 0;
	cu.getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && c->too_big)) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "cannot reach %s: %s", host, cu.strerror(rc));
		status = -1;
	} else if (c->too_big) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the server's answer is larger than %u bytes", MAX_RESPONSE);
		status = -1;
	}
	cu.cleanup(c->h);
	cu.slist_free_all(hdrs);
	free(text);
	free(auth);
	free(url);
	return status;
}

static void call_free(struct call *c)
{
	isol8_buf_free(&c->body);
	isol8_buf_free(&c->line);
	isol8_buf_free(&c->out);
	isol8_buf_free(&c->err);
	jv_free(c->result);
}

/* ---- the engine's operations --------------------------------------------------------------- */

void remote_init(isol8_remote *r, const char *host, const char *key, const char *session_id, jv options)
{
	r->host = xstrdup(host);
	size_t n = strlen(r->host);
	if (n && r->host[n - 1] == '/')
		r->host[n - 1] = 0;
	r->key = key ? xstrdup(key) : NULL;
	r->session_id = session_id ? xstrdup(session_id) : NULL;
	r->options = options;
}

void remote_free(isol8_remote *r)
{
	free(r->host);
	if (r->key)
		explicit_bzero(r->key, strlen(r->key));
	free(r->key);
	free(r->session_id);
	jv_free(r->options);
}

int remote_health(isol8_remote *r, isol8_err *err)
{
	struct call c = {.result = jv_invalid()};
	long st = http(r->host, r->key, NULL, "GET", "/health", jv_invalid(), &c, err);
	call_free(&c);
	if (st < 0)
		return -1;
	if (st != 200)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "Remote server health check failed: %ld", st);
	return 0;
}

int remote_execute(isol8_remote *r, const isol8_request *req, isol8_event_fn fn, void *ctx, isol8_result *res,
		   isol8_err *err)
{
	jv body = jv_object_set(jv_object(), jv_string("request"), isol8_request_json(req));
	if (jv_get_kind(r->options) == JV_KIND_OBJECT)
		body = jv_object_set(body, jv_string("options"), jv_copy(r->options));
	if (r->session_id)
		body = jv_object_set(body, jv_string("sessionId"), jv_string(r->session_id));
	bool stream = fn != NULL;
	struct call c = {.fn = fn, .ctx = ctx, .sse = stream, .result = jv_invalid()};
	long st = http(r->host, r->key, r->session_id, "POST", stream ? "/execute/stream" : "/execute", body, &c, err);
	int rc = -1;
	if (st >= 0 && st != 200) {
		failure(&c, st, stream ? "Stream failed" : "Execution failed", err);
	} else if (st == 200 && !stream) {
		jv v;
		if (json_parse(c.body.data ? (const char *)c.body.data : "", c.body.len, "the server's result", &v, err) == 0)
			rc = isol8_result_from_json(v, res, err);
	} else if (st == 200 && jv_is_valid(c.result)) {
		rc = isol8_result_from_json(jv_copy(c.result), res, err);
	} else if (st == 200) {
		/* a server that ends the stream without a result frame: build one from the events */
		memset(res, 0, sizeof *res);
		res->out = c.out;
		res->err = c.err;
		c.out = c.err = (isol8_buf){0};
		res->exit_code = c.got_exit ? c.exit_code : 1;
		res->status = res->exit_code == 0 ? "ok" : "error";
		snprintf(res->runtime, sizeof res->runtime, "%s", req->runtime ? req->runtime : "");
		rc = 0;
	}
	call_free(&c);
	return rc;
}

int remote_put_file(isol8_remote *r, const char *path, const void *data, size_t len, isol8_err *err)
{
	if (!r->session_id)
		return isol8_input_error(err, "File operations require a sessionId (persistent mode)");
	size_t bl;
	char *b = base64_encode(data, len, &bl);
	jv body = jv_object_set(jv_object(), jv_string("sessionId"), jv_string(r->session_id));
	body = jv_object_set(body, jv_string("path"), jv_string(path));
	body = jv_object_set(body, jv_string("content"), jv_string_sized(b, (int)bl));
	free(b);
	struct call c = {.result = jv_invalid()};
	long st = http(r->host, r->key, r->session_id, "POST", "/file", body, &c, err);
	if (st >= 0 && st != 200)
		failure(&c, st, "File upload failed", err);
	call_free(&c);
	return st == 200 ? 0 : -1;
}

static char *url_escape(const char *s)
{
	isol8_buf b = {0};
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~/", ch)) {
			buf_append(&b, s, 1);
		} else {
			char e[4];
			snprintf(e, sizeof e, "%%%02X", ch);
			buf_append(&b, e, 3);
		}
	}
	buf_append(&b, "", 0);
	return (char *)b.data;
}

int remote_get_file(isol8_remote *r, const char *path, isol8_buf *out, isol8_err *err)
{
	if (!r->session_id)
		return isol8_input_error(err, "File operations require a sessionId (persistent mode)");
	char *sid = url_escape(r->session_id), *p = url_escape(path);
	char *q = xasprintf("/file?sessionId=%s&path=%s", sid, p);
	free(sid);
	free(p);
	struct call c = {.result = jv_invalid()};
	long st = http(r->host, r->key, r->session_id, "GET", q, jv_invalid(), &c, err);
	free(q);
	int rc = -1;
	if (st >= 0 && st != 200) {
		failure(&c, st, "File download failed", err);
	} else if (st == 200) {
		jv v = jv_parse_sized(c.body.data ? (const char *)c.body.data : "", (int)c.body.len);
		/* GET /file relays the session's content reply */
		if (sessionmsg_content_of(v, out) == 0)
			rc = 0;
		else
			isol8_fail(err, ISOL8_E_SANDBOX, 0, "File download failed: the server's answer has no base64 content");
		jv_free(v);
	}
	call_free(&c);
	return rc;
}

int isol8_remote_sessions(const char *host, const char *api_key, jv *out, isol8_err *err)
{
	isol8_remote r;
	remote_init(&r, host, api_key, NULL, jv_null());
	struct call c = {.result = jv_invalid()};
	long st = http(r.host, r.key, NULL, "GET", "/sessions", jv_invalid(), &c, err);
	int rc = -1;
	if (st >= 0 && st != 200) {
		failure(&c, st, "Failed to list sessions", err);
	} else if (st == 200) {
		jv v = jv_parse_sized(c.body.data ? (const char *)c.body.data : "", (int)c.body.len);
		*out = json_get(v, "sessions");
		jv_free(v);
		if (jv_get_kind(*out) == JV_KIND_ARRAY)
			rc = 0;
		else
			isol8_fail(err, ISOL8_E_SANDBOX, 0, "Failed to list sessions: unexpected answer");
	}
	call_free(&c);
	remote_free(&r);
	return rc;
}

int isol8_remote_delete_session(const char *host, const char *api_key, const char *id, isol8_err *err)
{
	isol8_remote r;
	remote_init(&r, host, api_key, NULL, jv_null());
	char *eid = url_escape(id);
	char *path = xasprintf("/session/%s", eid);
	free(eid);
	struct call c = {.result = jv_invalid()};
	long st = http(r.host, r.key, id, "DELETE", path, jv_invalid(), &c, err);
	if (st >= 0 && st != 200)
		failure(&c, st, "Failed to delete session", err);
	call_free(&c);
	free(path);
	remote_free(&r);
	return st == 200 ? 0 : -1;
}

int isol8_remote_login(const char *host, const char *master_key, const char *name, long long ttl_ms, jv *out,
		       long *status, isol8_err *err)
{
	*out = jv_invalid();
	isol8_remote r;
	remote_init(&r, host, master_key, NULL, jv_null());
	jv body = jv_object_set(jv_object(), jv_string("name"), jv_string(name));
	if (ttl_ms > 0)
		body = jv_object_set(body, jv_string("ttlMs"), jv_number((double)ttl_ms));
	struct call c = {.result = jv_invalid()};
	long st = http(r.host, r.key, NULL, "POST", "/auth/login", body, &c, err);
	*status = st;
	int rc = -1;
	if (st >= 0 && (st < 200 || st > 299)) {
		failure(&c, st, "Authentication failed", err);
	} else if (st >= 200) {
		*out = jv_parse_sized(c.body.data ? (const char *)c.body.data : "", (int)c.body.len);
		jv t = json_get(*out, "token"), e = json_get(*out, "expiresAt"), id = json_get(*out, "keyId");
		if (jv_get_kind(t) == JV_KIND_STRING && jv_get_kind(e) == JV_KIND_STRING && jv_get_kind(id) == JV_KIND_STRING)
			rc = 0;
		else
			isol8_fail(err, ISOL8_E_SANDBOX, 0, "Authentication failed: unexpected answer");
		jv_free(t);
		jv_free(e);
		jv_free(id);
	}
	call_free(&c);
	remote_free(&r);
	return rc;
}
