/* session_daemon.c — see session_daemon.h. */
#include "run/session_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "run/session.h"
#include "state/meta.h"
#include "wire/sessionmsg.h"
#include "state/rundir.h"
#include "wire/events.h"

#define MAX_LINE (96u << 20) /* a request with a 64 MiB file, base64-encoded */

/* a path cut at a NUL byte would name another file: refused (json_string_has_nul) */
#define NUL_PATH "the path contains a NUL byte; remove it"

struct daemon {
	isol8_session s;
	char id[65];
	char *dir, *sock, *meta;
	uint64_t idle_ms, created_ms, last_ms;
	bool busy; /* an exec is running (isol8-serve's isActive) */
	isol8_config cfg;
};

/* Failing to write leaves the previous meta.json in place, which readers still accept. */
static void write_meta(const struct daemon *d)
{
	isol8_session_meta m = {
		.created_s = d->created_ms / 1000,
		.last_used_ms = d->last_ms,
		.idle_timeout_ms = d->idle_ms,
		.execs = d->s.execs,
		.daemon = getpid(),
		.daemon_start = proc_start_time(getpid()),
		.sandbox_pid = d->s.sb.pid,
		.busy = d->busy,
	};
	snprintf(m.id, sizeof m.id, "%s", d->id);
	snprintf(m.runtime, sizeof m.runtime, "%s", d->s.runtime);
	snprintf(m.sandbox, sizeof m.sandbox, "%s", d->s.sb.id);
	boot_id(m.boot_id);
	(void)session_meta_write(d->meta, &m, NULL);
}

static void reply(int fd, jv v)
{
	json_write_line(fd, v);
	jv_free(v);
}

static void reply_error(int fd, const char *msg)
{
	reply(fd, sessionmsg_error(msg));
}

static void reply_ok(int fd)
{
	reply(fd, sessionmsg_ok());
}

/* ---- the ops: each borrows the request doc; false when the session should end ------------ */

/* The exec's own options start from the config's defaults and the session's timeout and output
 * cap; the request may change those two (session_exec uses nothing else of them). */
static void run_exec(struct daemon *d, int fd, jv doc)
{
	isol8_request r;
	isol8_options scratch;
	isol8_err err = {0};
	isol8_request_init(&r);
	isol8_options_from_config(&scratch, &d->cfg, &err);
	scratch.timeout_ms = d->s.opt.timeout_ms;
	scratch.max_output = d->s.opt.max_output;
	jv body = jv_object_set(jv_object(), jv_string("request"), json_get(doc, "request"));
	jv opts = json_get(doc, "options");
	if (jv_get_kind(opts) == JV_KIND_OBJECT)
		body = jv_object_set(body, jv_string("options"), opts);
	else
		jv_free(opts);
	int rc = isol8_request_from_json(body, &r, &scratch, &d->cfg, &err);
	if (rc == 0 && !r.runtime)
		r.runtime = xstrdup(d->s.runtime);
	if (rc == 0)
		rc = isol8_request_validate(&r, &scratch, &err);
	isol8_result res;
	bool restarted = false;
	isol8_evwriter w = {.fd = fd};
	d->s.client_fd = fd;
	if (rc == 0)
		rc = session_exec(&d->s, &r, &scratch, evw_event, &w, &res, &restarted, &err);
	d->s.client_fd = -1;
	if (rc < 0) {
		reply_error(fd, err.msg);
	} else {
		jv out = isol8_result_json(&res);
		out = jv_object_set(out, jv_string("sessionId"), jv_string(d->id));
		out = jv_object_set(out, jv_string("interpreterRestarted"), jv_bool(restarted));
		evw_result(&w, out);
		isol8_result_free(&res);
	}
	evw_free(&w);
	isol8_request_free(&r);
	isol8_options_free(&scratch);
}

/* meta.json says busy while it runs: isol8-serve reports it, and nobody waits on the socket */
static bool op_exec(struct daemon *d, int fd, jv doc)
{
	d->busy = true;
	write_meta(d);
	run_exec(d, fd, doc);
	d->busy = false;
	return true;
}

