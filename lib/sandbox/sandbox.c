/* sandbox.c — supervisor side, the sandbox's init (PID 1), and the payload's last steps.
 *
 * Fds between the three (all created by the supervisor before clone):
 *   ctl    socketpair  supervisor <-> init   JSON lines: {"ready":true} {"exit":N} {"signal":N}
 *                                           {"error":"…"}; requests {"get":path,"max":N}
 *   feed   pipe        supervisor  -> payload  frames: F(file) A(argv) E(env) C(cwd) X(go)
 *   stdio  pipes       supervisor <-> payload
 *   errp   pipe        payload -> init, CLOEXEC: empty at EOF means execve succeeded
 * The payload is forked by the init during prepare and waits on its feed with every privilege
 * already dropped; it never sees ctl. The init runs no untrusted code. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <limits.h>
#include <linux/capability.h>
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/json.h"
#include "core/safepath.h"
#include "sandbox/seccomp_policy.h"
#include "core/util.h"

const char *isol8_run_dir(void)
{
	static char buf[PATH_MAX];
	const char *e = getenv("ISOL8_RUN_DIR");
	if (e && *e)
		return e;
	if (geteuid() == 0)
		return "/run/isol8";
	const char *x = getenv("XDG_RUNTIME_DIR");
	snprintf(buf, sizeof buf, "%s/isol8", x && *x ? x : "/tmp");
	return buf;
}

static const char *runtimes_dir(void)
{
	const char *e = getenv("ISOL8_RUNTIMES");
	return e && *e ? e : "/opt/isol8/runtimes";
}

/* ---- small helpers used in the children ------------------------------------------------ */

static void json_escape(isol8_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			buf_append(b, e, 2);
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof e, "\\u%04x", c);
			buf_puts(b, e);
		} else {
			buf_append(b, &c, 1);
		}
	}
}

static void send_line(int fd, const char *key, const char *str, long long num)
{
	isol8_buf b = {0};
	buf_puts(&b, "{\"");
	buf_puts(&b, key);
	buf_puts(&b, "\":");
	if (str) {
		buf_puts(&b, "\"");
		json_escape(&b, str);
		buf_puts(&b, "\"");
	} else {
		char n[32];
		snprintf(n, sizeof n, "%lld", num);
		buf_puts(&b, n);
	}
	buf_puts(&b, "}\n");
	(void)write_all(fd, b.data, b.len);
	buf_free(&b);
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

/* Sandbox user, no capabilities (bounding and ambient sets too), no new privileges. */
static int drop_privileges(uid_t uid, gid_t gid, isol8_err *err)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return isol8_fail(err, ISOL8_E_SANDBOX, errno, "drop capability bounding set");
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "setgroups");
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "switch to the sandbox user");
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};
	if (syscall(SYS_capset, &h, d) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "capset");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "no_new_privs");
	return 0;
}

/* "/sandbox/a/b" -> fd of /sandbox and "a/b"; only the two writable areas are reachable. */
static int split_area(const char *path, const char **rel)
{
	const char *area = !strncmp(path, "/sandbox/", 9) ? "/sandbox" : !strncmp(path, "/tmp/", 5) ? "/tmp" : NULL;
	if (!area) {
		errno = EPERM;
		return -1;
	}
	*rel = path + strlen(area) + 1;
	return open(area, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ---- payload ----------------------------------------------------------------------------- */

static int read_exact(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static char **split_nul(const char *p, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += p[i] == 0;
	char **v = xcalloc(count + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < n && k < count; k++) {
		v[k] = xstrdup(p + i);
		i += strlen(p + i) + 1;
	}
	return v;
}

static int write_injected(const char *frame, size_t len, isol8_err *err)
{
	/* frame: path NUL mode(4 bytes LE) data */
	size_t pl = strnlen(frame, len);
	if (pl + 5 > len)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "bad file frame");
	uint32_t mode;
	memcpy(&mode, frame + pl + 1, 4);
	const char *rel;
	int base = split_area(frame, &rel);
	if (base < 0)
		return isol8_fail(err, ISOL8_E_INPUT, errno, "file %s", frame);
	int fd = open_beneath(base, rel, true, (int)(mode & 0755));
	int e = errno;
	close(base);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_INPUT, e, "cannot write %s", frame);
	int r = write_all(fd, frame + pl + 5, len - pl - 5);
	e = errno;
	close(fd);
	if (r < 0)
		return isol8_fail(err, ISOL8_E_INPUT, e, "cannot write %s", frame);
	return 0;
}

static char *find_exec(const char *name, char **envp)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (char **e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	char *copy = xstrdup(path);
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", dir, name);
		if (access(cand, X_OK) == 0) {
			free(copy);
			return cand;
		}
		free(cand);
	}
	free(copy);
	return NULL;
}

static void payload_fail(int errfd, isol8_err *err)
{
	(void)write_all(errfd, err->msg, strlen(err->msg));
	_exit(127);
}

