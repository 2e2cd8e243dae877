/* tools.c — isol8's MCP tools: their definitions (descriptions written for a model to read, and
 * JSON Schemas for input and output), the options every call runs with, run_code and
 * run_command (fresh sandbox, or a session's), the file tools, and how a result reads.
 *
 * Threat: tool arguments are the model's. They carry code, a command, a language the operator
 * allows (mcp.languages), a timeout within mcp.maxTimeoutMs, files and paths that the sandbox
 * and the session supervisor check again (beneath /sandbox or /tmp, no link followed); nothing
 * in them reaches the options. A session is named by a checked id under the caller's prefix. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/runtime.h"
#include "core/util.h"
#include "mcp.h"
#include "run/session.h"
#include "wire/events.h"
#include "wire/options.h"
#include "wire/sessionmsg.h"

#define MAX_FILE_ARG (16u << 20) /* a write_file's content, decoded */
#define DEFAULT_MAX_TIMEOUT_MS 300000.0

static const char *const all_languages[] = {"python", "node", "bun", "deno", "bash"};

/* ---- what the operator allows ------------------------------------------------------------- */

bool language_allowed(const mcp_ctx *c, const char *lang)
{
	jv l = config_get(&c->cfg, "mcp.languages");
	bool ok = !jv_is_valid(l);
	jv_array_foreach(l, i, e)
	{
		ok |= !strcmp(jv_string_value(e), lang);
		jv_free(e);
	}
	jv_free(l);
	return ok && runtime_get(lang);
}

static jv allowed_languages(const mcp_ctx *c)
{
	jv a = jv_array();
	for (size_t i = 0; i < ARRAY_SIZE(all_languages); i++)
		if (language_allowed(c, all_languages[i]))
			a = jv_array_append(a, jv_string(all_languages[i]));
	return a;
}

static double max_timeout(const mcp_ctx *c)
{
	return config_num(&c->cfg, "mcp.maxTimeoutMs", DEFAULT_MAX_TIMEOUT_MS);
}

int mcp_options(const mcp_ctx *c, isol8_options *o, isol8_err *err)
{
	jv l = config_get(&c->cfg, "mcp.languages");
	const char *unknown = NULL;
	jv_array_foreach(l, i, e)
	{
		if (!unknown && !runtime_get(jv_string_value(e)))
			unknown = jv_string_value(e); /* lives as long as l */
		jv_free(e);
	}
	if (unknown)
		isol8_input_error(err, "config mcp.languages: unknown language \"%s\" (%s)", unknown, runtime_names());
	jv_free(l);
	memset(o, 0, sizeof *o);
	if (unknown || isol8_options_from_config(o, &c->cfg, err) < 0)
		return -1;
	/* mcp.* names the Isol8Options members it overrides, so their checks are the same */
	static const char *const keys[][2] = {{"mcp.timeoutMs", "timeoutMs"},   {"mcp.memoryLimit", "memoryLimit"},
					      {"mcp.cpuLimit", "cpuLimit"},     {"mcp.network", "network"},
					      {"mcp.maxOutputSize", "maxOutputSize"}};
	jv over = jv_object();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		jv v = config_get(&c->cfg, keys[i][0]);
		if (jv_is_valid(v))
			over = jv_object_set(over, jv_string(keys[i][1]), v);
		else
			jv_free(v);
	}
	if (options_from_json(over, o, &c->cfg, err) < 0 || isol8_options_validate(o, err) < 0) {
		char m[sizeof err->msg];
		snprintf(m, sizeof m, "%s", err->msg);
		return isol8_input_error(err, "config mcp.*: %s", m);
	}
	return 0;
}

/* ---- definitions -------------------------------------------------------------------------- */

