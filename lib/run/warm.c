/* warm.c — the drivers of pre-started interpreters (see warm.h) and the one message each takes.
 * They run as the sandbox user under the payload's seccomp filter before any untrusted code has
 * run; what they must get right is equivalence, not security: the user's code then runs in the
 * same process with the same privileges either way. */
#include "run/warm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/command.h"
#include "run/drivers.h"
#include "core/sigdefault.h"
#include "core/util.h"

/* The drivers, from lib/run/drivers/warm_python.py and warm_node.js (see there for what each does to
 * look like python3 -c / python3 FILE and node -e / node FILE): warm_python, warm_node. */
#include "warm_drivers.h"

/* bash has no driver started in its sandbox: only its zygote pre-starts it (warm_has_zygote) */
const char *const warm_runtimes[] = {"python", "node", "bash", NULL};

const char *const *warm_argv(const char *runtime)
{
	static const char *const python[] = {"python3", "-c", warm_python, NULL};
	static const char *const node[] = {"node", "-e", warm_node, NULL};
	if (!strcmp(runtime, "python"))
		return python;
	if (!strcmp(runtime, "node"))
		return node;
	return NULL;
}

/* Read by the interpreter while it starts, before the driver could apply the run's value. */
bool warm_read_at_startup(const char *interp, const char *kv)
{
	/* the dynamic loader's and libc's (LD_PRELOAD, LD_LIBRARY_PATH, tunables) act before main */
	static const char *const common[] = {"LANG=", "LANGUAGE=", "LC_", "TZ=", "LD_", "GLIBC_TUNABLES=", "MALLOC_", NULL};
	static const char *const python[] = {"PYTHON", NULL};
	static const char *const node[] = {"NODE_", "UV_", "OPENSSL_", "SSL_", "ICU_", NULL};
	/* POSIX*: read before main()'s jump target. SSH_CLIENT, SSH2_CLIENT: a bash -c that sees
	 * one sources bash.bashrc and ~/.bashrc instead of BASH_ENV, a branch the zygote's start-over
	 * turns off (shell_reinitialize sets no_rc). */
	static const char *const bash[] = {"POSIXLY_CORRECT=", "POSIX_PEDANTIC=", "SSH_CLIENT=", "SSH2_CLIENT=", NULL};
	const char *const *lists[] = {common, !strcmp(interp, "python3") ? python : !strcmp(interp, "bash") ? bash : node};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (const char *const *p = lists[l]; *p; p++)
			if (!strncmp(kv, *p, strlen(*p)))
				return true;
	return false;
}

bool env_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static bool env_fits(const char *interp, char *const *envp, char *const *base)
{
	for (char *const *e = envp; *e; e++) {
		if (env_has(base, *e))
			continue;
		const char *eq = strchr(*e, '=');
		size_t kl = eq ? (size_t)(eq - *e) + 1 : strlen(*e);
		for (char *const *b = base; *b; b++)
			if (!strncmp(*b, *e, kl))
				return false; /* a start-up variable of ours, with another value */
		if (warm_read_at_startup(interp, *e))
			return false;
	}
	return true;
}

/* Whether execve would take argv and envp: each string with its NUL at most 32 pages
 * (MAX_ARG_STRLEN), all of them with their pointers within ARG_MAX as this process's stack limit
 * makes it. A pre-started interpreter takes its run through a pipe, so without this check a run
 * the cold path refuses ("Argument list too long") would run warm. */
static bool execve_takes(char *const *argv, char *const *envp)
{
	long max = sysconf(_SC_ARG_MAX);
	size_t total = 0;
	char *const *lists[] = {argv, envp};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (char *const *p = lists[l]; p && *p; p++) {
			size_t n = strlen(*p) + 1;
			if (n > 32 * 4096)
				return false;
			total += n + sizeof(char *);
		}
	return max <= 0 || total <= (size_t)max;
}