static __attribute__((noreturn)) void payload_main(int feed, int in, int out, int errout, int errfd, int chan,
						   const isol8_sandbox_cfg *cfg)
{
	isol8_err err = {0};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid(); /* no controlling terminal: TIOCSTI has nothing to inject into */
	if (drop_privileges(cfg->rootfs.uid, cfg->rootfs.gid, &err) < 0)
		payload_fail(errfd, &err);
	struct rlimit core = {0, 0}, nofile = {4096, 4096};
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_NOFILE, &nofile);

	char **argv = NULL, **envp = NULL, *cwd = NULL;
	for (;;) {
		unsigned char type;
		uint64_t len;
		if (read_exact(feed, &type, 1) < 0)
			_exit(0); /* discarded before it was fed */
		if (read_exact(feed, &len, 8) < 0 || len > (1ull << 34)) {
			isol8_fail(&err, ISOL8_E_INTERNAL, 0, "truncated feed");
			payload_fail(errfd, &err);
		}
		if (type == 'X')
			break;
		char *data = malloc(len + 1);
		if (!data || read_exact(feed, data, len) < 0) {
			isol8_fail(&err, ISOL8_E_INTERNAL, 0, "cannot read feed");
			payload_fail(errfd, &err);
		}
		data[len] = 0;
		if (type == 'F') {
			if (write_injected(data, len, &err) < 0)
				payload_fail(errfd, &err);
		} else if (type == 'A') {
			argv = split_nul(data, len);
		} else if (type == 'E') {
			envp = split_nul(data, len);
		} else if (type == 'C') {
			cwd = xstrdup(data);
		}
		free(data);
	}
	close(feed);
	if (!argv || !argv[0] || !envp || !cwd) {
		isol8_fail(&err, ISOL8_E_INTERNAL, 0, "incomplete feed");
		payload_fail(errfd, &err);
	}
	if (!strncmp(cwd, "/sandbox/", 9)) {
		int base = open("/sandbox", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (base < 0 || mkdir_beneath(base, cwd + 9) < 0) {
			isol8_fail(&err, ISOL8_E_INPUT, errno, "cannot create working directory %s", cwd);
			payload_fail(errfd, &err);
		}
		close(base);
	}
	if (chdir(cwd) < 0) {
		isol8_fail(&err, ISOL8_E_INPUT, errno, "working directory %s", cwd);
		payload_fail(errfd, &err);
	}
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errout, 2) < 0) {
		isol8_fail(&err, ISOL8_E_INTERNAL, errno, "dup2");
		payload_fail(errfd, &err);
	}
	/* Nothing else crosses execve: every other fd is close-on-exec from here, except a
	 * driver's channel, which becomes fd 3 (sessions). */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (chan >= 0) {
		/* chan packs the driver's two pipe ends: requests in (fd 3), replies out (fd 4) */
		int req = chan & 0xffff, rep = chan >> 16;
		int rep_copy = rep == 3 ? fcntl(rep, F_DUPFD_CLOEXEC, 5) : rep;
		/* dup2 onto itself keeps close-on-exec set: clear it explicitly on both */
		if (rep_copy < 0 || dup2(req, 3) < 0 || dup2(rep_copy, 4) < 0 || fcntl(3, F_SETFD, 0) < 0 ||
		    fcntl(4, F_SETFD, 0) < 0) {
			isol8_fail(&err, ISOL8_E_INTERNAL, errno, "driver channel");
			payload_fail(errfd, &err);
		}
	}
	char *exe = find_exec(argv[0], envp);
	if (!exe) {
		isol8_fail(&err, ISOL8_E_SANDBOX, 0, "runtime command \"%s\" not found in the sandbox (run 'make deps' on the host, or check --image)",
			   argv[0]);
		payload_fail(errfd, &err);
	}
	if (cfg->seccomp && seccomp_load_strict() < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "loading the seccomp filter");
		payload_fail(errfd, &err);
	}
	execve(exe, argv, envp);
	isol8_fail(&err, ISOL8_E_SANDBOX, errno, "execve %s", exe);
	payload_fail(errfd, &err);
	_exit(127);
}

/* ---- init (PID 1) ------------------------------------------------------------------------ */

/* How long the init waits for one file operation. Reading or writing a regular file on the
 * sandbox's tmpfs takes milliseconds; the bound is for a helper that the program stopped or
 * killed (it runs as the sandbox user, so the program may signal it): the init must never wait
 * on it for good, or every later request of the sandbox (exec, put, get, stop) waits too. */
#define FILE_OP_DEADLINE_MS 5000

/* Why a file operation failed, in words (the supervisor adds "cannot read/write PATH: "). */
static void file_error(isol8_buf *msg, int e, size_t max)
{
	char why[160];
	if (e == ELOOP)
		snprintf(why, sizeof why, "a symbolic link is on the way (links are not followed)");
	else if (e == SAFEPATH_NOT_REGULAR)
		snprintf(why, sizeof why, "not a regular file (only regular files are read or written)");
	else if (e == ENOENT)
		snprintf(why, sizeof why, "no such file");
	else if (e == ENOTDIR)
		snprintf(why, sizeof why, "a component of the path is not a directory");
	else if (e == EFBIG)
		snprintf(why, sizeof why, "larger than the %zu MiB limit", max >> 20);
	else if (e == ENOSPC || e == EDQUOT)
		snprintf(why, sizeof why, "no space left in the sandbox (raise --sandbox-size or --tmp-size)");
	else if (e == EACCES || e == EPERM)
		snprintf(why, sizeof why, "permission denied to the sandbox user");
	else
		snprintf(why, sizeof why, "%s", strerror(e));
	buf_free(msg);
	buf_puts(msg, why);
}

/* Appends fd's content to b: 0, EFBIG past max bytes, or the read's errno. */
static int read_capped(int fd, size_t max, isol8_buf *b)
{
	size_t start = b->len;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : 0;
		if (b->len - start + (size_t)n > max)
			return EFBIG;
		buf_append(b, tmp, (size_t)n);
	}
}

