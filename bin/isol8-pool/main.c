/* isol8-pool — keeps N prepared, single-use sandboxes ready (see isol8-pool(1)).
 * Each is built with the configured default limits and handed over once, by SCM_RIGHTS on
 * $RUN_DIR/pool.sock, to the isol8 run that asks; the pool then forgets it and prepares a
 * replacement. A used sandbox is never handed out again: it belongs to its new holder, and dies
 * when that holder closes its ctl socket. Pooled sandboxes that die or grow old are replaced. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "fdpass.h"
#include "isol8.h"
#include "json.h"
#include "pool.h"
#include "util.h"

#define MAX_POOL 64
#define REFILL_DELAY_MS 100

static const char usage[] =
	"Usage: isol8-pool [--size N] [--max-age MS]\n"
	"       isol8-pool status\n"
	"\n"
	"Keep N prepared single-use sandboxes ready (default: config poolSize, or its \"clean\" count)\n"
	"for isol8 run; --max-age replaces ones older than MS (default 600000). SIGHUP re-reads the\n"
	"config; SIGTERM removes every pooled sandbox and exits.\n";

struct slot {
	isol8_sandbox sb;
	uint64_t born_ms;
	bool ready; /* the init said ready; until then it is being built (not handed out) */
};

struct pool {
	struct slot s[MAX_POOL];
	int n, size;
	long long max_age_ms;
	unsigned long long hits, misses, discarded;
	uint64_t last_handover_ms;
	isol8_options opt;
	isol8_config cfg;
};

static int configured_size(const isol8_config *c)
{
	jv ps = config_get(c, "poolSize");
	double n = 1;
	if (jv_get_kind(ps) == JV_KIND_NUMBER)
		n = jv_number_value(ps);
	else if (jv_get_kind(ps) == JV_KIND_OBJECT) {
		jv cl = json_get(ps, "clean");
		if (jv_get_kind(cl) == JV_KIND_NUMBER)
			n = jv_number_value(cl);
		jv_free(cl);
	}
	jv_free(ps);
	return n < 0 ? 0 : n > MAX_POOL ? MAX_POOL : (int)n;
}

static void drop(struct pool *p, int i)
{
	sandbox_destroy(&p->s[i].sb);
	p->s[i] = p->s[--p->n];
}

static int count_ready(const struct pool *p)
{
	int k = 0;
	for (int i = 0; i < p->n; i++)
		k += p->s[i].ready;
	return k;
}

/* Starts the missing sandboxes without waiting for them: they finish building while the pool
 * keeps answering (a client never waits for a replacement). */
static void refill(struct pool *p)
{
	isol8_sandbox_cfg cfg = {
		.seccomp = p->opt.seccomp == ISOL8_SECCOMP_STRICT,
		.pooled = true,
		.limits = {.memory = p->opt.memory_limit, .pids = p->opt.pids_limit, .cpus = p->opt.cpu_limit},
		.rootfs = {.sandbox_size = p->opt.sandbox_size, .tmp_size = p->opt.tmp_size},
	};
	while (p->n < p->size) {
		isol8_err err = {0};
		if (sandbox_start(&p->s[p->n].sb, &cfg, &err) < 0) {
			fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
			return; /* try again on the next tick */
		}
		p->s[p->n].ready = false;
		p->s[p->n++].born_ms = now_real_ms();
	}
}

static int load(struct pool *p, int size_flag)
{
	isol8_err err = {0};
	config_free(&p->cfg);
	options_free(&p->opt);
	if (config_load(&p->cfg, &err) < 0 || options_from_config(&p->opt, &p->cfg, &err) < 0) {
		fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
		return -1;
	}
	p->size = size_flag >= 0 ? size_flag : configured_size(&p->cfg);
	return 0;
}

static jv status_json(const struct pool *p)
{
	jv j = jv_object();
	j = jv_object_set(j, jv_string("pid"), jv_number(getpid()));
	j = jv_object_set(j, jv_string("size"), jv_number(p->size));
	j = jv_object_set(j, jv_string("ready"), jv_number(count_ready(p)));
	j = jv_object_set(j, jv_string("hits"), jv_number((double)p->hits));
	j = jv_object_set(j, jv_string("misses"), jv_number((double)p->misses));
	j = jv_object_set(j, jv_string("discarded"), jv_number((double)p->discarded));
	j = jv_object_set(j, jv_string("memoryLimit"), jv_number((double)p->opt.memory_limit));
	return j;
}