bool warm_fits(const isol8_request *r, char *const *argv, char *const *envp, char *const *base)
{
	/* a setup script runs before the code and may change what an interpreter sees at start-up */
	if (r->cmd || r->ninstall || r->setup_script || r->image_setup_script ||
	    (r->workdir && strcmp(r->workdir, "/sandbox")) || !argv[0] || !argv[1])
		return false;
	bool python = !strcmp(argv[0], "python3"), bash = !strcmp(argv[0], "bash");
	if (!python && !bash && strcmp(argv[0], "node"))
		return false;
	bool inline_code = !strcmp(argv[1], python || bash ? "-c" : "-e") && argv[2] && !argv[3];
	bool file = argv[1][0] == '/' && !argv[2];
	if (!inline_code && !file)
		return false;
	for (size_t i = 0; python && i < r->nfiles; i++)
		if (!strncmp(r->files[i].path, "/sandbox/.local/", 16))
			return false;
	return env_fits(argv[0], envp, base) && execve_takes(argv, envp);
}

int warm_send(int *chan, char *const *argv, char *const *envp, isol8_err *err)
{
	isol8_buf b = {0};
	bool file = argv[1][0] == '/';
	buf_puts(&b, file ? "f" : "c");
	buf_append(&b, "", 1);
	buf_puts(&b, file ? argv[1] : argv[2]);
	for (char *const *e = envp; *e; e++) {
		buf_append(&b, "", 1);
		buf_puts(&b, *e);
	}
	int rc = write_all(*chan, b.data, b.len);
	int e = errno;
	isol8_buf_free(&b);
	close(*chan);
	*chan = -1; /* EOF ends the message */
	if (rc < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "sending the run to the warm interpreter");
	return 0;
}