/* The child's side of a file operation: as the sandbox user, beneath /sandbox or /tmp, with no
 * symlink followed and only a regular file opened, so that a link or a FIFO planted by the
 * program can make isol8 neither read nor write anything the program could not reach itself,
 * nor block. Reports to the init on rep: 'D' + the file's bytes (get), 'K' (put), or 'E' +
 * a message. Never returns. */
static __attribute__((noreturn)) void file_op_child(int rep, const isol8_sandbox_cfg *cfg, const char *path, size_t max,
						    bool put, unsigned mode, const unsigned char *data, size_t len)
{
	isol8_err err = {0};
	isol8_buf b = {0};
	if (drop_privileges(cfg->rootfs.uid, cfg->rootfs.gid, &err) < 0) {
		buf_puts(&b, "E");
		buf_puts(&b, err.msg);
		(void)write_all(rep, b.data, b.len);
		_exit(1);
	}
	prctl(PR_SET_DUMPABLE, 0); /* the program (same uid) may not read or write our fds or memory */
	const char *rel;
	int base = split_area(path, &rel);
	int fd = base < 0 ? -1 : open_beneath(base, rel, put, (int)(mode & 0755));
	struct stat st;
	int e = errno;
	if (fd >= 0 && !put && fstat(fd, &st) == 0 && (size_t)st.st_size > max) {
		e = EFBIG; /* a huge (e.g. sparse) file is refused before any byte is read */
	} else if (fd >= 0 && !put) {
		buf_puts(&b, "D");
		e = read_capped(fd, max, &b); /* the file may grow while it is read */
	} else if (fd >= 0) {
		e = write_all(fd, data, len) < 0 || close(fd) < 0 ? errno : 0;
		buf_puts(&b, "K");
	}
	if (fd < 0 || e) {
		isol8_buf m = {0};
		file_error(&m, e ? e : EIO, max);
		buf_free(&b);
		buf_puts(&b, "E");
		buf_append(&b, m.data, m.len);
	}
	_exit(write_all(rep, b.data, b.len) < 0 ? 1 : b.data[0] == 'E');
}

/* Runs one file operation in a child and collects its report, within FILE_OP_DEADLINE_MS.
 * Returns true with the report in *out, or false with an error message in *out. */