static const char result_schema[] =
	"{\"type\":\"object\",\"properties\":{\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"},"
	"\"exitCode\":{\"type\":\"integer\"},\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"error\",\"timeout\","
	"\"oom\",\"signal\",\"output_limit\"]},\"durationMs\":{\"type\":\"number\"},\"truncated\":{\"type\":\"boolean\"},"
	"\"sessionId\":{\"type\":\"string\"},\"outputs\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"type\":{\"type\":\"string\"},\"data\":{\"type\":\"string\"}},\"required\":[\"type\",\"data\"]}}},"
	"\"required\":[\"stdout\",\"stderr\",\"exitCode\",\"status\"]}";

static const char session_prop[] =
	"\"sessionId\":{\"type\":\"string\",\"description\":\"A session from create_session: the call runs there, "
	"with the state of earlier calls (variables, files).\"}";

static jv tool(const char *name, const char *title, const char *desc, const char *in, const char *out)
{
	jv t = jv_object_set(jv_object(), jv_string("name"), jv_string(name));
	t = jv_object_set(t, jv_string("title"), jv_string(title));
	t = jv_object_set(t, jv_string("description"), jv_string(desc));
	t = jv_object_set(t, jv_string("inputSchema"), jv_parse(in));
	return out ? jv_object_set(t, jv_string("outputSchema"), jv_parse(out)) : t;
}

static jv run_code_tool(const mcp_ctx *c)
{
	jv langs = allowed_languages(c);
	char *enums = json_dump(langs, 0);
	jv_free(langs);
	char *in = xasprintf(
		"{\"type\":\"object\",\"properties\":{\"language\":{\"type\":\"string\",\"enum\":%s},"
		"\"code\":{\"type\":\"string\",\"description\":\"The program's source.\"},"
		"\"timeoutMs\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":%.0f},"
		"\"files\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},\"description\":"
		"\"Files written before the code runs: absolute path under /sandbox or /tmp to UTF-8 content.\"},%s},"
		"\"required\":[\"language\",\"code\"],\"additionalProperties\":false}",
		enums, max_timeout(c), session_prop);
	char *desc = xasprintf(
		"Run a program in a locked-down sandbox and return its output. Languages: %s. The sandbox has "
		"no network unless the operator allows it, and limited memory, CPU and time. Without sessionId "
		"each call starts from nothing; with one, variables and files of earlier calls in that session "
		"are there. In python, matplotlib figures the program shows or leaves open come back as images.",
		enums);
	jv t = tool("run_code", "Run code in a sandbox", desc, in, result_schema);
	free(in);
	free(desc);
	free(enums);
	return t;
}

static jv run_command_tool(const mcp_ctx *c)
{
	char *in = xasprintf("{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\",\"description\":"
			     "\"A bash command line.\"},\"timeoutMs\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":%.0f},"
			     "%s},\"required\":[\"command\"],\"additionalProperties\":false}",
			     max_timeout(c), session_prop);
	jv t = tool("run_command", "Run a shell command in a sandbox",
		    "Run a shell command line (bash -c) in a locked-down sandbox and return its output: in a "
		    "fresh sandbox, or in a session (sessionId) where the files of earlier calls are.",
		    in, result_schema);
	free(in);
	return t;
}

