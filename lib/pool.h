/* pool.h — warm, single-use sandboxes prepared ahead by isol8-pool (DESIGN §6).
 * A prepared sandbox is only fds: the pool hands one over through SCM_RIGHTS on
 * $RUN_DIR/pool.sock and forgets it; it is never handed out twice, and whoever holds its ctl
 * socket owns its life (the init exits when that socket closes). */
#ifndef ISOL8_POOL_H
#define ISOL8_POOL_H

#include <stdint.h>

#include "request.h"
#include "sandbox.h"

/* Whether a run's limits and seccomp mode are exactly those the pooled sandboxes were built
 * with (the pool's side of the match; pool_acquire only asks for runs with no network, the
 * host root, and neither --writable nor --persist). */
bool pool_compatible(const isol8_options *want, const isol8_options *pooled);
/* 1 with *sb adopted from a running pool, 0 when there is none, it is empty, or it cannot
 * serve these options (the caller takes the cold path). Never an error for the caller.
 * runtime (or NULL) asks for a pre-started interpreter of that runtime, whose environment must
 * have env_digest (warm.h); when one is handed over, sb->chan is its request pipe and sb->feed
 * is -1; otherwise the sandbox waits for its feed, as a cold one. */
int pool_acquire(isol8_sandbox *sb, const isol8_options *o, const char *runtime, uint64_t env_digest);
/* The pool's socket path. */
char *pool_socket_path(void);

#endif
