/* isol8-mcp — isol8 as a Model Context Protocol server over stdio (see isol8-mcp(1)):
 * newline-delimited JSON-RPC 2.0 on stdin and stdout, logs on stderr.
 *
 * The main loop reads requests and answers the quick ones itself (initialize, ping, tools/list).
 * A tools/call runs in a worker process of its own, which writes its progress notifications and
 * its response as lines on a pipe; the loop copies whole lines to stdout, so the answers of
 * several calls never interleave, and keeps reading stdin meanwhile, so a notifications/cancelled
 * reaches a running call: its worker's cancel pipe is closed, which ends the run (its sandbox
 * killed) and the worker answers nothing, as the specification asks.
 *
 * Threat: the model is the client. Limits, network and languages come from the config (mcp.*
 * and defaults.*), never from tool arguments; a malformed message is a JSON-RPC error and
 * changes nothing; a line over the cap is refused and skipped to its end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/json.h"
#include "core/runtime.h"
#include "core/util.h"
#include "isol8.h"

#define MAX_LINE (16u << 20)
#define MAX_CALLS 16

static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* JSON-RPC error codes */
enum { E_PARSE = -32700, E_INVALID = -32600, E_METHOD = -32601, E_PARAMS = -32602, E_INTERNAL = -32603 };

struct call {
	pid_t pid;
	int out;       /* the worker's lines */
	int cancel_w;  /* closed to cancel it */
	jv id;
	isol8_buf pending; /* a partial line */
};

static struct call calls[MAX_CALLS];
static isol8_config cfg;

static void send_line(jv msg)
{
	char *t = json_dump(msg, 0), *l = xasprintf("%s\n", t);
	(void)write_all(1, l, strlen(l));
	free(l);
	free(t);
	jv_free(msg);
}

static jv response(jv id, jv result)
{
	return jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0")),
					   jv_string("id"), id),
			     jv_string("result"), result);
}

static jv error_msg(jv id, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static jv error_msg(jv id, int code, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	jv e = jv_object_set(jv_object_set(jv_object(), jv_string("code"), jv_number(code)), jv_string("message"),
			     jv_string(m));
	return jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0")),
					   jv_string("id"), id),
			     jv_string("error"), e);
}

/* ---- tools ------------------------------------------------------------------------------------ */

static jv schema(const char *text)
{
	return jv_parse(text);
}

static jv tool(const char *name, const char *desc, const char *in)
{
	jv t = jv_object_set(jv_object(), jv_string("name"), jv_string(name));
	t = jv_object_set(t, jv_string("description"), jv_string(desc));
	return jv_object_set(t, jv_string("inputSchema"), schema(in));
}

static jv tools_list(void)
{
	jv l = jv_array();
	l = jv_array_append(l, tool("run_code",
				    "Run a program in a fresh, locked-down sandbox (no network unless the operator allows "
				    "it, limited memory, CPU and time) and return its output. language: python, node, bun, "
				    "deno or bash. Nothing persists between calls.",
				    "{\"type\":\"object\",\"properties\":{\"language\":{\"type\":\"string\",\"enum\":"
				    "[\"python\",\"node\",\"bun\",\"deno\",\"bash\"]},\"code\":{\"type\":\"string\"},"
				    "\"timeoutMs\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"language\","
				    "\"code\"],\"additionalProperties\":false}"));
	l = jv_array_append(l, tool("run_command",
				    "Run a shell command line (bash -c) in a fresh, locked-down sandbox and return its "
				    "output.",
				    "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"},\"timeoutMs\":"
				    "{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"command\"],"
				    "\"additionalProperties\":false}"));
	return jv_object_set(jv_object(), jv_string("tools"), l);
}

struct progress {
	jv token; /* the client's progressToken, or invalid */
	int fd;
	double n;
};

static void on_event(void *ctx, const isol8_event *ev)
{
	struct progress *p = ctx;
	if (!jv_is_valid(p->token) || (ev->type != ISOL8_EV_STDOUT && ev->type != ISOL8_EV_STDERR))
		return;
	jv params = jv_object_set(jv_object(), jv_string("progressToken"), jv_copy(p->token));
	params = jv_object_set(params, jv_string("progress"), jv_number(++p->n));
	params = jv_object_set(params, jv_string("message"), jv_string_sized((const char *)ev->data, (int)ev->len));
	jv n = jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0")),
					   jv_string("method"), jv_string("notifications/progress")),
			     jv_string("params"), params);
	char *t = json_dump(n, 0), *l = xasprintf("%s\n", t);
	(void)write_all(p->fd, l, strlen(l));
	free(l);
	free(t);
	jv_free(n);
}

