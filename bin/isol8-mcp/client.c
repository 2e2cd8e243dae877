/* client.c — what an MCP client owns between its messages, and the session tools.
 *
 * $RUN_DIR/mcp/<client>/ (rundir_mcp) holds:
 *   client.json        {"owner": <prefix>, "protocolVersion": V, "createdAt": T}
 *   unnamed/<name>     a session it created without naming it: closed when the client leaves
 *                      (stdin ends, a stop signal, or DELETE /mcp)
 *   calls/<hash>       "<pid> <start time>" of the process running one of its tools/call
 *                      (isol8-serve: a later POST's notifications/cancelled signals it)
 * On stdio the client is "stdio-<pid>"; over HTTP it is the Mcp-Session-Id isol8-serve issued,
 * and everything is checked against the caller's owner prefix, so another key's or tenant's
 * Mcp-Session-Id is as unknown as one never issued.
 *
 * Threat: the names here come from the client. A session name is checked (session_id_valid)
 * before it becomes part of an id or a path; a request id is hashed before it names a file; a
 * pid read back is signalled only when its start time matches (never a recycled pid). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "core/util.h"
#include "mcp.h"
#include "run/session.h"
#include "run/session_client.h"
#include "run/session_daemon.h"
#include "state/rundir.h"

#define DEFAULT_MAX_SESSIONS 8

static char *cpath(const mcp_ctx *c, const char *file)
{
	return rundir_mcp(NULL, c->client, file);
}

int client_create(const mcp_ctx *c, const char *version, bool with_pid)
{
	char *top = rundir_mcp(NULL, NULL, NULL), *dir = cpath(c, NULL), *u = cpath(c, "unnamed"),
	     *k = cpath(c, "calls"), *f = cpath(c, "client.json");
	int rc = -1;
	if (mkdir_p(top, 0700) == 0 && mkdir(dir, 0700) == 0 && mkdir(u, 0700) == 0 && mkdir(k, 0700) == 0) {
		char ts[32];
		iso8601_now(ts);
		jv m = jv_object_set(jv_object(), jv_string("owner"), jv_string(c->owner));
		m = jv_object_set(m, jv_string("protocolVersion"), jv_string(version));
		m = jv_object_set(m, jv_string("createdAt"), jv_string(ts));
		if (with_pid) /* a stdio server: isol8-cleanup ends its state once this process is gone */
			m = jv_object_set(jv_object_set(m, jv_string("pid"), jv_number(getpid())), jv_string("pidStart"),
					  jv_number((double)proc_start_time(getpid())));
		char *t = json_dump(m, 0);
		rc = write_file(f, t, 0600);
		free(t);
		jv_free(m);
	}
	free(top);
	free(dir);
	free(u);
	free(k);
	free(f);
	return rc;
}

int client_check(const mcp_ctx *c)
{
	char *f = cpath(c, "client.json");
	isol8_buf b = {0};
	isol8_err err = {0};
	jv m = read_file(f, 4096, &b, &err) == 0 ? jv_parse_sized((const char *)b.data, (int)b.len) : jv_invalid();
	jv o = json_get(m, "owner");
	int rc = jv_get_kind(o) == JV_KIND_STRING && !strcmp(jv_string_value(o), c->owner) ? 0 : -1;
	if (rc == 0)
		utimensat(AT_FDCWD, f, NULL, 0); /* last used: isol8-cleanup expires idle clients */
	jv_free(o);
	jv_free(m);
	isol8_buf_free(&b);
	free(f);
	return rc;
}

/* Calls every entry of the client's directory sub (names it wrote itself) with fn. */
static void each_entry(const mcp_ctx *c, const char *sub, void (*fn)(const mcp_ctx *c, const char *dir, const char *name))
{
	char *dir = cpath(c, sub);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			fn(c, dir, e->d_name);
	if (d)
		closedir(d);
	free(dir);
}

static void close_unnamed(const mcp_ctx *c, const char *dir, const char *name)
{
	char iid[80];
	if (strlen(name) <= MCP_MAX_SESSION_NAME && snprintf(iid, sizeof iid, "%.16s%.48s", c->owner, name) > 0 &&
	    session_id_valid(iid, 64))
		session_stop_supervisor(iid);
	char *p = xasprintf("%s/%s", dir, name);
	unlink(p);
	free(p);
}

static void remove_entry(const mcp_ctx *c, const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	unlink(p);
	free(p);
}

