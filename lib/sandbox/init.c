/* init.c — PID 1 of a sandbox's namespaces. It brings up lo, makes the filtering proxy's socket
 * inside the sandbox's network namespace (--net filtered), builds the root filesystem
 * (rootfs.c), waits until its supervisor has placed it in the sandbox's cgroup, forks the
 * payload (payload.c), then serves the control socket (wire/ctl.h): exit statuses out, file
 * operations (fileops.c), spawns and kills in. It runs no untrusted code and cannot be
 * ptraced or read by what runs beside it. */
#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/util.h"
#include "sandbox/internal.h"
#include "sandbox/rootfs.h"
#include "wire/ctl.h"

/* The init must never block on a read of its own pipes: only for the supervisor's sync bytes. */
static int read_byte(int fd, char *c)
{
	for (;;) {
		ssize_t r = read(fd, c, 1);
		if (r == 1)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static int lo_up(isol8_err *err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	if (s < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "socket for lo");
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP | IFF_RUNNING;
	int r = ioctl(s, SIOCSIFFLAGS, &ifr);
	int e = errno;
	close(s);
	return r < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, e, "bring up lo") : 0;
}

/* fds that arrived with SCM_RIGHTS, consumed in order by "spawn" requests */
struct fdq {
	int fds[32];
	int n;
};

static ssize_t recv_with_fds(int sock, void *buf, size_t len, struct fdq *q)
{
	int got[FDPASS_MAX], n = 0;
	ssize_t r = fd_recv(sock, buf, len, got, FDPASS_MAX, &n);
	for (int i = 0; i < n; i++) {
		if (q->n < (int)ARRAY_SIZE(q->fds))
			q->fds[q->n++] = got[i];
		else
			close(got[i]);
	}
	return r;
}

static int fdq_take(struct fdq *q)
{
	if (!q->n)
		return -1;
	int fd = q->fds[0];
	memmove(q->fds, q->fds + 1, (size_t)--q->n * sizeof(int));
	return fd;
}

/* A new payload in this sandbox (a session's interpreter, or a command), on the fds the
 * supervisor passed: feed, stdin, stdout, stderr, and a driver channel: a request pipe that
 * becomes its fd 3 and a reply pipe that becomes its fd 4. */
static pid_t spawn_payload(struct fdq *q, int ctl, int sigfd, int *errp_out, const isol8_sandbox_cfg *cfg)
{
	int fd[6];
	for (int i = 0; i < 6; i++)
		fd[i] = fdq_take(q);
	int errp[2];
	pid_t pid = -1;
	if (fd[5] >= 0 && pipe2(errp, O_CLOEXEC) == 0) {
		pid = fork();
		if (pid == 0) {
			close(ctl);
			close(sigfd);
			close(errp[0]);
			payload_main(fd[0], fd[1], fd[2], fd[3], errp[1], fd[4] | fd[5] << 16, cfg);
		}
		close(errp[1]);
		if (pid > 0) {
			fcntl(errp[0], F_SETFL, O_NONBLOCK);
			*errp_out = errp[0];
		} else {
			close(errp[0]);
		}
	}
	for (int i = 0; i < 6; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return pid;
}

struct child {
	pid_t pid;
	int errp;
};

/* What the init keeps between requests. */
struct init_state {
	int ctl, sigfd;
	const isol8_sandbox_cfg *cfg;
	isol8_buf in;   /* request bytes not yet handled */
	struct fdq q;   /* fds that came with them */
	/* every payload this init started and has not reaped: the first one, then spawned ones */
	struct child kids[16];
	int nkids;
};

/* Whether the configured probe path exists (isol8_sandbox_cfg.probe). Threat: the path is the
 * program's to plant: fstatat with AT_SYMLINK_NOFOLLOW opens nothing and follows no link, so a
 * FIFO, a link or a missing directory can neither block nor mislead the init beyond a wrong hint. */
static bool probe_found(const isol8_sandbox_cfg *cfg)
{
	struct stat st;
	return cfg->probe && fstatat(AT_FDCWD, cfg->probe, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Reaps what exited; a payload of ours is reported on ctl (with its exec error, if any). */
static void reap(struct init_state *s)
{
	struct signalfd_siginfo si;
	(void)!read(s->sigfd, &si, sizeof si);
	int status;
	pid_t w;
	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		int k = 0;
		while (k < s->nkids && s->kids[k].pid != w)
			k++;
		if (k == s->nkids)
			continue; /* reaping orphans is PID 1's duty */
		char msg[1024];
		ssize_t n = read(s->kids[k].errp, msg, sizeof msg - 1);
		close(s->kids[k].errp);
		s->kids[k] = s->kids[--s->nkids];
		if (n > 0)
			msg[n] = 0;
		/* the pid tells spawned payloads apart (sessions) */
		ctl_send_exit(s->ctl, w, status, n > 0 ? msg : NULL, probe_found(s->cfg));
	}
}

/* A put: the content follows the request line, first from the buffer, then the socket. */
static void handle_put(struct init_state *s, const ctl_req *req)
{
	size_t need = req->size;
	if (need > s->cfg->rootfs.sandbox_size + s->cfg->rootfs.tmp_size) {
		ctl_send_error(s->ctl, "file larger than the sandbox");
		_exit(1); /* the stream cannot be resynchronised */
	}
	char tmp[65536];
	while (s->in.len < need) {
		ssize_t r = read(s->ctl, tmp, sizeof tmp);
		if (r <= 0)
			_exit(0); /* supervisor gone mid-transfer */
		buf_append(&s->in, tmp, (size_t)r);
	}
	fileop_put(s->ctl, s->cfg, req->path, req->mode, s->in.data, need);
	memmove(s->in.data, s->in.data + need, s->in.len - need);
	s->in.len -= need;
}

static void handle_request(struct init_state *s, const ctl_req *req)
{
	if (req->kind == CTL_REQ_GET) {
		fileop_get(s->ctl, s->cfg, req->path, req->max, req->list);
	} else if (req->kind == CTL_REQ_TAKE) {
		fileop_take(s->ctl, s->cfg, req);
	} else if (req->kind == CTL_REQ_PUT) {
		handle_put(s, req);
	} else if (req->kind == CTL_REQ_SPAWN) {
		int ep = -1;
		pid_t pid = s->nkids < (int)ARRAY_SIZE(s->kids) ? spawn_payload(&s->q, s->ctl, s->sigfd, &ep, s->cfg) : -1;
		if (pid > 0) {
			s->kids[s->nkids++] = (struct child){pid, ep};
			ctl_send_reply(s->ctl, "spawned", pid);
		} else {
			ctl_send_error(s->ctl, "spawn failed");
		}
	} else if (req->kind == CTL_REQ_KILLALL) {
		/* every process of the sandbox but this init: a runaway exec, its children */
		kill(-1, SIGKILL);
		ctl_send_reply(s->ctl, "ok", 1);
	} else {
		ctl_send_error(s->ctl, "bad request");
	}
}

/* Reads from ctl and handles every whole request line; false when the supervisor is gone. */
static bool read_requests(struct init_state *s)
{
	char tmp[65536];
	ssize_t n = recv_with_fds(s->ctl, tmp, sizeof tmp, &s->q);
	if (n <= 0)
		return false;
	buf_append(&s->in, tmp, (size_t)n);
	char *nl;
	while (s->in.len && (nl = memchr(s->in.data, '\n', s->in.len))) {
		size_t ll = (size_t)(nl - (char *)s->in.data);
		ctl_req req;
		ctl_parse_request((const char *)s->in.data, ll, &req);
		memmove(s->in.data, nl + 1, s->in.len - ll - 1);
		s->in.len -= ll + 1;
		handle_request(s, &req);
		ctl_req_free(&req);
	}
	return true;
}

static __attribute__((noreturn)) void init_loop(int ctl, int sigfd, pid_t payload, int errp,
						const isol8_sandbox_cfg *cfg)
{
	struct init_state s = {.ctl = ctl, .sigfd = sigfd, .cfg = cfg, .kids = {{payload, errp}}, .nkids = 1};
	bool ctl_open = true;
	for (;;) {
		struct pollfd p[2] = {{sigfd, POLLIN, 0}, {ctl_open ? ctl : -1, POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (p[0].revents)
			reap(&s);
		if (ctl_open && p[1].revents && !read_requests(&s)) {
			if (!cfg->persist)
				_exit(0); /* supervisor done: the kernel tears the namespace down */
			close(ctl);
			ctl_open = false;
		}
	}
}


/* Closes every descriptor from 3 up except those in keep (negative entries are ignored). */
static void close_all_but(const int *keep, int n)
{
	for (unsigned lo = 3;;) {
		unsigned next = ~0U; /* the lowest kept fd at or above lo */
		for (int i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo)
			syscall(SYS_close_range, lo, next == ~0U ? ~0U : next - 1, 0);
		if (next == ~0U)
			return;
		lo = next + 1;
	}
}

/* --net filtered: the proxy's socket, made here, in the sandbox's network namespace, and passed
 * out; a proxy outside accepts on it. The kernel then makes it the only way out: no route, no
 * DNS, no root inside. */
static int proxy_listener(isol8_err *err)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ISOL8_PROXY_PORT), .sin_addr = {htonl(INADDR_LOOPBACK)}};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "proxy socket on 127.0.0.1:%d", ISOL8_PROXY_PORT);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Everything the init does before it forks the first payload: 0, with the sandbox built and
 * the init in its cgroup; -1 with err when something failed. */
static int init_build(const struct child_fds *f, const isol8_sandbox_cfg *cfg, int *listener, isol8_err *err)
{
	char go;
	/* first of all, into the sandbox's cgroup: what follows is charged there (cgroup.h) */
	if (f->ncg && (!f->cg_v2 || f->cg_v2_self) && cgroup_join_self(f->cg, f->ncg, f->cg_v2) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "joining the sandbox's cgroup");
	/* The init is a clone of its supervisor (or of a zygote) and never execs, so close-on-exec
	 * does not help: without this it would hold every descriptor the supervisor had — in
	 * isol8-pool, the pipes of the other pooled sandboxes, so one of them would never see EOF
	 * on its stdin (found by the warm suites under load). Keep only our own. */
	int keep[] = {f->sync_r, f->ctl, f->feed_r, f->in_r, f->out_w, f->err_w, f->chan_r, f->reply_w};
	close_all_but(keep, (int)ARRAY_SIZE(keep));
	if (!cfg->persist && !cfg->pooled)
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* supervisor killed → sandbox dies with it */
	/* In a user namespace nothing works until the supervisor has written our id maps. */
	if (geteuid() != 0 && read_byte(f->sync_r, &go) < 0)
		_exit(1);
	/* The payload, not its init, is what the OOM killer should pick. */
	write_file("/proc/self/oom_score_adj", "-1000", 0);
	if (sethostname("sandbox", 7) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "sethostname");
	if (!cfg->share_net && lo_up(err) < 0)
		return -1;
	/* --net filtered: the proxy's socket is created here, in the sandbox's network namespace,
	 * and passed out; a proxy outside accepts on it. The kernel then makes it the only way out:
	 * no route, no DNS, no root inside. */
	if (cfg->proxy_listener && (*listener = proxy_listener(err)) < 0)
		return -1;
	if (rootfs_build(&cfg->rootfs, err) < 0)
		return -1;
	prctl(PR_SET_DUMPABLE, 0); /* nothing inside may ptrace or read the init's memory */
	/* No untrusted code before we are inside the sandbox's cgroup: wait for "go". */
	if (read_byte(f->sync_r, &go) < 0)
		_exit(1); /* supervisor died before placing us in the cgroup */
	close(f->sync_r);
	/* The cgroup namespace is rooted at the sandbox's own cgroup (joined just now). */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup namespace");
	return 0;
}

/* After the fork, in the init: keeps none of the payload's fds, says ready, serves ctl. */
static __attribute__((noreturn)) void init_run(const struct child_fds *f, const isol8_sandbox_cfg *cfg, int sigfd,
					       int errp_r, pid_t payload, int listener)
{
	if (f->chan_r >= 0) {
		close(f->chan_r);
		close(f->reply_w);
	}
	if (f->feed_r >= 0)
		close(f->feed_r);
	close(f->in_r);
	close(f->out_w);
	close(f->err_w);
	fcntl(errp_r, F_SETFL, O_NONBLOCK);
	ctl_send_ready(f->ctl, listener);
	if (listener >= 0)
		close(listener);
	init_loop(f->ctl, sigfd, payload, errp_r, cfg);
}

/* Builds the sandbox and forks the first payload: returns in the payload (0, with *errp_w the
 * write end of its error pipe), never in the init. */
static pid_t init_start(const struct child_fds *f, const isol8_sandbox_cfg *cfg, int *errp_w)
{
	isol8_err err = {0};
	int listener = -1, sigfd = -1, errp[2];
	if (init_build(f, cfg, &listener, &err) < 0)
		goto fail;
	sigfd = signalfd_for(SIGCHLD, 0);
	if (sigfd < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "init fds");
		goto fail;
	}
	pid_t payload = fork();
	if (payload < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "fork payload");
		goto fail;
	}
	if (payload == 0) {
		close(f->ctl);
		close(sigfd);
		close(errp[0]);
		*errp_w = errp[1];
		return 0;
	}
	close(errp[1]);
	init_run(f, cfg, sigfd, errp[0], payload, listener);
fail:
	ctl_send_error(f->ctl, err.msg);
	_exit(1);
}

__attribute__((noreturn)) void init_main(const struct child_fds *f, const isol8_sandbox_cfg *cfg)
{
	int errp_w;
	init_start(f, cfg, &errp_w);
	payload_main(f->feed_r, f->in_r, f->out_w, f->err_w, errp_w, f->chan_r >= 0 ? f->chan_r | f->reply_w << 16 : -1,
		     cfg);
}

void init_zygote(const struct child_fds *f, const isol8_sandbox_cfg *cfg, void (*in_payload)(void))
{
	/* The zygote lets the kernel reap its children (SIGCHLD ignored); this init must reap and
	 * report its own, and its payload must start with python3's default. */
	signal(SIGCHLD, SIG_DFL);
	int errp_w;
	init_start(f, cfg, &errp_w);
	payload_enter(f->in_r, f->out_w, f->err_w, errp_w, f->chan_r | f->reply_w << 16, cfg, in_payload);
}
