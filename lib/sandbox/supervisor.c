/* supervisor.c — the native backend's supervisor side: the process that creates a sandbox and
 * holds it. sandbox_start clones the init into new namespaces (init.c) with the fds below,
 * writes the id maps (user namespace), places it in the sandbox's cgroup, and writes the run-dir
 * record; then it feeds the payload, reads statuses and serves file requests over ctl.
 *
 * Fds between the three processes (all created here before clone):
 *   ctl    socketpair  supervisor <-> init     control lines (wire/ctl.h)
 *   feed   pipe        supervisor  -> payload  frames (wire/feed.h)
 *   stdio  pipes       supervisor <-> payload
 *   errp   pipe        payload -> init, CLOEXEC: empty at EOF means execve succeeded
 * The payload is forked by the init during prepare and waits on its feed with every privilege
 * already dropped; it never sees ctl. The init runs no untrusted code. */
#include <errno.h>
#include <linux/sched.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/runtime.h"
#include "core/util.h"
#include "sandbox/backend.h"
#include "sandbox/internal.h"
#include "sandbox/zygote.h"
#include "state/record.h"
#include "state/rundir.h"
#include "wire/ctl.h"
#include "wire/feed.h"

static int native_read_status(isol8_sandbox *sb, ctl_msg *m);
static void native_destroy(isol8_sandbox *sb);

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sandbox_write_record(isol8_sandbox *sb, const char *run_dir, pid_t supervisor)
{
	isol8_record rec;
	record_fill(&rec, sb->id, sb->pid, supervisor, sb->cg.version, sb->persist);
	free(sb->record);
	sb->record = rundir_sandbox_record(run_dir, sb->id);
	(void)record_write(sb->record, &rec); /* without it only isol8-cleanup's orphan rule finds it */
}

static int write_id_maps(pid_t pid, isol8_err *err)
{
	char p[64], m[64];
	snprintf(p, sizeof p, "/proc/%d/setgroups", pid);
	if (write_file(p, "deny", 0) < 0) /* before gid_map: CVE-2014-8989 */
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "setgroups deny");
	snprintf(p, sizeof p, "/proc/%d/uid_map", pid);
	snprintf(m, sizeof m, "%d %d 1\n", ISOL8_SANDBOX_UID, geteuid());
	if (write_file(p, m, 0) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "uid_map");
	snprintf(p, sizeof p, "/proc/%d/gid_map", pid);
	snprintf(m, sizeof m, "%d %d 1\n", ISOL8_SANDBOX_GID, getegid());
	if (write_file(p, m, 0) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "gid_map");
	return 0;
}

/* Interprets one message from the init during setup: 1 ready, -1 error. */
static int ready_msg(ctl_msg *m, isol8_err *err)
{
	int rc = m->kind == CTL_READY ? 1
		 : m->kind == CTL_ERROR ? isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup failed: %s", m->error)
					: isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup: unexpected message from its init");
	ctl_msg_free(m);
	return rc;
}

static int native_poll_ready(isol8_sandbox *sb, isol8_err *err)
{
	int fl = fcntl(sb->ctl, F_GETFL);
	fcntl(sb->ctl, F_SETFL, fl | O_NONBLOCK);
	ctl_msg m;
	int r = native_read_status(sb, &m);
	fcntl(sb->ctl, F_SETFL, fl);
	if (r < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox init exited during setup");
	return r == 0 ? 0 : ready_msg(&m, err);
}

static int wait_ready(isol8_sandbox *sb, isol8_err *err)
{
	uint64_t deadline = now_mono_ns() + 20ull * 1000000000ull;
	for (;;) {
		ctl_msg m;
		int r = native_read_status(sb, &m);
		if (r < 0)
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox init exited during setup");
		if (r == 1)
			return ready_msg(&m, err) < 0 ? -1 : 0;
		int64_t left = (int64_t)(deadline - now_mono_ns()) / 1000000;
		if (left <= 0)
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup timed out");
		struct pollfd p = {sb->ctl, POLLIN, 0};
		poll(&p, 1, (int)left);
	}
}

static int native_wait_ready(isol8_sandbox *sb, isol8_err *err)
{
	if (wait_ready(sb, err) < 0) {
		sb->persist = false;
		native_destroy(sb);
		return -1;
	}
	return 0;
}

/* A payload's pipes, each [0] read end and [1] write end: feed, stdin, stdout, stderr and, with
 * a driver channel, its requests (rq) and replies (rp). -1 where not open. */
struct payload_pipes {
	int feed[2], in[2], out[2], er[2], rq[2], rp[2];
};

static void payload_pipes_close(struct payload_pipes *pp)
{
	int *all[] = {pp->feed, pp->in, pp->out, pp->er, pp->rq, pp->rp};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		close_fd(&all[i][0]);
		close_fd(&all[i][1]);
	}
}

