/* isol8-session — persistent sessions (see isol8-session(1)).
 *
 * `create` forks one supervisor per session. It owns the session's sandbox (which dies with it:
 * PDEATHSIG), listens on $RUN_DIR/sessions/<id>/ctl.sock (mode 0600), keeps meta.json current,
 * serves one client at a time — so concurrent execs run one after the other, never interleaved —
 * and expires itself after the idle timeout. Protocol: one JSON request line per connection;
 * exec answers with event lines ending in {"type":"result",…}, the others with one line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/events.h"
#include "isol8.h"
#include "core/json.h"
#include "run/session.h"
#include "core/cli.h"
#include "run/client.h"
#include "core/util.h"

#define MAX_LINE (96u << 20) /* a request with a 64 MiB file, base64-encoded */

static const char usage[] =
	"Usage: isol8-session <command> [options]\n"
	"\n"
	"  create -r RUNTIME [--id NAME] [limits]   start a session; prints {\"id\":…,\"runtime\":…}\n"
	"  exec ID [-e CODE | --cmd LINE | FILE | code on stdin] [--stdin DATA] [--timeout MS]\n"
	"          [--max-output BYTES] [--json | --events | --no-stream] [--create -r RUNTIME [limits]]\n"
	"  put ID PATH [SRC|-]                       copy a file into /sandbox or /tmp of the session\n"
	"  get ID PATH                               write a session file to stdout\n"
	"  list [--json]                             sessions of this run dir\n"
	"  list|stop [ID] --host URL [--key K] [--json]  the same on an isol8-serve (key: or ISOL8_API_KEY)\n"
	"  show ID                                   the session's meta.json\n"
	"  delete ID                                 stop it and remove everything it owned\n"
	"\n"
	"Limits (create): --memory SIZE --cpu CORES --pids-limit N --sandbox-size SIZE --tmp-size SIZE\n"
	"  --net none|host --secret KEY=VALUE --timeout MS --max-output BYTES --image DIR --writable\n"
	"  --idle-timeout MS (default: config cleanup.maxContainerAgeMs, 3600000)\n"
	"  --options FILE|-  the limits as an Isol8Options JSON object (secrets stay out of argv)\n";

static void check_id(const char *id)
{
	if (!session_id_valid(id, 64))
		isol8_die("session ids are 1-64 letters, digits, '-', '_' or '.', got \"%s\"", id);
}

static char *sess_path(const char *id, const char *file)
{
	check_id(id);
	return session_path(id, file);
}

/* ---- client side ------------------------------------------------------------------------ */

static int connect_to(const char *id)
{
	char *sock = sess_path(id, "ctl.sock");
	int fd = unix_connect(sock);
	if (fd < 0 && errno == ENAMETOOLONG)
		isol8_die("run dir path too long for a socket: %s", sock);
	free(sock);
	return fd;
}

static FILE *request(const char *id, jv req)
{
	check_id(id);
	int fd = session_send(id, req);
	if (fd < 0 && errno == ENAMETOOLONG)
		isol8_die("run dir path too long for a socket: %s", isol8_run_dir());
	return fd < 0 ? NULL : fdopen(fd, "r");
}

/* One request, one reply line; dies with the server's error. */
static jv call(const char *id, jv req)
{
	FILE *f = request(id, req);
	if (!f)
		isol8_die("no session \"%s\" (see isol8-session list)", id);
	jv v = json_read_line(f);
	fclose(f);
	jv e = json_get(v, "error");
	if (jv_get_kind(e) == JV_KIND_STRING)
		isol8_die("%s", jv_string_value(e));
	jv_free(e);
	if (!jv_is_valid(v))
		isol8_die("session %s closed the connection", id);
	return v;
}

/* ---- supervisor (daemon) ---------------------------------------------------------------- */

struct daemon {
	isol8_session s;
	char id[72];
	char *dir, *sock, *meta;
	uint64_t idle_ms, created_ms, last_ms;
	bool busy;         /* an exec is running (isol8-serve's isActive) */
	isol8_config cfg;
};

