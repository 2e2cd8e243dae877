/* listen.c — listen addresses, listening sockets, systemd socket activation and inetd for the
 * servers (isol8-proxy, isol8-serve). See listen.h for the threat: only literal addresses and
 * whole port numbers, every refusal one line naming what was wrong. */
#include "net/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

int listen_parse_port(const char *src, const char *raw, int min_port, int *port, isol8_err *err)
{
	long long p;
	if (parse_ll(raw, min_port, 65535, &p) < 0)
		return isol8_input_error(err, "Invalid port from %s: %s. Expected %d-65535.", src, raw, min_port);
	*port = (int)p;
	return 0;
}

int listen_addr_set(listen_addr *a, const char *host, int port, const char *src, isol8_err *err)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a->ss;
	memset(a, 0, sizeof *a);
	if (strlen(host) >= sizeof a->host)
		return isol8_input_error(err, "%s: the address is too long (at most %zu characters)", src, sizeof a->host - 1);
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		a->len = sizeof *a4;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		a->len = sizeof *a6;
	} else {
		return isol8_input_error(err, "%s: \"%s\" is not an IP address (IPv4, or [IPv6])", src, host);
	}
	snprintf(a->host, sizeof a->host, "%s", host);
	a->port = port;
	return 0;
}

int listen_parse(const char *src, const char *spec, int min_port, listen_addr *a, isol8_err *err)
{
	/* "[v6]:PORT" is split after the bracket, anything else at its last colon */
	const char *rb = spec[0] == '[' ? strchr(spec, ']') : NULL;
	const char *colon = spec[0] != '[' ? strrchr(spec, ':') : rb && rb[1] == ':' ? rb + 1 : NULL;
	char host[INET6_ADDRSTRLEN + 2]; /* brackets included */
	int port = 0;
	if (!colon || colon == spec || !colon[1])
		return isol8_input_error(err, "%s must be ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got \"%s\"", src, spec);
	size_t n = (size_t)(colon - spec);
	if (n >= sizeof host)
		return isol8_input_error(err, "%s: the address is too long (at most %zu characters)", src, sizeof host - 3);
	memcpy(host, spec, n);
	host[n] = 0;
	if (rb) { /* [v6] */
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	if (listen_parse_port(src, colon + 1, min_port, &port, err) < 0)
		return -1;
	return listen_addr_set(a, host, port, src, err);
}

int listen_tcp(const listen_addr *a, int *bound_port)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_storage ss = a->ss;
	socklen_t len = a->len;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*bound_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int listen_activated(bool *accepted)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	*accepted = false;
	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	int listening = 0;
	socklen_t l = sizeof listening;
	*accepted = getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) == 0 && !listening;
	return 3;
}

int listen_take_stdio(isol8_err *err)
{
	struct stat st;
	if (fstat(0, &st) < 0 || !S_ISSOCK(st.st_mode))
		return isol8_input_error(err, "--inetd needs the client's socket on stdin (inetd, systemd Accept=yes, socat)");
	int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "cannot take the connection on stdin");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(null, 0);
	dup2(null, 1);
	if (fstat(2, &st) == 0 && S_ISSOCK(st.st_mode))
		dup2(null, 2);
	close(null);
	return fd;
}