/* The supervisor's ends of a payload's pipes: it writes the feed, stdin and driver requests,
 * and reads stdout, stderr and driver replies. */
static void supervisor_ends(const struct payload_pipes *pp, int *feed, int *in, int *out, int *er, int *chan,
			    int *reply)
{
	*feed = pp->feed[1];
	*in = pp->in[1];
	*out = pp->out[0];
	*er = pp->er[0];
	*chan = pp->rq[1];
	*reply = pp->rp[0];
}

/* Opens them all, or none (errno set). */
static int payload_pipes_open(struct payload_pipes *pp, bool channel)
{
	int *all[] = {pp->feed, pp->in, pp->out, pp->er, pp->rq, pp->rp};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		all[i][0] = all[i][1] = -1;
	for (size_t i = 0; i < ARRAY_SIZE(all) - (channel ? 0 : 2); i++)
		if (pipe2(all[i], O_CLOEXEC) < 0) {
			int e = errno;
			payload_pipes_close(pp);
			errno = e;
			return -1;
		}
	return 0;
}

/* The run dir's staging mount point (into staging) and records directory, made if missing. */
static int run_dir_ready(const char *run_dir, char staging[PATH_MAX], isol8_err *err)
{
	char *stage = rundir_staging(run_dir), *recdir = rundir_sandboxes(run_dir);
	snprintf(staging, PATH_MAX, "%s", stage);
	int made = mkdir_p(stage, 0755) == 0 && mkdir_p(recdir, 0700) == 0 ? 0 : -1;
	int e = errno;
	free(stage);
	free(recdir);
	return made < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, e, "cannot create the run dir %s (set ISOL8_RUN_DIR)", run_dir) : 0;
}

pid_t sandbox_clone(unsigned long flags, struct child_fds *f, int *pidfd)
{
	if (f->ncg && f->cg_v2 && !f->cg_v2_self) {
		struct clone_args a = {.flags = (flags & ~(unsigned long)CSIGNAL) | CLONE_INTO_CGROUP,
				       .pidfd = (uintptr_t)pidfd, .exit_signal = flags & CSIGNAL, .cgroup = (uint64_t)f->cg[0]};
		pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EPERM))
			return pid;
		f->cg_v2_self = true;
	}
	return (pid_t)syscall(SYS_clone, flags, NULL, pidfd, NULL, 0);
}

