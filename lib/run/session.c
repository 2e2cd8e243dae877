#include "run/session.h"

#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run/drivers.h"
#include "run/figures.h"
#include "core/json.h"
#include "run/outstream.h"
#include "run/pool.h"
#include "run/warm.h"
#include "core/runtime.h"
#include "state/meta.h"
#include "run/setup.h"
#include "state/rundir.h"
#include "wire/sessionmsg.h"

#define MAX_FILE (64u << 20)
#define MAX_LISTING (4u << 20) /* a directory's records: ~50,000 entries */

static void copy_options(isol8_options *dst, const isol8_options *src)
{
	*dst = *src;
	dst->image = src->image ? xstrdup(src->image) : NULL;
	dst->layer = src->layer ? xstrdup(src->layer) : NULL;
	dst->secrets = NULL;
	dst->nsecrets = 0;
	for (size_t i = 0; i < src->nsecrets; i++)
		isol8_kv_add(&dst->secrets, &dst->nsecrets, src->secrets[i].key, src->secrets[i].value);
}

/* A python session's sandbox from isol8-pool with its interpreter already running the session
 * driver (forked by the pool's zygote, docs/zygote.md): it becomes drv. Like any pooled sandbox,
 * it dies with this process (its ctl) and the pool sweeps its cgroup. */
static bool from_pool(isol8_session *s)
{
	pid_t pid;
	if (pool_acquire_session(&s->sb, &s->opt, &pid) != 1)
		return false;
	s->drv = (isol8_proc){.pid = pid, .feed = -1, .stdin_w = s->sb.stdin_w, .stdout_r = s->sb.stdout_r,
			      .stderr_r = s->sb.stderr_r, .chan = s->sb.chan, .reply = s->sb.reply};
	s->sb.stdin_w = s->sb.stdout_r = s->sb.stderr_r = s->sb.chan = s->sb.reply = -1;
	fcntl(s->drv.stdout_r, F_SETFL, O_NONBLOCK);
	fcntl(s->drv.stderr_r, F_SETFL, O_NONBLOCK);
	s->drv_pooled = true;
	return true;
}

/* The pool's driver is let go (quietly: nothing ran in it) once anything has changed the sandbox
 * before the first code exec — a put, a --cmd exec, a setup script, files with the exec: a
 * driver started afterwards would see them as it starts (the user site directory, .pth files,
 * a module in /sandbox shadowing one it imports). The next code exec starts its own. */
static void pooled_driver_drop(isol8_session *s)
{
	if (!s->drv_pooled)
		return;
	sandbox_proc_close(&s->drv); /* EOF on its requests: it ends */
	s->drv.pid = 0;
	s->drv_pooled = false;
	isol8_free_strv(s->drv_env);
	s->drv_env = NULL;
}

/* Whether the pool's driver can be the one start_process would start for req. It started with
 * the pool's base environment; the driver start_process would start gets that plus what
 * figures_env adds for a python session (MPLBACKEND, …). Those go into s->drv_env, sent with
 * the first block, which the driver applies to os.environ as it does every block's variables.
 * A base variable that would be missing or different cannot be fixed that way: the pool's
 * driver is then let go and one is started as without a pool, so that nothing differs. */
static bool pooled_driver_fits(isol8_session *s, const isol8_request *req)
{
	char **envp = isol8_build_env(&s->opt, s->env, s->nenv);
	figures_env(&envp, req, &s->opt);
	char **base = warm_base_env();
	struct pollfd gone = {s->drv.reply, POLLIN, 0};
	bool fits = poll(&gone, 1, 0) == 0; /* not dead since the pool made it */
	for (char **b = base; *b && fits; b++)
		fits = env_has(envp, *b);
	size_t n = 0;
	for (char **e = envp; fits && *e; e++)
		if (!env_has(base, *e) && warm_read_at_startup("python3", *e)) {
			fits = false; /* too late for os.environ: python3 read it as it started */
		} else if (!env_has(base, *e)) {
			s->drv_env = xrealloc(s->drv_env, (n + 2) * sizeof *s->drv_env);
			s->drv_env[n++] = xstrdup(*e);
			s->drv_env[n] = NULL;
		}
	isol8_free_strv(envp);
	isol8_free_strv(base);
	return fits;
}