static bool op_put(struct daemon *d, int fd, jv doc)
{
	jv path = json_get(doc, "path"), content = json_get(doc, "content");
	isol8_buf data = {0};
	isol8_err err = {0};
	if (jv_get_kind(path) != JV_KIND_STRING || jv_get_kind(content) != JV_KIND_STRING ||
	    base64_decode(jv_string_value(content), (size_t)jv_string_length_bytes(jv_copy(content)), &data) < 0)
		reply_error(fd, "put needs \"path\" and base64 \"content\"");
	else if (json_string_has_nul(path))
		reply_error(fd, NUL_PATH);
	else if (session_put(&d->s, jv_string_value(path), data.data ? data.data : (unsigned char *)"", data.len, &err) < 0)
		reply_error(fd, err.msg);
	else
		reply_ok(fd);
	isol8_buf_free(&data);
	jv_free(path);
	jv_free(content);
	return true;
}

static bool op_get(struct daemon *d, int fd, jv doc)
{
	jv path = json_get(doc, "path");
	isol8_buf data = {0};
	isol8_err err = {0};
	if (jv_get_kind(path) != JV_KIND_STRING) {
		reply_error(fd, "get needs \"path\"");
	} else if (json_string_has_nul(path)) {
		reply_error(fd, NUL_PATH);
	} else if (session_get(&d->s, jv_string_value(path), &data, &err) < 0) {
		reply_error(fd, err.msg);
	} else {
		char *b = base64_encode(data.data ? data.data : (unsigned char *)"", data.len, NULL);
		reply(fd, sessionmsg_content(b));
		free(b);
	}
	isol8_buf_free(&data);
	jv_free(path);
	return true;
}

static bool op_list(struct daemon *d, int fd, jv doc)
{
	jv path = json_get(doc, "path"), entries;
	isol8_err err = {0};
	if (jv_get_kind(path) != JV_KIND_STRING)
		reply_error(fd, "list needs \"path\"");
	else if (json_string_has_nul(path))
		reply_error(fd, NUL_PATH);
	else if (session_list_dir(&d->s, jv_string_value(path), &entries, &err) < 0)
		reply_error(fd, err.msg);
	else
		reply(fd, sessionmsg_entries(entries));
	jv_free(path);
	return true;
}

/* meta.json as it is on disk (what every other reader sees) */
static bool op_show(struct daemon *d, int fd, jv doc)
{
	isol8_buf m = {0};
	isol8_err err = {0};
	if (read_file(d->meta, 1 << 16, &m, &err) == 0)
		(void)write_all(fd, m.data, m.len);
	isol8_buf_free(&m);
	return true;
}

static bool op_delete(struct daemon *d, int fd, jv doc)
{
	reply_ok(fd);
	return false;
}

/* indexed by session_opcode (wire/sessionmsg.h) */
static bool (*const ops[])(struct daemon *d, int fd, jv doc) = {
	[SESSION_OP_EXEC] = op_exec, [SESSION_OP_PUT] = op_put, [SESSION_OP_GET] = op_get,
	[SESSION_OP_SHOW] = op_show, [SESSION_OP_DELETE] = op_delete, [SESSION_OP_LIST] = op_list,
};

/* ---- one connection ---------------------------------------------------------------------- */

/* The request line, up to MAX_LINE: false (and *line freed) when the client sends more. */
static bool read_request(int fd, isol8_buf *line)
{
	char tmp[65536];
	while (!memchr(line->data ? (char *)line->data : "", '\n', line->len)) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n <= 0)
			break;
		if (line->len + (size_t)n > MAX_LINE) {
			isol8_buf_free(line);
			return false;
		}
		buf_append(line, tmp, (size_t)n);
	}
	return true;
}

/* false when the session should end */
static bool serve(struct daemon *d, int fd)
{
	/* a client that connects and never sends must not block the session for long */
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	isol8_buf line = {0};
	if (!read_request(fd, &line)) {
		reply_error(fd, "request too large");
		return true;
	}
	jv doc = jv_parse_sized(line.data ? (const char *)line.data : "", (int)line.len);
	isol8_buf_free(&line);
	session_opcode op = sessionmsg_op_of(doc);
	d->last_ms = now_real_ms();
	bool keep = true;
	if (!jv_is_valid(doc))
		reply_error(fd, "malformed request (one JSON object per line)");
	else if (op == SESSION_OP_BAD)
		reply_error(fd, "unknown op (" SESSIONMSG_OPS ")");
	else
		keep = ops[op](d, fd, doc);
	jv_free(doc);
	write_meta(d);
	return keep;
}

/* ---- the process -------------------------------------------------------------------------- */

static void teardown(struct daemon *d)
{
	session_close(&d->s);
	unlink(d->sock);
	unlink(d->meta);
	rmdir(d->dir);
}

