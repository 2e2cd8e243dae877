/* backend.h — the seam between isol8 and what isolates a run. The engine, sessions and the pool
 * reach a sandbox only through the sandbox_* functions of sandbox.h, which call the operations
 * of the backend that made it (sb->be). The native backend (namespaces, cgroup, seccomp: the
 * files of lib/sandbox/) is the first; a second one (a container runtime, a VM) implements this
 * table and is chosen in isol8_sandbox_cfg.backend, with no change to its callers.
 *
 * What every backend provides, in terms a caller can rely on:
 *   start        begin building a sandbox (may return before it is ready); sb's stdio fds set
 *   poll_ready / wait_ready   1/0/-1 without blocking / 0 or -1 when ready or failed
 *   feed_early   whether the feed can be written before ready without blocking
 *   feed         the first payload's argv, env, cwd and files; it then runs
 *   spawn + feed_proc         a further payload in a ready sandbox (sessions)
 *   read_status  one status (wire/ctl.h's ctl_msg): 1, 0 (none yet), -1 (sandbox gone);
 *                status_buffered says one is waiting that poll() on sb->ctl will not report
 *   put_file / get_file       beneath /sandbox or /tmp, as the sandbox user, bounded (get_file
 *                with list: a directory's entries, fileops.c's records)
 *   take_dir     a directory's files the same way (may be NULL: no files)
 *   killall      every process but the sandbox's own supervisor-side anchor (files stay)
 *   kill / wait_exit / destroy   end it, wait for it, free everything
 *   stats        CPU, memory peak, OOM kills of the whole sandbox
 *   discard_feed the first payload will not be fed: it exits unrun (sessions spawn their own)
 *   describe     one line on how it isolates (for --debug)
 *
 * Besides the operations, a backend fills these fields of isol8_sandbox, which callers poll:
 * stdin_w, stdout_r, stderr_r (the first payload's stdio), ctl (readable when a status may be
 * waiting: then call read_status), proxy_fd (--net filtered: a listening socket whose
 * connections are the sandbox's only way out), and for a pre-started interpreter chan and reply
 * (warm.h). */
#ifndef ISOL8_SANDBOX_BACKEND_H
#define ISOL8_SANDBOX_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/util.h"
#include "wire/ctl.h"
#include "wire/feed.h"
#include "wire/result.h"

struct isol8_sandbox;
struct isol8_sandbox_cfg;
struct isol8_proc;

struct isol8_backend {
	const char *name;
	int (*start)(struct isol8_sandbox *sb, const struct isol8_sandbox_cfg *cfg, isol8_err *err);
	int (*poll_ready)(struct isol8_sandbox *sb, isol8_err *err);
	int (*wait_ready)(struct isol8_sandbox *sb, isol8_err *err);
	bool (*feed_early)(struct isol8_sandbox *sb, const isol8_exec_spec *spec);
	void (*discard_feed)(struct isol8_sandbox *sb);
	int (*feed)(struct isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err);
	int (*spawn)(struct isol8_sandbox *sb, struct isol8_proc *p, isol8_err *err);
	int (*feed_proc)(struct isol8_sandbox *sb, struct isol8_proc *p, const isol8_exec_spec *spec, isol8_err *err);
	int (*read_status)(struct isol8_sandbox *sb, ctl_msg *m);
	bool (*status_buffered)(const struct isol8_sandbox *sb);
	int (*put_file)(struct isol8_sandbox *sb, const char *path, const void *data, size_t len, unsigned mode, isol8_err *err);
	int (*get_file)(struct isol8_sandbox *sb, const char *path, size_t max, bool list, isol8_buf *out, isol8_err *err);
	int (*take_dir)(struct isol8_sandbox *sb, const char *dir, size_t max, size_t count, bool remove, isol8_buf *out,
			isol8_err *err);
	int (*killall)(struct isol8_sandbox *sb, isol8_err *err);
	void (*kill)(struct isol8_sandbox *sb);
	void (*wait_exit)(struct isol8_sandbox *sb);
	void (*stats)(struct isol8_sandbox *sb, isol8_cg_stats *st);
	void (*destroy)(struct isol8_sandbox *sb);
	const char *(*describe)(const struct isol8_sandbox *sb);
};

extern const struct isol8_backend isol8_native_backend;
/* The backend of sandboxes whose config names none (NULL: the native one again): how a program
 * (or a test) runs the engine, sessions and everything above them on another backend. */
void sandbox_use_backend(const struct isol8_backend *be);

#endif