static int native_start(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg_in, isol8_err *err)
{
	memset(sb, 0, sizeof *sb);
	sb->be = &isol8_native_backend;
	sb->pidfd = sb->ctl = sb->feed = sb->stdin_w = sb->stdout_r = sb->stderr_r = sb->proxy_fd = -1;
	sb->chan = sb->reply = sb->layer_lock = -1;
	sb->persist = cfg_in->persist;
	random_hex(sb->id, 8);
	isol8_sandbox_cfg cfg = *cfg_in;
	const char *run_dir = cfg.run_dir ? cfg.run_dir : isol8_run_dir();
	char staging[PATH_MAX];
	if (run_dir_ready(run_dir, staging, err) < 0)
		return -1;
	cfg.rootfs.staging = staging;
	cfg.rootfs.uid = ISOL8_SANDBOX_UID;
	cfg.rootfs.gid = ISOL8_SANDBOX_GID;
	if (!cfg.rootfs.runtimes_dir)
		cfg.rootfs.runtimes_dir = runtime_dir();

	/* before the init mounts the layer: a retired one is not removed under it (images.h) */
	if (cfg.rootfs.layer && (sb->layer_lock = rootfs_hold_layer(cfg.rootfs.layer, err)) < 0)
		return -1;
	if (cgroup_create(&sb->cg, sb->id, &cfg.limits, err) < 0) {
		close_fd(&sb->layer_lock);
		return -1;
	}

	/* Each pair: [0] read end, [1] write end. The supervisor's ends belong to sb as soon as they
	 * are open (sandbox_destroy closes them on any failure); the child's ends are closed here. */
	struct payload_pipes pp;
	int sync[2] = {-1, -1}, ctl[2] = {-1, -1};
	int *child_ends[] = {&sync[0], &ctl[1], &pp.feed[0], &pp.in[0], &pp.out[1], &pp.er[1], &pp.rq[0], &pp.rp[1]};
	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	int pidfd = -1;
	pid_t pid = -1;
	if (payload_pipes_open(&pp, cfg.driver_channel) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipes");
		goto fail;
	}
	supervisor_ends(&pp, &sb->feed, &sb->stdin_w, &sb->stdout_r, &sb->stderr_r, &sb->chan, &sb->reply);
	if (pipe2(sync, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipes");
		goto fail;
	}
	sb->ctl = ctl[0];
	fcntl(sb->feed, F_SETPIPE_SZ, ISOL8_FEED_BUFFER); /* best effort: pipe-max-size may be lower */
	if (!cfg.share_net)
		flags |= CLONE_NEWNET;
	if (geteuid() != 0)
		flags |= CLONE_NEWUSER;
	struct child_fds f = {sync[0], ctl[1], pp.feed[0], pp.in[0], pp.out[1], pp.er[1], pp.rq[0], pp.rp[1], {-1}, 0, false, false};
	if (cfg.zygote && !zygote_fits(&cfg))
		cfg.zygote = NULL; /* a zygote's forks are only what it can build */
	sb->forked_init = cfg.zygote != NULL;
	/* As root the init joins its cgroup as it starts (cgroup.h says why); in a user namespace
	 * it could not write there, and is attached below. */
	if (!(flags & CLONE_NEWUSER)) {
		if ((f.ncg = cgroup_join_open(&sb->cg, f.cg, err)) < 0)
			goto fail;
		f.cg_v2 = sb->cg.version == 2;
	}
	if (cfg.zygote) {
		/* the init is a fork of the zygote's interpreter (zygote.h), not of this process */
		pid = zygote_clone(cfg.zygote, &cfg, &f, flags & CLONE_NEWUSER, &pidfd, err);
	} else {
		pid = sandbox_clone(flags, &f, &pidfd);
		if (pid < 0)
			isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create namespaces (clone)");
		if (pid == 0) /* init_main closes every other descriptor, the supervisor's ends too */
			init_main(&f, &cfg);
	}
	for (int i = 0; i < f.ncg; i++)
		close(f.cg[i]);
	if (pid < 0)
		goto fail;
	sb->pid = pid;
	sb->pidfd = pidfd;
	for (size_t i = 0; i < ARRAY_SIZE(child_ends); i++)
		close_fd(child_ends[i]);
	if ((flags & CLONE_NEWUSER) && (write_id_maps(pid, err) < 0 || write_all(sync[1], "m", 1) < 0))
		goto fail;
	/* The init builds its root meanwhile; it forks the payload only after this "go". */
	if (!f.ncg && cgroup_attach(&sb->cg, pid, err) < 0)
		goto fail;
	if (write_all(sync[1], "g", 1) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "start sandbox init");
		goto fail;
	}
	close_fd(&sync[1]);
	sandbox_write_record(sb, run_dir, getpid());
	return 0;
fail:
	for (size_t i = 0; i < ARRAY_SIZE(child_ends); i++)
		close_fd(child_ends[i]);
	close_fd(&sync[1]);
	sb->persist = false;
	native_destroy(sb);
	return -1;
}

static bool native_feed_early(isol8_sandbox *sb, const isol8_exec_spec *spec)
{
	return feed_size(spec) < ISOL8_FEED_BUFFER / 2 && fcntl(sb->feed, F_GETPIPE_SZ) >= (int)ISOL8_FEED_BUFFER;
}

static int native_feed(isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err)
{
	int rc = feed_write(sb->feed, spec, err);
	close_fd(&sb->feed);
	return rc;
}

static int native_feed_proc(isol8_sandbox *sb, isol8_proc *p, const isol8_exec_spec *spec, isol8_err *err)
{
	int rc = feed_write(p->feed, spec, err);
	close_fd(&p->feed);
	return rc;
}

/* read() on ctl, but with recvmsg so a file descriptor passed by the init (the proxy
 * listener) is kept rather than silently closed by the kernel. */