static void write_meta(struct daemon *d)
{
	char boot[64], created[32], last[32];
	boot_id(boot);
	time_t c = (time_t)(d->created_ms / 1000), l = (time_t)(d->last_ms / 1000);
	struct tm tc, tl;
	gmtime_r(&c, &tc);
	gmtime_r(&l, &tl);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tc);
	strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%SZ", &tl);
	char *t = xasprintf("{\"id\":\"%s\",\"runtime\":\"%s\",\"created\":\"%s\",\"lastUsed\":\"%s\",\"lastUsedMs\":%llu,"
			    "\"idleTimeoutMs\":%llu,\"execs\":%d,\"daemon\":%d,\"daemonStartTime\":%llu,\"bootId\":\"%s\","
			    "\"sandbox\":\"%s\",\"sandboxPid\":%d,\"busy\":%s}\n",
			    d->id, d->s.runtime, created, last, (unsigned long long)d->last_ms,
			    (unsigned long long)d->idle_ms, d->s.execs, getpid(), proc_start_time(getpid()), boot, d->s.sb.id,
			    d->s.sb.pid, d->busy ? "true" : "false");
	char *tmp = xasprintf("%s.tmp", d->meta);
	if (write_file(tmp, t, 0600) == 0)
		rename(tmp, d->meta);
	free(tmp);
	free(t);
}

/* a path cut at a NUL byte would name another file: refused (json_string_has_nul) */
#define NUL_PATH "the path contains a NUL byte; remove it"

static void reply_error(int fd, const char *msg)
{
	jv v = jv_object_set(jv_object(), jv_string("error"), jv_string(msg));
	json_write_line(fd, v);
	jv_free(v);
}

static void do_exec(struct daemon *d, int fd, jv doc)
{
	isol8_request r;
	isol8_options scratch;
	isol8_err err = {0};
	request_init(&r);
	options_from_config(&scratch, &d->cfg, &err);
	scratch.timeout_ms = d->s.opt.timeout_ms;
	scratch.max_output = d->s.opt.max_output;
	jv body = jv_object_set(jv_object(), jv_string("request"), json_get(doc, "request"));
	jv opts = json_get(doc, "options");
	if (jv_get_kind(opts) == JV_KIND_OBJECT)
		body = jv_object_set(body, jv_string("options"), opts);
	else
		jv_free(opts);
	int rc = request_from_json(body, &r, &scratch, &d->cfg, &err);
	if (rc == 0 && !r.runtime)
		r.runtime = xstrdup(d->s.runtime);
	if (rc == 0)
		rc = request_validate(&r, &scratch, &err);
	isol8_result res;
	bool restarted = false;
	isol8_evwriter w = {.fd = fd};
	if (rc == 0)
		rc = session_exec(&d->s, &r, &scratch, evw_event, &w, &res, &restarted, &err);
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
	request_free(&r);
	options_free(&scratch);
}

