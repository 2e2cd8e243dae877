/* isol8-serve — the HTTP API over the toolkit (see isol8-serve(1)).
 *
 * Three ways to run: --inetd (one connection on stdin/stdout), systemd socket activation
 * (LISTEN_FDS/LISTEN_PID: a listening socket, or with Accept=yes one connection), and
 * --listen/--port (127.0.0.1:3000 by default). A listening server forks one process per
 * connection: a crash or a leak in one request cannot touch another, and the library runs
 * each execution in that process. Limits shared by all of them live in the run dir
 * (shared.c). Refuses to start without an API key. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "keydb.h"
#include "net/listen.h"
#include "run/imagebuild.h"
#include "serve.h"
#include "state/images.h"
#include "run/reaper.h"

#define MIN_KEY_LEN 16

static const char usage[] =
	"Usage: isol8-serve [options]\n"
	"\n"
	"The isol8 HTTP API: POST /execute, POST /execute/stream (SSE), POST|GET /file, GET /sessions,\n"
	"DELETE /session/ID, POST /cleanup, GET /metrics, GET /health (no key).\n"
	"\n"
	"  -k, --key KEY        accepted API key (repeatable; or ISOL8_API_KEY); at least 16 characters\n"
	"      --key-file FILE  accepted API keys, one per line (keeps them out of the process list)\n"
	"      --auth-db CONN   also keys from a database: a SQLite path or a postgres:// URL (POST /auth/keys;\n"
	"                       or config auth.enabled + auth.connectionString)\n"
	"  -p, --port PORT      port on 127.0.0.1 (else ISOL8_PORT, PORT, 3000); busy: another port\n"
	"      --listen ADDR:PORT  exactly this address (busy is an error)\n"
	"      --inetd          serve one connection on stdin/stdout (inetd, systemd Accept=yes)\n"
	"      --node NAME      one node of several: sessions in the shared registry of the key database\n"
	"                       (or config cluster.node; needs --auth-db or auth.connectionString)\n"
	"      --advertise URL  where clients reach this node directly, named in 421 answers (cluster.address)\n"
	"      --debug          debug lines on stderr\n"
	"  -V, --version        print the version\n"
	"  -h, --help           this text\n"
	"\n"
	"Socket activation (LISTEN_FDS) is used when present. Limits: config maxConcurrent and serve.*\n"
	"(deadlines and per-address and per-key caps: see CONNECTION GUARDS in isol8-serve(1)).\n";

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "[ERR] ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void add_key(serve_ctx *c, const char *key)
{
	if (strlen(key) < MIN_KEY_LEN)
		die_usage("API key too short: use at least 16 characters (e.g. isol8_$(openssl rand -hex 32))%s", "");
	if (c->nkeys == c->keys_cap) {
		c->keys_cap = c->keys_cap ? 2 * c->keys_cap : 16;
		c->keys = xrealloc(c->keys, c->keys_cap * sizeof *c->keys);
	}
	SHA256((const unsigned char *)key, strlen(key), c->keys[c->nkeys++]);
}

static void add_key_file(serve_ctx *c, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		die_usage("cannot read --key-file %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = 0;
		if (n > 0 && line[0] != '#')
			add_key(c, line);
	}
	free(line);
	fclose(f);
}

/* ---- listening --------------------------------------------------------------------------- */

/* The port without --listen: --port, $ISOL8_PORT, $PORT, else 3000. */
static int default_port(const char *port_arg, int *port, isol8_err *err)
{
	const char *src = port_arg ? "--port" : getenv("ISOL8_PORT") ? "ISOL8_PORT" : getenv("PORT") ? "PORT" : NULL;
	*port = 3000;
	return src ? listen_parse_port(src, port_arg ? port_arg : getenv(src), 1, port, err) : 0;
}

/* A socket listening on --listen (exactly there: a busy port is an error; port 0 picks a free
 * one), else on 127.0.0.1 at the default port (a busy one falls back to a free one). -1 after
 * one [ERR] line. */