static ssize_t ctl_read(isol8_sandbox *sb, void *buf, size_t n)
{
	int got[FDPASS_MAX], k = 0;
	ssize_t r = fd_recv(sb->ctl, buf, n, got, FDPASS_MAX, &k);
	for (int i = 0; i < k; i++) {
		if (sb->proxy_fd < 0)
			sb->proxy_fd = got[i];
		else
			close(got[i]);
	}
	return r;
}

static bool pop_line(isol8_buf *b, char **line)
{
	char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
	if (!nl)
		return false;
	size_t ll = (size_t)(nl - (char *)b->data);
	*line = xstrndup((char *)b->data, ll);
	memmove(b->data, nl + 1, b->len - ll - 1);
	b->len -= ll + 1;
	return true;
}

static bool native_status_buffered(const isol8_sandbox *sb)
{
	return (sb->status_q.len && memchr(sb->status_q.data, '\n', sb->status_q.len)) ||
	       (sb->ctl_in.len && memchr(sb->ctl_in.data, '\n', sb->ctl_in.len));
}

/* One whole line into *line (malloc'd): 1, or 0 when none is buffered and the read found no
 * whole one (EAGAIN on a non-blocking socket too), -1 at EOF. Reads at most once. */
static int next_line(isol8_sandbox *sb, char **line)
{
	if (pop_line(&sb->status_q, line) || pop_line(&sb->ctl_in, line))
		return 1;
	char tmp[4096];
	ssize_t n = ctl_read(sb, tmp, sizeof tmp);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	buf_append(&sb->ctl_in, tmp, (size_t)n);
	return pop_line(&sb->ctl_in, line) ? 1 : 0;
}

static int native_read_status(isol8_sandbox *sb, ctl_msg *m)
{
	char *line = NULL;
	int r = next_line(sb, &line);
	if (r == 1) {
		ctl_parse(line, strlen(line), m);
		free(line);
	}
	return r;
}

/* Blocking: the next reply from the init. Exit statuses (lines with a pid) that arrive
 * meanwhile are queued for native_read_status, never taken for the reply. */
static int read_reply(isol8_sandbox *sb, ctl_msg *out, isol8_err *err)
{
	int fl = fcntl(sb->ctl, F_GETFL);
	fcntl(sb->ctl, F_SETFL, fl & ~O_NONBLOCK);
	int rc = -1;
	for (;;) {
		char *line = NULL;
		if (!pop_line(&sb->ctl_in, &line)) {
			char tmp[4096];
			ssize_t n = ctl_read(sb, tmp, sizeof tmp);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox went away");
				break;
			}
			buf_append(&sb->ctl_in, tmp, (size_t)n);
			continue;
		}
		ctl_parse(line, strlen(line), out);
		if (out->pid) {
			buf_puts(&sb->status_q, line);
			buf_append(&sb->status_q, "\n", 1);
			ctl_msg_free(out);
			free(line);
			continue;
		}
		free(line);
		rc = 0;
		break;
	}
	fcntl(sb->ctl, F_SETFL, fl);
	return rc;
}

static int send_request(isol8_sandbox *sb, const ctl_req *req, const int *fds, int nfds, isol8_err *err)
{
	char *line = ctl_request_line(req);
	size_t len = strlen(line);
	ssize_t n = fd_send(sb->ctl, line, len, fds, nfds);
	int rc = 0;
	if (n < 0)
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "request to the sandbox");
	else if ((size_t)n < len)
		rc = write_all(sb->ctl, line + n, len - (size_t)n) < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "request") : 0;
	free(line);
	return rc;
}

/* The reply named key: its number in *num; anything else is the init's refusal. */
static int reply_ok(isol8_sandbox *sb, const char *key, long long *num, isol8_err *err)
{
	ctl_msg m;
	if (read_reply(sb, &m, err) < 0)
		return -1;
	int rc = 0;
	if (m.kind == CTL_REPLY && !strcmp(m.reply, key)) {
		if (num)
			*num = m.value;
	} else {
		rc = isol8_fail(err, ISOL8_E_INPUT, 0, "%s", m.kind == CTL_ERROR ? m.error : "refused");
	}
	ctl_msg_free(&m);
	return rc;
}

