/* zygote.c — see zygote.h. */
#include "sandbox/zygote.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/util.h"
#include "sandbox/internal.h"
#include "sandbox/rootfs.h"
#include "sandbox/sandbox.h"
#include "wire/zygmsg.h"

#define ZYGOTE_REPLY_MS 5000 /* a fork takes a few ms; a zygote that takes this long is stuck */

bool zygote_fits(const isol8_sandbox_cfg *c)
{
	return c->pooled && c->driver_channel && !c->share_net && !c->persist && !c->proxy_listener && !c->backend &&
	       !c->rootfs.image && !c->rootfs.writable && !c->rootfs.layer;
}

static void copy_path(char *out, size_t n, const char *s)
{
	snprintf(out, n, "%s", s ? s : "");
}

pid_t zygote_clone(isol8_zygote *z, const isol8_sandbox_cfg *cfg, const struct child_fds *f, bool user, int *pidfd,
		   isol8_err *err)
{
	zyg_request q = {.seccomp = cfg->seccomp, .user = user, .support = cfg->rootfs.nsupport > 0, .session = cfg->zygote_session,
			 .sandbox_size = cfg->rootfs.sandbox_size, .tmp_size = cfg->rootfs.tmp_size};
	copy_path(q.staging, sizeof q.staging, cfg->rootfs.staging);
	copy_path(q.runtimes, sizeof q.runtimes, cfg->rootfs.runtimes_dir);
	copy_path(q.probe, sizeof q.probe, cfg->probe);
	q.cgroup = f->ncg ? (f->cg_v2 ? 2 : 1) : 0;
	q.cgroup_fds = f->ncg;
	char *line = zygmsg_request_line(&q);
	int fds[ZYGMSG_FDS + CG_V1_N] = {f->sync_r, f->ctl, f->in_r, f->out_w, f->err_w, f->chan_r, f->reply_w};
	for (int i = 0; i < f->ncg; i++)
		fds[ZYGMSG_FDS + i] = f->cg[i];
	ssize_t len = (ssize_t)strlen(line), sent = fd_send(z->sock, line, (size_t)len, fds, ZYGMSG_FDS + f->ncg);
	free(line);
	if (sent != len) {
		z->broken = true;
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "the zygote is gone");
	}
	struct pollfd p = {z->sock, POLLIN, 0};
	if (poll(&p, 1, ZYGOTE_REPLY_MS) != 1) {
		z->broken = true;
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the zygote did not answer within %d ms", ZYGOTE_REPLY_MS);
	}
	char buf[ZYGMSG_MAX], why[256] = "";
	int got[FDPASS_MAX], n = 0;
	ssize_t r = fd_recv(z->sock, buf, sizeof buf - 1, got, FDPASS_MAX, &n);
	pid_t pid = -1;
	int kind = r > 0 ? zygmsg_parse_reply(buf, (size_t)r, &pid, why) : -1;
	if (kind == 1 && n == 1) {
		z->forks++;
		*pidfd = got[0];
		return pid;
	}
	for (int i = 0; i < n; i++)
		close(got[i]);
	if (kind == 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the zygote could not fork: %s", why);
	z->broken = true;
	return isol8_fail(err, ISOL8_E_SANDBOX, 0, r <= 0 ? "the zygote is gone" : "the zygote's reply made no sense");
}

/* The cfg a request describes: a pooled warm slot (zygote_fits), as the pool built it. */
static void cfg_of(const zyg_request *q, const zygote_hooks *h, isol8_sandbox_cfg *cfg)
{
	*cfg = (isol8_sandbox_cfg){
		.seccomp = q->seccomp,
		.pooled = true,
		.driver_channel = true,
		.probe = q->probe[0] ? q->probe : NULL,
		.rootfs = {.staging = q->staging, .runtimes_dir = q->runtimes[0] ? q->runtimes : NULL,
			   .sandbox_size = q->sandbox_size, .tmp_size = q->tmp_size,
			   .uid = ISOL8_SANDBOX_UID, .gid = ISOL8_SANDBOX_GID},
	};
	if (q->support && h->support)
		h->support(cfg);
}

