/* rundir.c — see rundir.h. */
#include "state/rundir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/util.h"

const char *isol8_run_dir(void)
{
	static char buf[PATH_MAX];
	const char *e = getenv("ISOL8_RUN_DIR");
	if (e && *e)
		return e;
	if (geteuid() == 0)
		return "/run/isol8";
	const char *x = getenv("XDG_RUNTIME_DIR");
	snprintf(buf, sizeof buf, "%s/isol8", x && *x ? x : "/tmp");
	return buf;
}

static const char *dir(const char *rd)
{
	return rd ? rd : isol8_run_dir();
}

char *rundir_staging(const char *rd)
{
	return xasprintf("%s/root", dir(rd));
}

char *rundir_sandboxes(const char *rd)
{
	return xasprintf("%s/sandboxes", dir(rd));
}

char *rundir_sandbox_record(const char *rd, const char *id)
{
	return xasprintf("%s/sandboxes/%s.json", dir(rd), id);
}

char *rundir_sandbox_netlog(const char *rd, const char *id)
{
	return xasprintf("%s/sandboxes/%s.network.jsonl", dir(rd), id);
}

char *rundir_sessions(const char *rd)
{
	return xasprintf("%s/sessions", dir(rd));
}

char *rundir_session(const char *rd, const char *id, const char *file)
{
	return file ? xasprintf("%s/sessions/%s/%s", dir(rd), id, file) : xasprintf("%s/sessions/%s", dir(rd), id);
}

char *rundir_pool_socket(const char *rd)
{
	return xasprintf("%s/pool.sock", dir(rd));
}

char *rundir_serve(const char *rd, const char *file)
{
	return file ? xasprintf("%s/serve/%s", dir(rd), file) : xasprintf("%s/serve", dir(rd));
}

char *rundir_cleanup_lock(const char *rd)
{
	return xasprintf("%s/.cleanup.lock", dir(rd));
}

char *rundir_mcp(const char *rd, const char *client, const char *file)
{
	if (!client)
		return xasprintf("%s/mcp", dir(rd));
	return file ? xasprintf("%s/mcp/%s/%s", dir(rd), client, file) : xasprintf("%s/mcp/%s", dir(rd), client);
}