static bool run_file_op(const isol8_sandbox_cfg *cfg, const char *path, size_t max, bool put, unsigned mode,
			const unsigned char *data, size_t len, isol8_buf *out)
{
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		buf_puts(out, "pipe for a file operation failed");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(rep[0]);
		file_op_child(rep[1], cfg, path, max, put, mode, data, len);
	}
	close(rep[1]);
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	uint64_t deadline = now_mono_ns() + FILE_OP_DEADLINE_MS * 1000000ull;
	bool eof = false, exited = false, over = false;
	int status = 0;
	while (pid > 0 && pidfd >= 0 && !(eof && exited)) {
		uint64_t now = now_mono_ns();
		if (now >= deadline)
			break;
		struct pollfd p[2] = {{eof ? -1 : rep[0], POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}};
		if (poll(p, 2, (int)((deadline - now) / 1000000ull) + 1) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			char tmp[65536];
			ssize_t n = read(rep[0], tmp, sizeof tmp);
			if (n > 0 && out->len + (size_t)n <= max + 8192)
				buf_append(out, tmp, (size_t)n);
			else if (n > 0)
				over = true;
			else if (n == 0 || errno != EINTR)
				eof = true;
		}
		if (p[1].revents && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(rep[0]);
	if (pid > 0 && !exited) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (pidfd >= 0)
		close(pidfd);
	bool done = eof && exited && !over && out->len > 0;
	/* a killed child may have written part of its report: only a clean exit counts */
	bool clean = done && WIFEXITED(status) && WEXITSTATUS(status) == (((char *)out->data)[0] == 'E');
	if (clean)
		return true;
	buf_free(out);
	if (pid < 0 || pidfd < 0)
		buf_puts(out, "could not start the file operation (the sandbox may be out of processes)");
	else if (!exited)
		buf_puts(out, "it did not finish in time (a process of the sandbox may have stopped it); try again");
	else
		buf_puts(out, "it was interrupted (a process of the sandbox may have killed it); try again");
	return false;
}

static void reply_file_error(int ctl, isol8_buf *msg)
{
	buf_append(msg, "", 1);
	send_line(ctl, "error", (const char *)msg->data, 0);
}

/* Answers a file operation that could not run, or that its helper reported as failed ("E…"),
 * with its error line: true when it did so. */
static bool reply_failed_op(int ctl, bool ran, isol8_buf *r)
{
	if (!ran) {
		reply_file_error(ctl, r);
		return true;
	}
	if (((char *)r->data)[0] != 'E')
		return false;
	isol8_buf m = {0};
	buf_append(&m, r->data + 1, r->len - 1);
	reply_file_error(ctl, &m);
	buf_free(&m);
	return true;
}

static void serve_get(int ctl, const isol8_sandbox_cfg *cfg, const char *path, size_t max)
{
	isol8_buf r = {0};
	if (!reply_failed_op(ctl, run_file_op(cfg, path, max, false, 0, NULL, 0, &r), &r)) {
		send_line(ctl, "size", NULL, (long long)(r.len - 1));
		(void)write_all(ctl, r.data + 1, r.len - 1);
	}
	buf_free(&r);
}

static void serve_put(int ctl, const isol8_sandbox_cfg *cfg, const char *path, unsigned mode, const unsigned char *data,
		      size_t len)
{
	isol8_buf r = {0};
	if (!reply_failed_op(ctl, run_file_op(cfg, path, 0, true, mode, data, len, &r), &r))
		send_line(ctl, "ok", NULL, 1);
	buf_free(&r);
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

static __attribute__((noreturn)) void init_loop(int ctl, int sigfd, pid_t payload, int errp,
						const isol8_sandbox_cfg *cfg)
{
	bool ctl_open = true;
	isol8_buf in = {0};
	struct fdq q = {.n = 0};
	/* every payload this init started and has not reaped: the first one, then spawned ones */
	struct child kids[16] = {{payload, errp}};
	int nkids = 1;
	for (;;) {
		struct pollfd p[2] = {{sigfd, POLLIN, 0}, {ctl_open ? ctl : -1, POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (p[0].revents) {
			struct signalfd_siginfo si;
			(void)!read(sigfd, &si, sizeof si);
			int status;
			pid_t w;
			while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
				int k = 0;
				while (k < nkids && kids[k].pid != w)
					k++;
				if (k == nkids)
					continue; /* reaping orphans is PID 1's duty */
				char msg[1024];
				ssize_t n = read(kids[k].errp, msg, sizeof msg - 1);
				close(kids[k].errp);
				kids[k] = kids[--nkids];
				/* {"exit":N,"pid":P}: the pid tells spawned payloads apart (sessions) */
				char line[1200];
				isol8_buf esc = {0};
				if (n > 0) {
					msg[n] = 0;
					json_escape(&esc, msg);
				}
				if (n > 0)
					snprintf(line, sizeof line, "{\"error\":\"%s\",\"pid\":%d}\n", (char *)esc.data, w);
				else if (WIFSIGNALED(status))
					snprintf(line, sizeof line, "{\"signal\":%d,\"pid\":%d}\n", WTERMSIG(status), w);
				else
					snprintf(line, sizeof line, "{\"exit\":%d,\"pid\":%d}\n", WEXITSTATUS(status), w);
				buf_free(&esc);
				(void)write_all(ctl, line, strlen(line));
			}
		}
		if (ctl_open && p[1].revents) {
			char tmp[65536];
			ssize_t n = recv_with_fds(ctl, tmp, sizeof tmp, &q);
			if (n <= 0) {
				if (!cfg->persist)
					_exit(0); /* supervisor done: the kernel tears the namespace down */
				close(ctl);
				ctl_open = false;
				continue;
			}
			buf_append(&in, tmp, (size_t)n);
			char *nl;
			while (in.len && (nl = memchr(in.data, '\n', in.len))) {
				size_t ll = (size_t)(nl - (char *)in.data);
				jv req = jv_parse_sized((const char *)in.data, (int)ll);
				memmove(in.data, nl + 1, in.len - ll - 1);
				in.len -= ll + 1;
				jv path = json_get(req, "get"), max = json_get(req, "max"), put = json_get(req, "put"),
				   size = json_get(req, "size"), mode = json_get(req, "mode");
				if (jv_get_kind(path) == JV_KIND_STRING && jv_get_kind(max) == JV_KIND_NUMBER) {
					serve_get(ctl, cfg, jv_string_value(path), (size_t)jv_number_value(max));
				} else if (jv_get_kind(put) == JV_KIND_STRING && jv_get_kind(size) == JV_KIND_NUMBER) {
					/* the content follows the line: take it from the buffer, then the socket */
					size_t need = (size_t)jv_number_value(size);
					bool ok = need <= cfg->rootfs.sandbox_size + cfg->rootfs.tmp_size;
					while (ok && in.len < need) {
						ssize_t r = read(ctl, tmp, sizeof tmp);
						if (r <= 0)
							_exit(0); /* supervisor gone mid-transfer */
						buf_append(&in, tmp, (size_t)r);
					}
					if (ok) {
						serve_put(ctl, cfg, jv_string_value(put),
							  jv_get_kind(mode) == JV_KIND_NUMBER ? (unsigned)jv_number_value(mode) : 0644,
							  in.data, need);
						memmove(in.data, in.data + need, in.len - need);
						in.len -= need;
					} else {
						send_line(ctl, "error", "file larger than the sandbox", 0);
						_exit(1); /* the stream cannot be resynchronised */
					}
				} else if (json_get_bool(req, "spawn")) {
					int ep = -1;
					pid_t pid = nkids < (int)ARRAY_SIZE(kids) ? spawn_payload(&q, ctl, sigfd, &ep, cfg) : -1;
					if (pid > 0) {
						kids[nkids++] = (struct child){pid, ep};
						send_line(ctl, "spawned", NULL, pid);
					} else {
						send_line(ctl, "error", "spawn failed", 0);
					}
				} else if (json_get_bool(req, "killall")) {
					/* every process of the sandbox but this init: a runaway exec, its children */
					kill(-1, SIGKILL);
					send_line(ctl, "ok", NULL, 1);
				} else {
					send_line(ctl, "error", "bad request", 0);
				}
				jv_free(path);
				jv_free(max);
				jv_free(put);
				jv_free(size);
				jv_free(mode);
				jv_free(req);
			}
		}
	}
}

struct child_fds {
	int sync_r, ctl, feed_r, in_r, out_w, err_w, chan_r, reply_w; /* chan/reply: -1 without */
};

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

static __attribute__((noreturn)) void init_main(const struct child_fds *f, const isol8_sandbox_cfg *cfg)
{
	isol8_err err = {0};
	char go;
	/* The init is a clone of its supervisor and never execs, so close-on-exec does not help:
	 * without this it would hold every descriptor the supervisor had — in isol8-pool, the
	 * pipes of the other pooled sandboxes, so one of them would never see EOF on its stdin
	 * (found by the warm suites under load). Keep only our own. */
	int keep[] = {f->sync_r, f->ctl, f->feed_r, f->in_r, f->out_w, f->err_w, f->chan_r, f->reply_w};
	close_all_but(keep, (int)ARRAY_SIZE(keep));
	if (!cfg->persist && !cfg->pooled)
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* supervisor killed → sandbox dies with it */
	/* In a user namespace nothing works until the supervisor has written our id maps. */
	if (geteuid() != 0 && read_exact(f->sync_r, &go, 1) < 0)
		_exit(1);
	/* The payload, not its init, is what the OOM killer should pick. */
	write_file("/proc/self/oom_score_adj", "-1000", 0);
	if (sethostname("sandbox", 7) < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "sethostname");
		goto fail;
	}
	if (!cfg->share_net && lo_up(&err) < 0)
		goto fail;
	/* --net filtered: the proxy's socket is created here, in the sandbox's network namespace,
	 * and passed out; a proxy outside accepts on it. The kernel then makes it the only way out:
	 * no route, no DNS, no root inside. */
	int listener = -1;
	if (cfg->proxy_listener) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8118), .sin_addr = {htonl(INADDR_LOOPBACK)}};
		int one = 1;
		listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 128) < 0) {
			isol8_fail(&err, ISOL8_E_SANDBOX, errno, "proxy socket on 127.0.0.1:8118");
			goto fail;
		}
	}
	if (rootfs_build(&cfg->rootfs, &err) < 0)
		goto fail;
	prctl(PR_SET_DUMPABLE, 0); /* nothing inside may ptrace or read the init's memory */
	/* No untrusted code before we are inside the sandbox's cgroup: wait for "go". */
	if (read_exact(f->sync_r, &go, 1) < 0)
		_exit(1); /* supervisor died before placing us in the cgroup */
	close(f->sync_r);
	/* The cgroup namespace is rooted at the sandbox's own cgroup (joined just now). */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "cgroup namespace");
		goto fail;
	}

	int sigfd = signalfd_for(SIGCHLD, 0);
	int errp[2];
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
		payload_main(f->feed_r, f->in_r, f->out_w, f->err_w, errp[1],
			     f->chan_r >= 0 ? f->chan_r | f->reply_w << 16 : -1, cfg);
	}
	close(errp[1]);
	if (f->chan_r >= 0) {
		close(f->chan_r);
		close(f->reply_w);
	}
	close(f->feed_r);
	close(f->in_r);
	close(f->out_w);
	close(f->err_w);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (listener >= 0) {
		static const char ready[] = "{\"ready\":1,\"listener\":true}\n";
		if (fd_send(f->ctl, ready, sizeof ready - 1, &listener, 1) < 0)
			_exit(1);
		close(listener);
	} else {
		send_line(f->ctl, "ready", NULL, 1);
	}
	init_loop(f->ctl, sigfd, payload, errp[0], cfg);
