/* isol8-mcp — isol8 as a Model Context Protocol server (see isol8-mcp(1), docs/mcp.md).
 *
 * stdio (the default): newline-delimited JSON-RPC 2.0 on stdin and stdout, logs on stderr. The
 * loop reads messages and answers the quick ones itself (initialize, ping, tools/list). A
 * tools/call runs in a worker process of its own, which writes its progress notifications and
 * its response as lines on a pipe; the loop copies whole lines to stdout, so the answers of
 * several calls never interleave, and keeps reading stdin meanwhile, so a notifications/cancelled
 * reaches a running call: its worker's cancel pipe is closed, which ends the run (its sandbox
 * killed) and the worker answers nothing, as the specification asks. When stdin ends, the
 * running calls finish and are answered (a shell pipeline reads them); SIGTERM, SIGINT or SIGHUP
 * cancel them. Either way the sessions the client created without naming them are then closed.
 *
 * --http CLIENT: one message of the Streamable HTTP transport, for isol8-serve's /mcp. The
 * message is stdin (the request body), the lines it answers are stdout; the client's state
 * (client.c) carries what a stdio server keeps in memory from one message to the next. Exit
 * status 4: no such client for this owner (HTTP 404). SIGTERM cancels the running call (another POST's notifications/cancelled, or the
 * HTTP client gone).
 *
 * Threat: the model is the client (mcp.h). A line over the cap is refused and skipped to its end;
 * at most MAX_CALLS calls run at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/json.h"
#include "core/util.h"
#include "mcp.h"

#define MAX_LINE (16u << 20)
#define MAX_CALLS 16

enum { EXIT_NO_CLIENT = 4 };

static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

struct call {
	pid_t pid;
	int out;      /* the worker's lines */
	int cancel_w; /* closed to cancel it */
	jv id;
	isol8_buf pending; /* a partial line */
};

static struct call calls[MAX_CALLS];
static mcp_ctx ctx = {.owner = ""};
static bool http_mode, http_new;
static int proto_fd = 1; /* where the protocol's lines go: stdout, unless audit lines go there */

/* ---- calls -------------------------------------------------------------------------------- */

static int free_call(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		if (!calls[i].pid)
			return i;
	return -1;
}

static bool busy(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		if (calls[i].pid)
			return true;
	return false;
}

/* Forks the worker of one call into calls[slot]; -1 (nothing left open) when it cannot. */
static int start_worker(int slot, jv id, const char *name, jv args, jv token)
{
	int out[2], cancel[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = pipe2(cancel, O_CLOEXEC) == 0 ? fork() : -1;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the loop's signalfd is not the worker's */
		close(out[0]);
		close(cancel[1]);
		for (int i = 0; i < MAX_CALLS; i++) /* other calls' cancel pipes stay the loop's alone */
			if (calls[i].pid && calls[i].cancel_w >= 0)
				close(calls[i].cancel_w);
		tool_call(&ctx, jv_copy(id), name, jv_is_valid(args) ? jv_copy(args) : jv_object(), jv_copy(token), out[1],
			  cancel[0]);
	}
	int saved = errno;
	close(out[1]);
	if (cancel[0] >= 0)
		close(cancel[0]);
	if (pid < 0) {
		close(out[0]);
		if (cancel[1] >= 0)
			close(cancel[1]);
		errno = saved;
		return -1;
	}
	calls[slot] = (struct call){.pid = pid, .out = out[0], .cancel_w = cancel[1], .id = jv_copy(id)};
	if (http_mode)
		client_call_register(&ctx, id, getpid());
	return 0;
}