int session_open(isol8_session *s, const char *runtime, const isol8_options *opt, const isol8_request *image,
		 isol8_err *err)
{
	memset(s, 0, sizeof *s);
	s->cancel_fd = -1;
	s->client_fd = -1;
	s->drv.feed = s->drv.stdin_w = s->drv.stdout_r = s->drv.stderr_r = s->drv.chan = s->drv.reply = -1;
	if (!driver_for(runtime))
		return isol8_input_error(err, "Unknown runtime: \"%s\". Available: %s", runtime, runtime_names());
	struct stat st;
	if (opt->image && !(stat(opt->image, &st) == 0 && S_ISDIR(st.st_mode))) /* refused, not mis-mounted */
		return isol8_input_error(err, "--image \"%s\" is not a directory: a built image is resolved before the "
					      "session opens (image_apply)",
					 opt->image);
	snprintf(s->runtime, sizeof s->runtime, "%s", runtime);
	copy_options(&s->opt, opt);
	if (image) {
		s->image_setup = image->image_setup_script ? xstrdup(image->image_setup_script) : NULL;
		for (size_t i = 0; i < image->nenv; i++)
			isol8_kv_add(&s->env, &s->nenv, image->env[i].key, image->env[i].value);
	}
	if (!strcmp(runtime, "python") && !s->nenv && !s->image_setup && from_pool(s))
		return 0;
	isol8_sandbox_cfg cfg = command_sandbox_cfg(&s->opt);
	cfg.persist = false;        /* the sandbox lives and dies with its session's supervisor */
	cfg.proxy_listener = false; /* sessions have no filtered network */
	if (sandbox_prepare(&s->sb, &cfg, err) < 0) {
		isol8_options_free(&s->opt);
		free(s->image_setup);
		kv_free(s->env, s->nenv);
		return -1;
	}
	/* The payload prepare forked waits for a feed we never send: the driver is spawned with
	 * its channel instead. Closing the feed lets that first payload exit quietly. */
	sandbox_discard_feed(&s->sb);
	return 0;
}

void session_close(isol8_session *s)
{
	sandbox_proc_close(&s->drv);
	sandbox_destroy(&s->sb);
	isol8_options_free(&s->opt);
	free(s->drv_gone);
	s->drv_gone = NULL;
	isol8_free_strv(s->drv_env);
	s->drv_env = NULL;
	free(s->image_setup);
	s->image_setup = NULL;
	kv_free(s->env, s->nenv);
	s->env = NULL;
	s->nenv = 0;
}

static int start_process(isol8_session *s, isol8_proc *p, char **argv, const isol8_file *files, size_t nfiles,
			 const isol8_request *req, isol8_err *err)
{
	if (sandbox_spawn(&s->sb, p, err) < 0)
		return -1;
	char **envp = isol8_build_env(&s->opt, s->env, s->nenv);
	figures_env(&envp, req, &s->opt); /* a python session's interpreter and commands save figures */
	isol8_exec_spec spec = {argv, envp, "/sandbox", files, nfiles};
	int rc = sandbox_feed_proc(&s->sb, p, &spec, err);
	isol8_free_strv(envp);
	if (rc < 0) {
		sandbox_proc_close(p);
		return -1;
	}
	fcntl(p->stdout_r, F_SETFL, O_NONBLOCK);
	fcntl(p->stderr_r, F_SETFL, O_NONBLOCK);
	return 0;
}

