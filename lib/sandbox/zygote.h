/* zygote.h — sandboxes forked from a zygote: an interpreter started once, on the host, that
 * never runs user code. For each sandbox it is asked for, it clones itself straight into new
 * namespaces; the copy becomes the sandbox's init (init.c, C only) and forks the first payload,
 * which drops every privilege, loads the seccomp filter and returns into the already initialised
 * interpreter — no execve, no interpreter start-up. Everything else about the sandbox (its
 * cgroup, its record, ctl, what its holder may do with it) is the native backend's, unchanged:
 * native_start (supervisor.c) asks the zygote where it would otherwise clone.
 *
 * Threats: the zygote runs as the pool's user (root) with the host's view, so it takes requests
 * only on a private socketpair with isol8-pool, parses them strictly (wire/zygmsg.h) and receives
 * no user code, environment or secret — a run's code reaches the payload later, on its own
 * pipe. What a fork shares with the zygote and its siblings is what fork shares: the memory the
 * zygote had (copy-on-write, nothing writable shared), hash-randomisation seed and address-space
 * layout; isol8-pool bounds that by replacing a zygote after a number of forks or an age. The
 * init closes every fd it was not given, so a payload holds no way back to the zygote. */
#ifndef ISOL8_SANDBOX_ZYGOTE_H
#define ISOL8_SANDBOX_ZYGOTE_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"

typedef struct isol8_sandbox_cfg isol8_sandbox_cfg;
struct child_fds;

/* The pool's end of a zygote: its socket (SOCK_SEQPACKET) and pid. */
typedef struct isol8_zygote {
	int sock;
	pid_t pid;            /* 0 once reaped (its number may be another process's) */
	int err;              /* the read end of its stderr, for what it said when it failed */
	unsigned long forks;
	unsigned long long born_ms;
	bool broken;          /* a request found it gone, silent or making no sense */
} isol8_zygote;

/* Whether a sandbox of cfg can come from a zygote: a pooled warm slot of the host's root
 * (no image, layer, writable root, network, proxy or persistence). */
bool zygote_fits(const isol8_sandbox_cfg *cfg);

/* Supervisor side (native_start): asks z for an init in new namespaces (user: a user namespace
 * too) holding the child's ends of f. The host pid, with its pidfd in *pidfd; -1 with err. */
pid_t zygote_clone(isol8_zygote *z, const isol8_sandbox_cfg *cfg, const struct child_fds *f, bool user, int *pidfd,
		   isol8_err *err);

/* Zygote side: what the interpreter must do around each fork (CPython's PyOS_*Fork), and how
 * to complete a cfg that asks for the support files. */
typedef struct zygote_hooks {
	void (*before)(void), (*parent)(void), (*child)(void);
	void (*support)(isol8_sandbox_cfg *cfg);
} zygote_hooks;
/* Serves requests on sock until it closes: returns 1 then (the zygote should exit), and in each
 * fork's payload, once it is the sandbox user under seccomp in /sandbox with its stdio and its
 * driver channel (fds 3 and 4) in place: 0 for a one-run interpreter, 2 for a session's. */
int zygote_serve(int sock, const zygote_hooks *h);

#endif
