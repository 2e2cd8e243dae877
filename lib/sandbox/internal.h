/* internal.h — what the native sandbox's three processes share, for lib/sandbox/ only:
 * supervisor.c (the caller's side) → init.c (PID 1 of the sandbox) → payload.c (becomes the
 * program), with fileops.c serving file requests inside. Not installed. */
#ifndef ISOL8_SANDBOX_INTERNAL_H
#define ISOL8_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/util.h"
#include "sandbox/sandbox.h"

/* The child's ends of the fds the supervisor made before clone; chan/reply -1 without. cg:
 * cgroup_join_open's fds (ncg of them; 0 when the supervisor attaches the init itself), a v2
 * directory to clone into (cg_v2) or v1 "tasks" files the init writes "0" to. */
struct child_fds {
	int sync_r, ctl, feed_r, in_r, out_w, err_w, chan_r, reply_w;
	int cg[CG_V1_N], ncg;
	bool cg_v2;
	bool cg_v2_self; /* clone3 could not clone into the v2 cgroup: the init joins it itself */
};

/* supervisor.c: clone(2) of the init into new namespaces (flags), straight into its cgroup when f
 * has a v2 directory (where clone3 is refused — an old kernel, a container's seccomp profile —
 * a plain clone, with f->cg_v2_self set); -1 with errno. Returns 0 in the child, as fork does. */
pid_t sandbox_clone(unsigned long flags, struct child_fds *f, int *pidfd);

/* init.c: PID 1 of the new namespaces. Never returns. */
__attribute__((noreturn)) void init_main(const struct child_fds *f, const isol8_sandbox_cfg *cfg);

/* init.c: the same for a sandbox whose init is a fork of a zygote (zygote.h): returns only in
 * the first payload, after in_payload (if any) and payload_enter, with no feed read and no exec;
 * chan_r and reply_w are required. */
void init_zygote(const struct child_fds *f, const isol8_sandbox_cfg *cfg, void (*in_payload)(void));

/* payload.c: becomes the sandbox user, reads its feed, execs. chan packs a driver channel's two
 * pipe ends (requests in: low 16 bits, replies out: high 16 bits), or -1. errfd carries an
 * exec failure to the init. Never returns. */
__attribute__((noreturn)) void payload_main(int feed, int in, int out, int errout, int errfd, int chan,
					    const isol8_sandbox_cfg *cfg);
/* payload.c: the same steps for a payload that is already its program (a zygote's fork,
 * zygote.h): no feed and no exec; once privileges are dropped, in_payload (the interpreter's
 * after-fork hook, if any); the working directory is /sandbox, every fd but stdio and the
 * channel (3, 4) is closed, and the seccomp filter is loaded. Returns only when all that is
 * done; errfd (close-on-exec) is closed then, so EOF on it tells the init nothing failed. */
void payload_enter(int in, int out, int errout, int errfd, int chan, const isol8_sandbox_cfg *cfg,
		   void (*in_payload)(void));
/* Sandbox user, no capabilities (bounding and ambient sets too), no new privileges. */
int drop_privileges(uid_t uid, gid_t gid, isol8_err *err);
/* "/sandbox/a/b" → an fd of /sandbox and "a/b" in *rel; only the two writable areas are
 * reachable (-1, EPERM otherwise). */
int split_area(const char *path, const char **rel);

/* supervisor.c: closes *fd if open and sets it to -1; writes sb's run-dir record naming
 * supervisor as its holder. */
void close_fd(int *fd);
void sandbox_write_record(isol8_sandbox *sb, const char *run_dir, pid_t supervisor);

/* fileops.c: a get, put or take request, answered on ctl (see wire/ctl.h). list: the get's path
 * is a directory, answered with its entries (list_dir's records) as the content. */
void fileop_get(int ctl, const isol8_sandbox_cfg *cfg, const char *path, size_t max, bool list);
void fileop_take(int ctl, const isol8_sandbox_cfg *cfg, const ctl_req *req);
void fileop_put(int ctl, const isol8_sandbox_cfg *cfg, const char *path, unsigned mode, const unsigned char *data,
		size_t len);

#endif