static int start_driver(isol8_session *s, const isol8_request *req, isol8_err *err)
{
	const isol8_driver *d = driver_for(s->runtime);
	char *argv[16] = {0};
	for (int i = 0; d->argv[i]; i++)
		argv[i] = (char *)d->argv[i];
	isol8_file f = {(char *)d->file, (unsigned char *)d->file_text, d->file_text ? strlen(d->file_text) : 0, 0644};
	return start_process(s, &s->drv, argv, &f, d->file ? 1 : 0, req, err);
}

static void driver_gone(isol8_session *s, const char *why)
{
	sandbox_proc_close(&s->drv);
	free(s->drv_gone);
	s->drv_gone = xstrdup(why);
}

/* The driver request: one JSON line, or for bash "code NUL stdin NUL" with the env exported
 * at the top of the block. */
static int send_block(isol8_session *s, const isol8_request *req, isol8_err *err)
{
	isol8_buf b = {0};
	if (driver_for(s->runtime)->nul_framing) {
		for (size_t i = 0; i < req->nenv; i++) {
			buf_puts(&b, "export ");
			buf_puts(&b, req->env[i].key);
			buf_puts(&b, "='");
			for (const char *c = req->env[i].value; *c; c++)
				*c == '\'' ? buf_puts(&b, "'\\''") : buf_append(&b, c, 1);
			buf_puts(&b, "'\n");
		}
		buf_puts(&b, req->code);
		buf_append(&b, "", 1);
		if (req->has_stdin)
			buf_append(&b, req->stdin_data, strnlen((const char *)req->stdin_data, req->stdin_len));
		buf_append(&b, "", 1);
	} else {
		jv env = jv_object();
		for (char **e = s->drv_env; e && *e; e++) { /* a pooled driver's first block */
			const char *eq = strchr(*e, '=');
			if (eq)
				env = jv_object_set(env, jv_string_sized(*e, (int)(eq - *e)), jv_string(eq + 1));
		}
		isol8_free_strv(s->drv_env);
		s->drv_env = NULL;
		if (figures_wanted(req, &s->opt)) /* this exec's formats, read by the backend as it saves */
			env = jv_object_set(env, jv_string("ISOL8_FIGURES"), jv_string(figures_formats_text(req->figure_formats)));
		for (size_t i = 0; i < req->nenv; i++)
			env = jv_object_set(env, jv_string(req->env[i].key), jv_string(req->env[i].value));
		jv r = jv_object_set(jv_object(), jv_string("code"), jv_string(req->code));
		r = jv_object_set(r, jv_string("env"), env);
		if (req->has_stdin)
			r = jv_object_set(r, jv_string("stdin"), jv_string_sized((const char *)req->stdin_data, (int)req->stdin_len));
		jv t = jv_dump_string(r, 0);
		buf_puts(&b, jv_string_value(t));
		buf_append(&b, "\n", 1);
		jv_free(t);
	}
	int rc = write_all(s->drv.chan, b.data, b.len) < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "driver") : 0;
	isol8_buf_free(&b);
	return rc;
}

struct exec_state {
	isol8_ostream out, err;
	bool done, timed_out, over, gone, cancelled, abandoned;
	bool saved; /* figures may have been saved: the driver's reply, or the init, says so */
	int exit_code, sig;
	isol8_buf reply;
};

/* Whether a status is about process pid; if so, its exit code goes to st. */
static bool status_for(const ctl_msg *m, pid_t pid, struct exec_state *st)
{
	if (m->pid != pid)
		return false;
	st->exit_code = ctl_exit_code(m);
	st->saved |= m->found;
	if (m->kind == CTL_SIGNAL)
		st->sig = m->code;
	return true;
}