/* false when the session should end */
static bool serve(struct daemon *d, int fd)
{
	/* a client that connects and never sends must not block the session for long */
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	isol8_buf line = {0};
	char tmp[65536];
	while (!memchr(line.data ? (char *)line.data : "", '\n', line.len)) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n <= 0)
			break;
		if (line.len + (size_t)n > MAX_LINE) {
			reply_error(fd, "request too large");
			buf_free(&line);
			return true;
		}
		buf_append(&line, tmp, (size_t)n);
	}
	jv doc = jv_parse_sized(line.data ? (const char *)line.data : "", (int)line.len);
	buf_free(&line);
	bool keep = true;
	jv op = json_get(doc, "op");
	const char *o = jv_get_kind(op) == JV_KIND_STRING ? jv_string_value(op) : "";
	d->last_ms = now_real_ms();
	isol8_err err = {0};
	if (!jv_is_valid(doc)) {
		reply_error(fd, "malformed request (one JSON object per line)");
	} else if (!strcmp(o, "exec")) {
		d->busy = true;
		write_meta(d);
		do_exec(d, fd, jv_copy(doc));
		d->busy = false;
	} else if (!strcmp(o, "put")) {
		jv path = json_get(doc, "path"), content = json_get(doc, "content");
		isol8_buf data = {0};
		if (jv_get_kind(path) != JV_KIND_STRING || jv_get_kind(content) != JV_KIND_STRING ||
		    base64_decode(jv_string_value(content), (size_t)jv_string_length_bytes(jv_copy(content)), &data) < 0)
			reply_error(fd, "put needs \"path\" and base64 \"content\"");
		else if (json_string_has_nul(path))
			reply_error(fd, NUL_PATH);
		else if (session_put(&d->s, jv_string_value(path), data.data ? data.data : (unsigned char *)"", data.len, &err) < 0)
			reply_error(fd, err.msg);
		else
			(void)write_all(fd, "{\"ok\":true}\n", 12);
		buf_free(&data);
		jv_free(path);
		jv_free(content);
	} else if (!strcmp(o, "get")) {
		jv path = json_get(doc, "path");
		isol8_buf data = {0};
		if (jv_get_kind(path) != JV_KIND_STRING)
			reply_error(fd, "get needs \"path\"");
		else if (json_string_has_nul(path))
			reply_error(fd, NUL_PATH);
		else if (session_get(&d->s, jv_string_value(path), &data, &err) < 0)
			reply_error(fd, err.msg);
		else {
			char *b = base64_encode(data.data ? data.data : (unsigned char *)"", data.len, NULL);
			jv v = jv_object_set(jv_object(), jv_string("content"), jv_string(b));
			json_write_line(fd, v);
			jv_free(v);
			free(b);
		}
		buf_free(&data);
		jv_free(path);
	} else if (!strcmp(o, "show")) {
		isol8_buf m = {0};
		if (read_file(d->meta, 1 << 16, &m, &err) == 0)
			(void)write_all(fd, m.data, m.len);
		buf_free(&m);
	} else if (!strcmp(o, "delete")) {
		(void)write_all(fd, "{\"ok\":true}\n", 12);
		keep = false;
	} else {
		reply_error(fd, "unknown op (exec, put, get, show, delete)");
	}
	jv_free(op);
	jv_free(doc);
	write_meta(d);
	return keep;
}

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

/* ---- create ------------------------------------------------------------------------------ */

struct limits {
	const char *runtime, *id;
	char gen_id[16]; /* "s-" + 12 hex when --id is not given; outlives create_session */
	isol8_options opt;
	long long idle_ms;
};

/* --options FILE|-: the limits as an Isol8Options JSON object (how isol8-serve passes a
 * client's options: secrets must not travel in argv, which every local user can read). */