fail:
	send_line(f->ctl, "error", err.msg, 0);
	_exit(1);
}

/* ---- supervisor ------------------------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void write_record(isol8_sandbox *sb, const char *run_dir, pid_t supervisor)
{
	/* pid + start time + boot id identify a process for good: isol8-cleanup never mistakes a
	 * recycled pid for the sandbox's init or for a live supervisor. */
	char boot[64], ts[32];
	boot_id(boot);
	iso8601_now(ts);
	char *text = xasprintf("{\"id\":\"%s\",\"pid\":%d,\"startTime\":%llu,\"bootId\":\"%s\",\"supervisor\":%d,"
			       "\"supervisorStartTime\":%llu,\"cgroupVersion\":%d,\"persist\":%s,\"created\":\"%s\"}\n",
			       sb->id, sb->pid, proc_start_time(sb->pid), boot, supervisor, proc_start_time(supervisor),
			       sb->cg.version, sb->persist ? "true" : "false", ts);
	free(sb->record);
	sb->record = xasprintf("%s/sandboxes/%s.json", run_dir, sb->id);
	char *tmp = xasprintf("%s.tmp", sb->record);
	if (write_file(tmp, text, 0600) == 0)
		rename(tmp, sb->record);
	free(tmp);
	free(text);
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

/* Interprets one line from the init during setup: 1 ready, -1 error, 0 something else. */
static int ready_line(const char *line, isol8_err *err)
{
	jv v = jv_parse(line);
	jv e = json_get(v, "error"), ok = json_get(v, "ready");
	int rc = 0;
	if (jv_get_kind(e) == JV_KIND_STRING)
		rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup failed: %s", jv_string_value(e));
	else if (jv_is_valid(ok))
		rc = 1;
	else
		rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup: unexpected \"%s\"", line);
	jv_free(e);
	jv_free(ok);
	jv_free(v);
	return rc;
}