static jv text_block(const unsigned char *p, size_t n)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("text")), jv_string("text"),
			     jv_string_sized(p ? (const char *)p : "", (int)n));
}

/* A tool's arguments as a request; NULL after *err (the JSON-RPC invalid-params message). */
static int call_request(const char *name, jv args, isol8_request *r, char *err, size_t errn)
{
	isol8_request_init(r);
	jv lang = json_get(args, "language"), code = json_get(args, "code"), cmd = json_get(args, "command"),
	   tmo = json_get(args, "timeoutMs");
	int rc = 0;
	if (!strcmp(name, "run_code")) {
		if (jv_get_kind(lang) != JV_KIND_STRING || !runtime_get(jv_string_value(lang)) ||
		    jv_get_kind(code) != JV_KIND_STRING)
			rc = (snprintf(err, errn, "run_code needs language (%s) and code, strings", runtime_names()), -1);
		else
			r->runtime = xstrdup(jv_string_value(lang)), r->code = xstrdup(jv_string_value(code));
	} else if (jv_get_kind(cmd) != JV_KIND_STRING) {
		rc = (snprintf(err, errn, "run_command needs command, a string"), -1);
	} else {
		r->runtime = xstrdup("bash"), r->cmd = xstrdup(jv_string_value(cmd));
	}
	if (rc == 0 && jv_is_valid(tmo)) {
		if (jv_get_kind(tmo) != JV_KIND_NUMBER || jv_number_value(tmo) < 1 || jv_number_value(tmo) > 3600000)
			rc = (snprintf(err, errn, "timeoutMs must be a number of milliseconds from 1 to 3600000"), -1);
		else
			r->timeout_ms = (long long)jv_number_value(tmo);
	}
	jv_free(lang);
	jv_free(code);
	jv_free(cmd);
	jv_free(tmo);
	return rc;
}

/* The worker: runs one tools/call and writes its lines to fd. */
static __attribute__((noreturn)) void worker(jv id, const char *name, jv args, jv token, int fd, int cancel_r)
{
	isol8_request r;
	isol8_options o;
	isol8_err err = {0};
	char bad[256];
	dup2(fd, 1); /* every line of this call goes through the loop */
	if (call_request(name, args, &r, bad, sizeof bad) < 0) {
		send_line(error_msg(id, E_PARAMS, "%s", bad));
		_exit(0);
	}
	if (isol8_options_from_config(&o, &cfg, &err) < 0 || isol8_request_validate(&r, &o, &err) < 0) {
		send_line(error_msg(id, E_INTERNAL, "%s", err.msg));
		_exit(0);
	}
	struct progress p = {token, fd, 0};
	isol8_result res;
	int rc = isol8_execute(&r, &o, on_event, &p, cancel_r, &res, &err);
	char probe;
	if (fcntl(cancel_r, F_SETFL, O_NONBLOCK) == 0 && read(cancel_r, &probe, 1) == 0)
		_exit(0); /* cancelled: no response (the specification) */
	if (rc < 0) {
		jv c = jv_array_append(jv_array(), text_block((const unsigned char *)err.msg, strlen(err.msg)));
		send_line(response(id, jv_object_set(jv_object_set(jv_object(), jv_string("content"), c),
						     jv_string("isError"), jv_true())));
		_exit(0);
	}
	isol8_audit_who who = {.source = "mcp"};
	isol8_err aerr = {0};
	if (isol8_audit_execution(&cfg, &r, &o, &res, &who, &aerr) < 0)
		fprintf(stderr, "[WARN] %s\n", aerr.msg);
	jv structured = isol8_result_json(&res);
	jv content = jv_array();
	if (res.out.len)
		content = jv_array_append(content, text_block(res.out.data, res.out.len));
	if (res.err.len)
		content = jv_array_append(content, text_block(res.err.data, res.err.len));
	char tail[96];
	snprintf(tail, sizeof tail, "[exit code %d, %s, %llu ms]", res.exit_code, res.status ? res.status : "?",
		 (unsigned long long)res.duration_ms);
	content = jv_array_append(content, text_block((const unsigned char *)tail, strlen(tail)));
	jv result = jv_object_set(jv_object(), jv_string("content"), content);
	result = jv_object_set(result, jv_string("structuredContent"), structured);
	/* a program that fails is the tool's result, not a protocol error */
	result = jv_object_set(result, jv_string("isError"), jv_bool(res.exit_code != 0));
	send_line(response(id, result));
	_exit(0);
}