/* Starts a worker for tools/call (consumes id and params). */
static void start_call(jv id, jv params)
{
	jv name = json_get(params, "name"), args = json_get(params, "arguments"), meta = json_get(params, "_meta");
	jv token = json_get(meta, "progressToken");
	const char *n = jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : "";
	int slot = free_call();
	if (!tool_known(n)) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_PARAMS, "Unknown tool: %s", n));
	} else if (jv_is_valid(args) && jv_get_kind(args) != JV_KIND_OBJECT) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_PARAMS, "arguments must be an object"));
	} else if (jv_is_valid(token) && jv_get_kind(token) != JV_KIND_STRING && jv_get_kind(token) != JV_KIND_NUMBER) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_PARAMS, "_meta.progressToken must be a string or a number"));
	} else if (slot < 0) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_INTERNAL, "too many calls at once (%d): wait for one to end", MAX_CALLS));
	} else if (start_worker(slot, id, n, args, token) < 0) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_INTERNAL, "cannot start the call: %s", strerror(errno)));
	}
	jv_free(name);
	jv_free(args);
	jv_free(meta);
	jv_free(token);
	jv_free(id);
	jv_free(params);
}

static void cancel_slot(struct call *c)
{
	if (c->pid && c->cancel_w >= 0) {
		close(c->cancel_w);
		c->cancel_w = -1;
	}
}

static void cancel_all(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		cancel_slot(&calls[i]);
}

/* notifications/cancelled: a call of this process, or (HTTP) of another POST's */
static void cancel_call(jv params)
{
	jv rid = json_get(params, "requestId");
	bool mine = false;
	for (int i = 0; i < MAX_CALLS; i++)
		if (calls[i].pid && jv_equal(jv_copy(calls[i].id), jv_copy(rid))) {
			cancel_slot(&calls[i]);
			mine = true;
		}
	if (!mine && http_mode && (jv_get_kind(rid) == JV_KIND_STRING || jv_get_kind(rid) == JV_KIND_NUMBER))
		client_call_cancel(&ctx, rid);
	jv_free(rid);
}

/* Copies the worker's whole lines to stdout; at its end, reaps it. */
static void drain(struct call *c)
{
	char buf[65536];
	ssize_t n = read(c->out, buf, sizeof buf);
	if (n > 0) {
		buf_append(&c->pending, buf, (size_t)n);
		unsigned char *nl;
		while (c->pending.len && (nl = memchr(c->pending.data, '\n', c->pending.len))) {
			size_t l = (size_t)(nl - c->pending.data) + 1;
			(void)write_all(proto_fd, c->pending.data, l);
			memmove(c->pending.data, c->pending.data + l, c->pending.len - l);
			c->pending.len -= l;
		}
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	close(c->out);
	if (c->cancel_w >= 0)
		close(c->cancel_w);
	waitpid(c->pid, NULL, 0);
	if (http_mode)
		client_call_forget(&ctx, c->id);
	isol8_buf_free(&c->pending);
	jv_free(c->id);
	memset(c, 0, sizeof *c);
}

/* ---- messages ----------------------------------------------------------------------------- */

static jv initialize_result(jv params)
{
	jv want = json_get(params, "protocolVersion");
	const char *v = versions[0];
	for (size_t i = 0; jv_get_kind(want) == JV_KIND_STRING && i < ARRAY_SIZE(versions); i++)
		if (!strcmp(jv_string_value(want), versions[i]))
			v = versions[i];
	jv_free(want);
	jv r = jv_object_set(jv_object(), jv_string("protocolVersion"), jv_string(v));
	r = jv_object_set(r, jv_string("capabilities"), jv_parse("{\"tools\":{\"listChanged\":false}}"));
	r = jv_object_set(r, jv_string("serverInfo"),
			  jv_parse("{\"name\":\"isol8\",\"title\":\"isol8 sandboxes\",\"version\":\"" ISOL8_VERSION "\"}"));
	return jv_object_set(r, jv_string("instructions"),
			     jv_string("Runs code in isol8 sandboxes. run_code and run_command start a fresh, isolated "
				       "sandbox each time; create_session gives one that keeps state between calls "
				       "(pass its sessionId), with write_file, read_file and list_files for its files."));
}

static bool id_ok(jv id)
{
	return jv_get_kind(id) == JV_KIND_STRING || (jv_get_kind(id) == JV_KIND_NUMBER &&
						   jv_number_value(id) == (double)(long long)jv_number_value(id));
}

/* One request (id valid) with a method the loop knows how to route. */
static void handle_request(const char *meth, jv id, jv params, bool *initialized)
{
	if (!strcmp(meth, "initialize")) {
		jv r = initialize_result(params);
		if (http_mode && !http_new) {
			jv_free(r);
			rpc_send(proto_fd, rpc_error(jv_copy(id), E_INVALID, "this MCP session is already initialized"));
			return;
		}
		jv v = json_get(r, "protocolVersion");
		if (http_mode && client_create(&ctx, jv_string_value(v), false) < 0) {
			jv_free(r);
			r = jv_invalid();
			rpc_send(proto_fd, rpc_error(jv_copy(id), E_INTERNAL, "cannot keep this client's state: %s", strerror(errno)));
		}
		jv_free(v);
		*initialized = jv_is_valid(r);
		if (jv_is_valid(r))
			rpc_send(proto_fd, rpc_response(jv_copy(id), r));
	} else if (!strcmp(meth, "ping")) {
		rpc_send(proto_fd, rpc_response(jv_copy(id), jv_object()));
	} else if (!*initialized) {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_INVALID, "initialize first"));
	} else if (!strcmp(meth, "tools/list")) {
		rpc_send(proto_fd, rpc_response(jv_copy(id), tools_list(&ctx)));
	} else if (!strcmp(meth, "tools/call")) {
		if (jv_get_kind(params) != JV_KIND_OBJECT)
			rpc_send(proto_fd, rpc_error(jv_copy(id), E_PARAMS, "tools/call needs params {name, arguments}"));
		else
			start_call(jv_copy(id), jv_copy(params));
	} else {
		rpc_send(proto_fd, rpc_error(jv_copy(id), E_METHOD, "Method not found: %s", meth));
	}
}