static void options_from_file(struct limits *l, const char *path)
{
	isol8_buf b = {0};
	isol8_err err = {0};
	int rc = !strcmp(path, "-") ? read_fd_all(0, 1 << 20, &b, &err) : read_file(path, 1 << 20, &b, &err);
	if (rc < 0)
		isol8_die("--options: %s", err.msg);
	/* An inherited descriptor (isol8 run --persistent passes its secrets in a memfd) is closed
	 * once read: the supervisor forked next, and every process it starts, would keep it open
	 * for the session's life — a readable copy of the secrets. */
	int fd, end = 0;
	if ((sscanf(path, "/proc/self/fd/%d%n", &fd, &end) == 1 || sscanf(path, "/dev/fd/%d%n", &fd, &end) == 1) &&
	    path[end] == 0 && fd > 2)
		close(fd);
	jv o;
	if (json_parse(b.data ? (const char *)b.data : "", b.len, "--options", &o, &err) < 0)
		isol8_die("%s", err.msg);
	buf_free(&b);
	isol8_config cfg;
	if (config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	isol8_request scratch;
	request_init(&scratch);
	jv doc = jv_object_set(jv_object_set(jv_object(), jv_string("request"), jv_object()), jv_string("options"), o);
	if (request_from_json(doc, &scratch, &l->opt, &cfg, &err) < 0)
		isol8_die("%s", err.msg);
	request_free(&scratch);
	config_free(&cfg);
}

/* Threat: /proc/PID/cmdline is readable by every local user, and the supervisor forked by
 * create keeps this process's argv for the session's life. A secret's value is blanked in
 * place as soon as it is copied, before the fork, so neither process shows it afterwards
 * (the short window between exec and here is why --options - is the way to keep a secret off
 * argv entirely). v points into argv. */
static void hide_from_cmdline(char *v)
{
	memset(v, 0, strlen(v));
}

static void parse_limit(struct limits *l, const char *flag, const char *v)
{
	long long ll;
	double d;
	if (!strcmp(flag, "memory") && parse_size(v, &l->opt.memory_limit) < 0)
		isol8_die("Invalid memory limit format: \"%s\". Use e.g. \"512m\", \"1g\".", v);
	else if (!strcmp(flag, "sandbox-size") && parse_size(v, &l->opt.sandbox_size) < 0)
		isol8_die("Invalid --sandbox-size \"%s\"", v);
	else if (!strcmp(flag, "tmp-size") && parse_size(v, &l->opt.tmp_size) < 0)
		isol8_die("Invalid --tmp-size \"%s\"", v);
	else if (!strcmp(flag, "cpu")) {
		if (parse_double(v, 0.01, 1024, &d) < 0)
			isol8_die("--cpu must be a number of cores, got \"%s\"", v);
		l->opt.cpu_limit = d;
	} else if (!strcmp(flag, "pids-limit")) {
		if (parse_ll(v, 1, 1 << 22, &ll) < 0)
			isol8_die("--pids-limit must be a whole number from 1, got \"%s\"", v);
		l->opt.pids_limit = ll;
	} else if (!strcmp(flag, "timeout")) {
		if (parse_ll(v, 1, 86400000, &ll) < 0)
			isol8_die("--timeout must be a number of milliseconds, got \"%s\"", v);
		l->opt.timeout_ms = ll;
	} else if (!strcmp(flag, "max-output")) {
		if (parse_ll(v, 1, 1ll << 34, &ll) < 0)
			isol8_die("--max-output must be a number of bytes, got \"%s\"", v);
		l->opt.max_output = (uint64_t)ll;
	} else if (!strcmp(flag, "idle-timeout")) {
		if (parse_ll(v, 1, 1ll << 40, &ll) < 0)
			isol8_die("--idle-timeout must be a number of milliseconds, got \"%s\"", v);
		l->idle_ms = ll;
	} else if (!strcmp(flag, "net")) {
		if (!strcmp(v, "none"))
			l->opt.network = ISOL8_NET_NONE;
		else if (!strcmp(v, "host"))
			l->opt.network = ISOL8_NET_HOST;
		else
			isol8_die("--net must be none or host for sessions, got \"%s\"", v);
	} else if (!strcmp(flag, "secret")) {
		const char *eq = strchr(v, '=');
		if (!eq || eq == v)
			isol8_die("--secret must be KEY=VALUE, got \"%s\"", v);
		char *k = xstrndup(v, (size_t)(eq - v));
		kv_add(&l->opt.secrets, &l->opt.nsecrets, k, eq + 1);
		free(k);
		hide_from_cmdline((char *)eq + 1);
	} else if (!strcmp(flag, "image")) {
		struct stat st;
		char real[PATH_MAX];
		if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
			isol8_die("--image must name a root filesystem directory: %s", v);
		free(l->opt.image);
		l->opt.image = xstrdup(realpath(v, real) ? real : v);
	} else if (!strcmp(flag, "writable")) {
		l->opt.writable = true;
	} else if (!strcmp(flag, "options")) {
		options_from_file(l, v);
	} else if (!strcmp(flag, "runtime")) {
		l->runtime = v;
	} else if (!strcmp(flag, "id")) {
		l->id = v;
	}
}

static bool session_alive(const char *id)
{
	int fd = connect_to(id);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Forks the supervisor; returns once it listens (or says why it could not). */
static void create_session(struct limits *l, isol8_config *cfg)
{
	if (!l->runtime)
		isol8_die("create needs --runtime (python, node, bun, deno, bash)");
	if (!runtime_get(l->runtime))
		isol8_die("Unknown runtime: \"%s\". Available: %s", l->runtime, runtime_names());
	isol8_err err = {0};
	if (options_validate(&l->opt, &err) < 0)
		isol8_die("%s", err.msg);
	if (!l->id) {
		memcpy(l->gen_id, "s-", 2);
		random_hex(l->gen_id + 2, 6);
		l->id = l->gen_id;
	}
	char *dir = sess_path(l->id, NULL);
	if (session_alive(l->id))
		isol8_die("session \"%s\" already exists", l->id);
	char *sessions = xasprintf("%s/sessions", isol8_run_dir());
	if (mkdir_p(sessions, 0700) < 0)
		isol8_die("cannot create %s: %s (set ISOL8_RUN_DIR)", sessions, strerror(errno));
	free(sessions);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		isol8_die("cannot create %s: %s", dir, strerror(errno));
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		isol8_die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		isol8_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		signal(SIGPIPE, SIG_IGN);
		struct daemon d = {.dir = dir, .idle_ms = (uint64_t)l->idle_ms, .cfg = *cfg};
		snprintf(d.id, sizeof d.id, "%s", l->id);
		d.sock = sess_path(l->id, "ctl.sock");
		d.meta = sess_path(l->id, "meta.json");
		d.created_ms = d.last_ms = now_real_ms();
		isol8_err err = {0};
		unlink(d.sock);
		int lfd = unix_listen(d.sock);
		if (lfd < 0) {
			dprintf(ready[1], "cannot listen on %s: %s", d.sock, strerror(errno));
			rmdir(dir);
			_exit(1);
		}
		if (session_open(&d.s, l->runtime, &l->opt, &err) < 0) {
			(void)write_all(ready[1], err.msg, strlen(err.msg));
			unlink(d.sock);
			rmdir(dir);
			_exit(1);
		}
		write_meta(&d);
		(void)write_all(ready[1], "", 1);
		close(ready[1]);
		daemon_loop(&d, lfd);
		_exit(0);
	}
	close(ready[1]);
	char msg[1100] = "";
	ssize_t n = read(ready[0], msg, sizeof msg - 1);
	close(ready[0]);
	if (n <= 0)
		isol8_die("the session supervisor exited during setup");
	msg[n] = 0;
	if (msg[0])
		isol8_die("%s", msg);
	free(dir);
}

/* ---- exec output (the same modes as isol8 run) -------------------------------------------- */

enum mode { M_STREAM, M_BUFFERED, M_JSON, M_EVENTS };

static int show_exec(FILE *f, enum mode mode)
{
	int code = 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool got_result = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (mode == M_EVENTS)
			fwrite(line, 1, (size_t)n, stdout);
		jv v = jv_parse_sized(line, (int)n);
		jv type = json_get(v, "type"), data = json_get(v, "data"), enc = json_get(v, "encoding"), e = json_get(v, "error");
		const char *t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
		if (jv_get_kind(e) == JV_KIND_STRING) {
			fflush(stdout);
			fprintf(stderr, "[ERR] %s\n", jv_string_value(e));
			code = 1;
		} else if (mode == M_STREAM && (!strcmp(t, "stdout") || !strcmp(t, "stderr"))) {
			isol8_buf b = {0};
			if (jv_get_kind(enc) == JV_KIND_STRING)
				base64_decode(jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)), &b);
			else
				buf_append(&b, jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)));
			(void)write_all(!strcmp(t, "stdout") ? 1 : 2, b.data, b.len);
			buf_free(&b);
		} else if (mode == M_STREAM && !strcmp(t, "error")) {
			fprintf(stderr, "[ERR] %s\n", jv_string_value(data));
		} else if (!strcmp(t, "result")) {
			got_result = true;
			jv ec = json_get(data, "exitCode");
			code = jv_get_kind(ec) == JV_KIND_NUMBER ? (int)jv_number_value(ec) : 1;
			jv_free(ec);
			if (mode == M_JSON) {
				json_write_line(1, data);
			} else if (mode == M_BUFFERED) {
				jv o = json_get(data, "stdout"), er = json_get(data, "stderr"), tr = json_get(data, "truncated");
				if (jv_string_length_bytes(jv_copy(o)))
					printf("%s\n", jv_string_value(o));
				fflush(stdout);
				if (jv_string_length_bytes(jv_copy(er)))
					fprintf(stderr, "%s\n", jv_string_value(er));
				if (jv_get_kind(tr) == JV_KIND_TRUE)
					fputs("[WARN] Output was truncated\n", stderr);
				jv_free(o);
				jv_free(er);
				jv_free(tr);
			}
		}
		jv_free(type);
		jv_free(data);
		jv_free(enc);
		jv_free(e);
		jv_free(v);
	}
	free(line);
	if (!got_result && code != 1)
		code = 1;
	return code;
}