int sandbox_poll_ready(isol8_sandbox *sb, isol8_err *err)
{
	int fl = fcntl(sb->ctl, F_GETFL);
	fcntl(sb->ctl, F_SETFL, fl | O_NONBLOCK);
	char *line = NULL;
	int r = sandbox_read_status(sb, &line);
	fcntl(sb->ctl, F_SETFL, fl);
	if (r < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox init exited during setup");
	if (r == 0)
		return 0;
	int rc = ready_line(line, err);
	free(line);
	return rc;
}

static int wait_ready(isol8_sandbox *sb, isol8_err *err)
{
	uint64_t deadline = now_mono_ns() + 20ull * 1000000000ull;
	for (;;) {
		char *line = NULL;
		int r = sandbox_read_status(sb, &line);
		if (r < 0)
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox init exited during setup");
		if (r == 1) {
			int rc = ready_line(line, err);
			free(line);
			return rc < 0 ? -1 : 0;
		}
		int64_t left = (int64_t)(deadline - now_mono_ns()) / 1000000;
		if (left <= 0)
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "sandbox setup timed out");
		struct pollfd p = {sb->ctl, POLLIN, 0};
		poll(&p, 1, (int)left);
	}
}

int sandbox_prepare(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg, isol8_err *err)
{
	if (sandbox_start(sb, cfg, err) < 0)
		return -1;
	return sandbox_wait_ready(sb, err);
}

int sandbox_wait_ready(isol8_sandbox *sb, isol8_err *err)
{
	if (wait_ready(sb, err) < 0) {
		sb->persist = false;
		sandbox_destroy(sb);
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

int sandbox_start(isol8_sandbox *sb, const isol8_sandbox_cfg *cfg_in, isol8_err *err)
{
	memset(sb, 0, sizeof *sb);
	sb->pidfd = sb->ctl = sb->feed = sb->stdin_w = sb->stdout_r = sb->stderr_r = sb->proxy_fd = -1;
	sb->chan = sb->reply = -1;
	sb->persist = cfg_in->persist;
	random_hex(sb->id, 8);
	isol8_sandbox_cfg cfg = *cfg_in;
	const char *run_dir = cfg.run_dir ? cfg.run_dir : isol8_run_dir();
	char staging[PATH_MAX], recdir[PATH_MAX];
	snprintf(staging, sizeof staging, "%s/root", run_dir);
	snprintf(recdir, sizeof recdir, "%s/sandboxes", run_dir);
	if (mkdir_p(staging, 0755) < 0 || mkdir_p(recdir, 0700) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create the run dir %s (set ISOL8_RUN_DIR)", run_dir);
	cfg.rootfs.staging = staging;
	cfg.rootfs.uid = ISOL8_SANDBOX_UID;
	cfg.rootfs.gid = ISOL8_SANDBOX_GID;
	if (!cfg.rootfs.runtimes_dir)
		cfg.rootfs.runtimes_dir = runtimes_dir();

	if (cgroup_create(&sb->cg, sb->id, &cfg.limits, err) < 0)
		return -1;

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
	sb->feed = pp.feed[1];
	sb->stdin_w = pp.in[1];
	sb->stdout_r = pp.out[0];
	sb->stderr_r = pp.er[0];
	sb->chan = pp.rq[1];
	sb->reply = pp.rp[0];
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
	pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, 0);
	if (pid < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create namespaces (clone)");
		goto fail;
	}
	if (pid == 0) { /* init_main closes every other descriptor, the supervisor's ends too */
		struct child_fds f = {sync[0], ctl[1], pp.feed[0], pp.in[0], pp.out[1], pp.er[1], pp.rq[0], pp.rp[1]};
		init_main(&f, &cfg);
	}
	sb->pid = pid;
	sb->pidfd = pidfd;
	for (size_t i = 0; i < ARRAY_SIZE(child_ends); i++)
		close_fd(child_ends[i]);
	if ((flags & CLONE_NEWUSER) && (write_id_maps(pid, err) < 0 || write_all(sync[1], "m", 1) < 0))
		goto fail;
	/* The init builds its root meanwhile; it forks the payload only after this "go". */
	if (cgroup_attach(&sb->cg, pid, err) < 0)
		goto fail;
	if (write_all(sync[1], "g", 1) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "start sandbox init");
		goto fail;
	}
	close_fd(&sync[1]);
	write_record(sb, run_dir, getpid());
	return 0;
fail:
	for (size_t i = 0; i < ARRAY_SIZE(child_ends); i++)
		close_fd(child_ends[i]);
	close_fd(&sync[1]);
	sb->persist = false;
	sandbox_destroy(sb);
	return -1;
}

static int frame(int fd, char type, const void *a, size_t alen, const void *b, size_t blen)
{
	uint64_t len = alen + blen;
	if (write_all(fd, &type, 1) < 0 || write_all(fd, &len, 8) < 0 || (alen && write_all(fd, a, alen) < 0) ||
	    (blen && write_all(fd, b, blen) < 0))
		return -1;
	return 0;
}

static int nul_list_frame(int fd, char type, char **v)
{
	isol8_buf b = {0};
	for (; *v; v++)
		buf_append(&b, *v, strlen(*v) + 1);
	int r = frame(fd, type, b.data, b.len, NULL, 0);
	buf_free(&b);
	return r;
}

size_t sandbox_feed_size(const isol8_exec_spec *spec)
{
	size_t n = 4 * 9 + strlen(spec->cwd) + 1;
	for (size_t i = 0; i < spec->nfiles; i++)
		n += 9 + strlen(spec->files[i].path) + 5 + spec->files[i].len;
	for (char **v = spec->argv; *v; v++)
		n += strlen(*v) + 1;
	for (char **v = spec->envp; *v; v++)
		n += strlen(*v) + 1;
	return n;
}

int sandbox_feed(isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err)
{
	int rc = sandbox_feed_to(sb->feed, spec, err);
	close_fd(&sb->feed);
	return rc;
}

int sandbox_feed_to(int fd, const isol8_exec_spec *spec, isol8_err *err)
{
	for (size_t i = 0; i < spec->nfiles; i++) {
		isol8_buf hdr = {0};
		uint32_t mode = spec->files[i].mode ? spec->files[i].mode & 0755 : 0644;
		buf_append(&hdr, spec->files[i].path, strlen(spec->files[i].path) + 1);
		buf_append(&hdr, &mode, 4);
		int r = frame(fd, 'F', hdr.data, hdr.len, spec->files[i].data, spec->files[i].len);
		buf_free(&hdr);
		if (r < 0)
			goto broken;
	}
	if (nul_list_frame(fd, 'A', spec->argv) < 0 || nul_list_frame(fd, 'E', spec->envp) < 0 ||
	    frame(fd, 'C', spec->cwd, strlen(spec->cwd) + 1, NULL, 0) < 0 || frame(fd, 'X', NULL, 0, NULL, 0) < 0)
		goto broken;
	return 0;
broken:
	/* The payload died while reading (e.g. a file did not fit): its error comes on ctl. */
	if (errno == EPIPE)
		return 0;
	return isol8_fail(err, ISOL8_E_SANDBOX, errno, "feeding the sandbox");
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

bool sandbox_status_buffered(const isol8_sandbox *sb)
{
	return (sb->status_q.len && memchr(sb->status_q.data, '\n', sb->status_q.len)) ||
	       (sb->ctl_in.len && memchr(sb->ctl_in.data, '\n', sb->ctl_in.len));
}

int sandbox_read_status(isol8_sandbox *sb, char **line)
{
	if (pop_line(&sb->status_q, line))
		return 1;
	char *nl = sb->ctl_in.len ? memchr(sb->ctl_in.data, '\n', sb->ctl_in.len) : NULL;
	if (!nl) {
		char tmp[4096];
		ssize_t n = ctl_read(sb, tmp, sizeof tmp);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (n <= 0)
			return -1;
		buf_append(&sb->ctl_in, tmp, (size_t)n);
		nl = memchr(sb->ctl_in.data, '\n', sb->ctl_in.len);
		if (!nl)
			return 0;
	}
	size_t ll = (size_t)(nl - (char *)sb->ctl_in.data);
	*line = xstrndup((char *)sb->ctl_in.data, ll);
	memmove(sb->ctl_in.data, nl + 1, sb->ctl_in.len - ll - 1);
	sb->ctl_in.len -= ll + 1;
	return 1;
}

/* Blocking: the next reply line from the init. Exit-status lines ({…,"pid":P}) that arrive
 * meanwhile are queued for sandbox_read_status, never taken for the reply. */
static int read_reply(isol8_sandbox *sb, jv *out, isol8_err *err)
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
		jv v = jv_parse(line);
		jv pid = json_get(v, "pid");
		bool status = jv_get_kind(pid) == JV_KIND_NUMBER;
		jv_free(pid);
		if (status) {
			buf_puts(&sb->status_q, line);
			buf_append(&sb->status_q, "\n", 1);
			jv_free(v);
			free(line);
			continue;
		}
		free(line);
		*out = v;
		rc = 0;
		break;
	}
	fcntl(sb->ctl, F_SETFL, fl);
	return rc;
}