static void daemon_loop(struct daemon *d, int lfd)
{
	int sfd = signalfd_for(SIGTERM, SIGINT, SIGHUP, 0);
	d->s.cancel_fd = sfd; /* a stop signal ends a running exec, then this loop */
	for (;;) {
		uint64_t now = now_real_ms(), until = d->last_ms + d->idle_ms;
		if (now >= until)
			break; /* idle too long: the session expires itself */
		struct pollfd p[2] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}};
		uint64_t wait = until - now;
		if (poll(p, 2, wait > 3600000 ? 3600000 : (int)wait) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			bool keep = serve(d, c);
			close(c);
			if (!keep)
				break;
		}
	}
	close(lfd);
	teardown(d);
}

static void detach(void)
{
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	signal(SIGPIPE, SIG_IGN);
}

/* Keeps 0-2 and ready (moved to 3) and closes every other fd the creator had: a supervisor that
 * outlives its creator must not hold the creator's pipes open (isol8-mcp reads a worker's pipe
 * until its end, which would then never come). */
static int keep_only(int ready)
{
	if (ready != 3) {
		dup3(ready, 3, O_CLOEXEC);
		ready = 3;
	}
	close_range(4, ~0u, 0);
	return ready;
}

/* The forked supervisor. ready gets one NUL byte once it serves, or the reason it cannot. */
static __attribute__((noreturn)) void supervise(const isol8_session_spec *spec, char *dir, int ready)
{
	detach();
	ready = keep_only(ready);
	struct daemon d = {.dir = dir, .idle_ms = spec->idle_ms, .cfg = *spec->cfg};
	snprintf(d.id, sizeof d.id, "%s", spec->id);
	d.sock = session_path(spec->id, ISOL8_SESSION_SOCKET);
	d.meta = session_path(spec->id, ISOL8_SESSION_META);
	d.created_ms = d.last_ms = now_real_ms();
	isol8_err err = {0};
	unlink(d.sock);
	int lfd = unix_listen(d.sock);
	if (lfd < 0) {
		dprintf(ready, "cannot listen on %s: %s", d.sock, strerror(errno));
		rmdir(dir);
		_exit(1);
	}
	if (session_open(&d.s, spec->runtime, spec->opt, spec->image, &err) < 0) {
		(void)write_all(ready, err.msg, strlen(err.msg));
		unlink(d.sock);
		rmdir(dir);
		_exit(1);
	}
	write_meta(&d);
	(void)write_all(ready, "", 1);
	close(ready);
	daemon_loop(&d, lfd);
	_exit(0);
}

/* sessions/ and sessions/<id>/ (0700: the socket in it is the session's key); *dir malloc'd */
static int make_session_dir(const char *id, char **dir, isol8_err *err)
{
	char *sessions = rundir_sessions(NULL);
	if (mkdir_p(sessions, 0700) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "cannot create %s: %s (set ISOL8_RUN_DIR)", sessions, strerror(errno));
		free(sessions);
		return -1;
	}
	free(sessions);
	*dir = session_path(id, NULL);
	if (mkdir(*dir, 0700) < 0 && errno != EEXIST) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create %s", *dir);
		free(*dir);
		return -1;
	}
	return 0;
}

/* What the supervisor reported on its ready pipe: 0 when it serves, -1 with its reason. */
static int wait_ready(int fd, isol8_err *err)
{
	char msg[sizeof err->msg] = "";
	ssize_t n = read(fd, msg, sizeof msg - 1);
	if (n <= 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the session supervisor exited during setup");
	msg[n] = 0;
	if (msg[0])
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s", msg);
	return 0;
}

int session_daemon_start(const isol8_session_spec *spec, isol8_err *err)
{
	if (!session_id_valid(spec->id, 64))
		return isol8_input_error(err, "session ids are 1-64 letters, digits, '-', '_' or '.', got \"%s\"", spec->id);
	char *dir;
	if (make_session_dir(spec->id, &dir, err) < 0)
		return -1;
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		free(dir);
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "pipe");
	}
	fflush(NULL); /* nothing buffered may be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		free(dir);
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "fork");
	}
	if (pid == 0) {
		close(ready[0]);
		supervise(spec, dir, ready[1]);
	}
	close(ready[1]);
	int rc = wait_ready(ready[0], err);
	close(ready[0]);
	free(dir);
	return rc;
}
