#include "run/pool.h"

#include <errno.h>
#include <poll.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "run/command.h"
#include "core/fdpass.h"
#include "core/json.h"
#include "core/util.h"
#include "run/warm.h"
#include "wire/poolmsg.h"
#include "state/rundir.h"

char *pool_socket_path(void)
{
	return rundir_pool_socket(NULL);
}

bool pool_compatible(const isol8_options *w, const isol8_options *p)
{
	return w->seccomp == p->seccomp && w->memory_limit == p->memory_limit && w->cpu_limit == p->cpu_limit &&
	       w->pids_limit == p->pids_limit && w->sandbox_size == p->sandbox_size && w->tmp_size == p->tmp_size;
}

/* Pooled sandboxes have no network, the host root (with a built image's layer, read-only, when
 * the pool keeps that image: config poolImages), and are thrown away after one run. */
static bool poolable(const isol8_options *o)
{
	return o->network == ISOL8_NET_NONE && !o->image && !o->writable && !o->persist &&
	       (!o->layer || (!o->layer_writable && strlen(o->layer) < sizeof ((pool_request *)0)->layer));
}

/* Sends want, and adopts what comes back into sb when it is a sandbox with driver (NULL: a plain
 * one); 1 then, else 0 (anything else handed over is closed, which ends it). */
static int acquire(isol8_sandbox *sb, const pool_request *want, const char *driver, pid_t *driver_pid)
{
	char *path = pool_socket_path();
	int fd = unix_connect(path), got = 0;
	free(path);
	if (fd < 0)
		return 0;
	struct timeval tv = {1, 0}; /* a stuck pool must never stall a run: fall back instead */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char *req = poolmsg_request_line(want);
	int w = write_all(fd, req, strlen(req));
	free(req);
	if (w < 0)
		goto out;
	char line[1024];
	int fds[ISOL8_HANDOVER_MAX], nfds = 0;
	ssize_t n = fd_recv(fd, line, sizeof line - 1, fds, ISOL8_HANDOVER_MAX, &nfds);
	if (n <= 0)
		goto out;
	pool_reply r;
	isol8_err err = {0};
	bool parsed = poolmsg_parse_reply(line, (size_t)n - (line[n - 1] == '\n'), &r) == 0 && r.handed;
	/* a running interpreter only of the driver asked for; slot 2 is then its request pipe, and
	 * a 7th fd its reply pipe */
	bool warm = parsed && driver && !strcmp(r.driver, driver);
	bool plain = parsed && !r.driver[0];
	if (((warm && nfds == ISOL8_HANDOVER_MAX) || (plain && nfds == ISOL8_HANDOVER_FDS)) &&
	    sandbox_adopt(sb, r.id, r.pid, fds, &err) == 0) {
		got = 1;
		if (driver_pid)
			*driver_pid = r.driver_pid;
		if (warm) {
			sb->chan = sb->feed;
			sb->feed = -1;
			sb->reply = fds[ISOL8_HANDOVER_FDS];
		}
	} else {
		for (int i = 0; i < nfds; i++)
			close(fds[i]); /* closing its ctl ends a sandbox we could not adopt */
	}
out:
	close(fd);
	return got;
}

static bool pool_off(const isol8_options *o)
{
	const char *off = getenv("ISOL8_NO_POOL");
	return (off && *off && strcmp(off, "0")) || !poolable(o);
}

int pool_acquire(isol8_sandbox *sb, const isol8_options *o, const isol8_request *run, char *const *argv,
		 char *const *envp)
{
	if (pool_off(o))
		return 0;
	/* ask for a running interpreter when nothing about the run could tell (warm.h) */
	char **base = warm_base_env();
	const char *runtime = !o->layer && warm_fits(run, argv, envp, base) ? run->runtime : NULL;
	pool_request want = {.op = POOL_OP_ACQUIRE, .limits = *o, .env_digest = warm_env_digest(base)};
	if (runtime)
		snprintf(want.runtime, sizeof want.runtime, "%s", runtime);
	if (o->layer)
		snprintf(want.layer, sizeof want.layer, "%s", o->layer);
	isol8_free_strv(base);
	return acquire(sb, &want, runtime, NULL);
}

int pool_acquire_session(isol8_sandbox *sb, const isol8_options *o, pid_t *drv_pid)
{
	if (pool_off(o) || o->layer)
		return 0;
	char **base = warm_base_env();
	pool_request want = {.op = POOL_OP_ACQUIRE, .limits = *o, .env_digest = warm_env_digest(base), .session = true};
	snprintf(want.runtime, sizeof want.runtime, "python");
	isol8_free_strv(base);
	pid_t pid = 0;
	if (!acquire(sb, &want, "python-session", &pid))
		return 0;
	if (pid <= 1) { /* the pool always says it for a session's driver */
		sandbox_destroy(sb);
		return 0;
	}
	sandbox_own(sb); /* the pool keeps no entry for a sandbox that lives as long as a session */
	*drv_pid = pid;
	return 1;
}

int pool_status(pool_status_msg *out, int timeout_ms)
{
	memset(out, 0, sizeof *out);
	char *path = pool_socket_path();
	int fd = unix_connect(path);
	free(path);
	if (fd < 0)
		return -1;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pool_request q = {.op = POOL_OP_STATUS};
	char *req = poolmsg_request_line(&q), buf[4096];
	ssize_t n = write_all(fd, req, strlen(req)) == 0 ? read(fd, buf, sizeof buf - 1) : -1;
	free(req);
	close(fd);
	return n > 0 ? poolmsg_parse_status(buf, (size_t)n - (buf[n - 1] == '\n'), out) : -1;
}
