/* audit.c — the audit log (config audit.*): one JSON line per execution, the one module that
 * writes it.
 *
 *   {"executionId","userId","timestamp","runtime","codeHash","containerId","exitCode",
 *    "durationMs","status","source","network","tenantId"?,"keyId"?,"client"?,
 *    "error"? (status "failed": an execution that gave no result, and why; exitCode null),
 *    "resourceUsage"? (trackResources),"securityEvents"? (the proxy's refusals),"metadata"?,
 *    "outputs"? ([{type,width,height,bytes}] of a python run's figures: never their data, which
 *    can be megabytes and can show anything),"code"? (includeCode),"stdout"?,"stderr"? (includeOutput)}
 *
 * Destinations: "filesystem"/"file" (<logDir>/executions.log: O_APPEND, the whole line in one
 * write under an exclusive flock, so processes never interleave; 0600), "stdout" (one strict JSON
 * line), "syslog"/"journald" (a datagram to audit.syslogSocket, default /dev/log, ident isol8-audit). Secrets are masked in code and output
 * (output already is). An audit that cannot be written is the caller's to count: it never fails
 * the execution. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "isol8.h"
#include "core/json.h"
#include "core/sha256.h"
#include "core/util.h"
#include "run/mask.h"
#include "wire/options.h"
#include "wire/result.h"

#define POST_LOG_TIMEOUT_S 30

static jv masked(const isol8_options *o, const unsigned char *p, size_t n)
{
	const char **secrets = options_secret_values(o);
	size_t outlen;
	char *m = mask_string(secrets, o->nsecrets, p ? (const char *)p : "", p ? n : 0, &outlen);
	free(secrets);
	jv v = jv_string_sized(m, (int)outlen);
	free(m);
	return v;
}

/* A string member of e, masked (a refused request's host or path may carry a secret: code that
 * knows one can ask for http://SECRET.example/). */
static jv masked_member(const isol8_options *o, jv e, const char *key)
{
	jv v = json_get(e, key);
	if (jv_get_kind(v) != JV_KIND_STRING)
		return v;
	jv m = masked(o, (const unsigned char *)jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	jv_free(v);
	return m;
}

static jv security_events(const isol8_options *o, const isol8_result *res)
{
	jv out = jv_array();
	if (!res->security_events || jv_get_kind(*res->security_events) != JV_KIND_ARRAY)
		return out;
	jv_array_foreach(*res->security_events, i, e) {
		(void)i;
		jv ev = jv_object_set(jv_object(), jv_string("type"), jv_string("network_blocked"));
		ev = jv_object_set(ev, jv_string("message"), jv_string("Security event: network_blocked"));
		ev = jv_object_set(ev, jv_string("timestamp"), json_get(e, "timestamp"));
		jv d = jv_object_set(jv_object(), jv_string("method"), masked_member(o, e, "method"));
		d = jv_object_set(d, jv_string("host"), masked_member(o, e, "host"));
		d = jv_object_set(d, jv_string("path"), masked_member(o, e, "path"));
		d = jv_object_set(d, jv_string("reason"), masked_member(o, e, "reason"));
		out = jv_array_append(out, jv_object_set(ev, jv_string("details"), d));
		jv_free(e);
	}
	return out;
}

static const char *network_name(enum isol8_net n)
{
	return n == ISOL8_NET_NONE ? "none" : n == ISOL8_NET_HOST ? "host" : "filtered";
}

/* What figures a run gave, without their bytes. */
static jv outputs_summary(const isol8_result *res)
{
	jv l = jv_array();
	for (size_t i = 0; i < res->noutputs; i++) {
		const isol8_output *out = &res->outputs[i];
		jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(out->type));
		o = jv_object_set(o, jv_string("width"), jv_number(out->width));
		o = jv_object_set(o, jv_string("height"), jv_number(out->height));
		l = jv_array_append(l, jv_object_set(o, jv_string("bytes"), jv_number((double)out->len)));
	}
	return l;
}