static void reply_line(int fd, jv v)
{
	json_write_line(fd, v);
	jv_free(v);
}

static void serve(struct pool *p, int c)
{
	struct timeval tv = {1, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char line[2048];
	ssize_t n = read(c, line, sizeof line - 1);
	if (n <= 0)
		return;
	line[n] = 0;
	jv req = jv_parse(line);
	jv op = json_get(req, "op");
	const char *o = jv_get_kind(op) == JV_KIND_STRING ? jv_string_value(op) : "";
	if (!strcmp(o, "status")) {
		reply_line(c, status_json(p));
	} else if (!strcmp(o, "acquire")) {
		/* the run's options must be exactly what the pooled sandboxes were built with */
		isol8_options want = p->opt;
		jv m = json_get(req, "memory"), cpu = json_get(req, "cpu"), pids = json_get(req, "pids"),
		   sb = json_get(req, "sandboxSize"), tmp = json_get(req, "tmpSize"), sc = json_get(req, "seccomp");
		want.memory_limit = jv_get_kind(m) == JV_KIND_NUMBER ? (uint64_t)jv_number_value(m) : 0;
		want.cpu_limit = jv_get_kind(cpu) == JV_KIND_NUMBER ? jv_number_value(cpu) : 0;
		want.pids_limit = jv_get_kind(pids) == JV_KIND_NUMBER ? (long long)jv_number_value(pids) : 0;
		want.sandbox_size = jv_get_kind(sb) == JV_KIND_NUMBER ? (uint64_t)jv_number_value(sb) : 0;
		want.tmp_size = jv_get_kind(tmp) == JV_KIND_NUMBER ? (uint64_t)jv_number_value(tmp) : 0;
		want.seccomp = jv_get_kind(sc) == JV_KIND_STRING && !strcmp(jv_string_value(sc), "strict")
				       ? ISOL8_SECCOMP_STRICT : ISOL8_SECCOMP_UNCONFINED;
		int k = p->n - 1;
		while (k >= 0 && !p->s[k].ready)
			k--;
		const char *miss = !pool_compatible(&want, &p->opt) ? "different limits" : k < 0 ? "empty" : NULL;
		if (miss) {
			p->misses++;
			reply_line(c, jv_object_set(jv_object(), jv_string("miss"), jv_string(miss)));
		} else {
			struct slot taken = p->s[k];
			p->s[k] = p->s[--p->n];
			struct slot *s = &taken;
			int fds[ISOL8_HANDOVER_FDS];
			sandbox_handover_fds(&s->sb, fds);
			char msg[128];
			int ml = snprintf(msg, sizeof msg, "{\"id\":\"%s\",\"pid\":%d}\n", s->sb.id, s->sb.pid);
			if (fd_send(c, msg, (size_t)ml, fds, ISOL8_HANDOVER_FDS) == ml) {
				/* handed over: forget it (its new holder owns it, its record names them) */
				p->hits++;
				p->last_handover_ms = now_real_ms();
				for (int i = 0; i < ISOL8_HANDOVER_FDS; i++)
					close(fds[i]);
				buf_free(&s->sb.ctl_in);
				buf_free(&s->sb.status_q);
				free(s->sb.record);
				cgroup_forget(&s->sb.cg);
			} else {
				p->misses++;
				sandbox_destroy(&s->sb); /* never hand a sandbox out twice: drop it */
			}
		}
		jv_free(m);
		jv_free(cpu);
		jv_free(pids);
		jv_free(sb);
		jv_free(tmp);
		jv_free(sc);
	} else {
		reply_line(c, jv_object_set(jv_object(), jv_string("error"), jv_string("unknown op (acquire, status)")));
	}
	jv_free(op);
	jv_free(req);
}

static int status_cmd(void)
{
	char *path = pool_socket_path();
	int fd = unix_connect(path);
	free(path);
	if (fd < 0) {
		puts("{\"running\":false}");
		return 1;
	}
	(void)write_all(fd, "{\"op\":\"status\"}\n", 16);
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	jv v = jv_parse(buf);
	v = jv_object_set(v, jv_string("running"), jv_true());
	json_write_line(1, v);
	jv_free(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_cmd();
	static const struct option lo[] = {
		{"size", required_argument, 0, 's'}, {"max-age", required_argument, 0, 'a'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	static struct pool p = {.max_age_ms = 600000};
	long long v;
	int size_flag = -1, c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 's') {
			if (parse_ll(optarg, 0, MAX_POOL, &v) < 0)
				isol8_die("--size takes 0..%d", MAX_POOL);
			size_flag = (int)v;
		} else if (c == 'a') {
			if (parse_ll(optarg, 1000, 1ll << 40, &v) < 0)
				isol8_die("--max-age takes milliseconds (at least 1000)");
			p.max_age_ms = v;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			isol8_die("unknown option (see isol8-pool --help)");
		}
	}
	p.cfg.root = jv_invalid();
	if (load(&p, size_flag) < 0)
		return 1;
	char *path = pool_socket_path();
	if (mkdir_p(isol8_run_dir(), 0755) < 0)
		isol8_die("cannot create the run dir %s", isol8_run_dir());
	int probe = unix_connect(path);
	if (probe >= 0)
		isol8_die("a pool is already running on %s", path);
	unlink(path); /* a socket nobody answers on: left by a pool that died */
	int lfd = unix_listen(path);
	if (lfd < 0)
		isol8_die("cannot listen on %s: %s", path, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd_for(SIGTERM, SIGINT, SIGHUP, SIGCHLD, 0);
	refill(&p);
	for (int i = 0; i < p.n; i++) { /* the first fill: wait, so "ready" means ready */
		isol8_err err = {0};
		p.s[i].ready = sandbox_wait_ready(&p.s[i].sb, &err) == 0;
		if (!p.s[i].ready) { /* sandbox_wait_ready already tore it down */
			fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
			p.s[i--] = p.s[--p.n];
		}
	}
	fprintf(stderr, "isol8-pool: %d ready on %s\n", count_ready(&p), path);
	for (bool run = true; run;) {
		struct pollfd f[2 + MAX_POOL];
		f[0] = (struct pollfd){lfd, POLLIN, 0};
		f[1] = (struct pollfd){sfd, POLLIN, 0};
		/* ready ones: watch for their death; building ones: watch for their ready line */
		for (int i = 0; i < p.n; i++)
			f[2 + i] = (struct pollfd){p.s[i].ready ? p.s[i].sb.pidfd : p.s[i].sb.ctl, POLLIN, 0};
		int r = poll(f, (nfds_t)(2 + p.n), p.n < p.size ? REFILL_DELAY_MS : 5000);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = p.n - 1; i >= 0; i--) {
			bool bad = now_real_ms() - p.s[i].born_ms > (uint64_t)p.max_age_ms; /* grew old */
			if (f[2 + i].revents && !p.s[i].ready) {
				isol8_err err = {0};
				int r = sandbox_poll_ready(&p.s[i].sb, &err);
				if (r < 0)
					fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
				p.s[i].ready = r == 1;
				bad |= r < 0;
			} else if (f[2 + i].revents) {
				bad = true; /* a ready sandbox that died */
			}
			if (bad) {
				drop(&p, i);
				p.discarded++;
			}
		}
		if (f[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					while (p.n)
						drop(&p, p.n - 1);
					load(&p, size_flag);
				} else if (si.ssi_signo != SIGCHLD) {
					run = false;
				}
			}
			while (waitpid(-1, NULL, WNOHANG) > 0) /* inits of handed-over sandboxes */
				;
		}
		if (run && f[0].revents) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0) {
				serve(&p, cfd);
				close(cfd);
			}
		}
		/* Replacements are built once handovers pause (or the pool is empty): building one
		 * mounts ~45 filesystems, and every mount bumps the kernel's global mount_lock,
		 * making the path walks of a program starting in the sandbox just handed over retry
		 * (measured: python 5 ms slower when they overlap). */
		if (run && (count_ready(&p) == 0 || now_real_ms() - p.last_handover_ms >= REFILL_DELAY_MS))
			refill(&p);
	}
	while (p.n)
		drop(&p, p.n - 1);
	close(lfd);
	unlink(path);
	free(path);
	options_free(&p.opt);
	config_free(&p.cfg);
	return 0;
}
