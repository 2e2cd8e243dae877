/* setup.c — see setup.h. The script runs as a payload spawned in the sandbox, fed like the code:
 * the request's files first (so the script sees them), then the script itself. Unlike the
 * reference, its output is masked for secrets like the code's: a setup script is as able to print
 * a secret (it sees them in its environment) as the code is. */
#include "run/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "run/command.h"
#include "run/outstream.h"

/* After the script's status, how long its output may still take to arrive: a background
 * process it started may hold the pipes open for good. */
#define SETUP_DRAIN_MS 1000

struct setup_state {
	isol8_ostream out, err;
	isol8_buf out_kept, err_kept;
	int code;        /* -1 until its status */
	bool timed_out, gone;
};

static void emit(isol8_event_fn fn, void *ctx, isol8_event_type type, const char *text)
{
	if (fn) {
		isol8_event ev = {type, (const unsigned char *)text, strlen(text), ISOL8_PHASE_SETUP};
		fn(ctx, &ev);
	}
}

/* The script's process, fed the request's files (with_files) and the script. */
static int start(isol8_sandbox *sb, const isol8_request *req, const char *script, bool with_files,
		 const isol8_options *o, isol8_proc *p, isol8_err *err)
{
	if (sandbox_spawn(sb, p, err) < 0)
		return -1;
	size_t nfiles = with_files ? req->nfiles : 0;
	isol8_file *files = xcalloc(nfiles + 1, sizeof *files);
	for (size_t i = 0; i < nfiles; i++)
		files[i] = req->files[i]; /* borrowed */
	files[nfiles] = (isol8_file){ISOL8_SETUP_PATH, (unsigned char *)script, strlen(script), 0600};
	char *argv[] = {"bash", ISOL8_SETUP_PATH, NULL};
	/* the payload's environment without the request's env (the reference gives setup scripts
	 * none), with the secrets */
	char **envp = isol8_build_env(o, NULL, 0);
	isol8_exec_spec spec = {argv, envp, "/sandbox", files, nfiles + 1};
	int rc = sandbox_feed_proc(sb, p, &spec, err);
	isol8_free_strv(envp);
	free(files);
	close(p->stdin_w);
	p->stdin_w = -1;
	if (rc == 0) {
		fcntl(p->stdout_r, F_SETFL, O_NONBLOCK);
		fcntl(p->stderr_r, F_SETFL, O_NONBLOCK);
	}
	return rc;
}

static void read_statuses(isol8_sandbox *sb, pid_t pid, struct setup_state *st)
{
	ctl_msg m;
	int r;
	while ((r = sandbox_read_status(sb, &m)) == 1) {
		if (m.pid == pid)
			st->code = ctl_exit_code(&m);
		ctl_msg_free(&m);
	}
	if (r < 0 && st->code < 0)
		st->gone = true;
}

/* Until the script has exited and its output is read, or the deadline. */
static void wait_for(isol8_sandbox *sb, const isol8_proc *p, uint64_t deadline, struct setup_state *st,
		     isol8_event_fn fn, void *ctx)
{
	bool out_open = true, err_open = true;
	uint64_t drain_until = 0;
	fcntl(sb->ctl, F_SETFL, O_NONBLOCK);
	while ((out_open || err_open || st->code < 0) && !st->gone) {
		uint64_t now = now_mono_ns(), until = st->code >= 0 ? drain_until : deadline;
		if (now >= until) {
			st->timed_out = st->code < 0;
			break;
		}
		struct pollfd f[3] = {{out_open ? p->stdout_r : -1, POLLIN, 0}, {err_open ? p->stderr_r : -1, POLLIN, 0},
				      {st->code < 0 ? sb->ctl : -1, POLLIN, 0}};
		bool buffered = st->code < 0 && sandbox_status_buffered(sb);
		if (poll(f, 3, buffered ? 0 : (int)((until - now) / 1000000) + 1) < 0 && errno != EINTR)
			break;
		if (f[0].revents && !ostream_pump(&st->out, fn, ctx))
			out_open = false;
		if (f[1].revents && !ostream_pump(&st->err, fn, ctx))
			err_open = false;
		if (buffered || f[2].revents) {
			read_statuses(sb, p->pid, st);
			if (st->code >= 0)
				drain_until = now_mono_ns() + SETUP_DRAIN_MS * 1000000ull;
		}
	}
}