/* The record of res, or (failure not NULL) of an execution that gave no result, and why. */
static jv record(const isol8_config *c, const isol8_request *req, const isol8_options *o, const isol8_result *res,
		 const isol8_audit_who *who, const char *failure)
{
	const char *code = req->cmd ? req->cmd : req->code ? req->code : "";
	char hash[65], started[32];
	sha256_hex(code, strlen(code), hash);
	uint64_t now = now_real_ms();
	iso8601_at(now > res->duration_ms ? now - res->duration_ms : now, started);
	const char *user = "";
	for (size_t i = 0; i < req->nmetadata; i++)
		if (!strcmp(req->metadata[i].key, "userId"))
			user = req->metadata[i].value;
	jv r = jv_object();
	r = jv_object_set(r, jv_string("executionId"), jv_string(res->execution_id));
	r = jv_object_set(r, jv_string("userId"), masked(o, (const unsigned char *)user, strlen(user)));
	r = jv_object_set(r, jv_string("timestamp"), jv_string(started));
	r = jv_object_set(r, jv_string("runtime"), jv_string(req->runtime ? req->runtime : res->runtime));
	r = jv_object_set(r, jv_string("codeHash"), jv_string(hash));
	r = jv_object_set(r, jv_string("containerId"), jv_string(res->sandbox_id));
	r = jv_object_set(r, jv_string("exitCode"), failure ? jv_null() : jv_number(res->exit_code));
	r = jv_object_set(r, jv_string("durationMs"), jv_number((double)res->duration_ms));
	r = jv_object_set(r, jv_string("status"), jv_string(res->status ? res->status : "internal"));
	r = jv_object_set(r, jv_string("source"), jv_string(who && who->source ? who->source : "library"));
	r = jv_object_set(r, jv_string("network"), jv_string(network_name(o->network)));
	if (who && who->tenant && *who->tenant)
		r = jv_object_set(r, jv_string("tenantId"), jv_string(who->tenant));
	if (who && who->key_id && *who->key_id)
		r = jv_object_set(r, jv_string("keyId"), jv_string(who->key_id));
	if (who && who->client && *who->client)
		r = jv_object_set(r, jv_string("client"), jv_string(who->client));
	if (failure) /* masked: a message may quote the request (a path, a URL with a token) */
		r = jv_object_set(r, jv_string("error"), masked(o, (const unsigned char *)failure, strlen(failure)));
	if (!failure && config_bool(c, "audit.trackResources", 1))
		r = jv_object_set(r, jv_string("resourceUsage"), result_resource_usage(res));
	jv ev = security_events(o, res);
	if (jv_array_length(jv_copy(ev)) > 0)
		r = jv_object_set(r, jv_string("securityEvents"), ev);
	else
		jv_free(ev);
	if (req->nmetadata) {
		jv m = jv_object();
		for (size_t i = 0; i < req->nmetadata; i++)
			m = jv_object_set(m, jv_string(req->metadata[i].key),
					  masked(o, (const unsigned char *)req->metadata[i].value, strlen(req->metadata[i].value)));
		r = jv_object_set(r, jv_string("metadata"), m);
	}
	if (res->noutputs)
		r = jv_object_set(r, jv_string("outputs"), outputs_summary(res));
	if (config_bool(c, "audit.includeCode", 0))
		r = jv_object_set(r, jv_string("code"), masked(o, (const unsigned char *)code, strlen(code)));
	if (!failure && config_bool(c, "audit.includeOutput", 0)) { /* masked already; masked again costs nothing */
		r = jv_object_set(r, jv_string("stdout"), masked(o, res->out.data, res->out.len));
		r = jv_object_set(r, jv_string("stderr"), masked(o, res->err.data, res->err.len));
	}
	return r;
}

static char *audit_dir(const isol8_config *c)
{
	const char *d = config_str(c, "audit.logDir", "");
	if (!*d)
		d = getenv("ISOL8_AUDIT_DIR");
	return xstrdup(d && *d ? d : ".isol8_audit");
}

/* This log's own files: executions*.log and executions*.jsonl, and the copies a rotation made of
 * them (executions.log.1, executions.log.2.gz, executions.log-20260101). Never another program's:
 * logDir may be shared. */