/* Streams p's output until: the driver replies (reply_fd >= 0), or p exits, or the deadline. */
static void run_until_done(isol8_session *s, isol8_proc *p, bool driver, uint64_t deadline, struct exec_state *st,
			   isol8_event_fn fn, void *ctx)
{
	fcntl(s->sb.ctl, F_SETFL, O_NONBLOCK);
	while (!st->done) {
		uint64_t now = now_mono_ns();
		if (now >= deadline) {
			st->timed_out = true;
			return;
		}
		/* events 0 on the client: only its hangup (a client that closed the connection) wakes us —
		 * a client that only shut its write side after the request still waits for the reply */
		struct pollfd f[6] = {
			{p->stdout_r, POLLIN, 0}, {p->stderr_r, POLLIN, 0}, {s->sb.ctl, POLLIN, 0},
			{driver ? p->reply : -1, POLLIN, 0}, {s->cancel_fd, POLLIN, 0}, {s->client_fd, 0, 0},
		};
		bool status_buffered = sandbox_status_buffered(&s->sb);
		if (poll(f, 6, status_buffered ? 0 : (int)((deadline - now) / 1000000) + 1) < 0 && errno != EINTR)
			return;
		if (f[4].revents) {
			st->cancelled = true; /* stop/delete must not wait for a long exec */
			return;
		}
		if (f[5].revents & (POLLHUP | POLLERR)) {
			st->cancelled = st->abandoned = true;
			return;
		}
		if (status_buffered)
			f[2].revents |= POLLIN;
		if (f[0].revents)
			ostream_pump(&st->out, fn, ctx);
		if (f[1].revents)
			ostream_pump(&st->err, fn, ctx);
		if (st->out.over || st->err.over) {
			st->over = true;
			return;
		}
		if (f[2].revents) {
			ctl_msg m;
			int r;
			while ((r = sandbox_read_status(&s->sb, &m)) == 1) {
				if (status_for(&m, p->pid, st)) {
					st->done = true; /* a command ended, or the driver died */
					st->gone = driver;
				}
				ctl_msg_free(&m);
			}
			if (r < 0) { /* the whole sandbox is gone (e.g. its init was OOM-killed) */
				st->done = st->gone = true;
				st->exit_code = 137;
				st->sig = SIGKILL;
			}
		}
		if (f[3].revents) {
			char tmp[256];
			ssize_t n = read(p->reply, tmp, sizeof tmp);
			if (n > 0)
				buf_append(&st->reply, tmp, (size_t)n);
			char *nl = st->reply.len ? memchr(st->reply.data, '\n', st->reply.len) : NULL;
			if (nl) {
				jv v = jv_parse_sized((const char *)st->reply.data, (int)(nl - (char *)st->reply.data));
				jv e = json_get(v, "exit");
				st->exit_code = jv_get_kind(e) == JV_KIND_NUMBER ? (int)jv_number_value(e) : 1;
				st->saved |= json_get_bool(v, "outputs");
				jv_free(e);
				jv_free(v);
				st->done = true;
			} else if (n <= 0) {
				f[3].fd = -1; /* the driver is dying: its status line follows */
				close(p->reply);
				p->reply = -1;
			}
		}
	}
	/* what the block wrote before finishing is already in the pipes */
	ostream_pump(&st->out, fn, ctx);
	ostream_pump(&st->err, fn, ctx);
}

static void emit(isol8_event_fn fn, void *ctx, isol8_event_type type, const char *text)
{
	if (fn) {
		isol8_event ev = {type, (const unsigned char *)text, strlen(text), ISOL8_PHASE_CODE};
		fn(ctx, &ev);
	}
}

/* The session's interpreter for a code exec (started anew, with a note, if the last one is
 * gone), sent the block. */
