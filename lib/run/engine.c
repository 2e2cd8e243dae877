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
#include "run/egress.h"
#include "run/figures.h"
#include "run/install.h"
#include "run/mask.h"
#include "run/outstream.h"
#include "run/pool.h"
#include "run/setup.h"
#include "run/warm.h"
#include "core/runtime.h"
#include "sandbox/sandbox.h"
#include "state/netlog.h"
#include "state/rundir.h"

#define MAX_OUTPUT_FILE (64u << 20)
#define KILL_GRACE_MS 2000 /* after a kill, how long we keep draining pipes */

/* A macro so that, without --debug, the arguments (sandbox_describe() probes the cgroup
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

static void send_event(isol8_event_fn fn, void *ctx, isol8_event_type t, const char *text)
{
	if (!fn)
		return;
	isol8_event ev = {t, (const unsigned char *)text, strlen(text), ISOL8_PHASE_CODE};
	fn(ctx, &ev);
}

/* ---- the run ------------------------------------------------------------------------------ */

struct run {
	isol8_sandbox sb;
	isol8_ostream out, err;
	bool have_status, timed_out, cancelled, killed_for_output, killed;
	bool reported; /* the exit code came from the warm driver, before the interpreter's teardown */
	bool saved;    /* the init saw the figures directory as the program ended (figures.h) */
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
	r->saved |= m->found;
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

/* Every status the sandbox has for us; a sandbox gone before it said anything was killed. */
static void read_statuses(struct run *r)
{
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

/* A warm driver's early report of the exit code (warm.h). */
static void read_warm_exit(struct run *r)
{
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
	isol8_buf_free(data);
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
			isol8_buf_free(&data); /* unreadable or missing paths are omitted, as the reference */
		}
	}
}

/* The figures a python program saved, when the init saw it save any (the common run saved
 * none and pays nothing). Every other process of the sandbox is killed first (not under
 * --persist): none can then stop the file helper or change the files while they are read. */
static void collect_figures(struct run *r, const isol8_request *req, const isol8_options *o, isol8_result *res)
{
	if (!r->saved || !figures_wanted(req, o))
		return;
	isol8_err e = {0};
	if (!o->persist)
		(void)sandbox_killall(&r->sb, &e);
	figures_collect(&r->sb, req, o, false, res);
}

/* After the loop: a status for a run killed before it reported, the output files if the loop
 * did not get to them, and (--persist) what is already buffered. */
static void settle(struct run *r, const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx,
		   bool files_done, isol8_result *res)
{
	if (!r->have_status && r->killed) {
		r->have_status = true; /* killed by isol8 before the init could report */
		r->exit_code = 137;
		r->sig = SIGKILL;
	}
	if (r->have_status && !files_done && !r->killed && !r->fault) {
		isol8_collect_files(&r->sb, req, o, res); /* the pipes closed before the loop came round to it */
		collect_figures(r, req, o, res);
	}
	if (o->persist) {
		/* leave the sandbox running; take what is already buffered */
		ostream_pump(&r->out, fn, ctx);
		ostream_pump(&r->err, fn, ctx);
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
			collect_figures(r, req, o, res);
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
		/* the driver's report first: on a loaded machine the init's status (sent once the
		 * interpreter's teardown is over) can be ready in the same round; the status read
		 * after it still has the last word on the exit code */
		if (p[5].revents)
			read_warm_exit(r);
		if (p[2].revents)
			read_statuses(r);
		if (p[3].revents)
			write_stdin(r, req, &stdin_off);
		if (p[4].revents) {
			r->cancelled = true;
			kill_run(r);
		}
	}
	settle(r, req, o, fn, ctx, files_done, res);
	res->duration_ms = (now_mono_ns() - start) / 1000000ull;
}

/* A run that fails before its code starts leaves nothing behind: not its proxy, not its
 * network log, and not its sandbox even under --persist (nothing ran in it worth keeping). */