static int native_put_file(isol8_sandbox *sb, const char *path, const void *data, size_t len, unsigned mode,
			   isol8_err *err)
{
	if (sb->ctl < 0 || strchr(path, '\n'))
		return isol8_input_error(err, "bad path");
	ctl_req req = {.kind = CTL_REQ_PUT, .path = (char *)path, .size = len, .mode = mode ? mode : 0644};
	if (send_request(sb, &req, NULL, 0, err) < 0)
		return -1;
	if (write_all(sb->ctl, data, len) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "sending %s", path);
	if (reply_ok(sb, "ok", NULL, err) < 0) {
		char m[sizeof err->msg];
		snprintf(m, sizeof m, "%s", err->msg);
		return isol8_input_error(err, "cannot write %s: %s", path, m);
	}
	return 0;
}

static int native_killall(isol8_sandbox *sb, isol8_err *err)
{
	ctl_req req = {.kind = CTL_REQ_KILLALL};
	if (send_request(sb, &req, NULL, 0, err) < 0)
		return -1;
	return reply_ok(sb, "ok", NULL, err);
}

static int native_spawn(isol8_sandbox *sb, isol8_proc *p, isol8_err *err)
{
	struct payload_pipes pp;
	memset(p, 0, sizeof *p);
	p->feed = p->stdin_w = p->stdout_r = p->stderr_r = p->chan = p->reply = -1;
	/* pipes, not a socket, for the driver channel: every runtime (Deno too) can reopen a pipe
	 * through /proc/self/fd/N */
	if (payload_pipes_open(&pp, true) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipes");
	int rc = -1;
	supervisor_ends(&pp, &p->feed, &p->stdin_w, &p->stdout_r, &p->stderr_r, &p->chan, &p->reply);
	int *theirs[] = {&pp.feed[0], &pp.in[0], &pp.out[1], &pp.er[1], &pp.rq[0], &pp.rp[1]};
	/* The JS runtimes reopen the channel through /proc/self/fd/N, which checks the pipe's
	 * owner: hand the two pipes to the sandbox user (a no-op in a user namespace). */
	if (geteuid() == 0 && (fchown(pp.rq[0], ISOL8_SANDBOX_UID, ISOL8_SANDBOX_GID) < 0 ||
			       fchown(pp.rp[1], ISOL8_SANDBOX_UID, ISOL8_SANDBOX_GID) < 0)) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "driver channel");
	} else {
		int give[ARRAY_SIZE(theirs)];
		for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
			give[i] = *theirs[i];
		long long pid = 0;
		ctl_req req = {.kind = CTL_REQ_SPAWN};
		if (send_request(sb, &req, give, ARRAY_SIZE(give), err) == 0 &&
		    reply_ok(sb, "spawned", &pid, err) == 0) {
			p->pid = (pid_t)pid;
			rc = 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
		close_fd(theirs[i]);
	if (rc < 0)
		sandbox_proc_close(p);
	return rc;
}

/* The content that follows a "size" reply into out: what is already buffered, then the socket. */
static int read_content(isol8_sandbox *sb, size_t need, isol8_buf *out, const char *path, isol8_err *err)
{
	int fl = fcntl(sb->ctl, F_GETFL);
	fcntl(sb->ctl, F_SETFL, fl & ~O_NONBLOCK);
	size_t have = sb->ctl_in.len < need ? sb->ctl_in.len : need;
	buf_append(out, sb->ctl_in.data, have);
	memmove(sb->ctl_in.data, sb->ctl_in.data + have, sb->ctl_in.len - have);
	sb->ctl_in.len -= have;
	while (out->len < need) {
		char tmp[65536];
		size_t want = need - out->len < sizeof tmp ? need - out->len : sizeof tmp;
		ssize_t n = read(sb->ctl, tmp, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fcntl(sb->ctl, F_SETFL, fl);
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "short read of %s", path);
		}
		buf_append(out, tmp, (size_t)n);
	}
	fcntl(sb->ctl, F_SETFL, fl);
	return 1;
}