static char *slurp_fd(int fd, const char *what)
{
	isol8_buf b = {0};
	isol8_err err = {0};
	if (read_fd_all(fd, ISOL8_MAX_REQUEST_BYTES, &b, &err) < 0)
		isol8_die("%s: %s", what, err.msg);
	buf_append(&b, "", 0);
	return (char *)b.data;
}

static int cmd_exec(int argc, char **argv, isol8_config *cfg)
{
	static const struct option lo[] = {
		{"eval", required_argument, 0, 'e'}, {"runtime", required_argument, 0, 'r'},
		{"cmd", required_argument, 0, 'c'}, {"stdin", required_argument, 0, 'i'},
		{"json", no_argument, 0, 'j'}, {"events", no_argument, 0, 'v'}, {"no-stream", no_argument, 0, 'n'},
		{"create", no_argument, 0, 'C'}, {"timeout", required_argument, 0, 't'},
		{"max-output", required_argument, 0, 'm'}, {"memory", required_argument, 0, 1},
		{"cpu", required_argument, 0, 1}, {"pids-limit", required_argument, 0, 1},
		{"sandbox-size", required_argument, 0, 1}, {"tmp-size", required_argument, 0, 1},
		{"net", required_argument, 0, 1}, {"secret", required_argument, 0, 1}, {"image", required_argument, 0, 1},
		{"writable", no_argument, 0, 1}, {"idle-timeout", required_argument, 0, 1},
		{"options", required_argument, 0, 1}, {0, 0, 0, 0},
	};
	const char *code = NULL, *cmd = NULL, *runtime = NULL, *stdin_data = NULL;
	long long timeout = 0, maxout = 0;
	bool create = false;
	enum mode mode = M_STREAM;
	struct limits l = {.idle_ms = (long long)config_num(cfg, "cleanup.maxContainerAgeMs", 3600000)};
	isol8_err err = {0};
	options_from_config(&l.opt, cfg, &err);
	int c, li;
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:r:", lo, &li)) != -1) {
		switch (c) {
		case 'e': code = optarg; break;
		case 'r': runtime = optarg; l.runtime = optarg; break;
		case 'c': cmd = optarg; break;
		case 'i': stdin_data = optarg; break;
		case 'j': mode = M_JSON; break;
		case 'v': mode = M_EVENTS; break;
		case 'n': mode = M_BUFFERED; break;
		case 'C': create = true; break;
		case 't':
			if (parse_ll(optarg, 1, 86400000, &timeout) < 0)
				isol8_die("--timeout must be a number of milliseconds, got \"%s\"", optarg);
			break;
		case 'm':
			if (parse_ll(optarg, 1, 1ll << 34, &maxout) < 0)
				isol8_die("--max-output must be a number of bytes, got \"%s\"", optarg);
			break;
		case 1: parse_limit(&l, lo[li].name, optarg ? optarg : ""); break;
		default: isol8_die("unknown option (see isol8-session --help)");
		}
	}
	if (optind >= argc)
		isol8_die("exec needs a session id (see isol8-session --help)");
	const char *id = argv[optind++];
	const char *file = optind < argc ? argv[optind] : NULL;
	if (cmd && (code || file))
		isol8_die("--cmd cannot be combined with file input or --eval.");
	char *text = NULL;
	if (file && !code && !cmd) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			isol8_die("File not found: %s", file);
		text = slurp_fd(fd, file);
		close(fd);
		code = text;
	} else if (!code && !cmd) {
		if (isatty(0))
			isol8_die("no code given: -e CODE, --cmd LINE, a file, or code on stdin");
		text = slurp_fd(0, "stdin");
		code = text;
	}
	if (create && !session_alive(id)) {
		l.id = id;
		if (timeout)
			l.opt.timeout_ms = timeout;
		create_session(&l, cfg);
	}
	jv req = jv_object();
	if (runtime)
		req = jv_object_set(req, jv_string("runtime"), jv_string(runtime));
	if (cmd)
		req = jv_object_set(req, jv_string("cmd"), jv_string(cmd));
	else
		req = jv_object_set(req, jv_string("code"), jv_string(code));
	if (stdin_data)
		req = jv_object_set(req, jv_string("stdin"), jv_string(stdin_data));
	jv opts = jv_object();
	if (timeout)
		opts = jv_object_set(opts, jv_string("timeoutMs"), jv_number((double)timeout));
	if (maxout)
		opts = jv_object_set(opts, jv_string("maxOutputSize"), jv_number((double)maxout));
	jv doc = jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("exec")),
					     jv_string("request"), req), jv_string("options"), opts);
	FILE *f = request(id, doc);
	if (!f)
		isol8_die("no session \"%s\" (create it with isol8-session create, or pass --create -r RUNTIME)", id);
	signal(SIGPIPE, SIG_IGN);
	int rc = show_exec(f, mode);
	fclose(f);
	free(text);
	options_free(&l.opt);
	return rc;
}