static int send_request(isol8_sandbox *sb, jv req, const int *fds, int nfds, isol8_err *err)
{
	jv s = jv_dump_string(req, 0);
	isol8_buf b = {0};
	buf_puts(&b, jv_string_value(s));
	buf_append(&b, "\n", 1);
	jv_free(s);
	ssize_t n = fd_send(sb->ctl, b.data, b.len, fds, nfds);
	int rc = 0;
	if (n < 0)
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "request to the sandbox");
	else if ((size_t)n < b.len)
		rc = write_all(sb->ctl, b.data + n, b.len - (size_t)n) < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "request") : 0;
	buf_free(&b);
	return rc;
}

static int reply_ok(isol8_sandbox *sb, const char *key, long long *num, isol8_err *err)
{
	jv v;
	if (read_reply(sb, &v, err) < 0)
		return -1;
	jv k = json_get(v, key), e = json_get(v, "error");
	int rc = 0;
	if (jv_get_kind(k) == JV_KIND_NUMBER) {
		if (num)
			*num = (long long)jv_number_value(k);
	} else {
		rc = isol8_fail(err, ISOL8_E_INPUT, 0, "%s", jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : "refused");
	}
	jv_free(k);
	jv_free(e);
	jv_free(v);
	return rc;
}

int sandbox_put_file(isol8_sandbox *sb, const char *path, const void *data, size_t len, unsigned mode, isol8_err *err)
{
	if (sb->ctl < 0 || strchr(path, '\n'))
		return isol8_input_error(err, "bad path");
	jv req = jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("put"), jv_string(path)),
					     jv_string("size"), jv_number((double)len)),
			       jv_string("mode"), jv_number(mode ? mode : 0644));
	if (send_request(sb, req, NULL, 0, err) < 0)
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