void client_close(const mcp_ctx *c)
{
	each_entry(c, "unnamed", close_unnamed);
	each_entry(c, "calls", remove_entry);
	static const char *const parts[] = {"client.json", "unnamed", "calls", NULL};
	for (int i = 0; parts[i]; i++) {
		char *p = cpath(c, parts[i]);
		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	char *dir = cpath(c, NULL);
	rmdir(dir);
	free(dir);
}

/* ---- calls --------------------------------------------------------------------------------- */

static char *call_path(const mcp_ctx *c, jv id)
{
	char *t = json_dump(id, 0), hex[65], *name;
	sha256_hex(t, strlen(t), hex);
	name = xasprintf("calls/%.32s", hex);
	char *p = cpath(c, name);
	free(name);
	free(t);
	return p;
}

void client_call_register(const mcp_ctx *c, jv id, pid_t pid)
{
	char *p = call_path(c, id), line[64];
	snprintf(line, sizeof line, "%d %llu\n", (int)pid, proc_start_time(pid));
	(void)write_file(p, line, 0600);
	free(p);
}

void client_call_forget(const mcp_ctx *c, jv id)
{
	char *p = call_path(c, id);
	unlink(p);
	free(p);
}

void client_call_cancel(const mcp_ctx *c, jv id)
{
	char *p = call_path(c, id);
	isol8_buf b = {0};
	isol8_err err = {0};
	int pid = 0;
	unsigned long long start = 0;
	if (read_file(p, 64, &b, &err) == 0) {
		buf_append(&b, "", 1);
		if (sscanf((const char *)b.data, "%d %llu", &pid, &start) == 2 && pid > 1 && proc_alive(pid, start))
			kill(pid, SIGTERM); /* that process cancels its call (main.c) */
	}
	isol8_buf_free(&b);
	free(p);
}

/* ---- sessions ------------------------------------------------------------------------------ */

bool session_iid(const mcp_ctx *c, jv name, char out[80], char *why, size_t whyn)
{
	if (jv_get_kind(name) != JV_KIND_STRING ||
	    !session_id_valid_n(jv_string_value(name), (size_t)jv_string_length_bytes(jv_copy(name)), MCP_MAX_SESSION_NAME)) {
		snprintf(why, whyn, "sessionId must be 1-%d letters, digits, '-', '_' or '.' (not starting with '.')",
			 MCP_MAX_SESSION_NAME);
		return false;
	}
	snprintf(out, 80, "%s%s", c->owner, jv_string_value(name));
	return true;
}

/* The live sessions under the caller's prefix: {sessionId, language, createdAt, lastUsed, busy}. */
static jv owned_sessions(const mcp_ctx *c)
{
	jv all = session_list(), mine = jv_array();
	size_t n = strlen(c->owner);
	jv_array_foreach(all, i, s)
	{
		jv id = json_get(s, "id"), rt = json_get(s, "runtime");
		if (json_get_bool(s, "alive") && jv_get_kind(id) == JV_KIND_STRING && !strncmp(jv_string_value(id), c->owner, n) &&
		    jv_string_value(id)[n] && jv_get_kind(rt) == JV_KIND_STRING) {
			jv e = jv_object_set(jv_object(), jv_string("sessionId"), jv_string(jv_string_value(id) + n));
			e = jv_object_set(e, jv_string("language"), jv_copy(rt));
			static const char *const keep[][2] = {{"created", "createdAt"}, {"lastUsed", "lastUsed"}, {"busy", "busy"}};
			for (size_t k = 0; k < ARRAY_SIZE(keep); k++) {
				jv v = json_get(s, keep[k][0]);
				e = jv_is_valid(v) ? jv_object_set(e, jv_string(keep[k][1]), v) : (jv_free(v), e);
			}
			mine = jv_array_append(mine, e);
		}
		jv_free(id);
		jv_free(rt);
		jv_free(s);
	}
	jv_free(all);
	return mine;
}

static jv create_session_tool(const mcp_ctx *c, jv args, bool *bad_args, char *why, size_t whyn)
{
	jv lang = json_get(args, "language"), name = json_get(args, "name");
	char iid[80], gen[24];
	bool named = jv_is_valid(name);
	jv out = jv_invalid();
	if (!named) {
		memcpy(gen, "mcp-", 4);
		random_hex(gen + 4, 6);
		jv_free(name);
		name = jv_string(gen);
	}
	bool lang_ok = jv_get_kind(lang) == JV_KIND_STRING && language_allowed(c, jv_string_value(lang));
	int max = (int)config_num(&c->cfg, "mcp.maxSessions", DEFAULT_MAX_SESSIONS);
	if (c->owner_max_sessions && c->owner_max_sessions < max)
		max = c->owner_max_sessions; /* isol8-serve's cap for the key or tenant */
	/* counting and starting under one lock: two calls at once must not both see room for one */
	char *lockp = rundir_mcp(NULL, ".sessions.lock", NULL); /* no client id starts with a dot */
	int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockp);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	jv mine = owned_sessions(c);
	if (!lang_ok) {
		*bad_args = true;
		snprintf(why, whyn, "create_session needs language, one this server runs (%s)", runtime_names());
	} else if (!session_iid(c, name, iid, why, whyn)) {
		*bad_args = true;
	} else if (jv_array_length(jv_copy(mine)) >= max) {
		out = tool_failure("too many sessions (%d): close one with close_session first", max);
	} else if (session_listening(iid)) {
		out = tool_failure("session \"%s\" already exists", jv_string_value(name));
	} else {
		isol8_options o;
		isol8_err err = {0};
		char *mark = named ? NULL : xasprintf("unnamed/%s", jv_string_value(name));
		char *mark_path = mark ? cpath(c, mark) : NULL;
		/* marked before it exists: a client that leaves during the start still closes it */
		if (mark_path)
			(void)write_file(mark_path, "", 0600);
		isol8_session_spec spec = {iid, jv_string_value(lang), &o,
					   (uint64_t)config_num(&c->cfg, "mcp.sessionIdleMs",
								 config_num(&c->cfg, "cleanup.maxContainerAgeMs", 3600000)),
					   &c->cfg, NULL};
		if (mcp_options(c, &o, &err) < 0 || session_daemon_start(&spec, &err) < 0) {
			if (mark_path)
				unlink(mark_path);
			out = tool_failure("%s", err.msg);
		} else {
			jv s = jv_object_set(jv_object(), jv_string("sessionId"), jv_copy(name));
			s = jv_object_set(jv_object_set(s, jv_string("language"), jv_copy(lang)), jv_string("named"), jv_bool(named));
			char m[200];
			snprintf(m, sizeof m, "session %s (%s) is ready%s", jv_string_value(name), jv_string_value(lang),
				 named ? "; it stays until close_session" : "; it is closed when this connection ends");
			out = tool_result(jv_array_append(jv_array(), text_block(m, strlen(m))), s, false);
		}
		isol8_options_free(&o);
		free(mark);
		free(mark_path);
	}
	if (lock >= 0)
		close(lock);
	jv_free(mine);
	jv_free(lang);
	jv_free(name);
	return out;
}