static int open_listener(const char *listen_arg, const char *port_arg, listen_addr *a)
{
	isol8_err err = {0};
	int want, port = 0, fd;
	if (listen_arg) {
		if (listen_parse("--listen", listen_arg, 0, a, &err) < 0)
			return fprintf(stderr, "[ERR] %s\n", err.msg), -1;
		if ((fd = listen_tcp(a, &a->port)) < 0)
			fprintf(stderr, "[ERR] cannot listen on %s: %s\n", listen_arg, strerror(errno));
		return fd;
	}
	if (default_port(port_arg, &want, &err) < 0 || listen_addr_set(a, "127.0.0.1", want, "--port", &err) < 0)
		return fprintf(stderr, "[ERR] %s\n", err.msg), -1;
	fd = listen_tcp(a, &port);
	if (fd < 0 && errno == EADDRINUSE && listen_addr_set(a, "127.0.0.1", 0, "--port", &err) == 0) {
		fd = listen_tcp(a, &port);
		if (fd >= 0)
			fprintf(stderr, "[WARN] Port %d is in use. Falling back to available port %d.\n", want, port);
	}
	if (fd < 0)
		fprintf(stderr, "[ERR] cannot listen on 127.0.0.1:%d: %s\n", want, strerror(errno));
	a->port = port;
	return fd;
}

/* sd_notify("READY=1") without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char msg[64];
	int m = snprintf(msg, sizeof msg, "READY=1\nMAINPID=%d", getpid());
	if (fd >= 0) {
		(void)sendto(fd, msg, (size_t)m, 0, (struct sockaddr *)&sa,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
		close(fd);
	}
}

/* ---- the accept loop ---------------------------------------------------------------------- */

static void child_connection(serve_ctx *c, int fd)
{
	signal(SIGPIPE, SIG_IGN);
	serve_connection(c, fd);
	close(fd);
}

/* Refuses a connection without forking when even the queue is full: a constant reply, written
 * without allocating anything, is all the accept loop can afford under a flood. */