static void handle(const char *line, size_t n, bool *initialized)
{
	jv m = jv_parse_sized(line, (int)n);
	if (!jv_is_valid(m)) {
		jv_free(m);
		return rpc_send(proto_fd, rpc_error(jv_null(), E_PARSE, "Parse error: not JSON"));
	}
	jv method = json_get(m, "method"), id = json_get(m, "id"), ver = json_get(m, "jsonrpc");
	bool notification = !jv_is_valid(id);
	if (jv_get_kind(m) != JV_KIND_OBJECT || jv_get_kind(method) != JV_KIND_STRING || jv_get_kind(ver) != JV_KIND_STRING ||
	    strcmp(jv_string_value(ver), "2.0") || (!notification && !id_ok(id))) {
		if (jv_get_kind(m) == JV_KIND_OBJECT && !jv_is_valid(method) && jv_is_valid(id))
			; /* a response from the client: this server sends no requests, so it is ignored */
		else
			rpc_send(proto_fd, rpc_error(notification || !id_ok(id) ? jv_null() : jv_copy(id), E_INVALID,
					      jv_get_kind(m) == JV_KIND_ARRAY ? "Invalid Request: batches are not supported"
									      : "Invalid Request: a JSON-RPC 2.0 object with a method"));
	} else {
		const char *meth = jv_string_value(method);
		jv params = json_get(m, "params");
		if (!strcmp(meth, "notifications/cancelled"))
			cancel_call(params);
		else if (!notification)
			handle_request(meth, id, params, initialized);
		/* notifications/initialized and the others: nothing to answer */
		jv_free(params);
	}
	jv_free(method);
	jv_free(id);
	jv_free(ver);
	jv_free(m);
}

/* ---- the loop ----------------------------------------------------------------------------- */

