/* pool.h — warm, single-use sandboxes prepared ahead by isol8-pool.
 * A prepared sandbox is only fds: the pool hands one over through SCM_RIGHTS on
 * $RUN_DIR/pool.sock and forgets it; it is never handed out twice, and whoever holds its ctl
 * socket owns its life (the init exits when that socket closes). */
#ifndef ISOL8_POOL_H
#define ISOL8_POOL_H

#include <jv.h>

#include "wire/poolmsg.h"
#include "wire/request.h"
#include "sandbox/sandbox.h"

/* Whether a run's limits and seccomp mode are exactly those the pooled sandboxes were built
 * with (the pool's side of the match; pool_acquire only asks for runs with no network, the
 * host root, and neither --writable nor --persist). */
bool pool_compatible(const isol8_options *want, const isol8_options *pooled);
/* 1 with *sb adopted from a running pool, 0 when there is none, it is empty, or it cannot
 * serve these options (the caller takes the cold path). Never an error for the caller.
 * argv/envp are the run's cold command: when a pre-started interpreter could run it with no
 * difference to show (warm.h), the pool is asked for one, and when one is handed over sb->chan
 * is its request pipe and sb->feed is -1; otherwise the sandbox waits for its feed. */
int pool_acquire(isol8_sandbox *sb, const isol8_options *o, const isol8_request *run, char *const *argv,
		 char *const *envp);
/* For a python session: 1 with *sb adopted and its first payload already the session driver
 * (forked by the pool's zygote; sb->chan and sb->reply are its fds 3 and 4), *drv_pid its pid in
 * the sandbox; 0 when the pool has none (the session starts its own). */
int pool_acquire_session(isol8_sandbox *sb, const isol8_options *o, pid_t *drv_pid);
/* The running pool's status; -1 when no pool answers within timeout_ms (or its reply does not
 * parse). The pool answers between the sandboxes it builds, which under load can take a while. */
int pool_status(pool_status_msg *out, int timeout_ms);
/* The pool's socket path. */
char *pool_socket_path(void);

#endif
