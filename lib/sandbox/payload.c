/* payload.c — the payload's last steps before it becomes the program: it drops every privilege
 * (sandbox user, no capabilities, no new privileges, no controlling terminal), reads its feed
 * (wire/feed.h), writes the files it carries, loads the seccomp filter and execs. It was forked
 * by the init during prepare and waits on its feed with every privilege already dropped: a
 * pooled sandbox holds it there until a run is handed over. It never sees the control socket. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/sigdefault.h"
#include "core/util.h"
#include "sandbox/internal.h"
#include "sandbox/seccomp_policy.h"
#include "wire/feed.h"

/* Sandbox user, no capabilities (bounding and ambient sets too), no new privileges. */
int drop_privileges(uid_t uid, gid_t gid, isol8_err *err)
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
int split_area(const char *path, const char **rel)
{
	const char *area = !strncmp(path, "/sandbox/", 9) ? "/sandbox" : !strncmp(path, "/tmp/", 5) ? "/tmp" : NULL;
	if (!area) {
		errno = EPERM;
		return -1;
	}
	*rel = path + strlen(area) + 1;
	return open(area, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}


/* An F frame: a file written before the program starts, as the sandbox user, beneath /sandbox or
 * /tmp with no symlink followed. */
static int write_injected(const char *data, uint64_t len, isol8_err *err)
{
	const char *path, *content, *rel;
	uint32_t mode;
	size_t clen;
	if (feed_file(data, len, &path, &mode, &content, &clen) < 0)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "bad file frame");
	int base = split_area(path, &rel);
	if (base < 0)
		return isol8_fail(err, ISOL8_E_INPUT, errno, "file %s", path);
	int fd = open_beneath(base, rel, true, (int)(mode & 0755));
	int e = errno;
	close(base);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_INPUT, e, "cannot write %s", path);
	int r = write_all(fd, content, clen);
	e = errno;
	close(fd);
	if (r < 0)
		return isol8_fail(err, ISOL8_E_INPUT, e, "cannot write %s", path);
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

/* The feed up to its X frame: files written as they come, argv, env and cwd kept. Ends the
 * process on a feed discarded unread (EOF first: a pooled sandbox never used) or broken. */
static void read_feed(int feed, int errfd, char ***argv, char ***envp, char **cwd)
{
	isol8_err err = {0};
	for (;;) {
		char type, *data;
		uint64_t len;
		int r = feed_next(feed, &type, &data, &len);
		if (r == 0)
			_exit(0); /* discarded before it was fed */
		if (r < 0) {
			isol8_fail(&err, ISOL8_E_INTERNAL, 0, "truncated feed");
			payload_fail(errfd, &err);
		}
		if (type == 'X')
			break;
		if (type == 'F') {
			if (write_injected(data, len, &err) < 0)
				payload_fail(errfd, &err);
		} else if (type == 'A') {
			*argv = feed_list(data, len);
		} else if (type == 'E') {
			*envp = feed_list(data, len);
		} else if (type == 'C') {
			*cwd = xstrdup(data);
		}
		free(data);
	}
}

/* The steps every payload takes before any of its code runs, as the sandbox user: no signals
 * blocked, a session of its own (no controlling terminal: TIOCSTI has nothing to inject into),
 * every privilege dropped, no core dumps, a bounded number of fds. */
static void payload_start(int errfd, const isol8_sandbox_cfg *cfg)
{
	isol8_err err = {0};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (drop_privileges(cfg->rootfs.uid, cfg->rootfs.gid, &err) < 0)
		payload_fail(errfd, &err);
	struct rlimit core = {0, 0}, nofile = {4096, 4096};
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_NOFILE, &nofile);
}

/* stdio from the three pipes, and a driver's channel (chan packs its two pipe ends: requests
 * in, replies out) as fds 3 and 4; every other fd from 3 up is close-on-exec from here. *errfd
 * is moved above them first (the init's error pipe may be fd 3 or 4, which the channel takes). */