/* Stops the session (see session_stop_supervisor); an id that names no session is not an
 * error (deleting is idempotent). */
static void stop_session(const char *id)
{
	check_id(id);
	int r = session_stop_supervisor(id);
	if (r == -2)
		isol8_die("session \"%s\" has no running supervisor; run isol8-cleanup to remove it", id);
	if (r < 0)
		isol8_die("session \"%s\" did not stop within 10 s; run isol8-cleanup", id);
}

/* The reference's session list (consumes all): --json as is, else "[INFO] No active sessions."
 * or a header and one line per session. */
static void print_sessions(jv all, bool as_json, void (*line)(jv s))
{
	if (as_json) {
		json_write_line(1, all);
	} else if (jv_array_length(jv_copy(all)) == 0) {
		puts("[INFO] No active sessions.");
	} else {
		printf("\n  %d active session(s):\n\n", jv_array_length(jv_copy(all)));
		jv_array_foreach(all, i, v) {
			(void)i;
			line(v);
			jv_free(v);
		}
	}
	jv_free(all);
}

static const char *str_or(jv v, const char *fallback)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : fallback;
}

/* the reference's line, plus the runtime at the end */
static void local_line(jv v)
{
	jv id = json_get(v, "id"), rt = json_get(v, "runtime"), last = json_get(v, "lastUsed");
	printf("  %s  [%s]  last accessed: %s  (%s)\n", str_or(id, "?"),
	       json_get_bool(v, "alive") ? "idle" : "gone: run isol8-cleanup", str_or(last, "?"), str_or(rt, "?"));
	jv_free(id);
	jv_free(rt);
	jv_free(last);
}