/* A get or take: its request, then the "size" reply and content (1), a refusal (0), or -1. */
static int content_request(isol8_sandbox *sb, const ctl_req *req, isol8_buf *out, isol8_err *err)
{
	const char *verb = req->list ? "list" : "read";
	if (sb->ctl < 0 || strchr(req->path, '\n'))
		return isol8_input_error(err, "cannot %s %s: bad path", verb, req->path), 0;
	ctl_msg m;
	if (send_request(sb, req, NULL, 0, err) < 0 || read_reply(sb, &m, err) < 0)
		return -1;
	if (m.kind != CTL_REPLY || strcmp(m.reply, "size")) {
		/* missing, not a regular file, a symlink on the way, or too large */
		isol8_fail(err, ISOL8_E_INPUT, 0, "cannot %s %s: %s", verb, req->path, m.kind == CTL_ERROR ? m.error : "unreadable");
		ctl_msg_free(&m);
		return 0;
	}
	return read_content(sb, (size_t)m.value, out, req->path, err);
}

static int native_get_file(isol8_sandbox *sb, const char *path, size_t max, bool list, isol8_buf *out, isol8_err *err)
{
	ctl_req req = {.kind = CTL_REQ_GET, .path = (char *)path, .max = max, .list = list};
	return content_request(sb, &req, out, err);
}

static int native_take_dir(isol8_sandbox *sb, const char *dir, size_t max, size_t count, bool remove, isol8_buf *out,
			   isol8_err *err)
{
	ctl_req req = {.kind = CTL_REQ_TAKE, .path = (char *)dir, .max = max, .count = count, .remove = remove};
	return content_request(sb, &req, out, err);
}

static void native_kill(isol8_sandbox *sb)
{
	if (sb->pidfd >= 0 && !sb->dead)
		syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
	if (sb->cg.version && !sb->adopted) /* ~0.5 ms on cgroup v1: the pool does it after the run */
		cgroup_kill_all(&sb->cg);
}

static void native_wait_exit(isol8_sandbox *sb)
{
	if (sb->dead || sb->pid <= 0 || sb->adopted)
		return;
	/* An init forked by a zygote is the zygote's child, reaped by the kernel: its pidfd tells
	 * when it has exited (its pid, once free, may be one of ours again: never waited on). */
	struct pollfd ended = {sb->pidfd, POLLIN, 0};
	if (sb->forked_init && sb->pidfd >= 0)
		while (poll(&ended, 1, -1) < 0 && errno == EINTR)
			;
	while (!sb->forked_init && waitpid(sb->pid, NULL, 0) < 0 && errno == EINTR)
		;
	sb->dead = true;
}

static void native_destroy(isol8_sandbox *sb)
{
	/* --persist: left alive on purpose; its cgroup and run-dir record stay for isol8-cleanup.
	 * Adopted: killed, and its cgroup and record left to its pool. */
	bool keep = sb->persist && sb->pid > 0, sweep = !keep && !sb->adopted;
	int *fds[] = {&sb->feed, &sb->stdin_w, &sb->stdout_r, &sb->stderr_r, &sb->ctl, &sb->proxy_fd, &sb->chan, &sb->reply,
		      &sb->layer_lock};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	isol8_buf_free(&sb->ctl_in);
	isol8_buf_free(&sb->status_q);
	if (!keep && sb->pid > 0) {
		native_kill(sb);
		native_wait_exit(sb);
		sb->pid = 0;
	}
	close_fd(&sb->pidfd);
	if (sweep)
		cgroup_destroy(&sb->cg);
	else
		cgroup_forget(&sb->cg);
	if (sb->record && sweep)
		unlink(sb->record);
	free(sb->record);
	sb->record = NULL;
}

static void native_discard_feed(isol8_sandbox *sb)
{
	close_fd(&sb->feed);
}

static const char *native_describe(const isol8_sandbox *sb)
{
	return cgroup_describe();
}

static void native_stats(isol8_sandbox *sb, isol8_cg_stats *st)
{
	cgroup_read_stats(&sb->cg, st);
}

const isol8_backend isol8_native_backend = {
	.name = "native",
	.start = native_start,
	.poll_ready = native_poll_ready,
	.wait_ready = native_wait_ready,
	.feed_early = native_feed_early,
	.feed = native_feed,
	.spawn = native_spawn,
	.feed_proc = native_feed_proc,
	.read_status = native_read_status,
	.status_buffered = native_status_buffered,
	.put_file = native_put_file,
	.get_file = native_get_file,
	.take_dir = native_take_dir,
	.killall = native_killall,
	.kill = native_kill,
	.wait_exit = native_wait_exit,
	.stats = native_stats,
	.destroy = native_destroy,
	.discard_feed = native_discard_feed,
	.describe = native_describe,
};