static void refuse_busy(serve_ctx *c, int fd)
{
	static const char r[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
				"Content-Length: 63\r\nConnection: close\r\n\r\n"
				"{\"error\":\"server busy: too many connections, retry in a moment\"}";
	metrics_reject(c, REJ_QUEUE_FULL);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	(void)!write(fd, r, sizeof r - 1);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* true when a reaper child was started */
static bool reap_in_background(int lfd)
{
	pid_t p = fork();
	if (p == 0) {
		close(lfd); /* the port must not outlive the server in a straggling reaper */
		isol8_reap_opts ro = {.orphan_age_s = 60};
		isol8_reap_report rep = {0};
		isol8_err err = {0};
		if (isol8_reap(&ro, &rep, &err) == 0)
			isol8_reap_report_free(&rep);
		_exit(0);
	}
	return p > 0;
}

/* Connection processes that authenticated say so with their pid on this pipe (guard.c). */
static void read_authenticated(guard *g, int rfd)
{
	int pids[64];
	ssize_t n;
	while ((n = read(rfd, pids, sizeof pids)) > 0)
		for (ssize_t i = 0; i < n / (ssize_t)sizeof pids[0]; i++)
			guard_authenticated(g, pids[i]);
}

static void reap_children(guard *g)
{
	pid_t pid;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		guard_gone(g, pid);
}

/* Where the server's own [INFO] lines go: stdout, unless the audit log is written there — then
 * stdout carries audit records only, one strict JSON line each, and these go to stderr. */
static FILE *info_out(const serve_ctx *c)
{
	return isol8_audit_on_stdout(&c->cfg) ? stderr : stdout;
}

/* SIGTERM: the node drains. It keeps listening — its sessions' requests still reach it, and
 * /health answers 503 "draining" so a balancer stops sending it new work — refuses new sandboxes
 * and sessions (503), and ends once no connection is open, or after serve.drainMs. Returns
 * that deadline. */
static uint64_t start_drain(serve_ctx *c)
{
	__atomic_store_n(c->draining, 1, __ATOMIC_RELAXED);
	long long ms = (long long)config_num(&c->cfg, "serve.drainMs", 30000);
	fprintf(info_out(c), "[INFO] Draining: no new sandboxes or sessions; running executions finish (at most %lld ms)\n", ms);
	fflush(info_out(c));
	return now_mono_ns() + (uint64_t)ms * 1000000ull;
}

static int accept_loop(serve_ctx *c, int lfd, int sfd, int max_conns)
{
	int ap[2];
	if (pipe2(ap, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "[ERR] cannot create a pipe: %s\n", strerror(errno));
		return 1;
	}
	c->auth_fd = ap[1];
	guard *g = guard_new(max_conns, c->max_unauth_per_addr);
	/* An eviction can come before a new child has set its handler (the default would kill it
	 * without its 408): children start with SIGUSR1 blocked and unblock it once it is set. */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	bool prune = config_bool(&c->cfg, "cleanup.autoPrune", 1);
	uint64_t next_prune = now_mono_ns() + 60000000000ull, drain_until = 0;
	bool hurry = false;
	for (;;) {
		struct pollfd p[3] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}, {ap[0], POLLIN, 0}};
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)) {
				if (drain_until || si.ssi_signo == SIGINT) {
					hurry = drain_until != 0; /* a second SIGTERM: nothing is waited for */
					break;
				}
				drain_until = start_drain(c);
			}
		}
		read_authenticated(g, ap[0]); /* before reaping: a report names a pid not yet reaped */
		reap_children(g);
		if (drain_until && (guard_live(g) == 0 || now_mono_ns() >= drain_until))
			break;
		if (prune && now_mono_ns() >= next_prune) {
			reap_in_background(lfd); /* not in the table: it neither counts nor is evicted */
			next_prune = now_mono_ns() + 60000000000ull;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		memset(&peer, 0, sizeof peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		unsigned char addr[16];
		guard_addr_key(&peer, addr);
		if (!guard_admit(c, g, addr)) {
			refuse_busy(c, fd);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			close(sfd);
			close(ap[0]);
			sigprocmask(SIG_SETMASK, &usr1, NULL);
			child_connection(c, fd);
			_exit(0);
		}
		close(fd);
		if (pid > 0)
			guard_add(g, pid, addr);
	}
	close(lfd);
	fprintf(info_out(c), "[INFO] Shutting down isol8 server...\n");
	fflush(info_out(c));
	/* in-flight requests finish (bounded); sessions live on in the run dir */
	if (hurry)
		guard_signal_all(g, SIGTERM);
	for (int i = 0; i < 3000 && guard_live(g) > 0; i++) {
		read_authenticated(g, ap[0]);
		reap_children(g);
		if (guard_live(g) > 0)
			usleep(10000);
	}
	if (hurry) { /* the killed connections' sandboxes died with them: their cgroups and records go now */
		isol8_reap_opts ro = {.orphan_age_s = 60};
		isol8_reap_report rep = {0};
		isol8_err err = {0};
		if (isol8_reap(&ro, &rep, &err) == 0)
			isol8_reap_report_free(&rep);
	}
	if (guard_live(g) == 0) /* else the stragglers still use the shared state; the last one out removes it */
		shared_close(c);
	guard_free(g);
	close(ap[0]);
	close(ap[1]);
	fprintf(info_out(c), "[INFO] Server cleanup complete\n");
	return 0;
}

/* A whole number in [min, max] from config path (fallback when absent), or -1 with err. */
static int config_int(const isol8_config *cfg, const char *path, long long fallback, long long min, long long max,
		      long long *out, isol8_err *err)
{
	double v = config_num(cfg, path, (double)fallback);
	if (!(v >= (double)min && v <= (double)max) || v != (double)(long long)v)
		return isol8_input_error(err, "config %s must be a whole number from %lld to %lld, not %g", path, min, max, v);
	*out = (long long)v;
	return 0;
}