jv tools_list(const mcp_ctx *c)
{
	jv l = jv_array_append(jv_array(), run_code_tool(c));
	if (language_allowed(c, "bash"))
		l = jv_array_append(l, run_command_tool(c));
	l = jv_array_append(
		l, tool("write_file", "Write a file in a session",
			"Write a file into a session's sandbox (under /sandbox or /tmp), creating its directories. "
			"content is UTF-8 text, or base64 with encoding \"base64\" for binary data.",
			"{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"path\":{\"type\":"
			"\"string\",\"description\":\"Absolute, under /sandbox or /tmp.\"},\"content\":{\"type\":\"string\"},"
			"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"]}},"
			"\"required\":[\"sessionId\",\"path\",\"content\"],\"additionalProperties\":false}",
			"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"}},"
			"\"required\":[\"path\",\"size\"]}"));
	l = jv_array_append(
		l, tool("read_file", "Read a file of a session",
			"Read a file from a session's sandbox (under /sandbox or /tmp). Text comes back as text; "
			"other bytes as base64 (encoding says which); PNG, JPEG and GIF files also as an image.",
			"{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"path\":{\"type\":"
			"\"string\"}},\"required\":[\"sessionId\",\"path\"],\"additionalProperties\":false}",
			"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
			"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\",\"base64\"]},\"content\":{\"type\":\"string\"}},"
			"\"required\":[\"path\",\"size\",\"encoding\",\"content\"]}"));
	l = jv_array_append(
		l, tool("list_files", "List a directory of a session",
			"List a directory of a session's sandbox (default /sandbox): each entry's name, type (file, "
			"directory, symlink, other) and size in bytes.",
			"{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"path\":{\"type\":"
			"\"string\"}},\"required\":[\"sessionId\"],\"additionalProperties\":false}",
			"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"entries\":{\"type\":\"array\","
			"\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"type\":{\"type\":"
			"\"string\"},\"size\":{\"type\":\"integer\"}},\"required\":[\"name\",\"type\",\"size\"]}}},"
			"\"required\":[\"path\",\"entries\"]}"));
	jv langs = allowed_languages(c);
	char *enums = json_dump(langs, 0), *in;
	jv_free(langs);
	in = xasprintf("{\"type\":\"object\",\"properties\":{\"language\":{\"type\":\"string\",\"enum\":%s},\"name\":"
		       "{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,%d}$\",\"description\":"
		       "\"Optional. A named session outlives this connection; an unnamed one is closed with it.\"}},"
		       "\"required\":[\"language\"],\"additionalProperties\":false}",
		       enums, MCP_MAX_SESSION_NAME - 1);
	free(enums);
	l = jv_array_append(l, tool("create_session", "Create a session",
				    "Start a persistent sandbox for one language: run_code, run_command and the file "
				    "tools given its sessionId keep variables, imports and files between calls. Close "
				    "it with close_session when done.",
				    in,
				    "{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"language\":"
				    "{\"type\":\"string\"},\"named\":{\"type\":\"boolean\"}},\"required\":[\"sessionId\","
				    "\"language\",\"named\"]}"));
	free(in);
	l = jv_array_append(l, tool("list_sessions", "List sessions", "The sessions this caller can use.",
				    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
				    "{\"type\":\"object\",\"properties\":{\"sessions\":{\"type\":\"array\",\"items\":{\"type\":"
				    "\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"language\":{\"type\":"
				    "\"string\"}},\"required\":[\"sessionId\",\"language\"]}}},\"required\":[\"sessions\"]}"));
	l = jv_array_append(l, tool("close_session", "Close a session",
				    "Stop a session: its processes and files are gone.",
				    "{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"}},\"required\":"
				    "[\"sessionId\"],\"additionalProperties\":false}",
				    "{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\"},\"closed\":"
				    "{\"type\":\"boolean\"}},\"required\":[\"sessionId\",\"closed\"]}"));
	return jv_object_set(jv_object(), jv_string("tools"), l);
}

bool tool_known(const char *name)
{
	static const char *const names[] = {"run_code",  "run_command",    "write_file",    "read_file",
					    "list_files", "create_session", "list_sessions", "close_session"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* ---- results ------------------------------------------------------------------------------ */

jv text_block(const char *s, size_t n)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("text")), jv_string("text"),
			     jv_string_sized(s ? s : "", (int)n));
}

static jv image_block(const char *mime, const unsigned char *p, size_t n)
{
	char *b64 = base64_encode(p, n, NULL);
	jv b = jv_object_set(jv_object(), jv_string("type"), jv_string("image"));
	b = jv_object_set(jv_object_set(b, jv_string("data"), jv_string(b64)), jv_string("mimeType"), jv_string(mime));
	free(b64);
	return b;
}

jv tool_result(jv content, jv structured, bool is_error)
{
	jv r = jv_object_set(jv_object(), jv_string("content"), content);
	if (jv_is_valid(structured))
		r = jv_object_set(r, jv_string("structuredContent"), structured);
	else
		jv_free(structured);
	return jv_object_set(r, jv_string("isError"), jv_bool(is_error));
}