static isol8_proc *driver_for_exec(isol8_session *s, const isol8_request *req, isol8_event_fn fn, void *ctx,
				   isol8_result *res, bool *restarted, isol8_err *err)
{
	if (s->drv_pooled && !pooled_driver_fits(s, req))
		pooled_driver_drop(s);
	s->drv_pooled = false;
	if (!s->drv.pid) {
		if (start_driver(s, req, err) < 0)
			return NULL;
		/* a restart only when an interpreter ran before: --cmd execs start none */
		if (s->drv_gone) {
			*restarted = true;
			char m[512];
			snprintf(m, sizeof m, "[isol8] %s: started a new %s interpreter (variables are gone, files remain)\n",
				 s->drv_gone, s->runtime);
			buf_puts(&res->err, m);
			emit(fn, ctx, ISOL8_EV_STDERR, m);
		}
	}
	if (send_block(s, req, err) < 0) {
		driver_gone(s, "the interpreter stopped");
		return NULL;
	}
	return &s->drv;
}

/* A shell command exec: its own process, its stdin given and closed. */
static isol8_proc *command_for_exec(isol8_session *s, const isol8_request *req, isol8_proc *cmdp, isol8_err *err)
{
	char *argv[] = {"bash", "-c", req->cmd, NULL};
	if (start_process(s, cmdp, argv, NULL, 0, req, err) < 0)
		return NULL;
	if (req->has_stdin)
		(void)write_all(cmdp->stdin_w, req->stdin_data, req->stdin_len);
	close(cmdp->stdin_w);
	cmdp->stdin_w = -1;
	return cmdp;
}

/* After an exec that was stopped (timeout, output cap, stop signal) or whose interpreter died:
 * what it started is killed, and the next exec gets a new interpreter. */
static void after_exec(isol8_session *s, bool driver, struct exec_state *st)
{
	if (st->timed_out || st->over || st->cancelled) {
		isol8_err e2 = {0};
		sandbox_killall(&s->sb, &e2); /* the files stay */
		if (s->drv.pid)
			driver_gone(s, st->timed_out ? "the previous exec timed out"
					 : st->abandoned ? "the previous exec was cancelled (its client went away)"
					 : st->cancelled ? "the session was stopped during the previous exec"
							 : "the previous exec hit the output limit");
		st->exit_code = 137;
		st->sig = SIGKILL;
	} else if (driver && st->gone) {
		char why[96];
		snprintf(why, sizeof why, "the interpreter exited (code %d) during the previous exec", st->exit_code);
		driver_gone(s, why);
	}
}

/* This exec's figures, taken out of the sandbox so that the next exec never sees them. An exec
 * that was stopped (timeout, output cap, stop) gives none, as an ephemeral run stopped so would:
 * whatever it saved is removed unread. */
static void session_figures(isol8_session *s, const isol8_request *req, const struct exec_state *st, isol8_result *res)
{
	bool stopped = st->timed_out || st->over || st->cancelled;
	if (!figures_wanted(req, &s->opt) || (!st->saved && !stopped))
		return;
	if (!stopped) {
		figures_collect(&s->sb, req, &s->opt, true, res);
		return;
	}
	isol8_options unread = s->opt; /* borrowed members: not freed here */
	unread.outputs_max_bytes = 1;     /* no figure is that small: nothing is read, all removed */
	isol8_result scratch = {0};
	figures_collect(&s->sb, req, &unread, true, &scratch);
	isol8_result_free(&scratch);
}

/* The result's status, its marker on stderr, and the error and exit events. */
static void conclude_exec(isol8_session *s, const struct exec_state *st, const isol8_cg_stats *before,
			  const isol8_cg_stats *after, isol8_result *res, isol8_event_fn fn, void *ctx)
{
	res->stats = *after;
	res->stats.cpu_ns = after->cpu_ns - before->cpu_ns;
	res->exit_code = st->exit_code;
	res->signal = st->sig;
	res->truncated = st->out.over || st->err.over;
	const char *marker = NULL;
	if (st->timed_out) {
		res->status = "timeout";
		marker = "EXECUTION TIMED OUT";
	} else if (after->oom_kills > before->oom_kills) {
		res->status = "oom";
		marker = "OUT OF MEMORY";
		if (s->drv.pid)
			driver_gone(s, "the previous exec ran out of memory");
	} else if (st->over) {
		res->status = "output_limit";
	} else if (st->cancelled) {
		res->status = "signal";
		marker = st->abandoned ? "EXECUTION CANCELLED" : "SESSION STOPPED";
	} else if (st->sig) {
		res->status = "signal";
	} else {
		res->status = st->exit_code ? "error" : "ok";
	}
	if (marker) {
		buf_puts(&res->err, "\n--- ");
		buf_puts(&res->err, marker);
		buf_puts(&res->err, " ---");
		emit(fn, ctx, ISOL8_EV_ERROR, marker);
	}
	char code[16];
	snprintf(code, sizeof code, "%d", res->exit_code);
	emit(fn, ctx, ISOL8_EV_EXIT, code);
	iso8601_now(res->timestamp);
}