static void remote_line(jv v)
{
	jv id = json_get(v, "id"), last = json_get(v, "lastAccessedAt");
	printf("  %s  [%s]  last accessed: %s\n", str_or(id, "?"), json_get_bool(v, "isActive") ? "running" : "idle",
	       str_or(last, "?"));
	jv_free(id);
	jv_free(last);
}

static int cmd_list(bool as_json)
{
	char *dir = xasprintf("%s/sessions", isol8_run_dir());
	DIR *d = opendir(dir);
	jv all = jv_array();
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !session_id_valid(e->d_name, 64))
			continue;
		char *meta = xasprintf("%s/%s/meta.json", dir, e->d_name);
		isol8_buf b = {0};
		isol8_err err = {0};
		if (read_file(meta, 1 << 16, &b, &err) == 0) {
			jv v = jv_parse_sized((const char *)b.data, (int)b.len);
			if (jv_get_kind(v) == JV_KIND_OBJECT) {
				v = jv_object_set(v, jv_string("alive"), jv_bool(session_alive(e->d_name)));
				all = jv_array_append(all, v);
			} else {
				jv_free(v);
			}
		}
		buf_free(&b);
		free(meta);
	}
	if (d)
		closedir(d);
	free(dir);
	print_sessions(all, as_json, local_line);
	return 0;
}

/* `list|stop --host URL [--key K] [--json]`: the same commands against an isol8-serve. */
static int remote_cmd(int argc, char **argv)
{
	const char *host = NULL, *key = getenv("ISOL8_API_KEY"), *id = NULL;
	bool as_json = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--host") && i + 1 < argc)
			host = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			isol8_die("unknown option \"%s\" (see isol8-session --help)", argv[i]);
	}
	if (!key || !*key)
		isol8_die("API key required. Use --key or ISOL8_API_KEY env var.");
	isol8_err err = {0};
	if (strcmp(argv[1], "list")) {
		if (!id)
			isol8_die("%s needs a session id", argv[1]);
		if (isol8_remote_delete_session(host, key, id, &err) < 0)
			isol8_die("%s", err.msg);
		printf("[OK] Session \"%s\" destroyed.\n", id);
		return 0;
	}
	jv all;
	if (isol8_remote_sessions(host, key, &all, &err) < 0)
		isol8_die("%s", err.msg);
	print_sessions(all, as_json, remote_line);
	return 0;
}

