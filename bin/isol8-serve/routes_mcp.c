/* routes_mcp.c — /mcp: the Model Context Protocol's Streamable HTTP transport.
 *
 * isol8-serve does the HTTP: the key (as every route), the Origin, the protocol-version header,
 * the Mcp-Session-Id, execution slots for tools/call, and the reply as JSON or as an SSE stream.
 * isol8-mcp does the MCP: each message is handed to `isol8-mcp --http ID --owner k<owner>-` on
 * its stdin, and the lines it writes back are the answer (bin/isol8-mcp/main.c). The id names
 * the client's state under $RUN_DIR/mcp, which isol8-mcp checks against the owner, so another
 * key's or tenant's Mcp-Session-Id is answered 404, as one never issued.
 *
 *   POST /mcp    one JSON-RPC message. initialize without Mcp-Session-Id starts a client, whose
 *                id comes back in that header; a notification or a response is 202; a request
 *                is answered with application/json, or with text/event-stream when the client
 *                accepts it and progress notifications come before the response
 *   GET /mcp     405: this server sends no messages of its own
 *   DELETE /mcp  ends the client: its unnamed sessions are closed
 *
 * Threats: a web page in a browser on the operator's machine (DNS rebinding) — a request that
 * carries an Origin is refused unless the config lists it (mcp.allowedOrigins); a client that
 * goes away mid-call — its call is cancelled (SIGTERM to isol8-mcp), never left running. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "serve.h"

static const char *const mcp_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

static bool origin_allowed(serve_ctx *c, const char *origin)
{
	jv l = config_get(&c->cfg, "mcp.allowedOrigins");
	bool ok = false;
	jv_array_foreach(l, i, o)
	{
		ok |= !strcmp(jv_string_value(o), origin);
		jv_free(o);
	}
	jv_free(l);
	return ok;
}

static bool version_known(const char *v)
{
	for (size_t i = 0; i < ARRAY_SIZE(mcp_versions); i++)
		if (!strcmp(v, mcp_versions[i]))
			return true;
	return false;
}

static bool accepts(const serve_conn *k, const char *type)
{
	return !k->req.accept[0] || strcasestr(k->req.accept, type) || strstr(k->req.accept, "*/*");
}

/* An Mcp-Session-Id as isol8-serve issues them: 32 lowercase hex. Anything else is unknown. */
static bool client_id_valid(const char *id)
{
	return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

struct child {
	pid_t pid;
	int out;
};

/* isol8-mcp for one message: body on its stdin, its lines on c->out. It dies with us. */
static int spawn(serve_ctx *c, serve_conn *k, const char *id, bool new_client, bool terminate, struct child *ch)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	char owner[16], sessions[16], addr[64];
	snprintf(owner, sizeof owner, "k%s-", k->owner);
	snprintf(sessions, sizeof sessions, "%d", tenant_limit(c, k, "maxSessions", c->max_sessions));
	peer_text(k->fd, addr, sizeof addr);
	const char *av[20] = {c->mcp_bin, "--http", id, "--owner", owner, "--max-sessions", sessions};
	int n = 7;
	if (new_client)
		av[n++] = "--new";
	if (terminate)
		av[n++] = "--terminate";
	if (k->tenant[0])
		av[n++] = "--tenant", av[n++] = k->tenant;
	if (k->key_id[0])
		av[n++] = "--key-id", av[n++] = k->key_id;
	if (addr[0])
		av[n++] = "--address", av[n++] = addr;
	/* audit lines for "stdout" go to the server's stdout as fd 3, never into the answer's pipe */
	bool audit_fd = isol8_audit_on_stdout(&c->cfg);
	if (audit_fd)
		av[n++] = "--audit-fd", av[n++] = "3";
	av[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a watchdog's end is its call's cancel */
		int server_stdout = audit_fd ? fcntl(1, F_DUPFD_CLOEXEC, 4) : -1; /* above the fds set below */
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (audit_fd && (server_stdout < 0 || dup2(server_stdout, 3) < 0))
			_exit(127);
		execv(c->mcp_bin, (char *const *)av);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return -1;
	}
	/* the body fits a pipe's buffer up to 64 KiB; a larger one is written while isol8-mcp reads */
	(void)write_all(in[1], k->body ? k->body : "", k->body_len);
	close(in[1]);
	*ch = (struct child){pid, out[0]};
	return 0;
}