/* One setup script (the image's or the request's) before an exec, within the exec's timeout as
 * its own budget. One that runs past it is killed with everything the session runs: its
 * interpreter starts anew at the next exec, as after an exec's timeout. The request's files are
 * in place already (session_exec puts them). */
static int session_setup(isol8_session *s, const isol8_request *req, const char *script, const isol8_options *ox,
			 isol8_event_fn fn, void *ctx, isol8_result *res, isol8_err *err)
{
	isol8_options o = s->opt; /* borrowed: not freed here */
	o.timeout_ms = ox->timeout_ms > 0 ? ox->timeout_ms : s->opt.timeout_ms;
	o.max_output = ox->max_output ? ox->max_output : s->opt.max_output;
	int rc = setup_run(&s->sb, req, script, false, &o, fn, ctx, res, err);
	if (rc == 1) {
		if (!strcmp(res->status, "timeout")) {
			isol8_err e2 = {0};
			sandbox_killall(&s->sb, &e2);
			if (s->drv.pid)
				driver_gone(s, "the previous setup script timed out");
		}
		iso8601_now(res->timestamp);
	}
	return rc;
}

int session_exec(isol8_session *s, const isol8_request *req, const isol8_options *ox, isol8_event_fn fn, void *ctx,
		 isol8_result *res, bool *restarted, isol8_err *err)
{
	memset(res, 0, sizeof *res);
	*restarted = false;
	if (strcmp(req->runtime, s->runtime))
		return isol8_input_error(err, "Cannot switch runtime from \"%s\" to \"%s\". Each persistent container supports a single runtime. Create a new Isol8 instance for a different runtime.",
					 s->runtime, req->runtime);
	uuid_v4(res->execution_id);
	snprintf(res->runtime, sizeof res->runtime, "%s", req->runtime);
	snprintf(res->sandbox_id, sizeof res->sandbox_id, "%s", s->sb.id);
	if (req->nfiles || req->setup_script || req->cmd)
		pooled_driver_drop(s);
	for (size_t i = 0; i < req->nfiles; i++)
		if (sandbox_put_file(&s->sb, req->files[i].path, req->files[i].data, req->files[i].len, req->files[i].mode, err) < 0)
			return -1;
	/* the image's setup script until it has succeeded once (as the reference: the first exec), then
	 * the request's at every exec that carries one: two scripts, so that one's `exit 0` cannot
	 * skip the other */
	int setup = s->image_setup ? session_setup(s, req, s->image_setup, ox, fn, ctx, res, err) : 0;
	if (setup == 0 && s->image_setup) {
		free(s->image_setup);
		s->image_setup = NULL;
	}
	if (setup == 0 && req->setup_script)
		setup = session_setup(s, req, req->setup_script, ox, fn, ctx, res, err);
	if (setup != 0) /* the script failed (res says how) or the sandbox did: the code does not run */
		return setup < 0 ? -1 : 0;
	isol8_cg_stats before, after;
	sandbox_stats(&s->sb, &before);
	isol8_proc cmdp = {.pid = 0};
	bool driver = !req->cmd;
	isol8_proc *p = driver ? driver_for_exec(s, req, fn, ctx, res, restarted, err) : command_for_exec(s, req, &cmdp, err);
	if (!p)
		return -1;
	s->execs++;

	const char **secrets = options_secret_values(&s->opt);
	struct exec_state st = {0};
	uint64_t max = ox->max_output ? ox->max_output : s->opt.max_output;
	ostream_init(&st.out, ISOL8_EV_STDOUT, p->stdout_r, &res->out, max, secrets, s->opt.nsecrets);
	ostream_init(&st.err, ISOL8_EV_STDERR, p->stderr_r, &res->err, max, secrets, s->opt.nsecrets);
	free(secrets);
	long long timeout = req->timeout_ms > 0 ? req->timeout_ms : ox->timeout_ms > 0 ? ox->timeout_ms : s->opt.timeout_ms;
	uint64_t t0 = now_mono_ns();
	run_until_done(s, p, driver, t0 + (uint64_t)timeout * 1000000ull, &st, fn, ctx);
	res->duration_ms = (now_mono_ns() - t0) / 1000000ull;
	after_exec(s, driver, &st);
	ostream_finish(&st.out, fn, ctx);
	ostream_finish(&st.err, fn, ctx);
	ostream_free(&st.out);
	ostream_free(&st.err);
	isol8_buf_free(&st.reply);
	if (!driver)
		sandbox_proc_close(&cmdp);
	isol8_collect_files(&s->sb, req, &s->opt, res);
	session_figures(s, req, &st, res);
	sandbox_stats(&s->sb, &after);
	conclude_exec(s, &st, &before, &after, res, fn, ctx);
	return 0;
}

