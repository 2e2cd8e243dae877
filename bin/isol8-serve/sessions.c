/* sessions.c — the client side of a key's sessions: their names in the run dir, the ids
 * clients give them, counting and creating them, and reading their answers by a deadline.
 *
 * Sessions are isol8-session supervisors: created with `isol8-session create --options -` and
 * then spoken to over their ctl.sock. They live in the run dir, not in this process, so they
 * survive a restart of the server. A session belongs to the key that created it: its name on
 * disk is "k<12 hex of SHA-256(key)>-<sessionId>", so another key's request for the same
 * sessionId names a different (absent) session.
 *
 * Threats: a client's session id is checked in full before use — a NUL inside ("abc\u0000def"
 * in JSON, %00 in a URL) would otherwise cut the C string and land in session "abc" — and one
 * with a slash or over MAX_CLIENT_SESSION_ID bytes is refused, never shortened. A session that
 * never answers (stuck on a FIFO) is given up on at a deadline, so no request waits for good.
 * Nothing here answers a client: the routes do, from what these functions return. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "run/session.h"
#include "serve.h"
#include "state/rundir.h"

#define STR(x) #x
#define XSTR(x) STR(x)

const char *session_id_problem(const char *id, size_t len)
{
	if (strlen(id) != len)
		return "must not contain a NUL byte";
	if (!session_id_valid(id, MAX_CLIENT_SESSION_ID))
		return "must be 1-" XSTR(MAX_CLIENT_SESSION_ID) " letters, digits, '-', '_' or '.' (not starting with '.')";
	return NULL;
}

void session_internal_id(const char *owner, const char *sid, char out[80])
{
	snprintf(out, 80, "k%s-%s", owner, sid);
}

bool session_header_agrees(const serve_conn *k, const char *sid)
{
	return !k->req.session[0] || !strcmp(k->req.session, sid);
}

int sessions_count(const char *owner)
{
	char *dir = rundir_sessions(NULL);
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

int session_create(serve_ctx *c, const char *iid, const char *runtime, jv options, isol8_err *err)
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
	isol8_buf_free(&msg);
	return rc;
}

/* ---- reading a session's answers by a deadline --------------------------------------------- */

jv session_next_line(session_reader *r, uint64_t deadline_ns, bool *late)
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