/* Splits what came on stdin into lines (stdio) or keeps it whole (HTTP: one message). */
static void take_input(isol8_buf *in, bool *skipping, bool *initialized)
{
	unsigned char *nl;
	while (!http_mode && in->len && (nl = memchr(in->data, '\n', in->len))) {
		size_t l = (size_t)(nl - in->data);
		if (!*skipping && l)
			handle((const char *)in->data, l, initialized);
		*skipping = false;
		memmove(in->data, in->data + l + 1, in->len - l - 1);
		in->len -= l + 1;
	}
	if (in->len > MAX_LINE) { /* refused whole, the rest of it skipped to its newline */
		rpc_send(proto_fd, rpc_error(jv_null(), E_INVALID, "message over %u bytes", MAX_LINE));
		in->len = 0;
		*skipping = true;
	}
}

static void serve_loop(bool initialized)
{
	int sfd = signalfd_for(SIGTERM, SIGINT, SIGHUP, 0);
	isol8_buf in = {0};
	bool eof = false, skipping = false, stopping = false;
	for (;;) { /* until stdin has ended and no call is running */
		if (eof && !busy())
			break;
		struct pollfd p[MAX_CALLS + 2] = {{eof ? -1 : 0, POLLIN, 0}, {stopping ? -1 : sfd, POLLIN, 0}};
		for (int i = 0; i < MAX_CALLS; i++)
			p[i + 2] = (struct pollfd){calls[i].pid ? calls[i].out : -1, POLLIN, 0};
		if (poll(p, MAX_CALLS + 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) { /* the client (or isol8-serve) stops us: nobody waits for the calls */
			struct signalfd_siginfo si;
			(void)!read(sfd, &si, sizeof si);
			stopping = eof = true;
			cancel_all();
		}
		for (int i = 0; i < MAX_CALLS; i++)
			if (p[i + 2].revents)
				drain(&calls[i]);
		if (!p[0].revents)
			continue;
		char buf[65536];
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			buf_append(&in, buf, (size_t)n);
			take_input(&in, &skipping, &initialized);
			continue;
		}
		eof = true; /* running calls end and are answered (a pipeline reads them), then we do */
		if (http_mode && in.len && !skipping)
			handle((const char *)in.data, in.len, &initialized); /* the whole body */
	}
	isol8_buf_free(&in);
	if (sfd >= 0)
		close(sfd);
}

/* ---- modes -------------------------------------------------------------------------------- */

static const char usage[] =
	"Usage: isol8-mcp\n"
	"       isol8-mcp --http CLIENT --owner PREFIX [--new | --terminate] [--tenant T] [--key-id ID]\n"
	"                 [--address A] [--max-sessions N] [--audit-fd FD]\n"
	"\n"
	"isol8 as a Model Context Protocol server on stdin/stdout (JSON-RPC 2.0, one message per\n"
	"line; logs on stderr). Client configuration: {\"command\": \"isol8\", \"args\": [\"mcp\"]}.\n"
	"--http: one message of the HTTP transport, for isol8-serve's /mcp (see isol8-mcp(1)).\n";

struct http_args {
	const char *client;
	bool terminate;
	int audit_fd; /* --audit-fd: isol8-serve's stdout, for audit.destination "stdout"; -1 none */
};