/* The connection guards and bounds (see guard.c, conn.c, routes_exec.c), checked at start-up so a
 * typo cannot leave the server without them. */
static int read_guards(serve_ctx *c, int max_conc, isol8_err *err)
{
	long long head, body, grace, per_addr, share, conns, maxt;
	/* with one key there is nobody to share with; with more, no key gets over half */
	long long share_default = c->nkeys > 1 ? (max_conc + 1) / 2 : max_conc;
	long long conn_cap = max_conc + (c->max_queue > 0 ? c->max_queue : 0);
	long long conn_default = c->nkeys > 1 ? (conn_cap + 1) / 2 : conn_cap;
	if (config_int(&c->cfg, "serve.headTimeoutMs", 5000, 100, 600000, &head, err) < 0 ||
	    config_int(&c->cfg, "serve.bodyTimeoutMs", 10000, 100, 3600000, &body, err) < 0 ||
	    config_int(&c->cfg, "serve.graceMs", 30000, 100, 3600000, &grace, err) < 0 ||
	    config_int(&c->cfg, "serve.maxUnauthenticatedPerAddress", 8, 1, 100000, &per_addr, err) < 0 ||
	    config_int(&c->cfg, "serve.maxConcurrentPerKey", share_default, 1, max_conc, &share, err) < 0 ||
	    /* the accept loop takes maxConcurrent + maxQueue + 16 connections: one key can never
	     * hold the last 16, which stay for /health and the other keys */
	    config_int(&c->cfg, "serve.maxConnectionsPerKey", conn_default, 1, conn_cap, &conns, err) < 0 ||
	    config_int(&c->cfg, "serve.maxTimeoutMs", 300000, 1, 1ll << 40, &maxt, err) < 0)
		return -1;
	if (conn_cap > SERVE_MAX_HOLDERS - 16)
		return isol8_fail(err, ISOL8_E_INPUT, 0, "maxConcurrent + serve.maxQueue must be at most %d (got %lld)",
				  SERVE_MAX_HOLDERS - 16, conn_cap);
	c->head_timeout_ms = (int)head;
	c->body_timeout_ms = (int)body;
	c->grace_ms = (int)grace;
	c->max_unauth_per_addr = (int)per_addr;
	c->key_share = (int)share;
	c->key_conns = (int)conns;
	c->conns_total = (int)conn_cap;
	c->max_timeout_ms = maxt;
	c->auth_fd = -1;
	return 0;
}

static void ctx_free(serve_ctx *c)
{
	isol8_config_free(&c->cfg);
	free(c->auth_conn);
	c->auth_conn = NULL;
	explicit_bzero(c->keys, c->nkeys * sizeof *c->keys);
	free(c->keys);
}

static void find_session_tool(serve_ctx *c)
{
	if (!sibling_tool("isol8-session", c->session_bin, sizeof c->session_bin))
		snprintf(c->session_bin, sizeof c->session_bin, "/usr/local/bin/isol8-session");
	if (!sibling_tool("isol8-mcp", c->mcp_bin, sizeof c->mcp_bin))
		snprintf(c->mcp_bin, sizeof c->mcp_bin, "/usr/local/bin/isol8-mcp");
}

/* The command line: keys go straight into c. */
struct serve_cli {
	const char *port_arg, *listen_arg, *auth_db, *node, *advertise;
	bool inetd;
};