static int abandon_run(isol8_sandbox *sb, pid_t proxy, char *netlog, isol8_command *c)
{
	egress_stop(proxy);
	if (netlog)
		unlink(netlog);
	free(netlog);
	command_free(c);
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


/* What one execution holds besides its sandbox: the command, the proxy and its log. */
struct job {
	isol8_command c;
	isol8_exec_spec spec;
	bool driven; /* a pre-started interpreter runs the code (warm.h) */
	bool fed;    /* the feed went down while the sandbox was being built */
	int feed_rc; /* …and how that went (a failure ends the run after a normal teardown) */
	pid_t proxy;
	char *netlog;
};

/* A warm sandbox from isol8-pool when one fits this run — with its interpreter already running
 * when nothing about the run could tell (warm.h) — else one built now. -1 with err (and the
 * job's command freed, nothing left to tear down) when there is none. */
static int take_sandbox(struct run *r, struct job *j, const isol8_request *req, const isol8_options *o,
			isol8_result *res, isol8_err *err)
{
	res->warm = pool_acquire(&r->sb, o, req, j->c.argv, j->c.envp) == 1;
	j->driven = res->warm && r->sb.chan >= 0;
	for (size_t i = 0; j->driven && i < j->c.nfiles; i++) {
		/* what the cold payload writes before its exec, the init writes for the running driver */
		const isol8_file *f = &j->c.files[i];
		if (sandbox_put_file(&r->sb, f->path, f->data, f->len, f->mode ? f->mode & 0755 : 0644, err) < 0)
			return abandon_run(&r->sb, 0, NULL, &j->c);
	}
	if (res->warm)
		return 0;
	isol8_sandbox_cfg cfg = command_sandbox_cfg(o);
	if (sandbox_start(&r->sb, &cfg, err) < 0) {
		command_free(&j->c);
		return -1;
	}
	/* A feed that fits the pipe is written while the sandbox is still being built. */
	j->fed = !req->ninstall && !req->setup_script && !req->image_setup_script && sandbox_feed_early(&r->sb, &j->spec);
	j->feed_rc = j->fed ? sandbox_feed(&r->sb, &j->spec, err) : 0;
	if (sandbox_wait_ready(&r->sb, err) < 0) {
		command_free(&j->c);
		return -1;
	}
	return 0;
}

/* --net filtered: isol8-proxy on the socket the sandbox made; --install: the packages. */
static int prepare_sandbox(struct run *r, struct job *j, const isol8_request *req, const isol8_options *o,
			   isol8_err *err)
{
	if (o->network == ISOL8_NET_FILTERED) {
		j->netlog = rundir_sandbox_netlog(NULL, r->sb.id);
		if (r->sb.proxy_fd < 0 || (j->proxy = egress_start(r->sb.proxy_fd, o, j->netlog, err)) < 0) {
			if (r->sb.proxy_fd < 0)
				isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox did not hand over its proxy socket");
			return abandon_run(&r->sb, 0, j->netlog, &j->c);
		}
		close(r->sb.proxy_fd);
		r->sb.proxy_fd = -1;
	}
	if (req->ninstall) {
		/* its own budget of the run's timeout, as the reference */
		long long t = req->timeout_ms > 0 ? req->timeout_ms : o->timeout_ms;
		if (install_run(&r->sb, req, o, now_mono_ns() + (uint64_t)t * 1000000ull, err) < 0)
			return abandon_run(&r->sb, j->proxy, j->netlog, &j->c);
	}
	return 0;
}

/* The output streams (masked, capped) and non-blocking fds for the loop. */
static void open_streams(struct run *r, const isol8_options *o, isol8_result *res)
{
	const char **secrets = options_secret_values(o);
	ostream_init(&r->out, ISOL8_EV_STDOUT, r->sb.stdout_r, &res->out, o->max_output, secrets, o->nsecrets);
	ostream_init(&r->err, ISOL8_EV_STDERR, r->sb.stderr_r, &res->err, o->max_output, secrets, o->nsecrets);
	free(secrets);
	fcntl(r->sb.stdout_r, F_SETFL, O_NONBLOCK);
	fcntl(r->sb.stderr_r, F_SETFL, O_NONBLOCK);
	fcntl(r->sb.ctl, F_SETFL, O_NONBLOCK);
	if (r->sb.reply >= 0)
		fcntl(r->sb.reply, F_SETFL, O_NONBLOCK);
}

/* Ends the sandbox (unless --persist kept it) and the proxy; takes the numbers and the log. */
static void end_sandbox(struct run *r, struct job *j, const isol8_options *o, int rc, isol8_result *res)
{
	if (!o->persist || rc < 0) {
		if (r->sb.adopted)
			take_stats(r);
		sandbox_kill(&r->sb);
		/* so the cgroup holds the final numbers; a pooled sandbox is not waited for (its pool
		 * sweeps it): its program has exited, and what it left running was just killed */
		sandbox_wait_exit(&r->sb);
	}
	egress_stop(j->proxy);
	if (j->netlog) {
		jv all = rc == 0 ? netlog_read(j->netlog) : jv_invalid();
		if (o->log_network && rc == 0) {
			res->network_logs = xmalloc(sizeof(jv));
			*res->network_logs = jv_copy(all);
		}
		if (rc == 0) { /* what the proxy refused: the audit log's securityEvents */
			jv blocked = jv_array();
			jv_array_foreach(all, i, e) {
				(void)i;
				jv act = json_get(e, "action");
				bool b = jv_get_kind(act) == JV_KIND_STRING && !strcmp(jv_string_value(act), "BLOCK");
				jv_free(act);
				blocked = b ? jv_array_append(blocked, e) : (jv_free(e), blocked);
			}
			res->security_events = xmalloc(sizeof(jv));
			*res->security_events = blocked;
		}
		jv_free(all);
		unlink(j->netlog);
		free(j->netlog);
	}
	take_stats(r);
	res->stats = r->stats;
	res->persisted = o->persist && rc == 0;
	if (rc < 0)
		r->sb.persist = false;
	r->sb.pid = r->sb.dead ? 0 : r->sb.pid;
	sandbox_destroy(&r->sb);
}

/* The result's status, its markers on stderr, and the error and exit events. */
static void conclude(const struct run *r, const isol8_options *o, isol8_result *res, isol8_event_fn fn, void *ctx)
{
	res->exit_code = r->exit_code;
	res->signal = r->sig;
	res->truncated = r->out.over || r->err.over;
	if (r->timed_out) {
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
	} else if (r->killed_for_output) {
		res->status = "output_limit";
	} else if (r->cancelled) {
		res->status = "signal";
		send_event(fn, ctx, ISOL8_EV_ERROR, "EXECUTION CANCELLED");
	} else if (r->sig) {
		res->status = "signal";
	} else {
		res->status = r->exit_code == 0 ? "ok" : "error";
	}
	char code[16];
	snprintf(code, sizeof code, "%d", res->exit_code);
	send_event(fn, ctx, ISOL8_EV_EXIT, code);
	iso8601_now(res->timestamp);
}

/* A setup script that failed (1: res holds its outcome) or a sandbox that failed during it (-1):
 * the sandbox is ended, its code never fed. */
static int setup_failed(struct run *r, struct job *j, const isol8_options *o, int setup, isol8_result *res)
{
	command_free(&j->c);
	snprintf(res->sandbox_id, sizeof res->sandbox_id, "%s", r->sb.id);
	end_sandbox(r, j, o, -1, res);
	if (setup < 0) {
		isol8_result_free(res);
		return -1;
	}
	iso8601_now(res->timestamp);
	return 0;
}

static int execute(const isol8_request *req, const isol8_options *o, isol8_event_fn fn, void *ctx, int cancel_fd,
		   isol8_result *res, isol8_err *err)
{
	memset(res, 0, sizeof *res);
	uuid_v4(res->execution_id);
	snprintf(res->runtime, sizeof res->runtime, "%s", req->runtime);
	struct run r = {0};
	struct job j = {0};
	uint64_t t0 = now_mono_ns();
	command_build(req, o, &j.c);
	j.spec = (isol8_exec_spec){j.c.argv, j.c.envp, req->workdir ? req->workdir : "/sandbox", j.c.files, j.c.nfiles};
	bool setup = req->setup_script || req->image_setup_script;
	if (setup) { /* the first setup script's feed writes the request's files */
		j.spec.files += req->nfiles;
		j.spec.nfiles -= req->nfiles;
	}
	if (take_sandbox(&r, &j, req, o, res, err) < 0 || prepare_sandbox(&r, &j, req, o, err) < 0)
		return -1;
	int rc = j.feed_rc;
	int setup_rc = setup ? setup_run_scripts(&r.sb, req, o, fn, ctx, res, err) : 0;
	if (setup_rc != 0) /* the code does not run */
		return setup_failed(&r, &j, o, setup_rc, res);
	debugf(o, "sandbox %s %s in %.1f ms (init pid %d, %s, seccomp %s)", r.sb.id,
	       j.driven ? "taken from isol8-pool, interpreter running" : res->warm ? "taken from isol8-pool" : "prepared",
	       (double)(now_mono_ns() - t0) / 1e6, r.sb.pid, sandbox_describe(&r.sb),
	       o->seccomp == ISOL8_SECCOMP_STRICT ? "strict" : "unconfined");
	snprintf(res->sandbox_id, sizeof res->sandbox_id, "%s", r.sb.id);
	res->sandbox_pid = r.sb.pid;
	open_streams(&r, o, res);
	if (rc == 0 && j.driven)
		rc = warm_send(&r.sb.chan, j.c.argv, j.c.envp, err);
	else if (rc == 0 && !j.fed)
		rc = sandbox_feed(&r.sb, &j.spec, err);
	command_free(&j.c);
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
	end_sandbox(&r, &j, o, rc, res);
	if (rc < 0) {
		isol8_result_free(res);
		return -1;
	}
	conclude(&r, o, res, fn, ctx);
	debugf(o, "sandbox %s: status %s, exit %d, %llu ms, cpu %.1f ms, peak memory %llu bytes", res->sandbox_id,
	       res->status, res->exit_code, (unsigned long long)res->duration_ms, (double)res->stats.cpu_ns / 1e6,
	       (unsigned long long)res->stats.peak_memory);
	return 0;
}