static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The next line from the child, or invalid at its end. A client that hangs up meanwhile gets
 * its call cancelled (*gone). */
static jv next_line(serve_conn *k, struct child *ch, isol8_buf *b, bool *gone)
{
	for (;;) {
		unsigned char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
		if (nl) {
			jv v = jv_parse_sized((const char *)b->data, (int)(nl - b->data));
			size_t l = (size_t)(nl - b->data) + 1;
			memmove(b->data, b->data + l, b->len - l);
			b->len -= l;
			return v;
		}
		struct pollfd p[2] = {{ch->out, POLLIN, 0}, {*gone ? -1 : k->fd, POLLRDHUP, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return jv_invalid();
		if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			*gone = true;
			kill(ch->pid, SIGTERM); /* isol8-mcp cancels the call: its sandbox is killed */
		}
		if (!p[0].revents)
			continue;
		char tmp[65536];
		ssize_t n = read(ch->out, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return jv_invalid();
		buf_append(b, tmp, (size_t)n);
	}
}

static bool is_response(jv v)
{
	jv m = json_get(v, "method");
	bool r = !jv_is_valid(m);
	jv_free(m);
	return r;
}

static void sse_frame(serve_conn *k, jv v)
{
	char *t = json_dump(v, 0), *f = xasprintf("event: message\ndata: %s\n\n", t);
	(void)write_all(k->fd, f, strlen(f));
	free(f);
	free(t);
}

/* Relays the child's lines: JSON for a lone response, SSE once a notification comes first
 * (when the client takes SSE), 202 for nothing (200 for a DELETE). Returns the child's exit status. */
static int relay(serve_conn *k, struct child *ch, const char *new_id, bool terminate)
{
	isol8_buf b = {0};
	bool gone = false, sse = false;
	jv v;
	while (jv_is_valid(v = next_line(k, ch, &b, &gone))) {
		if (sse) {
			sse_frame(k, v);
		} else if (is_response(v)) {
			char extra[96] = "";
			jv res = json_get(v, "result");
			if (new_id && jv_is_valid(res)) /* initialize answered: the client exists now */
				snprintf(extra, sizeof extra, "Mcp-Session-Id: %s\r\n", new_id);
			jv_free(res);
			char *t = json_dump(jv_copy(v), 0);
			k->status = 200;
			k->answered = true;
			http_respond(k->fd, 200, "application/json", extra[0] ? extra : NULL, t, strlen(t));
			free(t);
		} else if (accepts(k, "text/event-stream")) {
			static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
						   "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
			mark_streaming(k);
			(void)write_all(k->fd, head, sizeof head - 1);
			sse = true;
			sse_frame(k, v);
		} /* else: a progress notification the client cannot take as JSON; the response follows */
		jv_free(v);
	}
	jv_free(v);
	close(ch->out);
	isol8_buf_free(&b);
	int rc = reap(ch->pid);
	if (!k->answered && rc == 4)
		reply_error(k, 404, "Unknown MCP session: it ended or was never issued to this key; initialize again");
	else if (!k->answered && rc == 0 && terminate)
		reply_json(k, 200, jv_object());
	else if (!k->answered && rc == 0) {
		k->status = 202;
		k->answered = true;
		http_respond(k->fd, 202, "application/json", NULL, "", 0);
	} else if (!k->answered)
		reply_error(k, 500, "the MCP server could not answer (exit %d)", rc);
	return rc;
}

/* The message's method, to see whether it is initialize or a tools/call ("" for none). */
static void peek_method(serve_conn *k, char *out, size_t n)
{
	jv m = jv_parse_sized(k->body ? k->body : "", (int)k->body_len);
	if (!json_get_str(m, "method", out, n))
		out[0] = 0;
	jv_free(m);
}

static void run(serve_ctx *c, serve_conn *k, const char *id, bool new_client, bool terminate, bool call)
{
	struct child ch;
	enum serve_reject why;
	int share = call ? tenant_limit(c, k, "maxConcurrent", c->key_share) : 0;
	if (call && key_share_take(c, k->owner, share) < 0) {
		metrics_reject(c, REJ_KEY_SHARE);
		reply_error(k, 429, "this key or tenant already has %d executions running or queued: retry when one ends", share);
		return;
	}
	if (call && slot_acquire(c, &why) < 0) {
		metrics_reject(c, why);
		key_share_release(c);
		reply_error(k, 503, "server busy: all execution slots and the queue are full");
		return;
	}
	if (call) /* the backstop: a call is bounded by mcp.maxTimeoutMs, its sandbox by its own timeout */
		watchdog_arm(k, (long long)config_num(&c->cfg, "mcp.maxTimeoutMs", 300000) + 2ll * c->grace_ms);
	if (spawn(c, k, id, new_client, terminate, &ch) < 0)
		reply_error(k, 500, "cannot start %s: %s", c->mcp_bin, strerror(errno));
	else
		relay(k, &ch, new_client ? id : NULL, terminate);
	if (call) {
		watchdog_arm(k, 0);
		slot_release(c);
		key_share_release(c);
	}
}

void route_mcp(serve_ctx *c, serve_conn *k, const char *rest)
{
	const char *m = k->req.method, *sid = k->req.mcp_session;
	if (k->req.origin[0] && !origin_allowed(c, k->req.origin)) {
		reply_error(k, 403, "Origin %s is not allowed to use /mcp (config mcp.allowedOrigins)", k->req.origin);
	} else if (k->req.mcp_version[0] && !version_known(k->req.mcp_version)) {
		reply_error(k, 400, "MCP-Protocol-Version %s is not one this server speaks (2025-11-25, 2025-06-18, "
			    "2025-03-26, 2024-11-05)", k->req.mcp_version);
	} else if (!strcmp(m, "GET")) {
		k->status = 405;
		k->answered = true;
		static const char body[] = "{\"error\":\"this server sends no messages of its own on GET /mcp: use POST\"}\n";
		http_respond(k->fd, 405, "application/json", "Allow: POST, DELETE\r\n", body, sizeof body - 1);
	} else if (!strcmp(m, "DELETE")) {
		if (!sid[0])
			reply_error(k, 400, "DELETE /mcp needs the Mcp-Session-Id header");
		else if (!client_id_valid(sid))
			reply_error(k, 404, "Unknown MCP session: it ended or was never issued to this key; initialize again");
		else
			run(c, k, sid, false, true, false);
	} else if (strcmp(m, "POST")) {
		reply_error(k, 405, "use POST, GET or DELETE /mcp");
	} else if (!accepts(k, "application/json") && !accepts(k, "text/event-stream")) {
		reply_error(k, 406, "/mcp answers application/json or text/event-stream: say so in Accept");
	} else {
		char method[64];
		peek_method(k, method, sizeof method);
		if (!sid[0] && refuse_if_draining(c, k, "a new MCP client") < 0) {
			/* answered */
		} else if (!sid[0] && strcmp(method, "initialize")) {
			reply_error(k, 400, "Mcp-Session-Id header is missing: send initialize first");
		} else if (sid[0] && !client_id_valid(sid)) {
			reply_error(k, 404, "Unknown MCP session: it ended or was never issued to this key; initialize again");
		} else {
			char fresh[33];
			if (!sid[0])
				random_hex(fresh, 16);
			run(c, k, sid[0] ? sid : fresh, !sid[0], false, !strcmp(method, "tools/call"));
		}
	}
}