static void payload_fds(int in, int out, int errout, int *errfd, int chan)
{
	isol8_err err = {0};
	int ef = fcntl(*errfd, F_DUPFD_CLOEXEC, 64);
	if (ef < 0) {
		isol8_fail(&err, ISOL8_E_INTERNAL, errno, "error pipe");
		payload_fail(*errfd, &err);
	}
	close(*errfd);
	*errfd = ef;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errout, 2) < 0) {
		isol8_fail(&err, ISOL8_E_INTERNAL, errno, "dup2");
		payload_fail(ef, &err);
	}
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (chan >= 0) {
		int req = chan & 0xffff, rep = chan >> 16;
		int rep_copy = rep == 3 ? fcntl(rep, F_DUPFD_CLOEXEC, 5) : rep;
		/* dup2 onto itself keeps close-on-exec set: clear it explicitly on both */
		if (rep_copy < 0 || dup2(req, 3) < 0 || dup2(rep_copy, 4) < 0 || fcntl(3, F_SETFD, 0) < 0 ||
		    fcntl(4, F_SETFD, 0) < 0) {
			isol8_fail(&err, ISOL8_E_INTERNAL, errno, "driver channel");
			payload_fail(ef, &err);
		}
	}
}

static void payload_seccomp(int errfd, const isol8_sandbox_cfg *cfg)
{
	isol8_err err = {0};
	if (cfg->seccomp && seccomp_load_strict() < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "loading the seccomp filter");
		payload_fail(errfd, &err);
	}
}

void payload_enter(int in, int out, int errout, int errfd, int chan, const isol8_sandbox_cfg *cfg,
		   void (*in_payload)(void))
{
	isol8_err err = {0};
	payload_start(errfd, cfg);
	/* execve would make it dumpable again (its files are the sandbox user's), as it is for
	 * python3 -c: /proc/self/environ and the like readable by the program itself. The init's
	 * own non-dumpable flag, and the credential change, cleared it. */
	prctl(PR_SET_DUMPABLE, 1);
	if (in_payload) /* the interpreter's after-fork work: as the sandbox user, never as root */
		in_payload();
	if (chdir("/sandbox") < 0) {
		isol8_fail(&err, ISOL8_E_SANDBOX, errno, "working directory /sandbox");
		payload_fail(errfd, &err);
	}
	int ef = errfd;
	payload_fds(in, out, errout, &ef, chan);
	/* No exec follows, so close-on-exec protects nothing: close everything but stdio, the
	 * channel and ef, which goes last, once nothing can fail. */
	syscall(SYS_close_range, chan >= 0 ? 5 : 3, (unsigned)ef - 1, 0);
	syscall(SYS_close_range, (unsigned)ef + 1, ~0U, 0);
	payload_seccomp(ef, cfg);
	close(ef);
}

__attribute__((noreturn)) void payload_main(int feed, int in, int out, int errout, int errfd, int chan,
						   const isol8_sandbox_cfg *cfg)
{
	isol8_err err = {0};
	payload_start(errfd, cfg);

	char **argv = NULL, **envp = NULL, *cwd = NULL;
	read_feed(feed, errfd, &argv, &envp, &cwd);
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
	/* Nothing else crosses execve but stdio and a driver's channel (sessions). */
	payload_fds(in, out, errout, &errfd, chan);
	char *exe = find_exec(argv[0], envp);
	if (!exe) {
		isol8_fail(&err, ISOL8_E_SANDBOX, 0, "runtime command \"%s\" not found in the sandbox (run 'make deps' on the host, or check --image)",
			   argv[0]);
		payload_fail(errfd, &err);
	}
	/* execve keeps what is ignored: the program starts with every signal at its default, as
	 * it would from a shell, not with what isol8's own tools ignore (SIGPIPE: a sandboxed
	 * `yes | head -1` would say "Broken pipe") */
	signals_default();
	payload_seccomp(errfd, cfg);
	execve(exe, argv, envp);
	isol8_fail(&err, ISOL8_E_SANDBOX, errno, "execve %s", exe);
	payload_fail(errfd, &err);
	_exit(127);
}
