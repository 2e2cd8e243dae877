/* isol8-proxy — filtering HTTP/HTTPS egress proxy (see isol8-proxy(1)). Listens on an address,
 * on an fd it is given (the runner's socket inside a sandbox's network namespace), on systemd's
 * LISTEN_FDS, or serves one connection on stdin (inetd). Started as root, it drops to uid 65534
 * once its sockets and log are open: it parses what sandboxed code sends. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "net/proxy.h"
#include "core/cli.h"
#include "core/util.h"

static const char usage[] =
	"Usage: isol8-proxy [--listen ADDR:PORT | --fd N | --inetd] [options]\n"
	"\n"
	"  --listen ADDR:PORT   listen there (default 127.0.0.1:8118; systemd LISTEN_FDS is used if set)\n"
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

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	long long port;
	if (!colon || (size_t)(colon - spec) >= sizeof host || parse_ll(colon + 1, 1, 65535, &port) < 0)
		isol8_die("--listen takes ADDR:PORT, got \"%s\"", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		isol8_die("--listen: \"%s\" is not an IPv4 address", host);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0)
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

int main(int argc, char **argv)
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
	isol8_proxy_opts o = {.log_fd = -1, .max_conns = 64, .idle_ms = 60000};
	const char *listen_spec = NULL, *log = NULL;
	int lfd = -1;
	bool inetd = false, rules_given = false;
	isol8_err err = {0};
	long long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 'f':
			if (parse_ll(optarg, 0, 1 << 20, &v) < 0)
				isol8_die("--fd takes a file descriptor number");
			lfd = (int)v;
			break;
		case 'i': inetd = true; break;
		case 'a':
		case 'd':
			rules_given = true;
			if (proxy_rules_add(&o.rules, c == 'd', optarg, &err) < 0)
				isol8_die("%s", err.msg);
			break;
		case 'p': o.rules.allow_private = true; break;
		case 'n': rules_given = true; break;
		case 'P': add_ports(&o.rules, optarg, "--ports"); break;
		case 'o':
			if (strchr(optarg, ','))
				isol8_die("--allow-port takes one port; repeat it (or use --ports N,N)");
			add_ports(&o.rules, optarg, "--allow-port");
			break;
		case 'L': log = optarg; break;
		case 'm':
			if (parse_ll(optarg, 1, 4096, &v) < 0)
				isol8_die("--max-conns takes 1..4096");
			o.max_conns = (int)v;
			break;
		case 't':
			if (parse_ll(optarg, 100, 86400000, &v) < 0)
				isol8_die("--idle-timeout takes milliseconds");
			o.idle_ms = (int)v;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: isol8_die("unknown option (see isol8-proxy --help)");
		}
	}
	if (!rules_given) { /* the operator's config, as the reference's CLI does */
		isol8_config cfg;
		if (config_load(&cfg, &err) < 0)
			isol8_die("%s", err.msg);
		static const char *const keys[2] = {"network.whitelist", "network.blacklist"};
		for (int k = 0; k < 2; k++) {
			jv list = config_get(&cfg, keys[k]);
			jv_array_foreach(list, i, e) {
				(void)i;
				if (proxy_rules_add(&o.rules, k == 1, jv_string_value(e), &err) < 0)
					isol8_die("config %s: %s", keys[k], err.msg);
				jv_free(e);
			}
			jv_free(list);
		}
		config_free(&cfg);
	}
	/* the operator's environment (isol8 passes it on to the proxy of --net filtered runs; a
	 * request cannot set it) */
	const char *env_ports = getenv("ISOL8_PROXY_PORTS");
	if (!o.rules.nports && env_ports && *env_ports) {
		char *copy = xstrdup(env_ports);
		add_ports(&o.rules, copy, "ISOL8_PROXY_PORTS");
		free(copy);
	}
	if (log) {
		o.log_fd = !strcmp(log, "-") ? 1 : open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (o.log_fd < 0)
			isol8_die("--log %s: %s", log, strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	if (inetd) {
		drop_root();
		proxy_handle(0, &o);
		return 0;
	}
	const char *lf = getenv("LISTEN_FDS"), *lp = getenv("LISTEN_PID");
	if (lfd < 0 && !listen_spec && lf && lp && atoi(lp) == getpid() && atoi(lf) >= 1)
		lfd = 3; /* systemd socket activation */
	bool announce = lfd < 0; /* standalone: say where; given a socket (the runner): stay quiet */
	if (lfd < 0)
		lfd = listen_on(listen_spec ? listen_spec : "127.0.0.1:8118");
	drop_root();
	if (announce)
		fprintf(stderr, "isol8 proxy listening on %s\n", listen_spec ? listen_spec : "127.0.0.1:8118");
	if (proxy_serve(lfd, &o, -1, &err) < 0)
		isol8_die("%s", err.msg);
	proxy_rules_free(&o.rules);
	return 0;
}
