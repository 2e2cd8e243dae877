/* isol8-proxy — filtering HTTP/HTTPS egress proxy (see isol8-proxy(1)). Listens on an address,
 * on an fd it is given (the runner's socket inside a sandbox's network namespace), on systemd's
 * LISTEN_FDS, or serves one connection (inetd's stdin, systemd Accept=yes; lib/net/listen.c).
 * Started as root, it drops to uid 65534 once its sockets and log are open: it parses what
 * sandboxed code sends. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/cli.h"
#include "core/util.h"
#include "net/listen.h"
#include "net/proxy.h"

static const char usage[] =
	"Usage: isol8-proxy [--listen ADDR:PORT | --fd N | --inetd] [options]\n"
	"\n"
	"  --listen ADDR:PORT   listen there, IPv4 or [IPv6] (default 127.0.0.1:8118; systemd LISTEN_FDS\n"
	"                       is used if set)\n"
	"  --fd N               serve an already listening socket\n"
	"  --inetd              serve one connection on stdin/stdout\n"
	"  --allow REGEX        allowed hosts (pcre2, case-insensitive, repeatable; default config network.whitelist)\n"
	"  --deny REGEX         blocked hosts, checked first (repeatable; default config network.blacklist)\n"
	"  --allow-private      permit special-purpose addresses (loopback, private, link-local,\n"
	"                       metadata, …) and this host's own: for labs against local servers\n"
	"  --allow-port N       a port allowed for CONNECT and plain HTTP (repeatable; default 80 and\n"
	"                       443, or ISOL8_PROXY_PORTS=N,N… from the environment)\n"
	"  --ports LIST         the same, comma-separated\n"
	"  --log FILE|-         one JSON line per request (network.jsonl shape)\n"
	"  --max-conns N        concurrent connections (default 64)\n"
	"  --idle-timeout MS    close a connection idle this long (default 60000); also the time a\n"
	"                       whole request head or ClientHello has to arrive in\n"
	"  --no-config          do not take rules from the config when none are given\n";

/* A socket listening on spec (ADDR:PORT); exits with one [ERR] line when there is none. */
static int listen_on(const char *spec)
{
	listen_addr a;
	isol8_err err = {0};
	int port;
	if (listen_parse("--listen", spec, 1, &a, &err) < 0)
		isol8_die("%s", err.msg);
	int fd = listen_tcp(&a, &port);
	if (fd < 0)
		isol8_die("cannot listen on %s: %s", spec, strerror(errno));
	return fd;
}

/* "N" or "N,N,…" into the allowed ports; what = where the list came from, for the error. */
static void add_ports(isol8_proxy_rules *r, char *list, const char *what)
{
	long long v;
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (parse_ll(t, 1, 65535, &v) < 0 || r->nports >= ARRAY_SIZE(r->ports))
			isol8_die("%s takes up to 16 port numbers (1-65535), got \"%s\"", what, t);
		r->ports[r->nports++] = (int)v;
	}
}

static void drop_root(void)
{
	if (geteuid() != 0)
		return;
	/* The kernel clears the parent-death signal when credentials change. A run that started
	 * us set one so that its death (SIGKILL, a watchdog) takes us too, instead of leaving a
	 * proxy that holds the sandbox's network namespace: set it again after the drop. */
	int pdeath = 0;
	pid_t parent = getppid();
	prctl(PR_GET_PDEATHSIG, &pdeath);
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		isol8_die("cannot drop privileges: %s", strerror(errno));
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (pdeath) {
		prctl(PR_SET_PDEATHSIG, pdeath);
		if (getppid() != parent)
			raise(pdeath); /* the parent died during the drop */
	}
}

/* The command line, beyond what goes straight into the proxy's options. */
struct proxy_cli {
	const char *listen_spec, *log;
	int lfd;
	bool inetd, rules_given;
};