/* The root template (rootfs.h) of the options it was built for, in the zygote's own mount
 * namespace (made once, private: nothing of it is seen on the host, and it goes with the
 * zygote). Each fork is cloned with a copy and builds only its own mounts on it. Not under a
 * user namespace (the copied mounts would be locked to it; the init builds its root itself),
 * and given up for the zygote's life if it cannot have a mount namespace of its own or the
 * template cannot be built. */
static struct {
	bool own_ns, given_up, built;
	char staging[PATH_MAX], runtimes[PATH_MAX];
	bool support;
} tpl;

static bool root_template(const zyg_request *q, const isol8_sandbox_cfg *cfg)
{
	const isol8_rootfs_opts *o = &cfg->rootfs;
	if (q->user || tpl.given_up)
		return false;
	if (tpl.built && !strcmp(tpl.staging, q->staging) && !strcmp(tpl.runtimes, q->runtimes) &&
	    tpl.support == (o->nsupport > 0))
		return true;
	if (!tpl.own_ns) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			tpl.given_up = true;
			return false;
		}
		tpl.own_ns = true;
	}
	if (tpl.built) /* other options: this one goes */
		umount2(tpl.staging, MNT_DETACH);
	isol8_err err = {0};
	tpl.built = rootfs_template(o, &err) == 0;
	tpl.given_up = !tpl.built; /* not tried again: each fork builds its whole root, as without a zygote */
	copy_path(tpl.staging, sizeof tpl.staging, q->staging);
	copy_path(tpl.runtimes, sizeof tpl.runtimes, q->runtimes);
	tpl.support = o->nsupport > 0;
	return tpl.built;
}

static void reply(int sock, pid_t pid, int pidfd, const char *error)
{
	char *line = zygmsg_reply_line(pid, error);
	(void)fd_send(sock, line, strlen(line), &pidfd, pidfd >= 0 ? 1 : 0);
	free(line);
}

int zygote_serve(int sock, const zygote_hooks *h)
{
	/* the kernel reaps what this process forks: each init's holder watches its pidfd */
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigaction(SIGCHLD, &ign, NULL);
	for (;;) {
		/* static: the init forked below keeps pointing into it (cfg), and never returns */
		static char buf[ZYGMSG_MAX];
		static zyg_request q;
		static isol8_sandbox_cfg cfg;
		int fds[FDPASS_MAX], n = 0;
		ssize_t r = fd_recv(sock, buf, sizeof buf - 1, fds, FDPASS_MAX, &n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 1; /* the pool let go of us */
		if (zygmsg_parse_request(buf, (size_t)r, &q) < 0 || n != ZYGMSG_FDS + q.cgroup_fds) {
			for (int i = 0; i < n; i++)
				close(fds[i]);
			reply(sock, 0, -1, "malformed request");
			continue;
		}
		cfg_of(&q, h, &cfg);
		cfg.rootfs.on_template = root_template(&q, &cfg);
		struct child_fds f = {fds[0], fds[1], -1, fds[2], fds[3], fds[4], fds[5], fds[6], {-1}, q.cgroup_fds,
				      q.cgroup == 2, false};
		for (int i = 0; i < q.cgroup_fds; i++)
			f.cg[i] = fds[ZYGMSG_FDS + i];
		unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_PIDFD |
				      SIGCHLD | (q.user ? CLONE_NEWUSER : 0);
		int pidfd = -1;
		if (h->before)
			h->before();
		pid_t pid = sandbox_clone(flags, &f, &pidfd);
		if (pid == 0) {
			init_zygote(&f, &cfg, h->child);
			/* the payload: the interpreter takes over, without the request's host paths (the
			 * run dir's staging dir, the runtimes dir) in what it can read of its memory */
			int mode = q.session ? 2 : 0;
			explicit_bzero(buf, sizeof buf);
			explicit_bzero(&q, sizeof q);
			explicit_bzero(&cfg, sizeof cfg);
			explicit_bzero(&tpl, sizeof tpl);
			return mode;
		}
		int e = errno;
		if (h->parent)
			h->parent();
		for (int i = 0; i < n; i++)
			close(fds[i]);
		if (pid < 0) {
			reply(sock, 0, -1, strerror(e));
		} else {
			reply(sock, pid, pidfd, NULL);
			close(pidfd);
		}
	}
}