jv tool_failure(const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	return tool_result(jv_array_append(jv_array(), text_block(m, strlen(m))), jv_invalid(), true);
}

/* A run's result for a model: stdout, stderr, its figures as images, a status line; the
 * ExecutionResult as structuredContent; isError when the program failed. */
static jv run_result(const isol8_result *res, jv structured)
{
	jv content = jv_array();
	if (res->out.len)
		content = jv_array_append(content, text_block((const char *)res->out.data, res->out.len));
	if (res->err.len)
		content = jv_array_append(content, text_block((const char *)res->err.data, res->err.len));
	for (size_t i = 0; i < res->noutputs; i++) /* figures: MCP clients show image content */
		content = jv_array_append(content, image_block(res->outputs[i].type, res->outputs[i].data, res->outputs[i].len));
	if (res->outputs_note)
		content = jv_array_append(content, text_block(res->outputs_note, strlen(res->outputs_note)));
	char tail[128];
	snprintf(tail, sizeof tail, "[exit code %d, %s, %llu ms]", res->exit_code, res->status ? res->status : "?",
		 (unsigned long long)res->duration_ms);
	content = jv_array_append(content, text_block(tail, strlen(tail)));
	return tool_result(content, structured, res->exit_code != 0);
}

/* ---- arguments ---------------------------------------------------------------------------- */