static void parse_options(int argc, char **argv, struct proxy_cli *cli, isol8_proxy_opts *o)
{
	static const struct option lo[] = {
		{"listen", required_argument, 0, 'l'}, {"fd", required_argument, 0, 'f'}, {"inetd", no_argument, 0, 'i'},
		{"allow", required_argument, 0, 'a'}, {"deny", required_argument, 0, 'd'},
		{"allow-private", no_argument, 0, 'p'}, {"ports", required_argument, 0, 'P'},
		{"allow-port", required_argument, 0, 'o'},
		{"log", required_argument, 0, 'L'}, {"max-conns", required_argument, 0, 'm'},
		{"idle-timeout", required_argument, 0, 't'}, {"no-config", no_argument, 0, 'n'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	isol8_err err = {0};
	long long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': cli->listen_spec = optarg; break;
		case 'f':
			if (parse_ll(optarg, 0, 1 << 20, &v) < 0)
				isol8_die("--fd takes a file descriptor number");
			cli->lfd = (int)v;
			break;
		case 'i': cli->inetd = true; break;
		case 'a':
		case 'd':
			cli->rules_given = true;
			if (proxy_rules_add(&o->rules, c == 'd', optarg, &err) < 0)
				isol8_die("%s", err.msg);
			break;
		case 'p': o->rules.allow_private = true; break;
		case 'n': cli->rules_given = true; break;
		case 'P': add_ports(&o->rules, optarg, "--ports"); break;
		case 'o':
			if (strchr(optarg, ','))
				isol8_die("--allow-port takes one port; repeat it (or use --ports N,N)");
			add_ports(&o->rules, optarg, "--allow-port");
			break;
		case 'L': cli->log = optarg; break;
		case 'm':
			if (parse_ll(optarg, 1, 4096, &v) < 0)
				isol8_die("--max-conns takes 1..4096");
			o->max_conns = (int)v;
			break;
		case 't':
			if (parse_ll(optarg, 100, 86400000, &v) < 0)
				isol8_die("--idle-timeout takes milliseconds");
			o->idle_ms = (int)v;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: isol8_die("unknown option (see isol8-proxy --help)");
		}
	}
}

/* The operator's config rules, for a proxy given none on its command line (as the reference's
 * CLI does). */
static void rules_from_config(isol8_proxy_rules *r)
{
	isol8_config cfg;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	static const char *const keys[2] = {"network.whitelist", "network.blacklist"};
	for (int k = 0; k < 2; k++) {
		jv list = config_get(&cfg, keys[k]);
		jv_array_foreach(list, i, e) {
			(void)i;
			if (proxy_rules_add(r, k == 1, jv_string_value(e), &err) < 0)
				isol8_die("config %s: %s", keys[k], err.msg);
			jv_free(e);
		}
		jv_free(list);
	}
	isol8_config_free(&cfg);
}

/* One connection someone else accepted (inetd, systemd Accept=yes), as the unprivileged user. */
static int serve_one(int fd, const isol8_proxy_opts *o)
{
	drop_root();
	proxy_handle(fd, o);
	return 0;
}

int main(int argc, char **argv)
{
	isol8_proxy_opts o = {.log_fd = -1, .max_conns = 64, .idle_ms = 60000};
	struct proxy_cli cli = {.lfd = -1};
	isol8_err err = {0};
	parse_options(argc, argv, &cli, &o);
	if (!cli.rules_given)
		rules_from_config(&o.rules);
	/* the operator's environment (isol8 passes it on to the proxy of --net filtered runs; a
	 * request cannot set it) */
	const char *env_ports = getenv("ISOL8_PROXY_PORTS");
	if (!o.rules.nports && env_ports && *env_ports) {
		char *copy = xstrdup(env_ports);
		add_ports(&o.rules, copy, "ISOL8_PROXY_PORTS");
		free(copy);
	}
	if (cli.log) {
		o.log_fd = !strcmp(cli.log, "-") ? 1 : open(cli.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (o.log_fd < 0)
			isol8_die("--log %s: %s", cli.log, strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	if (cli.inetd) {
		int fd = listen_take_stdio(&err);
		if (fd < 0)
			isol8_die("%s", err.msg);
		return serve_one(fd, &o);
	}
	int lfd = cli.lfd;
	bool accepted = false;
	if (lfd < 0 && !cli.listen_spec && (lfd = listen_activated(&accepted)) >= 0 && accepted)
		return serve_one(lfd, &o);
	bool announce = lfd < 0; /* standalone: say where; given a socket (the runner, systemd): stay quiet */
	const char *spec = cli.listen_spec ? cli.listen_spec : "127.0.0.1:8118";
	if (lfd < 0)
		lfd = listen_on(spec);
	drop_root();
	if (announce)
		fprintf(stderr, "isol8 proxy listening on %s\n", spec);
	if (proxy_serve(lfd, &o, -1, &err) < 0)
		isol8_die("%s", err.msg);
	proxy_rules_free(&o.rules);
	return 0;
}