static bool own_log_file(const char *name)
{
	if (strncmp(name, "executions", 10))
		return false;
	for (const char *p = name + 10; (p = strchr(p, '.')); p++) {
		size_t n = !strncmp(p, ".log", 4) ? 4 : !strncmp(p, ".jsonl", 6) ? 6 : 0;
		if (n && (p[n] == 0 || p[n] == '.' || p[n] == '-'))
			return true;
	}
	return false;
}

/* Deletes this log's files in dir older than days, once per process (a CLI run pays one readdir). */
static void prune(const char *dir, double days)
{
	static bool done;
	if (done || days <= 0)
		return;
	done = true;
	DIR *d = opendir(dir);
	if (!d)
		return;
	time_t cutoff = time(NULL) - (time_t)(days * 86400);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (own_log_file(e->d_name) && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < cutoff)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* The operator's postLogScript with the file's path as its one argument: no shell, detached
 * (the run does not wait), its stdio /dev/null, killed after POST_LOG_TIMEOUT_S. 0 once it was
 * started; -1 with err when it could not be (the exec's errno comes back on a close-on-exec
 * pipe, fd 3 of the detached processes), so the caller warns or counts it instead of it
 * vanishing in a process nobody watches. What the script does once started is its own. */
static int post_log(const char *script, const char *path, isol8_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "audit: the line was written, but postLogScript %s could not be started",
				  script);
	pid_t first = fork();
	if (first != 0) {
		close(p[1]);
		if (first > 0)
			while (waitpid(first, NULL, 0) < 0 && errno == EINTR)
				;
		int e = 0;
		ssize_t n;
		while ((n = read(p[0], &e, sizeof e)) < 0 && errno == EINTR) /* EOF: the exec happened */
			;
		close(p[0]);
		if (first < 0 || n == (ssize_t)sizeof e)
			return isol8_fail(err, ISOL8_E_SANDBOX, first < 0 ? errno : e,
					  "audit: the line was written, but postLogScript %s could not be started", script);
		return 0;
	}
	setsid();
	if (fork() != 0) /* the watcher is reparented away from the caller */
		_exit(0);
	if (p[1] != 3)
		dup2(p[1], 3);
	fcntl(3, F_SETFD, FD_CLOEXEC); /* closed by the script's exec: the caller then reads EOF */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	/* nothing of the caller's (a client's socket, a server's listening one) stays open for 30 s */
	syscall(SYS_close_range, 4u, ~0u, 0u);
	pid_t child = fork();
	if (child == 0) {
		char *argv[] = {(char *)script, (char *)path, NULL};
		execv(script, argv);
		int e = errno;
		(void)!write(3, &e, sizeof e);
		_exit(127);
	}
	if (child < 0) {
		int e = errno;
		(void)!write(3, &e, sizeof e);
	}
	close(3);
	for (int i = 0; child > 0 && i < POST_LOG_TIMEOUT_S * 20; i++) {
		if (waitpid(child, NULL, WNOHANG) == child)
			_exit(0);
		usleep(50000);
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	_exit(0);
}

/* An exclusive flock on fd, waited for 2 s at most: a writer stuck holding it must not hold up
 * executions (the line is then counted as not written). 0, or -1 with errno. */
static int lock_bounded(int fd)
{
	int locked = -1;
	for (int i = 0; i < 200 && (locked = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK; i++)
		usleep(10000);
	return locked;
}

static int write_file_line(const isol8_config *c, const char *line, size_t n, isol8_err *err)
{
	char *dir = audit_dir(c), *path = xasprintf("%s/executions.log", dir);
	int rc = 0, fd = -1;
	if (mkdir_p(dir, 0700) < 0) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "audit: cannot create %s", dir);
	} else if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "audit: cannot open %s", path);
	} else {
		ssize_t w = lock_bounded(fd) < 0 ? (errno = EWOULDBLOCK, -1) : write(fd, line, n); /* one write: never split */
		if (w != (ssize_t)n) {
			rc = isol8_fail(err, ISOL8_E_SANDBOX, w < 0 ? errno : ENOSPC, "audit: cannot write %s", path);
			if (w > 0) /* a partial line would corrupt the next one: cut it off */
				(void)!ftruncate(fd, lseek(fd, 0, SEEK_END) - w);
		}
		flock(fd, LOCK_UN);
		close(fd);
	}
	if (rc == 0) {
		prune(dir, config_num(c, "audit.retentionDays", 90));
		const char *script = config_str(c, "audit.postLogScript", "");
		if (*script)
			rc = post_log(script, path, err);
	}
	free(path);
	free(dir);
	return rc;
}

