/* sandbox.h — one sandbox: namespaces + root filesystem + cgroup + an init, as a bundle of fds.
 *
 * Process model (isolate's): the supervisor (the caller) → the sandbox's init, PID 1 of new
 * PID/mount/IPC/UTS/cgroup/network namespaces → the payload. The lifecycle is split:
 *   sandbox_prepare: namespaces, mounts, cgroup, and a payload process already forked, its
 *                    privileges dropped, blocked reading its feed pipe;
 *   sandbox_feed:    files, argv, env, cwd go down the feed pipe; the payload writes the files
 *                    (as the sandbox user), loads the seccomp filter and execs.
 * Because a prepared sandbox is only fds, it can be prepared ahead (pool) or fed again. */
#ifndef ISOL8_SANDBOX_H
#define ISOL8_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"
#include "core/err.h"
#include "wire/request.h"
#include "sandbox/rootfs.h"
#include "core/util.h"
#include "wire/ctl.h"
#include "wire/feed.h"

/* The operations of whatever builds the sandbox (backend.h); the native one by default. */
typedef struct isol8_backend isol8_backend;

#define ISOL8_SANDBOX_UID 65534
#define ISOL8_SANDBOX_GID 65534
/* --net filtered: where the proxy listens inside the sandbox's own network namespace */
#define ISOL8_PROXY_PORT 8118

typedef struct isol8_sandbox_cfg {
	bool share_net;          /* --net host */
	bool seccomp;            /* strict filter on the payload */
	bool persist;            /* init outlives the supervisor */
	bool pooled;             /* prepared by isol8-pool for another process: its life hangs on
	                          * whoever holds the ctl socket (EOF ends it), not on the preparer */
	bool driver_channel;     /* the first payload gets a request pipe as fd 3 and a reply pipe as
	                          * fd 4 (a warm interpreter of isol8-pool: sb->chan, sb->reply) */
	bool proxy_listener;     /* --net filtered: a socket on 127.0.0.1:8118 inside the sandbox's
	                          * network namespace, handed to the supervisor (sb->proxy_fd) */
	const char *probe;       /* a path inside the sandbox whose existence the init reports with
	                          * each payload's exit status (ctl_msg.found), or NULL */
	isol8_cg_limits limits;
	isol8_rootfs_opts rootfs; /* staging/uid/gid are filled by sandbox_prepare */
	const char *run_dir;
	const isol8_backend *backend; /* NULL: the native backend */
	struct isol8_zygote *zygote;  /* native: fork the init from this zygote (zygote.h; only
	                               * where zygote_fits), or NULL to clone it here */
	bool zygote_session;          /* …whose fork then runs the session driver (zygote.h) */
} isol8_sandbox_cfg;

typedef struct isol8_sandbox {
	const isol8_backend *be; /* the backend that made it: every sandbox_* call goes there */
	char id[33];
	pid_t pid;        /* host pid of the init */
	int pidfd;
	int ctl;          /* socket to the init: status lines out, file requests in */
	int feed;         /* pipe to the waiting payload */
	int stdin_w, stdout_r, stderr_r;
	isol8_cgroup cg;
	char *record;     /* run-dir record of this sandbox (for isol8-cleanup) */
	bool persist;
	bool dead;        /* init reaped */
	isol8_buf ctl_in; /* unparsed bytes read from ctl */
	isol8_buf status_q; /* exit-status lines that arrived while waiting for a reply */
	int proxy_fd;       /* the listening socket from inside the sandbox, or -1 */
	int chan, reply;    /* driver_channel: the first payload's fd 3 (we write) and fd 4 (we read) */
	bool adopted;       /* handed over by isol8-pool, which still watches its init: once that has
	                     * exited the pool kills what is left in its cgroup and removes the cgroup
	                     * and the record, so its holder neither waits for nor sweeps it */
	int layer_lock;     /* a shared lock on the image layer it mounts (rootfs_hold_layer), or -1:
	                     * taken before the init mounts it, which then holds its own */
	bool forked_init;   /* its init is a zygote's fork (zygote.h), not our child */
} isol8_sandbox;

/* A further process in a ready sandbox (sessions): its own stdio pipes, a feed, and a
 * driver channel: requests written to chan arrive on its fd 3, what it writes to its fd 4
 * comes out of reply. */
typedef struct isol8_proc {
	pid_t pid;       /* as seen by the sandbox's init (PID-namespace pid) */
	int feed, stdin_w, stdout_r, stderr_r, chan, reply;
} isol8_proc;




int sandbox_prepare(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg, isol8_err *err);
/* sandbox_prepare in two halves, so a cold run can write its feed while the sandbox is still
 * being built (the feed pipe holds up to ISOL8_FEED_BUFFER bytes without blocking). */
int sandbox_start(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg, isol8_err *err);
int sandbox_wait_ready(isol8_sandbox *sb, isol8_err *err);
/* Non-blocking: 1 when the init said ready, 0 not yet, -1 when setup failed (err says why). */
int sandbox_poll_ready(isol8_sandbox *sb, isol8_err *err);
#define ISOL8_FEED_BUFFER (1u << 20)
/* Whether spec's feed can be written now, before the sandbox is ready, without blocking. */
bool sandbox_feed_early(isol8_sandbox *sb, const isol8_exec_spec *spec);
/* The first payload will not be fed (a session spawns its own): it exits unrun. */
void sandbox_discard_feed(isol8_sandbox *sb);
/* One line on how the sandbox isolates (backend, cgroup hierarchy), for --debug. */
const char *sandbox_describe(const isol8_sandbox *sb);
/* Writes the whole feed (blocking). */
int sandbox_feed(isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err);
/* Kills every process of the sandbox (init first: the kernel then kills its namespace; then
 * a pass over the cgroup, left to the pool for an adopted sandbox). */
