/* sandbox.c — the sandbox interface: each call goes to the backend that made the sandbox
 * (backend.h). Nothing here knows how a sandbox is built. */
#include "sandbox/sandbox.h"

#include <string.h>
#include <unistd.h>

#include "sandbox/backend.h"

static const isol8_backend *default_backend = &isol8_native_backend;

void sandbox_use_backend(const isol8_backend *be)
{
	default_backend = be ? be : &isol8_native_backend;
}

int sandbox_start(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg, isol8_err *err)
{
	const isol8_backend *be = cfg->backend ? cfg->backend : default_backend;
	int rc = be->start(sb, cfg, err);
	sb->be = be;
	return rc;
}

int sandbox_prepare(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg, isol8_err *err)
{
	if (sandbox_start(sb, cfg, err) < 0)
		return -1;
	return sandbox_wait_ready(sb, err);
}

int sandbox_poll_ready(isol8_sandbox *sb, isol8_err *err)
{
	return sb->be->poll_ready(sb, err);
}

int sandbox_wait_ready(isol8_sandbox *sb, isol8_err *err)
{
	return sb->be->wait_ready(sb, err);
}

bool sandbox_feed_early(isol8_sandbox *sb, const isol8_exec_spec *spec)
{
	return sb->be->feed_early(sb, spec);
}

int sandbox_feed(isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err)
{
	return sb->be->feed(sb, spec, err);
}

int sandbox_spawn(isol8_sandbox *sb, isol8_proc *p, isol8_err *err)
{
	return sb->be->spawn(sb, p, err);
}

int sandbox_feed_proc(isol8_sandbox *sb, isol8_proc *p, const isol8_exec_spec *spec, isol8_err *err)
{
	return sb->be->feed_proc(sb, p, spec, err);
}

void sandbox_proc_close(isol8_proc *p)
{
	int *fds[] = {&p->feed, &p->stdin_w, &p->stdout_r, &p->stderr_r, &p->chan, &p->reply};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	p->pid = 0;
}

int sandbox_read_status(isol8_sandbox *sb, ctl_msg *m)
{
	return sb->be->read_status(sb, m);
}

void sandbox_discard_feed(isol8_sandbox *sb)
{
	sb->be->discard_feed(sb);
}

const char *sandbox_describe(const isol8_sandbox *sb)
{
	return sb->be->describe(sb);
}

bool sandbox_status_buffered(const isol8_sandbox *sb)
{
	return sb->be->status_buffered(sb);
}

int sandbox_put_file(isol8_sandbox *sb, const char *path, const void *data, size_t len, unsigned mode, isol8_err *err)
{
	return sb->be->put_file(sb, path, data, len, mode, err);
}

int sandbox_get_file(isol8_sandbox *sb, const char *path, size_t max, isol8_buf *out, isol8_err *err)
{
	return sb->be->get_file(sb, path, max, false, out, err);
}

int sandbox_list_dir(isol8_sandbox *sb, const char *path, size_t max, isol8_buf *out, isol8_err *err)
{
	return sb->be->get_file(sb, path, max, true, out, err);
}

int sandbox_take_dir(isol8_sandbox *sb, const char *dir, size_t max, size_t count, bool remove, isol8_buf *out,
		     isol8_err *err)
{
	return sb->be->take_dir ? sb->be->take_dir(sb, dir, max, count, remove, out, err) : 1;
}

int sandbox_killall(isol8_sandbox *sb, isol8_err *err)
{
	return sb->be->killall(sb, err);
}

void sandbox_kill(isol8_sandbox *sb)
{
	sb->be->kill(sb);
}

void sandbox_wait_exit(isol8_sandbox *sb)
{
	sb->be->wait_exit(sb);
}

void sandbox_stats(isol8_sandbox *sb, isol8_cg_stats *st)
{
	sb->be->stats(sb, st);
}

void sandbox_destroy(isol8_sandbox *sb)
{
	if (sb->be)
		sb->be->destroy(sb);
}
