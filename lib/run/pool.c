#include "run/pool.h"

#include <errno.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "run/engine.h"
#include "core/fdpass.h"
#include "core/json.h"
#include "core/util.h"
#include "run/warm.h"
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

/* Pooled sandboxes have no network, the host root, and are thrown away after one run. */
static bool poolable(const isol8_options *o)
{
	return o->network == ISOL8_NET_NONE && !o->image && !o->writable && !o->persist;
}

static jv want_json(const isol8_options *o, const char *runtime, uint64_t env_digest)
{
	jv j = jv_object();
	j = jv_object_set(j, jv_string("op"), jv_string("acquire"));
	if (runtime) {
		char d[17];
		snprintf(d, sizeof d, "%016llx", (unsigned long long)env_digest);
		j = jv_object_set(j, jv_string("runtime"), jv_string(runtime));
		j = jv_object_set(j, jv_string("env"), jv_string(d));
	}
	j = jv_object_set(j, jv_string("memory"), jv_number((double)o->memory_limit));
	j = jv_object_set(j, jv_string("cpu"), jv_number(o->cpu_limit));
	j = jv_object_set(j, jv_string("pids"), jv_number((double)o->pids_limit));
	j = jv_object_set(j, jv_string("sandboxSize"), jv_number((double)o->sandbox_size));
	j = jv_object_set(j, jv_string("tmpSize"), jv_number((double)o->tmp_size));
	j = jv_object_set(j, jv_string("seccomp"), jv_string(o->seccomp == ISOL8_SECCOMP_STRICT ? "strict" : "unconfined"));
	return j;
}

int pool_acquire(isol8_sandbox *sb, const isol8_options *o, const isol8_request *run, char *const *argv,
		 char *const *envp)
{
	const char *off = getenv("ISOL8_NO_POOL");
	if ((off && *off && strcmp(off, "0")) || !poolable(o))
		return 0;
	char *path = pool_socket_path();
	int fd = unix_connect(path), got = 0;
	free(path);
	if (fd < 0)
		return 0;
	struct timeval tv = {1, 0}; /* a stuck pool must never stall a run: fall back instead */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* ask for a running interpreter when nothing about the run could tell (warm.h) */
	char **base = warm_base_env();
	const char *runtime = warm_fits(run, argv, envp, base) ? run->runtime : NULL;
	jv req = want_json(o, runtime, warm_env_digest(base));
	isol8_free_strv(base);
	int w = json_write_line(fd, req);
	jv_free(req);
	if (w < 0)
		goto out;
	char line[1024];
	int fds[ISOL8_HANDOVER_MAX], nfds = 0;
	ssize_t n = fd_recv(fd, line, sizeof line - 1, fds, ISOL8_HANDOVER_MAX, &nfds);
	if (n <= 0)
		goto out;
	line[n] = 0;
	jv v = jv_parse(line);
	jv id = json_get(v, "id"), pid = json_get(v, "pid"), drv = json_get(v, "driver");
	isol8_err err = {0};
	/* a warm interpreter only for the runtime asked for; slot 2 is then its request pipe, and a
	 * 7th fd its reply pipe */
	bool warm = runtime && jv_get_kind(drv) == JV_KIND_STRING && !strcmp(jv_string_value(drv), runtime);
	bool plain = jv_get_kind(drv) != JV_KIND_STRING;
	if (((warm && nfds == ISOL8_HANDOVER_MAX) || (plain && nfds == ISOL8_HANDOVER_FDS)) &&
	    jv_get_kind(id) == JV_KIND_STRING && jv_get_kind(pid) == JV_KIND_NUMBER &&
	    sandbox_adopt(sb, jv_string_value(id), (pid_t)jv_number_value(pid), fds, &err) == 0) {
		got = 1;
		if (warm) {
			sb->chan = sb->feed;
			sb->feed = -1;
			sb->reply = fds[ISOL8_HANDOVER_FDS];
		}
	} else {
		for (int i = 0; i < nfds; i++)
			close(fds[i]); /* closing its ctl ends a sandbox we could not adopt */
	}
	jv_free(id);
	jv_free(pid);
	jv_free(drv);
	jv_free(v);
out:
	close(fd);
	return got;
}