static void parse_options(int argc, char **argv, serve_ctx *c, struct serve_cli *cli)
{
	static const struct option lo[] = {
		{"key", required_argument, 0, 'k'}, {"key-file", required_argument, 0, 'K'},
		{"port", required_argument, 0, 'p'}, {"listen", required_argument, 0, 'L'},
		{"inetd", no_argument, 0, 'I'}, {"debug", no_argument, 0, 'd'}, {"auth-db", required_argument, 0, 'A'},
		{"node", required_argument, 0, 'N'}, {"advertise", required_argument, 0, 'D'},
		{"version", no_argument, 0, 'V'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "k:p:Vh", lo, NULL)) != -1) {
		switch (o) {
		case 'k': add_key(c, optarg); break;
		case 'K': add_key_file(c, optarg); break;
		case 'p': cli->port_arg = optarg; break;
		case 'L': cli->listen_arg = optarg; break;
		case 'I': cli->inetd = true; break;
		case 'A': cli->auth_db = optarg; break;
		case 'N': cli->node = optarg; break;
		case 'D': cli->advertise = optarg; break;
		case 'd': c->debug = true; break;
		case 'V': puts(ISOL8_VERSION); exit(0);
		case 'h': fputs(usage, stdout); exit(0);
		default: die_usage("Unknown argument: %s (see isol8-serve --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("Unknown argument: %s (see isol8-serve --help)", argv[optind]);
}

/* The config, its bounds and the shared state, for a server with at least one key; *max_conc
 * the executions that may run at once. 0, or -1 after one [ERR] line. */
static int set_up(serve_ctx *c, const struct serve_cli *cli, int *max_conc)
{
	isol8_err err = {0};
	if (isol8_config_load(&c->cfg, &err) < 0 || policy_check_defaults(&c->cfg, &err) < 0) {
		fprintf(stderr, "[ERR] %s\n", err.msg);
		return -1;
	}
	if (cli->inetd && isol8_audit_on_stdout(&c->cfg)) { /* the records would go to the client */
		fprintf(stderr, "[ERR] config audit.destination \"stdout\" cannot be used with --inetd: stdout is the "
				"client's connection there; use \"filesystem\" or \"syslog\"\n");
		return (ctx_free(c), -1);
	}
	if (keys_setup(c, cli->auth_db, &err) < 0) {
		fprintf(stderr, "[ERR] %s\n", err.msg);
		return (ctx_free(c), -1);
	}
	*max_conc = (int)config_num(&c->cfg, "maxConcurrent", 10);
	if (*max_conc < 1)
		*max_conc = 1;
	c->max_queue = (int)config_num(&c->cfg, "serve.maxQueue", 16);
	c->queue_timeout_ms = (int)config_num(&c->cfg, "serve.queueTimeoutMs", 10000);
	c->max_body = (uint64_t)config_num(&c->cfg, "serve.maxBodyBytes", 16 << 20);
	c->max_sessions = (int)config_num(&c->cfg, "serve.maxSessionsPerKey", 16);
	if (read_guards(c, *max_conc, &err) < 0) {
		fprintf(stderr, "[ERR] %s\n", err.msg);
		return (ctx_free(c), -1);
	}
	c->idle_ms = config_bool(&c->cfg, "cleanup.autoPrune", 1) ? (long long)config_num(&c->cfg, "cleanup.maxContainerAgeMs", 3600000) : 0;
	find_session_tool(c);
	if (shared_open(c, *max_conc, &err) < 0) {
		fprintf(stderr, "[ERR] %s\n", err.msg);
		return (ctx_free(c), -1);
	}
	return 0;
}

/* The listening server builds the config's prebuiltImages that are missing before it serves
 * (the reference does; one connection of inetd does not). */
static int build_prebuilt(serve_ctx *c)
{
	jv pre = config_get(&c->cfg, "prebuiltImages");
	int n = jv_get_kind(pre) == JV_KIND_ARRAY ? jv_array_length(jv_copy(pre)) : 0;
	int rc = 0;
	if (n) {
		isol8_options opt = {0};
		isol8_err err = {0};
		char *store = images_store(&c->cfg);
		rc = isol8_options_from_config(&opt, &c->cfg, &err) < 0 ? -1 : images_setup(store, pre, &opt, false, NULL, NULL, &err);
		if (rc < 0)
			fprintf(stderr, "[ERR] prebuiltImages: %s\n", err.msg);
		isol8_options_free(&opt);
		free(store);
	}
	jv_free(pre);
	return rc;
}

/* The one connection of --inetd or of systemd Accept=yes, else -1 (*failed after an [ERR]
 * line). */
static int single_connection(bool inetd, int afd, bool accepted, bool *failed)
{
	isol8_err err = {0};
	int fd = inetd ? listen_take_stdio(&err) : accepted ? afd : -1;
	*failed = inetd && fd < 0;
	if (*failed)
		fprintf(stderr, "[ERR] %s\n", err.msg);
	return fd;
}

int main(int argc, char **argv)
{
	serve_ctx c = {0};
	struct serve_cli cli = {0};
	int max_conc;
	parse_options(argc, argv, &c, &cli);
	if (!c.nkeys && getenv("ISOL8_API_KEY") && *getenv("ISOL8_API_KEY"))
		add_key(&c, getenv("ISOL8_API_KEY"));
	if (!c.nkeys) {
		fprintf(stderr, "[ERR] API key required. Use --key or ISOL8_API_KEY env var.\n");
		return 1;
	}
	unsetenv("ISOL8_API_KEY"); /* sandboxes and sessions never see it */
	if (set_up(&c, &cli, &max_conc) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);

	bool accepted, failed;
	int afd = listen_activated(&accepted);
	int one_conn = single_connection(cli.inetd, afd, accepted, &failed);
	isol8_err cerr = {0};
	if (!failed && node_setup(&c, cli.node, cli.advertise, one_conn >= 0, &cerr) < 0) {
		fprintf(stderr, "[ERR] %s\n", cerr.msg);
		failed = true;
		if (one_conn >= 0)
			close(one_conn);
		one_conn = -1;
	}
	if (one_conn >= 0)
		child_connection(&c, one_conn);
	if (one_conn >= 0 || failed) {
		shared_close(&c);
		ctx_free(&c);
		return failed;
	}
	if (build_prebuilt(&c) < 0)
		return (shared_close(&c), ctx_free(&c), 1);
	listen_addr a = {0};
	int lfd = afd >= 0 ? afd : open_listener(cli.listen_arg, cli.port_arg, &a);
	if (lfd < 0)
		return (shared_close(&c), ctx_free(&c), 1);
	/* from here a SIGTERM waits for the loop: whoever reads the ready line may send one at once,
	 * and it must still end with the shared state removed */
	int sfd = signalfd_for(SIGTERM, SIGINT, SIGCHLD, SIGHUP, 0);
	if (afd >= 0) {
		fprintf(info_out(&c), "[INFO] isol8 server v%s listening on the socket systemd passed\n", ISOL8_VERSION);
	} else {
		bool v6 = strchr(a.host, ':') != NULL;
		fprintf(info_out(&c), "[INFO] isol8 server v%s listening on http://%s%s%s:%d\n", ISOL8_VERSION, v6 ? "[" : "",
			a.host, v6 ? "]" : "", a.port);
	}
	fprintf(info_out(&c), "       Auth: Bearer token required%s\n",
		c.auth_conn ? " (static master keys, and keys in the database)" : "");
	if (c.auth_conn) { /* never its password: the ready line ends up in logs */
		char *shown = keydb_display(c.auth_conn);
		fprintf(info_out(&c), "       Auth DB: %s\n", shown);
		free(shown);
	}
	if (c.cluster)
		fprintf(info_out(&c), "       Node: %s%s%s (sessions in the shared registry)\n", c.self.name,
			c.self.address[0] ? " at " : "", c.self.address);
	fflush(info_out(&c));
	int drop[] = {lfd, sfd};
	if (keys_start_keeper(&c, drop, 2) < 0)
		return (shared_close(&c), ctx_free(&c), 1);
	notify_ready();
	/* connections beyond running + queued executions get a 503 without a process */
	int rc = accept_loop(&c, lfd, sfd, max_conc + c.max_queue + 16);
	keys_stop_keeper(&c);
	ctx_free(&c);
	return rc;
}