int warm_read_exit(int reply, int *code)
{
	char b[8];
	ssize_t n = read(reply, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* the driver writes it in one write(2) of at most 5 bytes: a pipe delivers that whole */
	if (n < 3 || n > 5 || b[0] != 'E' || b[n - 1] != '\n')
		return -1;
	int v = 0;
	for (ssize_t i = 1; i < n - 1; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		v = v * 10 + (b[i] - '0');
	}
	if (v > 255)
		return -1;
	*code = v;
	return 1;
}

char **warm_base_env(void)
{
	isol8_options none = {.network = ISOL8_NET_NONE}; /* pooled: no network, no secrets */
	return isol8_build_env(&none, NULL, 0);
}

uint64_t warm_env_digest(char *const *env)
{
	uint64_t h = FNV1A_INIT; /* over every "K=V\0" */
	for (; env && *env; env++)
		h = fnv1a(h, *env, strlen(*env) + 1);
	return h;
}

/* ---- zygotes ------------------------------------------------------------------------------ */

/* zygote_python: lib/run/drivers/zygote_python.py, the zygote's end of warm_python */
#include "zygote_drivers.h"

bool warm_has_zygote(const char *runtime)
{
	return !strcmp(runtime, "python") || !strcmp(runtime, "python-session") || !strcmp(runtime, "bash");
}

/* Threat: the zygote runs as the pool's user (root) on the host, so what it execs, loads or
 * imports must be no one else's to change. A path is trusted when it and every directory above
 * it that exists belong to root or to us and are writable by no one else — or, for a directory
 * above it, writable by others but sticky (/tmp), which keeps them from replacing what is ours
 * in it. A part that does not exist is fine below a directory no one else may write to (no one
 * else can create it), not below a sticky one. A link is followed and where it leads checked. */
static bool trusted_path_at(const char *path, int depth)
{
	char p[PATH_MAX];
	if (path[0] != '/' || depth > 8 || snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return false;
	bool open_above = false; /* the directory above is writable by others, but sticky */
	for (char *end = p + 1;; end++) {
		if (*end && *end != '/')
			continue;
		char c = *end;
		*end = 0;
		struct stat st;
		if (lstat(p, &st) < 0)
			return errno == ENOENT && !open_above;
		if (S_ISLNK(st.st_mode)) { /* where it leads must be trusted too; a dangling one is not */
			char *to = realpath(p, NULL);
			bool ok = to && trusted_path_at(to, depth + 1);
			free(to);
			if (!ok || stat(p, &st) < 0)
				return false;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid())
			return false;
		open_above = (st.st_mode & 022) != 0;
		if (open_above && (!c || !S_ISDIR(st.st_mode) || !(st.st_mode & S_ISVTX)))
			return false;
		if (!c)
			return true;
		*end = c;
	}
}

static bool trusted_path(const char *path)
{
	return trusted_path_at(path, 0);
}

static bool trusted_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && trusted_path(path);
}

/* What python3 reads at start-up beyond its own prefix, from env: PYTHONPATH's directories (the
 * sandbox's support files), the user base and home (user site-packages). Inside a sandbox they
 * are the sandbox's; on the host they are normally absent, and must not be anyone else's. The
 * first one that is, or NULL. */
static const char *untrusted_startup_path(char *const *env, char *buf, size_t n)
{
	static const char *const vars[] = {"PYTHONPATH=", "PYTHONUSERBASE=", "HOME=", NULL};
	for (char *const *e = env; *e; e++)
		for (const char *const *v = vars; *v; v++) {
			if (strncmp(*e, *v, strlen(*v)))
				continue;
			snprintf(buf, n, "%s", *e + strlen(*v));
			for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
				if (!trusted_path(dir))
					return dir;
		}
	return NULL;
}

/* The interpreter a warm slot would exec: env's PATH, as the sandbox sees the host's dirs.
 * Directories below /sandbox exist only inside a sandbox, and a relative one means nothing. */
static bool host_interpreter(const char *name, char *const *env, char *out, size_t n)
{
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (char *const *e = env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	char *copy = xstrdup(path);
	bool found = false;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/' || !strncmp(dir, "/sandbox", 8))
			continue;
		snprintf(out, n, "%s/%s", dir, name);
		found = access(out, X_OK) == 0;
	}
	free(copy);
	return found && trusted_file(out);
}

/* name (isol8-zygote.so, isol8-zygote-bash.so) beside this program (the build tree), or in
 * ../lib/isol8/ (installed). Only plain path characters: it goes into the driver as a python
 * string literal, or a bash word. */
static bool zygote_library(const char *name, char *out, size_t n)
{
	char installed[64];
	snprintf(installed, sizeof installed, "../lib/isol8/%s", name);
	if (!sibling_tool(name, out, n) && !sibling_tool(installed, out, n))
		return false;
	return strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-") == strlen(out) &&
	       trusted_file(out);
}

/* The warm driver without its last line (the call), then the zygote's end, which calls it with
 * the library's path and the session driver's source (as hex: any text survives). */
static char *zygote_driver(const char *library, bool sessions)
{
	const char *call = "\n_isol8_warm()\n";
	size_t keep = strlen(warm_python) - strlen(call) + 1;
	if (strcmp(warm_python + keep - 1, call))
		return NULL;
	const char *lib_mark = "ISOL8_ZYGOTE_LIBRARY", *session_mark = "ISOL8_SESSION_DRIVER";
	const char *only_mark = "ISOL8_SESSIONS_ONLY";
	const char *at = strstr(zygote_python, lib_mark), *at2 = strstr(zygote_python, session_mark);
	const char *at3 = strstr(zygote_python, only_mark);
	const isol8_driver *d = driver_for("python");
	if (!at || !at2 || !at3 || at2 < at || at3 < at2 || !d || !d->argv[2])
		return NULL;
	isol8_buf hex = {0};
	for (const unsigned char *c = (const unsigned char *)d->argv[2]; *c; c++) {
		char two[3];
		snprintf(two, sizeof two, "%02x", *c);
		buf_append(&hex, two, 2);
	}
	buf_append(&hex, "", 1);
	char *text = xasprintf("%.*s%.*s'%s'%.*sbytes.fromhex('%s').decode()%.*s%s%s", (int)keep, warm_python,
			       (int)(at - zygote_python), zygote_python, library, (int)(at2 - at - strlen(lib_mark)),
			       at + strlen(lib_mark), (char *)hex.data, (int)(at3 - at2 - strlen(session_mark)),
			       at2 + strlen(session_mark), sessions ? "True" : "False", at3 + strlen(only_mark));
	isol8_buf_free(&hex);
	return text;
}

/* The argv that starts runtime's zygote on the host (*driver: what to free after), or an error. */
static int zygote_argv(const char *runtime, char *const *env, char *exe, size_t n, const char *argv[4], char **driver,
		       isol8_err *err)
{
	bool bash = !strcmp(runtime, "bash");
	const char *interp = bash ? "bash" : "python3", *name = bash ? "isol8-zygote-bash.so" : "isol8-zygote.so";
	char lib[PATH_MAX];
	if (!warm_has_zygote(runtime))
		return isol8_fail(err, ISOL8_E_INPUT, 0, "%s has no zygote", runtime);
	if (!zygote_library(name, lib, sizeof lib))
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s is not beside isol8-pool nor in ../lib/isol8/ (or is writable by others): rebuild or reinstall",
				  name);
	if (!host_interpreter(interp, env, exe, n))
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "no %s on the sandbox's PATH owned by root", interp);
	char startup[PATH_MAX];
	const char *bad = bash ? NULL : untrusted_startup_path(env, startup, sizeof startup);
	if (bad || !trusted_path("/"))
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s on the host is writable by others: a zygote's %s would read it at start-up",
				  bad ? bad : "/", interp);
	/* bash reads no file at start-up for -c (the base environment has no BASH_ENV) */
	*driver = bash ? xasprintf("enable -f %s isol8_zygote && isol8_zygote", lib)
		       : zygote_driver(lib, !strcmp(runtime, "python-session"));
	if (!*driver)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "the zygote driver does not match the warm driver");
	argv[0] = interp;
	argv[1] = "-c";
	argv[2] = *driver;
	argv[3] = NULL;
	return 0;
}

