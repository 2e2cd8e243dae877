#include "run/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "run/mask.h"
#include "run/outstream.h"
#include "run/pool.h"
#include "run/warm.h"
#include "run/runtime.h"
#include "sandbox/sandbox.h"
#include "state/rundir.h"

#define MAX_OUTPUT_FILE (64u << 20)
#define KILL_GRACE_MS 2000 /* after a kill, how long we keep draining pipes */

/* A macro so that, without --debug, the arguments (cgroup_describe() probes the cgroup
 * hierarchies) are never evaluated on a run's path. */
#define debugf(o, ...)                              \
	do {                                        \
		if ((o)->debug)                     \
			debug_line(__VA_ARGS__);    \
	} while (0)
static void debug_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void debug_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("[DEBUG] ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *signal_name(int sig)
{
	static const char *const names[] = {[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",
		[SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",
		[SIGUSR2] = "SIGUSR2", [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ", [SIGSYS] = "SIGSYS"};
	if (sig > 0 && (size_t)sig < ARRAY_SIZE(names) && names[sig])
		return names[sig];
	return "SIG?";
}

static void send_event(isol8_event_fn fn, void *ctx, isol8_event_type t, const char *text)
{
	if (!fn)
		return;
	isol8_event ev = {t, (const unsigned char *)text, strlen(text)};
	fn(ctx, &ev);
}

/* ---- building the command ---------------------------------------------------------------- */

struct command {
	char **argv, **envp;
	isol8_file *files; /* request files + the code file */
	size_t nfiles;
	char *code_path;
};

static void push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void env_set(char ***v, size_t *n, const char *k, const char *val)
{
	size_t kl = strlen(k);
	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*v)[i], k, kl) && (*v)[i][kl] == '=') {
			free((*v)[i]);
			(*v)[i] = xasprintf("%s=%s", k, val);
			return;
		}
	push(v, n, xasprintf("%s=%s", k, val));
}

char **isol8_build_env(const isol8_options *o, const isol8_kv *extra, size_t nextra)
{
	char **v = NULL;
	size_t n = 0;
	const char *rtdir = getenv("ISOL8_RUNTIMES");
	char *path = xasprintf("/sandbox/.local/bin:/sandbox/.npm-global/bin:/sandbox/.bun-global/bin:%s/bin:"
			       "/usr/local/bin:/usr/bin:/bin",
			       rtdir && *rtdir ? rtdir : "/opt/isol8/runtimes");
	env_set(&v, &n, "PATH", path);
	free(path);
	env_set(&v, &n, "HOME", "/sandbox");
	env_set(&v, &n, "USER", "sandbox");
	env_set(&v, &n, "LOGNAME", "sandbox");
	env_set(&v, &n, "LANG", "C.UTF-8");
	env_set(&v, &n, "TMPDIR", "/tmp");
	env_set(&v, &n, "PYTHONUNBUFFERED", "1");
	env_set(&v, &n, "PYTHONUSERBASE", "/sandbox/.local");
	env_set(&v, &n, "NPM_CONFIG_PREFIX", "/sandbox/.npm-global");
	env_set(&v, &n, "NODE_PATH", "/usr/local/lib/node_modules:/sandbox/.npm-global/lib/node_modules:/sandbox/node_modules");
	env_set(&v, &n, "DENO_DIR", "/sandbox/.deno");
	env_set(&v, &n, "DENO_NO_UPDATE_CHECK", "1");
	if (o->network != ISOL8_NET_NONE && !o->image && access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
		/* with a network, trust what the host's system store trusts (a mirror or a TLS-inspecting
		 * gateway's CA lives there); node, bun and deno otherwise use their built-in stores.
		 * Not for --net none: loading the bundle costs node ~40 ms at start-up. */
		env_set(&v, &n, "NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt");
		env_set(&v, &n, "DENO_TLS_CA_STORE", "system");
	}
	if (o->network == ISOL8_NET_FILTERED) {
		/* the proxy listens inside the sandbox's own network namespace */
		static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
		for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
			env_set(&v, &n, vars[i], "http://127.0.0.1:8118");
	}
	for (size_t i = 0; i < o->nsecrets; i++)
		env_set(&v, &n, o->secrets[i].key, o->secrets[i].value);
	for (size_t i = 0; i < nextra; i++)
		env_set(&v, &n, extra[i].key, extra[i].value);
	return v;
}

void isol8_free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void build_command(const isol8_request *r, const isol8_options *o, struct command *c)
{
	const isol8_runtime *rt = runtime_get(r->runtime);
	size_t na = 0;
	memset(c, 0, sizeof *c);
	if (r->cmd) {
		push(&c->argv, &na, xstrdup("bash"));
		push(&c->argv, &na, xstrdup("-c"));
		push(&c->argv, &na, xstrdup(r->cmd));
	} else if (rt->inline_argv[0] && !r->force_file && strlen(r->code) < 64 * 1024) {
		for (int i = 0; rt->inline_argv[i]; i++)
			push(&c->argv, &na, xstrdup(rt->inline_argv[i]));
		push(&c->argv, &na, xstrdup(r->code));
	} else {
		/* Large code (argv strings are capped at 128 KiB), files, and runtimes without an
		 * inline mode run from /sandbox/main<ext>, as `python3 /sandbox/main.py` would. */
		c->code_path = xasprintf("/sandbox/main%s", r->file_ext ? r->file_ext : rt->default_ext);
		for (int i = 0; rt->file_argv[i]; i++)
			push(&c->argv, &na, xstrdup(rt->file_argv[i]));
		push(&c->argv, &na, xstrdup(c->code_path));
	}
	c->envp = isol8_build_env(o, r->env, r->nenv);
	c->nfiles = r->nfiles + (c->code_path ? 1 : 0);
	c->files = xcalloc(c->nfiles, sizeof *c->files);
	for (size_t i = 0; i < r->nfiles; i++)
		c->files[i] = r->files[i]; /* borrowed */
	if (c->code_path) {
		c->files[r->nfiles].path = c->code_path;
		c->files[r->nfiles].data = (unsigned char *)r->code;
		c->files[r->nfiles].len = strlen(r->code);
	}
}

static void free_command(struct command *c)
{
	isol8_free_strv(c->argv);
	isol8_free_strv(c->envp);
	free(c->files);
	free(c->code_path);
}

/* ---- the proxy of --net filtered ----------------------------------------------------------- */

/* Starts isol8-proxy (found via ISOL8_PROXY, next to this executable, or on PATH) on the
 * listening socket the sandbox's init created inside its network namespace. */
static pid_t start_proxy(int listen_fd, const isol8_options *o, const char *log_path, isol8_err *err)
{
	char path[PATH_MAX + 32] = "";
	const char *env = getenv("ISOL8_PROXY");
	if (env && *env)
		snprintf(path, sizeof path, "%s", env);
	else if (!sibling_tool("isol8-proxy", path, sizeof path))
		path[0] = 0;
	char **av = xcalloc(12 + 2 * (o->nallow + o->ndeny), sizeof *av);
	int n = 0;
	av[n++] = "isol8-proxy";
	av[n++] = "--fd";
	av[n++] = "3";
	av[n++] = "--no-config"; /* the lists below are final (config merged, flags applied) */
	av[n++] = "--log";
	av[n++] = (char *)log_path;
	/* operator-only (the environment of isol8, never a request): let sandboxes reach private
	 * addresses through the proxy, for labs and tests against local servers */
	const char *ap = getenv("ISOL8_PROXY_ALLOW_PRIVATE");
	if (ap && !strcmp(ap, "1"))
		av[n++] = "--allow-private";
	for (size_t i = 0; i < o->nallow; i++) {
		av[n++] = "--allow";
		av[n++] = o->net_allow[i];
	}
	for (size_t i = 0; i < o->ndeny; i++) {
		av[n++] = "--deny";
		av[n++] = o->net_deny[i];
	}
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		free(av);
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipe");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* its per-connection children go with it */
		/* A run that dies without stop_proxy (SIGKILL, isol8-serve's watchdog) must not leave
		 * a proxy behind, holding the sandbox's network namespace through its socket. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(listen_fd, 3);
		if (*path && access(path, X_OK) == 0)
			execv(path, av);
		execvp("isol8-proxy", av);
		dprintf(errp[1], "--net filtered needs isol8-proxy next to this program or on PATH");
		_exit(127);
	}
	free(av);
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "fork proxy");
	}
	/* exec succeeded when the CLOEXEC pipe closes with nothing in it */
	char msg[256];
	ssize_t r = read(errp[0], msg, sizeof msg - 1);
	close(errp[0]);
	if (r > 0) {
		msg[r] = 0;
		waitpid(pid, NULL, 0);
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s", msg);
	}
	return pid;
}

static void stop_proxy(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static jv read_network_log(const char *path)
{
	isol8_buf b = {0};
	isol8_err e = {0};
	jv arr = jv_array();
	if (read_file(path, 16u << 20, &b, &e) == 0) {
		char *p = (char *)b.data, *end = p + b.len;
		while (p && p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			jv v = jv_parse_sized(p, (int)l);
			if (jv_get_kind(v) == JV_KIND_OBJECT)
				arr = jv_array_append(arr, v);
			else
				jv_free(v);
			p = nl ? nl + 1 : NULL;
		}
	}
	buf_free(&b);
	return arr;
}

/* ---- --install ------------------------------------------------------------------------------ */

/* The reference's per-runtime commands, writing only under /sandbox. */
static char **install_argv(const isol8_request *req)
{
	char **v = NULL;
	size_t n = 0;
	static const char *const pip[] = {"python3", "-m", "pip", "install", "--user", "--no-cache-dir",
					  "--break-system-packages", "--disable-pip-version-check", "--retries", "0",
					  "--timeout", "15", NULL};
	static const char *const npm[] = {"npm", "install", "--prefix", "/sandbox", "--no-audit", "--no-fund", NULL};
	static const char *const bun[] = {"bun", "add", "--cwd", "/sandbox", NULL};
	static const char *const deno[] = {"deno", "cache", NULL};
	const char *const *base = !strcmp(req->runtime, "python") ? pip : !strcmp(req->runtime, "node") ? npm
				  : !strcmp(req->runtime, "bun")      ? bun : deno;
	for (int i = 0; base[i]; i++)
		push(&v, &n, xstrdup(base[i]));
	for (size_t i = 0; i < req->ninstall; i++)
		push(&v, &n, xstrdup(req->install[i]));
	return v;
}

static int run_install(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, uint64_t deadline,
		       isol8_err *err)
{
	isol8_proc p;
	if (sandbox_spawn(sb, &p, err) < 0)
		return -1;
	isol8_kv *extra = NULL;
	size_t nextra = 0;
	kv_add(&extra, &nextra, "NPM_CONFIG_CACHE", "/sandbox/.npm-cache");
	kv_add(&extra, &nextra, "NPM_CONFIG_UPDATE_NOTIFIER", "false");
	kv_add(&extra, &nextra, "NPM_CONFIG_FETCH_RETRIES", "0");
	kv_add(&extra, &nextra, "BUN_INSTALL_CACHE_DIR", "/sandbox/.bun-cache");
	if (req->registry) {
		kv_add(&extra, &nextra, "NPM_CONFIG_REGISTRY", req->registry);
		kv_add(&extra, &nextra, "PIP_INDEX_URL", req->registry);
	}
	char **argv = install_argv(req), **envp = isol8_build_env(o, extra, nextra);
	isol8_exec_spec spec = {argv, envp, "/sandbox", NULL, 0};
	int rc = sandbox_feed_proc(sb, &p, &spec, err);
	isol8_free_strv(argv);
	isol8_free_strv(envp);
	for (size_t i = 0; i < nextra; i++) {
		free(extra[i].key);
		free(extra[i].value);
	}
	free(extra);
	close(p.stdin_w);
	p.stdin_w = -1;
	isol8_buf errout = {0};
	int code = -1;
	fcntl(sb->ctl, F_SETFL, O_NONBLOCK);
	bool out_open = true, err_open = true;
	while (rc == 0 && code < 0) {
		uint64_t now = now_mono_ns();
		if (now >= deadline) {
			isol8_err e2 = {0};
			sandbox_killall(sb, &e2);
			rc = isol8_fail(err, ISOL8_E_INPUT, 0, "Package install failed (exit code 137): timed out");
			break;
		}
		struct pollfd f[3] = {{out_open ? p.stdout_r : -1, POLLIN, 0}, {err_open ? p.stderr_r : -1, POLLIN, 0},
				      {sb->ctl, POLLIN, 0}};
		bool status_buffered = sandbox_status_buffered(sb);
		poll(f, 3, status_buffered ? 0 : (int)((deadline - now) / 1000000) + 1);
		if (status_buffered)
			f[2].revents |= POLLIN;
		char tmp[8192];
		if (f[0].revents && read(p.stdout_r, tmp, sizeof tmp) <= 0)
			out_open = false; /* progress noise: read and dropped */
		if (f[1].revents) {
			ssize_t n = read(p.stderr_r, tmp, sizeof tmp);
			if (n <= 0)
				err_open = false;
			else if (errout.len < 65536)
				buf_append(&errout, tmp, (size_t)n);
		}
		if (f[2].revents) {
			ctl_msg m;
			int r;
			while ((r = sandbox_read_status(sb, &m)) == 1) {
				if (m.pid == p.pid)
					code = ctl_exit_code(&m);
				ctl_msg_free(&m);
			}
			if (r < 0 && code < 0)
				rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox went away during --install");
		}
	}
	if (rc == 0 && code != 0) {
		rtrim_buf(&errout);
		for (size_t i = 0; i < errout.len; i++) /* one line: the package manager's lines joined */
			if (errout.data[i] == '\n' || errout.data[i] == '\r')
				errout.data[i] = i + 1 < errout.len && errout.data[i + 1] != '\n' ? '|' : ' ';
		/* the reference's message; the stderr tail says why */
		const char *tail = errout.len > 2000 ? (char *)errout.data + errout.len - 2000 : (char *)(errout.data ? errout.data : (unsigned char *)"");
		rc = isol8_fail(err, ISOL8_E_INPUT, 0, "Package install failed (exit code %d): %s", code, tail);
	}
	buf_free(&errout);
	sandbox_proc_close(&p);
	return rc;
}

/* ---- the run ------------------------------------------------------------------------------ */

struct run {
	isol8_sandbox sb;
	isol8_ostream out, err;
	bool have_status, timed_out, cancelled, killed_for_output, killed;
	bool reported; /* the exit code came from the warm driver, before the interpreter's teardown */
	int exit_code, sig;
	char *fault; /* payload could not start */
	uint64_t kill_at_ns;
	isol8_cg_stats stats;
	bool have_stats;
};

/* The cgroup's numbers (CPU, peak memory, OOM kills) as the run ends. A pooled sandbox's cgroup
 * is swept by its pool as soon as the init is dead, so for one it is read before the kill: read
 * after, the OOM kill count (status "oom") and the usage could already be gone. */
static void take_stats(struct run *r)
{
	if (!r->have_stats) {
		sandbox_stats(&r->sb, &r->stats);
		r->have_stats = true;
	}
}

static void kill_run(struct run *r)
{
	if (!r->killed) {
		if (r->sb.adopted)
			take_stats(r);
		sandbox_kill(&r->sb);
		r->killed = true;
		r->kill_at_ns = now_mono_ns();
	}
}

static void handle_status(struct run *r, const ctl_msg *m)
{
	if (m->kind == CTL_EXIT) {
		r->exit_code = m->code;
		r->have_status = true;
	} else if (m->kind == CTL_SIGNAL) {
		r->sig = m->code;
		r->exit_code = 128 + r->sig;
		r->have_status = true;
	} else if (m->kind == CTL_ERROR) {
		r->fault = xstrdup(m->error);
		r->have_status = true;
	}
}

static void write_stdin(struct run *r, const isol8_request *req, size_t *off)
{
	while (*off < req->stdin_len) {
		ssize_t w = write(r->sb.stdin_w, req->stdin_data + *off, req->stdin_len - *off);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break; /* EPIPE: the program stopped reading; that is its business */
		}
		*off += (size_t)w;
	}
	close(r->sb.stdin_w);
	r->sb.stdin_w = -1;
}

/* Output files are program output like stdout: a secret the program writes into one must come
 * back masked, or outputPaths would be a way around the masking (the result does not say which
 * bytes were masked; a file holding a secret comes back changed). */
void isol8_mask_file(const isol8_options *o, isol8_buf *data)
{
	if (!o->nsecrets || !data->len)
		return;
	const char **secrets = options_secret_values(o);
	size_t n = 0;
	char *masked = mask_string(secrets, o->nsecrets, (const char *)data->data, data->len, &n);
	free(secrets);
	buf_free(data);
	buf_append(data, masked, n);
	free(masked);
}

void isol8_collect_files(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, isol8_result *res)
{
	for (size_t i = 0; i < req->noutput; i++) {
		isol8_buf data = {0};
		isol8_err e = {0};
		if (sandbox_get_file(sb, req->output_paths[i], MAX_OUTPUT_FILE, &data, &e) == 1) {
			isol8_mask_file(o, &data);
			res->files = xrealloc(res->files, (res->nfiles + 1) * sizeof *res->files);
			res->files[res->nfiles].path = xstrdup(req->output_paths[i]);
			res->files[res->nfiles].data = data;
			res->nfiles++;
		} else {
			if (o->debug)
				fprintf(stderr, "[DEBUG] output path not returned: %s\n", e.msg);
			buf_free(&data); /* unreadable or missing paths are omitted, as the reference */
		}
	}
}

static void loop(struct run *r, const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx,
		 int cancel_fd, isol8_result *res)
{
	uint64_t start = now_mono_ns();
	long long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : o->timeout_ms;
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
	bool out_open = true, err_open = true, files_done = false;
	size_t stdin_off = 0;
	if (r->sb.stdin_w >= 0)
		write_stdin(r, req, &stdin_off);
	while (out_open || err_open || (!r->have_status && !r->killed)) {
		uint64_t now = now_mono_ns();
		if (!r->killed && now >= deadline) {
			r->timed_out = true;
			kill_run(r);
		}
		if (r->killed && now - r->kill_at_ns > KILL_GRACE_MS * 1000000ull)
			break;
		if (r->have_status && !files_done) {
			files_done = true;
			isol8_collect_files(&r->sb, req, o, res);
			if (o->persist)
				break; /* the sandbox lives on; what was printed so far is read below */
			kill_run(r); /* background processes of the program end with it */
		}
		if (r->reported && r->killed) {
			/* The driver wrote all of the program's output before it reported the exit: what
			 * the pipes hold is everything, and the killed interpreter's teardown (~5 ms for
			 * node) is not waited for. */
			if (out_open)
				ostream_drain(&r->out, fn, ctx);
			if (err_open)
				ostream_drain(&r->err, fn, ctx);
			break;
		}
		struct pollfd p[6] = {
			{out_open ? r->sb.stdout_r : -1, POLLIN, 0},
			{err_open ? r->sb.stderr_r : -1, POLLIN, 0},
			{!r->have_status && r->sb.ctl >= 0 ? r->sb.ctl : -1, POLLIN, 0},
			{r->sb.stdin_w, POLLOUT, 0},
			{cancel_fd, POLLIN, 0},
			{!r->have_status ? r->sb.reply : -1, POLLIN, 0}, /* a warm driver's early exit code */
		};
		uint64_t until = r->killed ? r->kill_at_ns + KILL_GRACE_MS * 1000000ull : deadline;
		int wait_ms = until > now ? (int)((until - now) / 1000000ull) + 1 : 0;
		bool status_buffered = !r->have_status && sandbox_status_buffered(&r->sb);
		if (poll(p, 6, status_buffered ? 0 : wait_ms) < 0 && errno != EINTR)
			break;
		if (status_buffered)
			p[2].revents |= POLLIN;
		if (p[0].revents && !ostream_pump(&r->out, fn, ctx))
			out_open = false;
		if (p[1].revents && !ostream_pump(&r->err, fn, ctx))
			err_open = false;
		if ((r->out.over || r->err.over) && !r->killed) {
			r->killed_for_output = true; /* the cap is reached: more output cannot be delivered */
			kill_run(r);
		}
		if (p[2].revents) {
			ctl_msg m;
			int s;
			while ((s = sandbox_read_status(&r->sb, &m)) == 1) {
				handle_status(r, &m);
				ctl_msg_free(&m);
			}
			if (s < 0 && !r->have_status) {
				r->have_status = true; /* init died: killed by us (timeout, cancel) or the OOM killer */
				r->exit_code = 137;
				r->sig = SIGKILL;
			}
		}
		if (p[5].revents) {
			int code, s = warm_read_exit(r->sb.reply, &code);
			if (s == 1 && !r->have_status) {
				r->exit_code = code;
				r->have_status = r->reported = true;
			}
			if (s != 0) {
				close(r->sb.reply);
				r->sb.reply = -1;
			}
		}
		if (p[3].revents)
			write_stdin(r, req, &stdin_off);
		if (p[4].revents) {
			r->cancelled = true;
			kill_run(r);
		}
	}
	if (!r->have_status && r->killed) {
		r->have_status = true; /* killed by isol8 before the init could report */
		r->exit_code = 137;
		r->sig = SIGKILL;
	}
	if (r->have_status && !files_done && !r->killed && !r->fault)
		isol8_collect_files(&r->sb, req, o, res); /* the pipes closed before the loop came round to it */
	if (o->persist) {
		/* leave the sandbox running; take what is already buffered */
		ostream_pump(&r->out, fn, ctx);
		ostream_pump(&r->err, fn, ctx);
	}
	res->duration_ms = (now_mono_ns() - start) / 1000000ull;
}

/* A run that fails before its code starts leaves nothing behind: not its proxy, not its
 * network log, and not its sandbox even under --persist (nothing ran in it worth keeping). */
static int abandon_run(isol8_sandbox *sb, pid_t proxy, char *netlog, struct command *c)
{
	stop_proxy(proxy);
	if (netlog)
		unlink(netlog);
	free(netlog);
	free_command(c);
	sb->persist = false;
	sandbox_destroy(sb);
	return -1;
}

static int execute(const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx, int cancel_fd,
		   isol8_result *res, isol8_err *err);

/* A sandbox's program can close its stdin, or die, while we write its feed, stdin or run: the
 * write then fails with EPIPE, which the run handles. The SIGPIPE that comes with it must not
 * kill a library caller that left SIGPIPE at its default, so it is blocked for the run, and
 * one raised meanwhile is taken off this thread before the mask is restored. */
int isol8_execute(const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx, int cancel_fd,
		  isol8_result *res, isol8_err *err)
{
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	int rc = execute(req, o, fn, ctx, cancel_fd, res, err);
	struct timespec now = {0, 0};
	if (!sigismember(&old, SIGPIPE) && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe_only, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int execute(const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx, int cancel_fd,
		   isol8_result *res, isol8_err *err)
{
	memset(res, 0, sizeof *res);
	uuid_v4(res->execution_id);
	snprintf(res->runtime, sizeof res->runtime, "%s", req->runtime);

	isol8_sandbox_cfg cfg = {
		.share_net = o->network == ISOL8_NET_HOST,
		.seccomp = o->seccomp == ISOL8_SECCOMP_STRICT,
		.persist = o->persist,
		.proxy_listener = o->network == ISOL8_NET_FILTERED,
		.limits = {.memory = o->memory_limit, .pids = o->pids_limit, .cpus = o->cpu_limit},
		.rootfs = {.image = o->image, .writable = o->writable, .sandbox_size = o->sandbox_size,
			   .tmp_size = o->tmp_size},
	};
	struct run r = {0};
	uint64_t t0 = now_mono_ns();
	struct command c;
	build_command(req, o, &c);
	isol8_exec_spec spec = {c.argv, c.envp, req->workdir ? req->workdir : "/sandbox", c.files, c.nfiles};
	int rc = 0;
	bool early = false;
	/* a warm sandbox from isol8-pool when one fits this run — with its interpreter already
	 * running when nothing about the run could tell (warm.h) — else build one now */
	res->warm = pool_acquire(&r.sb, o, req, c.argv, c.envp) == 1;
	bool driven = res->warm && r.sb.chan >= 0;
	for (size_t i = 0; driven && i < c.nfiles; i++) {
		/* what the cold payload writes before its exec, the init writes for the running driver */
		const isol8_file *f = &c.files[i];
		if (sandbox_put_file(&r.sb, f->path, f->data, f->len, f->mode ? f->mode & 0755 : 0644, err) < 0)
			return abandon_run(&r.sb, 0, NULL, &c);
	}
	if (!res->warm) {
		if (sandbox_start(&r.sb, &cfg, err) < 0) {
			free_command(&c);
			return -1;
		}
		/* A feed that fits the pipe is written while the sandbox is still being built. */
		early = !req->ninstall && sandbox_feed_early(&r.sb, &spec);
		rc = early ? sandbox_feed(&r.sb, &spec, err) : 0;
		if (sandbox_wait_ready(&r.sb, err) < 0) {
			free_command(&c);
			return -1;
		}
	}
	pid_t proxy = 0;
	char *netlog = NULL;
	if (o->network == ISOL8_NET_FILTERED) {
		netlog = rundir_sandbox_netlog(NULL, r.sb.id);
		if (r.sb.proxy_fd < 0 || (proxy = start_proxy(r.sb.proxy_fd, o, netlog, err)) < 0) {
			if (r.sb.proxy_fd < 0)
				isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox did not hand over its proxy socket");
			return abandon_run(&r.sb, 0, netlog, &c);
		}
		close(r.sb.proxy_fd);
		r.sb.proxy_fd = -1;
	}
	if (req->ninstall) {
		/* its own budget of the run's timeout, as the reference */
		long long t = req->timeout_ms > 0 ? req->timeout_ms : o->timeout_ms;
		if (run_install(&r.sb, req, o, now_mono_ns() + (uint64_t)t * 1000000ull, err) < 0)
			return abandon_run(&r.sb, proxy, netlog, &c);
	}
	debugf(o, "sandbox %s %s in %.1f ms (init pid %d, %s, seccomp %s)", r.sb.id,
	       driven ? "taken from isol8-pool, interpreter running" : res->warm ? "taken from isol8-pool" : "prepared",
	       (double)(now_mono_ns() - t0) / 1e6, r.sb.pid, cgroup_describe(), cfg.seccomp ? "strict" : "unconfined");
	snprintf(res->sandbox_id, sizeof res->sandbox_id, "%s", r.sb.id);
	res->sandbox_pid = r.sb.pid;

	const char **secrets = options_secret_values(o);
	ostream_init(&r.out, ISOL8_EV_STDOUT, r.sb.stdout_r, &res->out, o->max_output, secrets, o->nsecrets);
	ostream_init(&r.err, ISOL8_EV_STDERR, r.sb.stderr_r, &res->err, o->max_output, secrets, o->nsecrets);
	free(secrets);
	fcntl(r.sb.stdout_r, F_SETFL, O_NONBLOCK);
	fcntl(r.sb.stderr_r, F_SETFL, O_NONBLOCK);
	fcntl(r.sb.ctl, F_SETFL, O_NONBLOCK);
	if (r.sb.reply >= 0)
		fcntl(r.sb.reply, F_SETFL, O_NONBLOCK);

	if (rc == 0 && driven)
		rc = warm_send(&r.sb.chan, c.argv, c.envp, err);
	else if (rc == 0 && !early)
		rc = sandbox_feed(&r.sb, &spec, err);
	free_command(&c);
	if (rc == 0) {
		if (!req->has_stdin) {
			close(r.sb.stdin_w);
			r.sb.stdin_w = -1;
		} else {
			fcntl(r.sb.stdin_w, F_SETFL, O_NONBLOCK);
		}
		loop(&r, req, o, fn, ctx, cancel_fd, res);
		if (r.reported)
			debugf(o, "sandbox %s: exit code from the running interpreter, its teardown not waited for", r.sb.id);
	}
	ostream_finish(&r.out, fn, ctx);
	ostream_finish(&r.err, fn, ctx);
	ostream_free(&r.out);
	ostream_free(&r.err);
	if (rc == 0 && r.fault) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s", r.fault);
		free(r.fault);
	}
	if (!o->persist || rc < 0) {
		if (r.sb.adopted)
			take_stats(&r);
		sandbox_kill(&r.sb);
		/* so the cgroup holds the final numbers; a pooled sandbox is not waited for (its pool
		 * sweeps it): its program has exited, and what it left running was just killed */
		sandbox_wait_exit(&r.sb);
	}
	stop_proxy(proxy);
	if (netlog) {
		if (o->log_network && rc == 0)
		{
			res->network_logs = xmalloc(sizeof(jv));
			*res->network_logs = read_network_log(netlog);
		}
		unlink(netlog);
		free(netlog);
	}
	take_stats(&r);
	res->stats = r.stats;
	res->persisted = o->persist && rc == 0;
	if (rc < 0)
		r.sb.persist = false;
	r.sb.pid = r.sb.dead ? 0 : r.sb.pid;
	sandbox_destroy(&r.sb);
	if (rc < 0) {
		isol8_result_free(res);
		return -1;
	}

	res->exit_code = r.exit_code;
	res->signal = r.sig;
	res->truncated = r.out.over || r.err.over;
	if (r.timed_out) {
		res->status = "timeout";
		res->exit_code = 137;
		res->signal = SIGKILL;
		buf_puts(&res->err, "\n--- EXECUTION TIMED OUT ---");
		send_event(fn, ctx, ISOL8_EV_ERROR, "EXECUTION TIMED OUT");
	} else if (res->stats.oom_kills > 0) {
		res->status = "oom";
		char m[96];
		snprintf(m, sizeof m, "OUT OF MEMORY (limit: %llu bytes)", (unsigned long long)o->memory_limit);
		buf_puts(&res->err, "\n--- ");
		buf_puts(&res->err, m);
		buf_puts(&res->err, " ---");
		send_event(fn, ctx, ISOL8_EV_ERROR, m);
	} else if (r.killed_for_output) {
		res->status = "output_limit";
	} else if (r.cancelled) {
		res->status = "signal";
		send_event(fn, ctx, ISOL8_EV_ERROR, "EXECUTION CANCELLED");
	} else if (r.sig) {
		res->status = "signal";
	} else {
		res->status = r.exit_code == 0 ? "ok" : "error";
	}
	char code[16];
	snprintf(code, sizeof code, "%d", res->exit_code);
	send_event(fn, ctx, ISOL8_EV_EXIT, code);
	iso8601_now(res->timestamp);
	debugf(o, "sandbox %s: status %s, exit %d, %llu ms, cpu %.1f ms, peak memory %llu bytes", res->sandbox_id,
	       res->status, res->exit_code, (unsigned long long)res->duration_ms, (double)res->stats.cpu_ns / 1e6,
	       (unsigned long long)res->stats.peak_memory);
	return 0;
}

void rtrim_buf(isol8_buf *b)
{
	while (b->len && strchr(" \t\n\r\v\f", b->data[b->len - 1]))
		b->len--;
	if (b->data)
		b->data[b->len] = 0;
}

static jv text_field(jv obj, const char *key, isol8_buf *b)
{
	isol8_buf t = {0};
	buf_append(&t, b->data ? b->data : (unsigned char *)"", b->len);
	rtrim_buf(&t);
	bool b64 = false;
	obj = jv_object_set(obj, jv_string(key), json_bytes(t.data, t.len, &b64));
	if (b64) {
		char enc[32];
		snprintf(enc, sizeof enc, "%sEncoding", key);
		obj = jv_object_set(obj, jv_string(enc), jv_string("base64"));
	}
	buf_free(&t);
	return obj;
}

jv isol8_result_json(const isol8_result *res)
{
	jv o = jv_object();
	o = text_field(o, "stdout", (isol8_buf *)&res->out);
	o = text_field(o, "stderr", (isol8_buf *)&res->err);
	o = jv_object_set(o, jv_string("exitCode"), jv_number(res->exit_code));
	o = jv_object_set(o, jv_string("durationMs"), jv_number((double)res->duration_ms));
	o = jv_object_set(o, jv_string("truncated"), jv_bool(res->truncated));
	o = jv_object_set(o, jv_string("executionId"), jv_string(res->execution_id));
	o = jv_object_set(o, jv_string("runtime"), jv_string(res->runtime));
	o = jv_object_set(o, jv_string("timestamp"), jv_string(res->timestamp));
	o = jv_object_set(o, jv_string("containerId"), jv_string(res->sandbox_id));
	o = jv_object_set(o, jv_string("status"), jv_string(res->status ? res->status : "internal"));
	o = jv_object_set(o, jv_string("signal"), res->signal ? jv_string(signal_name(res->signal)) : jv_null());
	o = jv_object_set(o, jv_string("warm"), jv_bool(res->warm));
	double cpu_ms = (double)res->stats.cpu_ns / 1e6;
	jv ru = jv_object();
	ru = jv_object_set(ru, jv_string("cpuMs"), jv_number((double)(uint64_t)(cpu_ms * 1000) / 1000));
	ru = jv_object_set(ru, jv_string("cpuPercent"),
			   jv_number(res->duration_ms ? (double)(long)(cpu_ms / (double)res->duration_ms * 10000) / 100 : 0));
	ru = jv_object_set(ru, jv_string("peakMemoryBytes"), jv_number((double)res->stats.peak_memory));
	ru = jv_object_set(ru, jv_string("memoryMB"), jv_number((double)((res->stats.peak_memory + (1 << 19)) >> 20)));
	ru = jv_object_set(ru, jv_string("peakMemoryMB"), jv_number((double)((res->stats.peak_memory + (1 << 19)) >> 20)));
	o = jv_object_set(o, jv_string("resourceUsage"), ru);
	if (res->network_logs && jv_get_kind(*res->network_logs) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(*res->network_logs)) > 0)
		o = jv_object_set(o, jv_string("networkLogs"), jv_copy(*res->network_logs));
	if (res->nfiles) {
		jv files = jv_object();
		for (size_t i = 0; i < res->nfiles; i++) {
			size_t bl;
			char *b = base64_encode(res->files[i].data.data ? res->files[i].data.data : (unsigned char *)"",
						res->files[i].data.len, &bl);
			files = jv_object_set(files, jv_string(res->files[i].path), jv_string_sized(b, (int)bl));
			free(b);
		}
		o = jv_object_set(o, jv_string("files"), files);
	}
	return o;
}

void isol8_result_free(isol8_result *res)
{
	if (res->network_logs) {
		jv_free(*res->network_logs);
		free(res->network_logs);
		res->network_logs = NULL;
	}
	buf_free(&res->out);
	buf_free(&res->err);
	for (size_t i = 0; i < res->nfiles; i++) {
		free(res->files[i].path);
		buf_free(&res->files[i].data);
	}
	free(res->files);
	res->files = NULL;
	res->nfiles = 0;
}