/* ---- the loop ----------------------------------------------------------------------------------- */

static int free_call(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		if (!calls[i].pid)
			return i;
	return -1;
}

/* Forks the worker of one call into calls[slot]; -1 (nothing left open) when it cannot. */
static int start_worker(int slot, jv id, const char *name, jv args, jv token)
{
	int out[2], cancel[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = pipe2(cancel, O_CLOEXEC) == 0 ? fork() : -1;
	if (pid == 0) {
		close(out[0]);
		close(cancel[1]);
		worker(jv_copy(id), name, jv_is_valid(args) ? jv_copy(args) : jv_object(), jv_copy(token), out[1], cancel[0]);
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
	return 0;
}

/* Starts a worker for tools/call (consumes id and params). */
static void start_call(jv id, jv params)
{
	jv name = json_get(params, "name"), args = json_get(params, "arguments"), meta = json_get(params, "_meta");
	jv token = json_get(meta, "progressToken");
	const char *n = jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : "";
	int slot = free_call();
	if (strcmp(n, "run_code") && strcmp(n, "run_command")) {
		send_line(error_msg(jv_copy(id), E_PARAMS, "Unknown tool: %s", n));
	} else if (jv_is_valid(args) && jv_get_kind(args) != JV_KIND_OBJECT) {
		send_line(error_msg(jv_copy(id), E_PARAMS, "arguments must be an object"));
	} else if (slot < 0) {
		send_line(error_msg(jv_copy(id), E_INTERNAL, "too many calls at once (%d): wait for one to end", MAX_CALLS));
	} else if (start_worker(slot, id, n, args, token) < 0) {
		send_line(error_msg(jv_copy(id), E_INTERNAL, "cannot start the call: %s", strerror(errno)));
	}
	jv_free(name);
	jv_free(args);
	jv_free(meta);
	jv_free(token);
	jv_free(id);
	jv_free(params);
}

static void cancel_call(jv params)
{
	jv rid = json_get(params, "requestId");
	for (int i = 0; i < MAX_CALLS; i++)
		if (calls[i].pid && jv_equal(jv_copy(calls[i].id), jv_copy(rid)) && calls[i].cancel_w >= 0) {
			close(calls[i].cancel_w);
			calls[i].cancel_w = -1;
		}
	jv_free(rid);
}

static bool id_ok(jv id)
{
	return jv_get_kind(id) == JV_KIND_STRING || (jv_get_kind(id) == JV_KIND_NUMBER &&
						   jv_number_value(id) == (double)(long long)jv_number_value(id));
}

static void handle(const char *line, size_t n, bool *initialized)
{
	jv m = jv_parse_sized(line, (int)n);
	if (!jv_is_valid(m)) {
		jv_free(m);
		return send_line(error_msg(jv_null(), E_PARSE, "Parse error: not JSON"));
	}
	jv method = json_get(m, "method"), id = json_get(m, "id"), ver = json_get(m, "jsonrpc");
	bool notification = !jv_is_valid(id);
	if (jv_get_kind(m) != JV_KIND_OBJECT || jv_get_kind(method) != JV_KIND_STRING || jv_get_kind(ver) != JV_KIND_STRING ||
	    strcmp(jv_string_value(ver), "2.0") || (!notification && !id_ok(id))) {
		if (jv_get_kind(m) == JV_KIND_OBJECT && !jv_is_valid(method) && jv_is_valid(id))
			; /* a response from the client: this server sends no requests, so it is ignored */
		else
			send_line(error_msg(notification || !id_ok(id) ? jv_null() : jv_copy(id), E_INVALID,
					    "Invalid Request: a JSON-RPC 2.0 object with a method"));
	} else {
		const char *meth = jv_string_value(method);
		jv params = json_get(m, "params");
		if (!strcmp(meth, "notifications/cancelled")) {
			cancel_call(params);
		} else if (notification) {
			/* notifications/initialized and the others: nothing to answer */
		} else if (!strcmp(meth, "initialize")) {
			jv want = json_get(params, "protocolVersion");
			const char *v = versions[0];
			for (size_t i = 0; jv_get_kind(want) == JV_KIND_STRING && i < ARRAY_SIZE(versions); i++)
				if (!strcmp(jv_string_value(want), versions[i]))
					v = versions[i];
			jv_free(want);
			jv caps = jv_parse("{\"tools\":{\"listChanged\":false}}");
			jv info = jv_parse("{\"name\":\"isol8\",\"version\":\"" ISOL8_VERSION "\"}");
			jv r = jv_object_set(jv_object(), jv_string("protocolVersion"), jv_string(v));
			r = jv_object_set(r, jv_string("capabilities"), caps);
			r = jv_object_set(r, jv_string("serverInfo"), info);
			r = jv_object_set(r, jv_string("instructions"),
					  jv_string("Runs code in isol8 sandboxes: each run_code or run_command call gets a fresh, "
						    "isolated sandbox."));
			*initialized = true;
			send_line(response(jv_copy(id), r));
		} else if (!strcmp(meth, "ping")) {
			send_line(response(jv_copy(id), jv_object()));
		} else if (!*initialized) {
			send_line(error_msg(jv_copy(id), E_INVALID, "initialize first"));
		} else if (!strcmp(meth, "tools/list")) {
			send_line(response(jv_copy(id), tools_list()));
		} else if (!strcmp(meth, "tools/call")) {
			if (jv_get_kind(params) != JV_KIND_OBJECT)
				send_line(error_msg(jv_copy(id), E_PARAMS, "tools/call needs params {name, arguments}"));
			else
				start_call(jv_copy(id), jv_copy(params));
		} else {
			send_line(error_msg(jv_copy(id), E_METHOD, "Method not found: %s", meth));
		}
		jv_free(params);
	}
	jv_free(method);
	jv_free(id);
	jv_free(ver);
	jv_free(m);
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
			(void)write_all(1, c->pending.data, l);
			memmove(c->pending.data, c->pending.data + l, c->pending.len - l);
			c->pending.len -= l;
		}
		return;
	}
	close(c->out);
	if (c->cancel_w >= 0)
		close(c->cancel_w);
	waitpid(c->pid, NULL, 0);
	isol8_buf_free(&c->pending);
	jv_free(c->id);
	memset(c, 0, sizeof *c);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("Usage: isol8-mcp\n\nisol8 as a Model Context Protocol server on stdin/stdout (JSON-RPC 2.0, one message\n"
		     "per line; logs on stderr). Client configuration: {\"command\": \"isol8\", \"args\": [\"mcp\"]}.");
		return 0;
	}
	if (argc > 1)
		isol8_die("unexpected argument \"%s\" (see isol8-mcp --help)", argv[1]);
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	signal(SIGPIPE, SIG_IGN);
	isol8_buf in = {0};
	bool initialized = false, eof = false, skipping = false;
	for (;;) { /* until stdin has ended and no call is running */
		struct pollfd p[MAX_CALLS + 1] = {{eof ? -1 : 0, POLLIN, 0}};
		for (int i = 0; i < MAX_CALLS; i++)
			p[i + 1] = (struct pollfd){calls[i].pid ? calls[i].out : -1, POLLIN, 0};
		bool busy = false;
		for (int i = 0; i < MAX_CALLS; i++)
			busy |= calls[i].pid != 0;
		if (eof && !busy)
			break;
		if (poll(p, MAX_CALLS + 1, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < MAX_CALLS; i++)
			if (p[i + 1].revents)
				drain(&calls[i]);
		if (!p[0].revents)
			continue;
		char buf[65536];
		ssize_t n = read(0, buf, sizeof buf);
		if (n <= 0) {
			eof = true; /* the client left: running calls end when they end, then we do */
			continue;
		}
		buf_append(&in, buf, (size_t)n);
		unsigned char *nl;
		while (in.len && (nl = memchr(in.data, '\n', in.len))) {
			size_t l = (size_t)(nl - in.data);
			if (!skipping && l)
				handle((const char *)in.data, l, &initialized);
			skipping = false;
			memmove(in.data, in.data + l + 1, in.len - l - 1);
			in.len -= l + 1;
		}
		if (in.len > MAX_LINE) { /* refused whole, the rest of it skipped to its newline */
			send_line(error_msg(jv_null(), E_INVALID, "message over %u bytes", MAX_LINE));
			in.len = 0;
			skipping = true;
		}
	}
	isol8_buf_free(&in);
	isol8_config_free(&cfg);
	return 0;
}