int session_put(isol8_session *s, const char *path, const void *data, size_t len, isol8_err *err)
{
	char *p = resolve_sandbox_path(path, err);
	if (!p)
		return -1;
	pooled_driver_drop(s);
	int rc = sandbox_put_file(&s->sb, p, data, len, 0644, err);
	free(p);
	return rc;
}

int session_get(isol8_session *s, const char *path, isol8_buf *out, isol8_err *err)
{
	char *p = resolve_sandbox_path(path, err);
	if (!p)
		return -1;
	int r = sandbox_get_file(&s->sb, p, MAX_FILE, out, err);
	free(p);
	if (r == 1)
		isol8_mask_file(&s->opt, out); /* a file is program output too: no way around masking */
	return r == 1 ? 0 : -1; /* 0: refused, err says "cannot read PATH: why" */
}

static int by_name(const void *a, const void *b)
{
	jv x = *(const jv *)a, y = *(const jv *)b;
	jv nx = jv_object_get(jv_copy(x), jv_string("name")), ny = jv_object_get(jv_copy(y), jv_string("name"));
	int c = strcmp(jv_string_value(nx), jv_string_value(ny));
	jv_free(nx);
	jv_free(ny);
	return c;
}

/* The listing's records (sandbox_list_dir) as sorted JSON entries, names masked. */
static jv entries_of(const isol8_options *opt, const isol8_buf *raw)
{
	size_t n = 0, cap = 0;
	jv *v = NULL;
	for (size_t at = 0; at < raw->len;) {
		const char *rec = (const char *)raw->data + at, *end = memchr(rec, 0, raw->len - at);
		char t;
		long long size;
		int name_at = 0;
		if (!end || sscanf(rec, "%c\t%lld\t%n", &t, &size, &name_at) != 2 || !name_at)
			break; /* the init writes these; a short one ends the list */
		isol8_buf name = {0};
		buf_append(&name, rec + name_at, (size_t)(end - rec - name_at));
		isol8_mask_file(opt, &name); /* a file name is program output too */
		const char *type = t == 'f' ? "file" : t == 'd' ? "directory" : t == 'l' ? "symlink" : "other";
		jv e = jv_object_set(jv_object(), jv_string("name"), jv_string_sized(name.data ? (char *)name.data : "", (int)name.len));
		e = jv_object_set(jv_object_set(e, jv_string("type"), jv_string(type)), jv_string("size"), jv_number((double)size));
		isol8_buf_free(&name);
		if (n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
		v[n++] = e;
		at = (size_t)(end - (const char *)raw->data) + 1;
	}
	if (n)
		qsort(v, n, sizeof *v, by_name);
	jv a = jv_array();
	for (size_t i = 0; i < n; i++)
		a = jv_array_append(a, v[i]);
	free(v);
	return a;
}

int session_list_dir(isol8_session *s, const char *path, jv *entries, isol8_err *err)
{
	char *p = resolve_sandbox_dir(path, err);
	if (!p)
		return -1;
	isol8_buf raw = {0};
	int r = sandbox_list_dir(&s->sb, p, MAX_LISTING, &raw, err);
	free(p);
	if (r == 1)
		*entries = entries_of(&s->opt, &raw);
	isol8_buf_free(&raw);
	return r == 1 ? 0 : -1;
}

bool session_id_valid(const char *id, size_t max)
{
	return session_id_valid_n(id, strlen(id), max);
}

bool session_id_valid_n(const char *id, size_t n, size_t max)
{
	/* n counts every byte: a NUL inside (from JSON "\u0000") is outside the set, so
	 * "abc\u0000def" is refused rather than read as "abc" */
	if (!n || n > max || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
		      id[i] == '-' || id[i] == '_' || id[i] == '.'))
			return false;
	return true;
}