void sandbox_kill(isol8_sandbox *sb);
/* Reads a file of the sandbox through its init (as the sandbox user, beneath /sandbox or
 * /tmp, no symlinks, regular files only, within a deadline). Call after the payload's exit
 * status. 1 = got it, 0 = refused (err says why and names the path), -1 = sandbox gone. */
int sandbox_get_file(isol8_sandbox *sb, const char *path, size_t max, isol8_buf *out, isol8_err *err);
/* The same for a directory (path ends in '/' for /sandbox or /tmp themselves): its entries as
 * records "<t>\t<size>\t<name>\0", t one of f d l o (file, directory, link, other), at most
 * max bytes of them; links are named, never followed. */
int sandbox_list_dir(isol8_sandbox *sb, const char *path, size_t max, isol8_buf *out, isol8_err *err);
/* Takes the files of directory dir (beneath /sandbox or /tmp) through the init, as
 * sandbox_get_file reads one: every entry reported in name order as wire/dirtake.h records
 * into *out, the content of at most count regular files and max bytes in all; with remove,
 * every entry (and the directory) is removed afterwards. A missing directory has no records.
 * 1 = done, 0 = refused (err says why), -1 = sandbox gone. A backend without it: 1, nothing. */
int sandbox_take_dir(isol8_sandbox *sb, const char *dir, size_t max, size_t count, bool remove, isol8_buf *out,
		     isol8_err *err);
/* Starts a process that waits for its feed (sandbox_feed_proc); statuses name its pid. */
int sandbox_spawn(isol8_sandbox *sb, isol8_proc *p, isol8_err *err);
int sandbox_feed_proc(isol8_sandbox *sb, isol8_proc *p, const isol8_exec_spec *spec, isol8_err *err);
void sandbox_proc_close(isol8_proc *p);
/* Writes a file (as the sandbox user, beneath /sandbox or /tmp, no symlinks followed, only
 * over a regular file, within a deadline). */
int sandbox_put_file(isol8_sandbox *sb, const char *path, const void *data, size_t len, unsigned mode, isol8_err *err);
/* SIGKILL to every process of the sandbox except its init (files stay). */
int sandbox_killall(isol8_sandbox *sb, isol8_err *err);

/* The cgroup's numbers for the whole sandbox (CPU, memory peak, OOM kills). */
void sandbox_stats(isol8_sandbox *sb, isol8_cg_stats *st);

/* ---- hand-over: native sandboxes only (they are fds, so isol8-pool can pass them) ---- */
/* The fds and identity of a ready sandbox, to hand it to another process (isol8-pool). */
#define ISOL8_HANDOVER_FDS 6 /* pidfd, ctl, feed (or chan, once fed), stdin_w, stdout_r, stderr_r */
#define ISOL8_HANDOVER_MAX 7 /* a warm one's also: reply, where its driver reports the exit (warm.h) */
void sandbox_handover_fds(const isol8_sandbox *sb, int fds[ISOL8_HANDOVER_FDS]);
/* Rebuilds a sandbox received from another process; takes ownership of the fds. Its run-dir
 * record is the sender's to rewrite (sandbox_hand_record_to), off the receiver's critical path. */
int sandbox_adopt(isol8_sandbox *sb, const char *id, pid_t pid, const int fds[ISOL8_HANDOVER_FDS], isol8_err *err);
/* After sandbox_adopt: the holder, not the pool, ends this one — kills it, waits for its init by
 * its pidfd and removes its cgroup and record (a session's, which lives for hours: the pool
 * keeps no entry for it). */
void sandbox_own(isol8_sandbox *sb);
/* Rewrites the run-dir record of a sandbox handed over to process supervisor, so that
 * isol8-cleanup judges by that process (alive: the sandbox is in use) and not by the sender. */
void sandbox_hand_record_to(isol8_sandbox *sb, pid_t supervisor);
/* What isol8-pool keeps of a sandbox it handed over: enough to sweep up once its init exits
 * (the teardown its holder leaves behind so as not to wait for it). */
typedef struct isol8_handed {
	int pidfd;
	isol8_cgroup cg;
	char *record;
} isol8_handed;
/* After the hand-over was sent: closes our copies of everything that went, keeps the init's
 * pidfd, cgroup and record in *h. */
void sandbox_release(isol8_sandbox *sb, isol8_handed *h);
/* Once its init has exited: kills what is left in its cgroup, removes the cgroup and record. */
void sandbox_handed_sweep(isol8_handed *h);
/* Lets go of it without a sweep (isol8-cleanup removes what is left). */
void sandbox_handed_forget(isol8_handed *h);
/* Waits until the init has exited (at once for an adopted sandbox: its pool waits for it). */
void sandbox_wait_exit(isol8_sandbox *sb);

/* Tears everything down (unless persist: then only our fds are closed and the record stays).
 * An adopted sandbox is killed and let go of: its pool sweeps up (isol8-cleanup does, if the
 * pool is gone), which keeps the teardown off the run. */
void sandbox_destroy(isol8_sandbox *sb);

/* One status from the sandbox (a payload's exit, or an error): 1 with *m filled (free it with
 * ctl_msg_free), 0 when none is there yet, -1 when the sandbox is gone. Reads at most once. */
int sandbox_read_status(isol8_sandbox *sb, ctl_msg *m);
/* True when a whole status is already buffered. It came in the same read as an earlier
 * message (the init's "ready", a reply to a request), so poll() on ctl will never report it: a
 * caller that waits for a status must check this before it polls, or it waits for a status it
 * already has (a program that exits at once would otherwise run into its timeout). */
bool sandbox_status_buffered(const isol8_sandbox *sb);

#endif