static void parse_args(int argc, char **argv, struct http_args *h)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = !strcmp(a, "--http") || !strcmp(a, "--owner") || !strcmp(a, "--tenant") ||
			     !strcmp(a, "--key-id") || !strcmp(a, "--address") || !strcmp(a, "--max-sessions") ||
			     !strcmp(a, "--audit-fd");
		if (takes && !v)
			isol8_die("%s needs a value (see isol8-mcp --help)", a);
		if (!strcmp(a, "--http"))
			h->client = v;
		else if (!strcmp(a, "--owner"))
			ctx.owner = v;
		else if (!strcmp(a, "--tenant"))
			ctx.who.tenant = v;
		else if (!strcmp(a, "--key-id"))
			ctx.who.key_id = v;
		else if (!strcmp(a, "--address"))
			ctx.who.client = v;
		else if (!strcmp(a, "--max-sessions"))
			ctx.owner_max_sessions = atoi(v);
		else if (!strcmp(a, "--audit-fd"))
			h->audit_fd = strspn(v, "0123456789") == strlen(v) && atoi(v) > 2 ? atoi(v) : -2;
		else if (!strcmp(a, "--new"))
			http_new = true;
		else if (!strcmp(a, "--terminate"))
			h->terminate = true;
		else
			isol8_die("unexpected argument \"%s\" (see isol8-mcp --help)", a);
		i += takes;
	}
	if (!h->client && (http_new || h->terminate || ctx.who.tenant || ctx.who.key_id || *ctx.owner || h->audit_fd != -1))
		isol8_die("--new, --terminate, --owner, --tenant, --key-id and --audit-fd go with --http (see isol8-mcp --help)");
	if (h->audit_fd == -2 || (h->audit_fd > 2 && fcntl(h->audit_fd, F_GETFD) < 0))
		isol8_die("--audit-fd takes an open file descriptor above 2 (isol8-serve passes its stdout)");
	/* a client id names a directory: the same rule as a session id's */
	if (h->client && (strlen(h->client) > 64 || !h->client[0] || strspn(h->client, "0123456789abcdef") != strlen(h->client)))
		isol8_die("--http takes the client's id, 1-64 lowercase hex digits");
}

/* One HTTP message: a new client's (--new: only initialize makes it one), or a known one's. */
static int http_message(const struct http_args *h)
{
	snprintf(ctx.client, sizeof ctx.client, "%s", h->client);
	ctx.who.source = "mcp-http";
	if (h->terminate) {
		if (client_check(&ctx) < 0)
			return EXIT_NO_CLIENT;
		client_close(&ctx);
		return 0;
	}
	if (!http_new && client_check(&ctx) < 0)
		return EXIT_NO_CLIENT;
	serve_loop(!http_new);
	return 0;
}

/* Audit lines for audit.destination "stdout" must never enter the protocol: a client would read a
 * record as a message, or in place of its answer, and learn what the operator logs. On stdio
 * there is no other stdout, so that destination is refused; under isol8-serve (--http) the
 * records go to the server's stdout (--audit-fd) and the protocol moves to a descriptor of its own. */
static void keep_audit_off_protocol(const struct http_args *h)
{
	if (!isol8_audit_on_stdout(&ctx.cfg))
		return;
	if (!h->client)
		isol8_die("config audit.destination \"stdout\" cannot be used by isol8-mcp on stdio: stdout carries the "
			  "MCP protocol; use \"filesystem\" or \"syslog\"");
	if (h->audit_fd < 0)
		isol8_die("config audit.destination \"stdout\": --http needs --audit-fd (isol8-serve passes its stdout)");
	proto_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (proto_fd < 0 || dup2(h->audit_fd, 1) < 0)
		isol8_die("cannot set up the audit descriptor: %s", strerror(errno));
	close(h->audit_fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	struct http_args h = {.audit_fd = -1};
	parse_args(argc, argv, &h);
	isol8_err err = {0};
	if (isol8_config_load(&ctx.cfg, &err) < 0)
		isol8_die("%s", err.msg);
	keep_audit_off_protocol(&h);
	isol8_options probe;
	if (mcp_options(&ctx, &probe, &err) < 0) /* a bad mcp.* is said at start, not at each call */
		isol8_die("%s", err.msg);
	isol8_options_free(&probe);
	signal(SIGPIPE, SIG_IGN);
	int rc = 0;
	if (h.client) {
		http_mode = true;
		rc = http_message(&h);
	} else {
		ctx.who.source = "mcp";
		snprintf(ctx.client, sizeof ctx.client, "stdio-%d", (int)getpid());
		if (client_create(&ctx, versions[0], true) < 0)
			fprintf(stderr, "[WARN] cannot keep this client's state under the run dir: %s\n", strerror(errno));
		serve_loop(false);
		client_close(&ctx); /* unnamed sessions end with the client */
	}
	isol8_config_free(&ctx.cfg);
	return rc;
}