char *session_path(const char *id, const char *file)
{
	return rundir_session(NULL, id, file);
}

int session_send(const char *id, jv req)
{
	int fd = -1;
	if (!session_id_valid(id, 64)) {
		errno = EINVAL;
	} else {
		char *sock = session_path(id, ISOL8_SESSION_SOCKET);
		fd = unix_connect(sock);
		free(sock);
	}
	if (fd >= 0 && json_write_line(fd, req) < 0) {
		int e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	jv_free(req);
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	return fd;
}

jv session_meta_live(const char *id)
{
	char *path = session_path(id, ISOL8_SESSION_META);
	isol8_session_meta m;
	bool alive = session_meta_read(path, &m, NULL) == 0 && m.daemon > 1 &&
		     proc_start_time(m.daemon) == m.daemon_start;
	free(path);
	return alive ? session_meta_json(&m) : jv_invalid();
}

/* The supervisor's pid, if that process is still the one that wrote meta.json, else 0: a
 * recycled pid must never be signalled. */
static pid_t supervisor_pid(const char *id)
{
	jv meta = session_meta_live(id);
	jv p = json_get(meta, "daemon");
	pid_t pid = jv_get_kind(p) == JV_KIND_NUMBER ? (pid_t)jv_number_value(p) : 0;
	jv_free(p);
	jv_free(meta);
	return pid;
}

int session_stop_supervisor(const char *id)
{
	if (!session_id_valid(id, 64))
		return 0;
	char *dir = session_path(id, NULL);
	int fd = session_send(id, sessionmsg_op(SESSION_OP_DELETE));
	int rc = 1;
	if (fd < 0 && access(dir, F_OK) != 0) {
		rc = 0; /* no such session */
	} else {
		struct pollfd p = {fd, POLLIN, 0};
		if (fd < 0 || poll(&p, 1, 1000) <= 0) {
			/* busy with an exec (it answers only when done) or not listening */
			pid_t pid = supervisor_pid(id);
			if (pid > 0)
				kill(pid, SIGTERM); /* ends the exec at once (cancel_fd), then the session */
			else if (fd < 0)
				rc = -2;
		}
		for (int i = 0; rc == 1 && i < 1000 && access(dir, F_OK) == 0; i++)
			usleep(10000);
		if (rc == 1 && access(dir, F_OK) == 0)
			rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}