/* One RFC 3164 datagram (user.info, ident isol8-audit) to the syslog socket journald and syslog
 * daemons listen on. Unlike syslog(3), a socket nobody listens on is an error the caller counts. */
static int send_syslog(const char *path, const char *line, size_t n, isol8_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return isol8_input_error(err, "audit: audit.syslogSocket is too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	localtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%b %e %H:%M:%S", &tm);
	char *msg = xasprintf("<14>%s isol8-audit[%d]: %.*s", ts, (int)getpid(), (int)n, line);
	int rc = 0;
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa) < 0)
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "audit: cannot send to the syslog socket %s", path);
	if (fd >= 0)
		close(fd);
	explicit_bzero(msg, strlen(msg));
	free(msg);
	return rc;
}

/* One line on stdout, in one write under the same bounded lock as the file's: processes sharing
 * the stdout (a server's connections) never interleave lines a pipe would split. A reader that
 * stopped reading holds nothing up (2 s). The caller has ended any line of its own first. */
static int write_stdout_line(const char *line, size_t n, isol8_err *err)
{
	struct pollfd pf = {1, POLLOUT, 0};
	errno = 0;
	bool locked = lock_bounded(1) == 0 || errno != EWOULDBLOCK; /* a stdout flock refuses: write anyway */
	ssize_t w = locked && poll(&pf, 1, 2000) == 1 && (pf.revents & POLLOUT) ? write(1, line, n) : -1;
	flock(1, LOCK_UN);
	if (w != (ssize_t)n)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno ? errno : EAGAIN, "audit: cannot write to stdout");
	return 0;
}

bool isol8_audit_on_stdout(const isol8_config *c)
{
	return c && config_bool(c, "audit.enabled", 0) && !strcmp(config_str(c, "audit.destination", "filesystem"), "stdout");
}

/* Writes record r (consumed) where audit.destination says. */
static int emit(const isol8_config *c, jv r, isol8_err *err)
{
	char *text = json_dump(r, 0), *line = xasprintf("%s\n", text);
	jv_free(r);
	free(text);
	size_t n = strlen(line);
	const char *dest = config_str(c, "audit.destination", "filesystem");
	int rc = 0;
	if (!strcmp(dest, "stdout")) {
		rc = write_stdout_line(line, n, err);
	} else if (!strcmp(dest, "syslog") || !strcmp(dest, "journald")) {
		rc = send_syslog(config_str(c, "audit.syslogSocket", "/dev/log"), line, n - 1, err);
	} else {
		rc = write_file_line(c, line, n, err);
	}
	explicit_bzero(line, n);
	free(line);
	return rc;
}

int isol8_audit_execution(const isol8_config *c, const isol8_request *req, const isol8_options *o,
			  const isol8_result *res, const isol8_audit_who *who, isol8_err *err)
{
	if (!c || !config_bool(c, "audit.enabled", 0))
		return 0;
	return emit(c, record(c, req, o, res, who, NULL), err);
}

int isol8_audit_failure(const isol8_config *c, const isol8_request *req, const isol8_options *o, const char *why,
			uint64_t duration_ms, const isol8_audit_who *who, isol8_err *err)
{
	if (!c || !config_bool(c, "audit.enabled", 0))
		return 0;
	isol8_result none = {.status = "failed", .exit_code = -1, .duration_ms = duration_ms};
	uuid_v4(none.execution_id);
	snprintf(none.runtime, sizeof none.runtime, "%s", req->runtime ? req->runtime : "");
	return emit(c, record(c, req, o, &none, who, why && *why ? why : "the execution failed"), err);
}