int warm_zygote_start(const char *runtime, char *const *env, isol8_zygote *z, isol8_err *err)
{
	char exe[PATH_MAX], *driver = NULL;
	const char *argv[4];
	if (zygote_argv(runtime, env, exe, sizeof exe, argv, &driver, err) < 0)
		return -1;
	/* Its stdio are pipes, as a warm interpreter's are (python3 caches whether they can seek):
	 * stdin at EOF, stdout nowhere, stderr kept for what it says if it fails. */
	int sv[2], in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(driver);
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "zygote socket");
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		int e = errno;
		int *all[] = {sv, in, out, er};
		for (size_t i = 0; i < ARRAY_SIZE(all); i++)
			for (int k = 0; k < 2; k++)
				if (all[i][k] >= 0)
					close(all[i][k]);
		free(driver);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "zygote pipes");
	}
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		setsid();
		/* what its forks start with: every signal at its default, as the cold path's payload
		 * (not SIGPIPE ignored by the pool, nor SIGINT and SIGQUIT ignored by a shell that
		 * started the pool in the background) */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signals_default();
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(er[1], 2) < 0 || dup2(sv[1], 3) < 0 ||
		    chdir("/") < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		execve(exe, (char *const *)argv, env);
		_exit(127);
	}
	int e = errno;
	close(sv[1]);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(er[1]);
	free(driver);
	if (pid < 0) {
		close(sv[0]);
		close(er[0]);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "fork the zygote");
	}
	fcntl(er[0], F_SETFL, O_NONBLOCK);
	*z = (isol8_zygote){.sock = sv[0], .pid = pid, .err = er[0], .born_ms = now_real_ms()};
	return 0;
}

void warm_zygote_stop(isol8_zygote *z)
{
	if (z->broken && z->err >= 0) { /* what it said, if anything (a traceback at start-up) */
		char b[4096];
		ssize_t n = read(z->err, b, sizeof b);
		if (n > 0)
			fprintf(stderr, "[ERR] isol8-pool: the zygote said: %.*s%s", (int)n, b, b[n - 1] == '\n' ? "" : "\n");
	}
	if (z->err >= 0)
		close(z->err);
	if (z->sock >= 0)
		close(z->sock);
	if (z->pid > 0 && kill(z->pid, SIGKILL) == 0)
		while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR) /* quick: nothing to flush */
			;
	*z = (isol8_zygote){.sock = -1, .err = -1};
}
