/* test_backend.c — the backend seam: the engine runs a request on a backend that is not the
 * native one, chosen without touching the engine. The fake backend here runs nothing: it
 * "executes" by echoing the argv it was fed, and records which of its operations were called.
 * If the engine reached past the interface (a cgroup, a pid, the native feed format), the run
 * would fail or the calls would not add up. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isol8.h"
#include "run/engine.h"
#include "sandbox/backend.h"
#include "sandbox/sandbox.h"
#include "tap.h"

static struct {
	int starts, feeds, kills, destroys, statuses;
	char argv[256];
	int status_w; /* the fake's end of sb->ctl: readable once the "program" has ended */
	int out_w, err_w;
	bool exited, reported;
} fake;

static int fake_start(struct isol8_sandbox *sb, const struct isol8_sandbox_cfg *cfg, isol8_err *err)
{
	int in[2], out[2], er[2], st[2];
	memset(sb, 0, sizeof *sb);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "pipes");
	snprintf(sb->id, sizeof sb->id, "fakefakefakefake");
	sb->pid = getpid();
	sb->pidfd = sb->feed = sb->proxy_fd = sb->chan = sb->reply = -1;
	sb->stdin_w = in[1];
	close(in[0]);
	sb->stdout_r = out[0];
	sb->stderr_r = er[0];
	sb->ctl = st[0];
	fake.out_w = out[1];
	fake.err_w = er[1];
	fake.status_w = st[1];
	fake.starts++;
	return 0;
}

static int ready(struct isol8_sandbox *sb, isol8_err *err)
{
	return 0;
}

static int poll_ready(struct isol8_sandbox *sb, isol8_err *err)
{
	return 1;
}

static bool no_early(struct isol8_sandbox *sb, const isol8_exec_spec *spec)
{
	return false;
}

/* "Runs" the program: prints its argv, ends with 7. */
static int fake_feed(struct isol8_sandbox *sb, const isol8_exec_spec *spec, isol8_err *err)
{
	fake.feeds++;
	fake.argv[0] = 0;
	for (char **a = spec->argv; *a; a++)
		snprintf(fake.argv + strlen(fake.argv), sizeof fake.argv - strlen(fake.argv), "%s%s", *a, a[1] ? " " : "");
	dprintf(fake.out_w, "ran: %s\n", fake.argv);
	close(fake.out_w);
	close(fake.err_w);
	fake.exited = true;
	(void)!write(fake.status_w, "x", 1);
	return 0;
}

static int fake_read_status(struct isol8_sandbox *sb, ctl_msg *m)
{
	char c;
	if (!fake.exited || fake.reported)
		return 0;
	(void)!read(sb->ctl, &c, 1);
	memset(m, 0, sizeof *m);
	m->kind = CTL_EXIT;
	m->code = 7;
	m->pid = 1;
	fake.reported = true;
	fake.statuses++;
	return 1;
}

static bool not_buffered(const struct isol8_sandbox *sb)
{
	return false;
}

static int no_file(struct isol8_sandbox *sb, const char *path, size_t max, bool list, isol8_buf *out, isol8_err *err)
{
	return isol8_input_error(err, "cannot read %s: no files here", path), 0;
}

static void fake_kill(struct isol8_sandbox *sb)
{
	fake.kills++;
}

static void nothing(struct isol8_sandbox *sb)
{
}

static void fake_stats(struct isol8_sandbox *sb, isol8_cg_stats *st)
{
	memset(st, 0, sizeof *st);
	st->peak_memory = 4242;
}

static void fake_destroy(struct isol8_sandbox *sb)
{
	int *fds[] = {&sb->stdin_w, &sb->stdout_r, &sb->stderr_r, &sb->ctl, &fake.status_w};
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	fake.destroys++;
}

static const char *fake_describe(const struct isol8_sandbox *sb)
{
	return "fake";
}

static const isol8_backend fake_backend = {
	.name = "fake", .start = fake_start, .poll_ready = poll_ready, .wait_ready = ready, .feed_early = no_early,
	.feed = fake_feed, .read_status = fake_read_status, .status_buffered = not_buffered, .get_file = no_file,
	.kill = fake_kill, .wait_exit = nothing, .stats = fake_stats, .destroy = fake_destroy,
	.discard_feed = nothing, .describe = fake_describe,
};

int main(void)
{
	setenv("ISOL8_NO_POOL", "1", 1); /* a pooled sandbox would be a native one */
	isol8_config cfg;
	isol8_options opt;
	isol8_request req;
	isol8_result res;
	isol8_err err = {0};
	ok(isol8_config_from_text(&cfg, "{}", 2, "test", &err) == 0 && isol8_options_from_config(&opt, &cfg, &err) == 0,
	   "options");
	isol8_request_init(&req);
	req.runtime = strdup("python");
	req.code = strdup("print(1)");
	ok(isol8_request_validate(&req, &opt, &err) == 0, "a request");
	sandbox_use_backend(&fake_backend);
	int rc = isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err);
	sandbox_use_backend(NULL);
	ok(rc == 0, "the engine ran it on the fake backend (%s)", err.msg);
	is_str((char *)res.out.data, "ran: python3 -c print(1)\n", "…which was fed the command the engine built");
	ok(res.exit_code == 7 && !strcmp(res.status, "error"), "the backend's status is the result's exit code");
	ok(!strcmp(res.sandbox_id, "fakefakefakefake") && res.stats.peak_memory == 4242, "its id and its stats");
	ok(fake.starts == 1 && fake.feeds == 1 && fake.statuses == 1 && fake.kills >= 1 && fake.destroys == 1,
	   "start, feed, one status, kill, destroy: %d %d %d %d %d", fake.starts, fake.feeds, fake.statuses, fake.kills,
	   fake.destroys);
	isol8_result_free(&res);
	isol8_request_free(&req);
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	return done_testing();
}