static jv close_session_tool(const mcp_ctx *c, jv args, bool *bad_args, char *why, size_t whyn)
{
	jv name = json_get(args, "sessionId");
	char iid[80];
	jv out = jv_invalid();
	if (!session_iid(c, name, iid, why, whyn)) {
		*bad_args = true;
	} else {
		int r = session_stop_supervisor(iid);
		char *mark = xasprintf("unnamed/%s", jv_string_value(name)), *p = cpath(c, mark);
		unlink(p);
		free(p);
		free(mark);
		if (r == 0) {
			out = tool_failure("Unknown session: %s", jv_string_value(name));
		} else {
			jv s = jv_object_set(jv_object(), jv_string("sessionId"), jv_copy(name));
			s = jv_object_set(s, jv_string("closed"), jv_bool(r == 1));
			char m[160];
			snprintf(m, sizeof m, r == 1 ? "session %s is closed" : "session %s is still stopping", jv_string_value(name));
			out = tool_result(jv_array_append(jv_array(), text_block(m, strlen(m))), s, r != 1);
		}
	}
	jv_free(name);
	return out;
}

jv session_tool(const mcp_ctx *c, const char *name, jv args, bool *bad_args, char *why, size_t whyn)
{
	if (!strcmp(name, "create_session"))
		return create_session_tool(c, args, bad_args, why, whyn);
	if (!strcmp(name, "close_session"))
		return close_session_tool(c, args, bad_args, why, whyn);
	jv mine = owned_sessions(c);
	isol8_buf text = {0};
	jv_array_foreach(mine, i, s)
	{
		jv id = json_get(s, "sessionId"), rt = json_get(s, "language");
		buf_puts(&text, jv_string_value(id));
		buf_puts(&text, " (");
		buf_puts(&text, jv_string_value(rt));
		buf_puts(&text, ")\n");
		jv_free(id);
		jv_free(rt);
		jv_free(s);
	}
	if (!text.len)
		buf_puts(&text, "no sessions\n");
	jv out = tool_result(jv_array_append(jv_array(), text_block((const char *)text.data, text.len)),
			     jv_object_set(jv_object(), jv_string("sessions"), mine), false);
	isol8_buf_free(&text);
	return out;
}