int sandbox_killall(isol8_sandbox *sb, isol8_err *err)
{
	if (send_request(sb, jv_object_set(jv_object(), jv_string("killall"), jv_true()), NULL, 0, err) < 0)
		return -1;
	return reply_ok(sb, "ok", NULL, err);
}

void sandbox_proc_close(isol8_proc *p)
{
	int *fds[] = {&p->feed, &p->stdin_w, &p->stdout_r, &p->stderr_r, &p->chan, &p->reply};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	p->pid = 0;
}

int sandbox_spawn(isol8_sandbox *sb, isol8_proc *p, isol8_err *err)
{
	struct payload_pipes pp;
	memset(p, 0, sizeof *p);
	p->feed = p->stdin_w = p->stdout_r = p->stderr_r = p->chan = p->reply = -1;
	/* pipes, not a socket, for the driver channel: every runtime (Deno too) can reopen a pipe
	 * through /proc/self/fd/N */
	if (payload_pipes_open(&pp, true) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipes");
	int rc = -1;
	p->feed = pp.feed[1];
	p->stdin_w = pp.in[1];
	p->stdout_r = pp.out[0];
	p->stderr_r = pp.er[0];
	p->chan = pp.rq[1];
	p->reply = pp.rp[0];
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
		if (send_request(sb, jv_object_set(jv_object(), jv_string("spawn"), jv_true()), give, ARRAY_SIZE(give),
				 err) == 0 &&
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

int sandbox_get_file(isol8_sandbox *sb, const char *path, size_t max, isol8_buf *out, isol8_err *err)
{
	if (sb->ctl < 0 || strchr(path, '\n'))
		return isol8_input_error(err, "cannot read %s: bad path", path), 0;
	jv req = jv_object_set(jv_object_set(jv_object(), jv_string("get"), jv_string(path)), jv_string("max"),
			       jv_number((double)max));
	jv v;
	if (send_request(sb, req, NULL, 0, err) < 0 || read_reply(sb, &v, err) < 0)
		return -1;
	int fl = fcntl(sb->ctl, F_GETFL);
	fcntl(sb->ctl, F_SETFL, fl & ~O_NONBLOCK);
	jv size = json_get(v, "size"), why = json_get(v, "error");
	if (jv_get_kind(size) != JV_KIND_NUMBER) {
		/* missing, not a regular file, a symlink on the way, or too large */
		isol8_fail(err, ISOL8_E_INPUT, 0, "cannot read %s: %s", path,
			   jv_get_kind(why) == JV_KIND_STRING ? jv_string_value(why) : "unreadable");
		jv_free(size);
		jv_free(why);
		jv_free(v);
		fcntl(sb->ctl, F_SETFL, fl);
		return 0;
	}
	jv_free(why);
	jv_free(v);
	size_t need = (size_t)jv_number_value(size);
	jv_free(size);
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

void sandbox_kill(isol8_sandbox *sb)
{
	if (sb->pidfd >= 0 && !sb->dead)
		syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
	if (sb->cg.version && !sb->adopted) /* ~0.5 ms on cgroup v1: the pool does it after the run */
		cgroup_kill_all(&sb->cg);
}

void sandbox_wait_exit(isol8_sandbox *sb)
{
	if (sb->dead || sb->pid <= 0 || sb->adopted)
		return;
	while (waitpid(sb->pid, NULL, 0) < 0 && errno == EINTR)
		;
	sb->dead = true;
}

void sandbox_handover_fds(const isol8_sandbox *sb, int fds[ISOL8_HANDOVER_FDS])
{
	fds[0] = sb->pidfd;
	fds[1] = sb->ctl;
	fds[2] = sb->feed;
	fds[3] = sb->stdin_w;
	fds[4] = sb->stdout_r;
	fds[5] = sb->stderr_r;
}

int sandbox_adopt(isol8_sandbox *sb, const char *id, pid_t pid, const int fds[ISOL8_HANDOVER_FDS], isol8_err *err)
{
	memset(sb, 0, sizeof *sb);
	sb->proxy_fd = sb->chan = sb->reply = -1;
	if (strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "bad sandbox id from the pool");
	memcpy(sb->id, id, 17);
	sb->pid = pid;
	sb->pidfd = fds[0];
	sb->ctl = fds[1];
	sb->feed = fds[2];
	sb->stdin_w = fds[3];
	sb->stdout_r = fds[4];
	sb->stderr_r = fds[5];
	sb->adopted = true;
	if (cgroup_open(&sb->cg, id) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "no cgroup for sandbox %s", id);
	return 0;
}

void sandbox_hand_record_to(isol8_sandbox *sb, pid_t supervisor)
{
	write_record(sb, isol8_run_dir(), supervisor);
}

void sandbox_destroy(isol8_sandbox *sb)
{
	/* --persist: left alive on purpose; its cgroup and run-dir record stay for isol8-cleanup.
	 * Adopted: killed, and its cgroup and record left to its pool. */
	bool keep = sb->persist && sb->pid > 0, sweep = !keep && !sb->adopted;
	int *fds[] = {&sb->feed, &sb->stdin_w, &sb->stdout_r, &sb->stderr_r, &sb->ctl, &sb->proxy_fd, &sb->chan, &sb->reply};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	buf_free(&sb->ctl_in);
	buf_free(&sb->status_q);
	if (!keep && sb->pid > 0) {
		sandbox_kill(sb);
		sandbox_wait_exit(sb);
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