static bool has_host_flag(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--host"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	isol8_config cfg;
	isol8_err err = {0};
	if (config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	const char *cmd = argv[1];
	int rc = 0;
	if ((!strcmp(cmd, "list") || !strcmp(cmd, "stop") || !strcmp(cmd, "delete")) && has_host_flag(argc, argv)) {
		config_free(&cfg);
		return remote_cmd(argc, argv);
	}
	if (!strcmp(cmd, "create")) {
		static const struct option lo[] = {
			{"runtime", required_argument, 0, 'r'}, {"id", required_argument, 0, 1},
			{"memory", required_argument, 0, 1}, {"cpu", required_argument, 0, 1},
			{"pids-limit", required_argument, 0, 1}, {"sandbox-size", required_argument, 0, 1},
			{"tmp-size", required_argument, 0, 1}, {"net", required_argument, 0, 1},
			{"secret", required_argument, 0, 1}, {"timeout", required_argument, 0, 1},
			{"max-output", required_argument, 0, 1}, {"image", required_argument, 0, 1},
			{"writable", no_argument, 0, 1}, {"idle-timeout", required_argument, 0, 1},
			{"options", required_argument, 0, 1}, {0, 0, 0, 0},
		};
		struct limits l = {.idle_ms = (long long)config_num(&cfg, "cleanup.maxContainerAgeMs", 3600000)};
		options_from_config(&l.opt, &cfg, &err);
		int c, li;
		optind = 2;
		while ((c = getopt_long(argc, argv, "r:", lo, &li)) != -1) {
			if (c == 'r')
				l.runtime = optarg;
			else if (c == 1)
				parse_limit(&l, lo[li].name, optarg ? optarg : "");
			else
				isol8_die("unknown option (see isol8-session --help)");
		}
		create_session(&l, &cfg);
		printf("{\"id\":\"%s\",\"runtime\":\"%s\"}\n", l.id, l.runtime);
		options_free(&l.opt);
	} else if (!strcmp(cmd, "exec")) {
		rc = cmd_exec(argc - 1, argv + 1, &cfg);
	} else if (!strcmp(cmd, "put") && (argc == 4 || argc == 5)) {
		int fd = argc == 5 && strcmp(argv[4], "-") ? open(argv[4], O_RDONLY | O_CLOEXEC) : 0;
		if (fd < 0)
			isol8_die("cannot read %s: %s", argv[4], strerror(errno));
		isol8_buf b = {0};
		if (read_fd_all(fd, 64u << 20, &b, &err) < 0)
			isol8_die("%s", err.msg);
		char *b64 = base64_encode(b.data ? b.data : (unsigned char *)"", b.len, NULL);
		jv r = call(argv[2], jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("put")),
							  jv_string("path"), jv_string(argv[3])),
					     jv_string("content"), jv_string(b64)));
		jv_free(r);
		free(b64);
		buf_free(&b);
	} else if (!strcmp(cmd, "get") && argc == 4) {
		jv r = call(argv[2], jv_object_set(jv_object_set(jv_object(), jv_string("op"), jv_string("get")),
						   jv_string("path"), jv_string(argv[3])));
		jv content = json_get(r, "content");
		isol8_buf b = {0};
		if (jv_get_kind(content) != JV_KIND_STRING ||
		    base64_decode(jv_string_value(content), (size_t)jv_string_length_bytes(jv_copy(content)), &b) < 0)
			isol8_die("bad reply from session %s", argv[2]);
		(void)write_all(1, b.data, b.len);
		buf_free(&b);
		jv_free(content);
		jv_free(r);
	} else if (!strcmp(cmd, "list")) {
		rc = cmd_list(argc > 2 && !strcmp(argv[2], "--json"));
	} else if (!strcmp(cmd, "show") && argc == 3) {
		jv r = call(argv[2], jv_object_set(jv_object(), jv_string("op"), jv_string("show")));
		json_write_line(1, r);
		jv_free(r);
	} else if ((!strcmp(cmd, "delete") || !strcmp(cmd, "stop")) && argc == 3) {
		stop_session(argv[2]);
		printf("[OK] Session \"%s\" destroyed.\n", argv[2]);
	} else {
		isol8_die("unknown or incomplete command \"%s\" (see isol8-session --help)", cmd);
	}
	config_free(&cfg);
	return rc;
}