/* The outcome of a failed script in res, and its error and exit events. */
static void failed(const struct setup_state *st, isol8_event_fn fn, void *ctx, isol8_result *res)
{
	char line[96], code[16];
	res->exit_code = st->timed_out ? 137 : st->code;
	res->signal = st->timed_out ? SIGKILL : 0;
	res->status = st->timed_out ? "timeout" : "error";
	if (st->timed_out)
		snprintf(line, sizeof line, "SETUP SCRIPT TIMED OUT");
	else
		snprintf(line, sizeof line, "Setup script failed (exit code %d)", st->code);
	/* its stderr, then the reference's line (a marker for a timeout, as the code's) */
	buf_append(&res->err, st->err_kept.data ? st->err_kept.data : (unsigned char *)"", st->err_kept.len);
	if (res->err.len && res->err.data[res->err.len - 1] != '\n')
		buf_puts(&res->err, "\n");
	buf_puts(&res->err, st->timed_out ? "--- SETUP SCRIPT TIMED OUT ---" : line);
	emit(fn, ctx, ISOL8_EV_ERROR, line);
	snprintf(code, sizeof code, "%d", res->exit_code);
	emit(fn, ctx, ISOL8_EV_EXIT, code);
}

int setup_run(isol8_sandbox *sb, const isol8_request *req, const char *script, bool with_files,
	      const isol8_options *o, isol8_event_fn fn, void *ctx, isol8_result *res, isol8_err *err)
{
	isol8_proc p;
	if (start(sb, req, script, with_files, o, &p, err) < 0) {
		sandbox_proc_close(&p);
		return -1;
	}
	struct setup_state st = {.code = -1};
	const char **secrets = options_secret_values(o);
	ostream_init(&st.out, ISOL8_EV_STDOUT, p.stdout_r, &st.out_kept, o->max_output, secrets, o->nsecrets);
	ostream_init(&st.err, ISOL8_EV_STDERR, p.stderr_r, &st.err_kept, o->max_output, secrets, o->nsecrets);
	free(secrets);
	st.out.phase = st.err.phase = ISOL8_PHASE_SETUP;
	/* its own budget, as long as the run's (as the reference gives it) */
	long long t = req->timeout_ms > 0 ? req->timeout_ms : o->timeout_ms;
	wait_for(sb, &p, now_mono_ns() + (uint64_t)t * 1000000ull, &st, fn, ctx);
	ostream_finish(&st.out, fn, ctx);
	ostream_finish(&st.err, fn, ctx);
	int rc = 0;
	if (st.gone) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox went away during the setup script");
	} else if (st.timed_out || st.code != 0) {
		failed(&st, fn, ctx, res);
		rc = 1;
	} else {
		emit(fn, ctx, ISOL8_EV_EXIT, "0");
	}
	ostream_free(&st.out);
	ostream_free(&st.err);
	isol8_buf_free(&st.out_kept);
	isol8_buf_free(&st.err_kept);
	sandbox_proc_close(&p);
	return rc;
}

int setup_run_scripts(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, isol8_event_fn fn,
		      void *ctx, isol8_result *res, isol8_err *err)
{
	/* Two scripts, not one joined text: an `exit 0` (or a `set -e`, a trap) in the image's
	 * script must not decide whether the request's runs. */
	int rc = 0;
	if (req->image_setup_script)
		rc = setup_run(sb, req, req->image_setup_script, true, o, fn, ctx, res, err);
	if (rc == 0 && req->setup_script)
		rc = setup_run(sb, req, req->setup_script, !req->image_setup_script, o, fn, ctx, res, err);
	return rc;
}

int setup_add(isol8_buf *b, const char *v, isol8_err *err)
{
	struct stat st;
	isol8_buf f = {0};
	if (stat(v, &st) == 0 && S_ISREG(st.st_mode)) {
		isol8_err e = {0};
		if (read_file(v, ISOL8_MAX_REQUEST_BYTES, &f, &e) < 0) {
			isol8_buf_free(&f);
			return isol8_input_error(err, "--setup %s: %s", v, e.msg);
		}
	} else {
		buf_puts(&f, v);
	}
	if (b->len)
		buf_puts(b, "\n");
	buf_append(b, f.data ? f.data : (unsigned char *)"", f.len);
	isol8_buf_free(&f);
	return 0;
}