/* Argument errors are the caller's: JSON-RPC invalid params (why says which). */
static int bad(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* An optional string argument: 1 present, 0 absent, -1 of another type. */
static int opt_string(jv args, const char *key, const char **out)
{
	jv v = jv_object_get(jv_copy(args), jv_string(key));
	int r = !jv_is_valid(v) ? 0 : jv_get_kind(v) == JV_KIND_STRING && !json_string_has_nul(v) ? 1 : -1;
	*out = r == 1 ? jv_string_value(v) : NULL; /* lives as long as args does */
	jv_free(v);
	return r;
}

static int files_arg(jv args, isol8_request *r, char *why, size_t n)
{
	jv f = json_get(args, "files");
	int rc = 0;
	if (!jv_is_valid(f)) {
		jv_free(f);
		return 0;
	}
	if (jv_get_kind(f) != JV_KIND_OBJECT) {
		jv_free(f);
		return bad(why, n, "files must be an object of path to content");
	}
	jv_object_foreach(f, k, v)
	{
		isol8_err err = {0};
		if (!rc && jv_get_kind(v) != JV_KIND_STRING)
			rc = bad(why, n, "files.%s must be a string", jv_string_value(k));
		else if (!rc && isol8_request_add_file(r, jv_string_value(k), jv_string_value(v),
						       (size_t)jv_string_length_bytes(jv_copy(v)), &err) < 0)
			rc = bad(why, n, "%s", err.msg);
		jv_free(k);
		jv_free(v);
	}
	jv_free(f);
	return rc;
}

/* run_code / run_command's arguments as a request (r initialised by the caller). */
static int run_request(const mcp_ctx *c, const char *name, jv args, isol8_request *r, char *why, size_t n)
{
	const char *lang, *code, *cmd, *sid;
	if (!strcmp(name, "run_code")) {
		if (opt_string(args, "language", &lang) != 1 || opt_string(args, "code", &code) != 1)
			return bad(why, n, "run_code needs language and code, strings");
		if (!language_allowed(c, lang)) {
			jv l = allowed_languages(c);
			char *names = json_dump(l, 0);
			jv_free(l);
			bad(why, n, "language \"%s\" is not one this server runs: %s", lang, names);
			free(names);
			return -1;
		}
		r->runtime = xstrdup(lang);
		r->code = xstrdup(code);
	} else {
		if (opt_string(args, "command", &cmd) != 1)
			return bad(why, n, "run_command needs command, a string");
		r->runtime = xstrdup("bash");
		r->cmd = xstrdup(cmd);
	}
	if (opt_string(args, "sessionId", &sid) < 0)
		return bad(why, n, "sessionId must be a string");
	jv tmo = json_get(args, "timeoutMs");
	bool tmo_ok = !jv_is_valid(tmo) || (jv_get_kind(tmo) == JV_KIND_NUMBER && jv_number_value(tmo) >= 1 &&
					    jv_number_value(tmo) <= max_timeout(c));
	if (tmo_ok && jv_is_valid(tmo))
		r->timeout_ms = (long long)jv_number_value(tmo);
	jv_free(tmo);
	if (!tmo_ok)
		return bad(why, n, "timeoutMs must be a number of milliseconds from 1 to %.0f (mcp.maxTimeoutMs)",
			   max_timeout(c));
	return files_arg(args, r, why, n);
}

/* ---- running ------------------------------------------------------------------------------ */

struct progress {
	jv token; /* the client's progressToken, or invalid */
	int fd;
	double n;
};

static void on_event(void *ctx, const isol8_event *ev)
{
	struct progress *p = ctx;
	if (jv_is_valid(p->token) && (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR))
		rpc_send(p->fd, rpc_progress(jv_copy(p->token), ++p->n, (const char *)ev->data, ev->len));
}

/* A cancelled call answers nothing (the specification): true when cancel_r has reached EOF. */
static bool cancelled(int cancel_r)
{
	char probe;
	return fcntl(cancel_r, F_SETFL, O_NONBLOCK) == 0 && read(cancel_r, &probe, 1) == 0;
}

/* The call's audit line: res's, or (res NULL) a failed one and why — every run is recorded,
 * fresh or in a session, finished, failed or cancelled. Never fails the call. */
static void audit_run(const mcp_ctx *c, const isol8_request *r, const isol8_options *o, const isol8_result *res,
		      const char *why, uint64_t started)
{
	isol8_err err = {0};
	int rc = res ? isol8_audit_execution(&c->cfg, r, o, res, &c->who, &err)
		     : isol8_audit_failure(&c->cfg, r, o, why, (now_mono_ns() - started) / 1000000, &c->who, &err);
	if (rc < 0)
		fprintf(stderr, "[WARN] %s\n", err.msg);
}

static jv run_fresh(const mcp_ctx *c, isol8_request *r, struct progress *p, int cancel_r, bool *gone)
{
	isol8_options o;
	isol8_err err = {0};
	if (mcp_options(c, &o, &err) < 0)
		return tool_failure("%s", err.msg);
	if (isol8_request_validate(r, &o, &err) < 0) {
		isol8_options_free(&o);
		return tool_failure("%s", err.msg);
	}
	isol8_result res;
	uint64_t started = now_mono_ns();
	int rc = isol8_execute(r, &o, on_event, p, cancel_r, &res, &err);
	audit_run(c, r, &o, rc == 0 ? &res : NULL, err.msg, started);
	if ((*gone = cancelled(cancel_r))) {
		if (rc == 0)
			isol8_result_free(&res);
		isol8_options_free(&o);
		return jv_invalid();
	}
	if (rc < 0) {
		isol8_options_free(&o);
		return tool_failure("%s", err.msg);
	}
	jv out = run_result(&res, isol8_result_json(&res));
	isol8_result_free(&res);
	isol8_options_free(&o);
	return out;
}

/* One line of a session exec's answer: progress for an event; the call's result (audited) for
 * the exec's result; a failure, with why, for a refusal or a line that is not an event. */
static jv session_line(const mcp_ctx *c, const isol8_request *r, const isol8_options *o, const char *line, size_t n,
		       struct progress *p, uint64_t started, char *why, size_t whyn)
{
	isol8_evread ev;
	isol8_event e;
	jv out = jv_invalid();
	evr_kind k = evr_parse_line(line, n, &ev);
	if (k == EVR_RESULT) {
		isol8_result res;
		isol8_err err = {0};
		if (isol8_result_from_json(jv_copy(ev.result), &res, &err) == 0) {
			audit_run(c, r, o, &res, NULL, started);
			out = run_result(&res, jv_copy(ev.result));
			isol8_result_free(&res);
		} else {
			snprintf(why, whyn, "the session's answer could not be read: %s", err.msg);
		}
	} else if (k == EVR_REFUSAL) {
		snprintf(why, whyn, "%s", (const char *)ev.data.data);
	} else if (k == EVR_MALFORMED) {
		snprintf(why, whyn, "the session answered something that is not an event");
	} else if (evr_event(&ev, &e)) {
		on_event(p, &e);
	}
	evr_free(&ev);
	return out;
}

/* Reads a session exec's event lines (progress) to its result. Cancel: the connection is closed,
 * which the supervisor takes as the exec's end (session.h, client_fd). */
static jv run_in_session(const mcp_ctx *c, const char *iid, const char *sid, isol8_request *r, struct progress *p,
			 int cancel_r, bool *gone)
{
	isol8_options o;
	isol8_err err = {0};
	if (mcp_options(c, &o, &err) < 0) /* the session's own: create_session made it with these */
		return tool_failure("%s", err.msg);
	uint64_t started = now_mono_ns();
	jv doc = jv_object_set(jv_object(), jv_string("request"), isol8_request_json(r));
	int fd = session_send(iid, sessionmsg_exec(doc));
	if (fd < 0) {
		isol8_options_free(&o);
		return tool_failure("Unknown session: %s (create_session makes one, list_sessions lists them)", sid);
	}
	isol8_buf line = {0};
	jv out = jv_invalid();
	char why[1200] = "";
	bool eof = false;
	while (!jv_is_valid(out) && !why[0] && !eof) {
		struct pollfd f[2] = {{fd, POLLIN, 0}, {cancel_r, POLLIN, 0}};
		if (poll(f, 2, -1) < 0 && errno != EINTR)
			break;
		if (f[1].revents && cancelled(cancel_r)) {
			*gone = true;
			break;
		}
		char tmp[65536];
		ssize_t n = f[0].revents ? read(fd, tmp, sizeof tmp) : -1;
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			eof = f[0].revents != 0;
		if (n > 0)
			buf_append(&line, tmp, (size_t)n);
		unsigned char *nl;
		while (!jv_is_valid(out) && !why[0] && line.len && (nl = memchr(line.data, '\n', line.len))) {
			out = session_line(c, r, &o, (const char *)line.data, (size_t)(nl - line.data), p, started, why,
					   sizeof why);
			size_t l = (size_t)(nl - line.data) + 1;
			memmove(line.data, line.data + l, line.len - l);
			line.len -= l;
		}
	}
	close(fd); /* before a cancelled call exits: the supervisor sees the hangup and ends the exec */
	isol8_buf_free(&line);
	if (!jv_is_valid(out)) { /* no result: recorded all the same, as failed */
		if (!why[0])
			snprintf(why, sizeof why, *gone ? "the call was cancelled by the client" : "session %s ended during the call", sid);
		audit_run(c, r, &o, NULL, why, started);
		if (!*gone)
			out = tool_failure("%s", why);
	}
	isol8_options_free(&o);
	return out;
}

static jv run_tool(const mcp_ctx *c, const char *name, jv args, struct progress *p, int cancel_r, bool *gone,
		   char *why, size_t whyn)
{
	isol8_request r;
	isol8_request_init(&r);
	jv out;
	const char *sid;
	char iid[80];
	if (run_request(c, name, args, &r, why, whyn) < 0) {
		out = jv_invalid();
	} else if (opt_string(args, "sessionId", &sid) == 1) {
		jv s = jv_string(sid);
		/* an id that is not one is the caller's mistake (invalid params), an unknown one a result */
		out = session_iid(c, s, iid, why, whyn) ? run_in_session(c, iid, sid, &r, p, cancel_r, gone) : jv_invalid();
		jv_free(s);
	} else {
		out = run_fresh(c, &r, p, cancel_r, gone);
	}
	isol8_request_free(&r);
	return out;
}

/* ---- files ------------------------------------------------------------------------------- */

/* One request to a session and its one reply line: the reply, or a failure result in *fail
 * (jv_invalid() there: the id is not one, why says so — invalid params). */
static jv session_ask(const mcp_ctx *c, jv args, jv req, jv *fail, char *why, size_t whyn)
{
	jv sid = json_get(args, "sessionId");
	char iid[80];
	jv reply = jv_invalid();
	*fail = jv_invalid();
	if (!session_iid(c, sid, iid, why, whyn)) {
		jv_free(req);
	} else {
		int fd = session_send(iid, req);
		FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
		reply = f ? json_read_line(f) : jv_invalid();
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		const char *e = jv_is_valid(reply) ? sessionmsg_error_of(reply) : NULL;
		if (fd < 0)
			*fail = tool_failure("Unknown session: %s (create_session makes one, list_sessions lists them)",
					     jv_string_value(sid));
		else if (!jv_is_valid(reply))
			*fail = tool_failure("session %s did not answer", jv_string_value(sid));
		else if (e)
			*fail = tool_failure("%s", e);
	}
	jv_free(sid);
	if (!jv_is_valid(reply) || jv_is_valid(*fail)) {
		jv_free(reply);
		return jv_invalid();
	}
	return reply;
}

static jv write_file_tool(const mcp_ctx *c, jv args, char *why, size_t whyn)
{
	const char *sid, *path, *content, *enc;
	if (opt_string(args, "sessionId", &sid) != 1 || opt_string(args, "path", &path) != 1 ||
	    opt_string(args, "content", &content) != 1 || opt_string(args, "encoding", &enc) < 0 ||
	    (enc && strcmp(enc, "utf8") && strcmp(enc, "base64")))
		return bad(why, whyn, "write_file needs sessionId, path and content, strings, and encoding \"utf8\" or "
				      "\"base64\" if any"), jv_invalid();
	jv cv = json_get(args, "content");
	size_t clen = (size_t)jv_string_length_bytes(jv_copy(cv));
	jv_free(cv);
	isol8_buf data = {0};
	if (enc && !strcmp(enc, "base64") && base64_decode(content, clen, &data) < 0)
		return tool_failure("content is not valid base64");
	if (!enc || strcmp(enc, "base64"))
		buf_append(&data, content, clen);
	if (data.len > MAX_FILE_ARG) {
		isol8_buf_free(&data);
		return tool_failure("content is over %u MiB", MAX_FILE_ARG >> 20);
	}
	char *b64 = base64_encode(data.data ? data.data : (unsigned char *)"", data.len, NULL);
	jv fail, r = session_ask(c, args, sessionmsg_put(path, b64), &fail, why, whyn);
	free(b64);
	jv out = fail;
	if (jv_is_valid(r)) {
		char m[1200];
		snprintf(m, sizeof m, "wrote %zu bytes to %s", data.len, path);
		jv s = jv_object_set(jv_object_set(jv_object(), jv_string("path"), jv_string(path)), jv_string("size"),
				     jv_number((double)data.len));
		out = tool_result(jv_array_append(jv_array(), text_block(m, strlen(m))), s, false);
	}
	jv_free(r);
	isol8_buf_free(&data);
	return out;
}

static const char *image_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (n >= 3 && !memcmp(p, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
		return "image/gif";
	return NULL;
}

static jv read_file_tool(const mcp_ctx *c, jv args, char *why, size_t whyn)
{
	const char *sid, *path;
	if (opt_string(args, "sessionId", &sid) != 1 || opt_string(args, "path", &path) != 1)
		return bad(why, whyn, "read_file needs sessionId and path, strings"), jv_invalid();
	jv fail, r = session_ask(c, args, sessionmsg_get(path), &fail, why, whyn);
	if (!jv_is_valid(r))
		return fail;
	isol8_buf data = {0};
	jv out;
	if (sessionmsg_content_of(r, &data) < 0) {
		out = tool_failure("the session's answer could not be read");
	} else {
		const unsigned char *p = data.data ? data.data : (const unsigned char *)"";
		bool text = utf8_valid(p, data.len);
		char *b64 = text ? NULL : base64_encode(p, data.len, NULL);
		jv s = jv_object_set(jv_object_set(jv_object(), jv_string("path"), jv_string(path)), jv_string("size"),
				     jv_number((double)data.len));
		s = jv_object_set(s, jv_string("encoding"), jv_string(text ? "utf8" : "base64"));
		s = jv_object_set(s, jv_string("content"), text ? jv_string_sized((const char *)p, (int)data.len) : jv_string(b64));
		const char *img = image_type(p, data.len);
		jv content = jv_array_append(jv_array(), text ? text_block((const char *)p, data.len)
							    : text_block(b64, strlen(b64)));
		if (img)
			content = jv_array_append(content, image_block(img, p, data.len));
		out = tool_result(content, s, false);
		free(b64);
	}
	isol8_buf_free(&data);
	jv_free(r);
	return out;
}

static jv list_files_tool(const mcp_ctx *c, jv args, char *why, size_t whyn)
{
	const char *sid, *path;
	if (opt_string(args, "sessionId", &sid) != 1 || opt_string(args, "path", &path) < 0)
		return bad(why, whyn, "list_files needs sessionId, a string, and path, a string if any"), jv_invalid();
	if (!path)
		path = "/sandbox";
	jv fail, r = session_ask(c, args, sessionmsg_list(path), &fail, why, whyn);
	if (!jv_is_valid(r))
		return fail;
	jv entries = json_get(r, "entries");
	jv_free(r);
	if (jv_get_kind(entries) != JV_KIND_ARRAY) {
		jv_free(entries);
		return tool_failure("the session's answer could not be read");
	}
	isol8_buf text = {0};
	jv_array_foreach(entries, i, e)
	{
		jv name = json_get(e, "name"), type = json_get(e, "type"), size = json_get(e, "size");
		char line[64];
		bool dir = !strcmp(jv_string_value(type), "directory");
		snprintf(line, sizeof line, "%-9s %10.0f  ", jv_string_value(type), jv_number_value(size));
		buf_puts(&text, line);
		buf_puts(&text, jv_string_value(name));
		buf_puts(&text, dir ? "/\n" : "\n");
		jv_free(name);
		jv_free(type);
		jv_free(size);
		jv_free(e);
	}
	if (!text.len)
		buf_puts(&text, "(empty)\n");
	jv s = jv_object_set(jv_object_set(jv_object(), jv_string("path"), jv_string(path)), jv_string("entries"), entries);
	jv out = tool_result(jv_array_append(jv_array(), text_block((const char *)text.data, text.len)), s, false);
	isol8_buf_free(&text);
	return out;
}

/* ---- the worker --------------------------------------------------------------------------- */

void tool_call(const mcp_ctx *c, jv id, const char *name, jv args, jv token, int fd, int cancel_r)
{
	char why[1200] = "";
	struct progress p = {token, fd, 0};
	bool gone = false, bad_args = false;
	jv out;
	if (!strcmp(name, "run_code") || !strcmp(name, "run_command"))
		out = run_tool(c, name, args, &p, cancel_r, &gone, why, sizeof why);
	else if (!strcmp(name, "write_file"))
		out = write_file_tool(c, args, why, sizeof why);
	else if (!strcmp(name, "read_file"))
		out = read_file_tool(c, args, why, sizeof why);
	else if (!strcmp(name, "list_files"))
		out = list_files_tool(c, args, why, sizeof why);
	else
		out = session_tool(c, name, args, &bad_args, why, sizeof why);
	if (gone || cancelled(cancel_r))
		_exit(0); /* cancelled: no response (the specification) */
	if (!jv_is_valid(out))
		rpc_send(fd, rpc_error(id, E_PARAMS, "%s", why[0] ? why : "invalid arguments"));
	else
		rpc_send(fd, rpc_response(id, out));
	_exit(0);
}
