/* Listen addresses (ADDR:PORT, [v6]:PORT, a port alone), the listening socket, systemd socket
 * activation and inetd's stdin (lib/net/listen.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listen.h"
#include "tap.h"

/* A refusal is one line that names where the value came from. */
static bool one_line_naming(const isol8_err *err, const char *src)
{
	return err->msg[0] && !strchr(err->msg, '\n') && strstr(err->msg, src);
}

static void parses(const char *spec, int min_port, const char *host, int port, int family)
{
	listen_addr a;
	isol8_err err = {0};
	int rc = listen_parse("--listen", spec, min_port, &a, &err);
	ok(rc == 0 && !strcmp(a.host, host) && a.port == port && a.ss.ss_family == family, "\"%s\" is %s port %d", spec,
	   host, port);
	if (rc)
		printf("#   %s\n", err.msg);
}

static void refused(const char *spec, int min_port, const char *why, const char *want)
{
	listen_addr a;
	isol8_err err = {0};
	int rc = listen_parse("--listen", spec, min_port, &a, &err);
	ok(rc < 0 && one_line_naming(&err, "--listen") && strstr(err.msg, want), "refused, %s: %s", why, err.msg);
}

static void addresses(void)
{
	parses("127.0.0.1:8118", 1, "127.0.0.1", 8118, AF_INET);
	parses("0.0.0.0:65535", 1, "0.0.0.0", 65535, AF_INET);
	parses("[::1]:3000", 1, "::1", 3000, AF_INET6);
	parses("[::]:1", 1, "::", 1, AF_INET6);
	parses("::1:3000", 1, "::1", 3000, AF_INET6); /* unbracketed: split at the last colon */
	parses("127.0.0.1:0", 0, "127.0.0.1", 0, AF_INET); /* where port 0 is allowed: any free port */

	refused("127.0.0.1:0", 1, "port 0", "Expected 1-65535");
	refused("127.0.0.1:65536", 1, "port 65536", "Expected 1-65535");
	refused("127.0.0.1:65536", 0, "port 65536 (port 0 allowed)", "Expected 0-65535");
	refused("127.0.0.1:-1", 0, "a negative port", "Invalid port");
	refused("127.0.0.1:80x", 1, "junk after the port", "Invalid port");
	refused("127.0.0.1:", 1, "an empty port", "ADDR:PORT");
	refused("127.0.0.1", 1, "a missing port", "ADDR:PORT");
	refused("[::1]", 1, "a missing port after [v6]", "ADDR:PORT");
	refused("8118", 1, "a port without an address", "ADDR:PORT");
	refused(":8118", 1, "an empty address", "ADDR:PORT");
	refused("", 1, "an empty string", "ADDR:PORT");
	refused("junk", 1, "junk", "ADDR:PORT");
	refused("localhost:80", 1, "a name, not an address", "not an IP address");
	refused("127.0.0.1.5:80", 1, "five parts", "not an IP address");
	refused("[::1:80", 1, "an unclosed bracket", "ADDR:PORT");
	refused("[::1]x:80", 1, "junk after the bracket", "ADDR:PORT");
	refused("[::1]:", 1, "an empty port after [v6]", "ADDR:PORT");
	refused("[]:80", 1, "empty brackets", "not an IP address");
	refused("[localhost]:80", 1, "a name in brackets", "not an IP address");
	refused("[1111:2222:3333:4444:5555:6666:7777:8888:9999]:80", 1, "a nine-group IPv6", "not an IP address");
	parses("[0000:0000:0000:0000:0000:ffff:255.255.255.255]:80", 1, "0000:0000:0000:0000:0000:ffff:255.255.255.255", 80,
	       AF_INET6); /* the longest IPv6 literal */
	refused("[00000:0000:0000:0000:0000:ffff:255.255.255.255]:80", 1, "one character more", "too long");

	char big[300];
	memset(big, '1', sizeof big);
	memcpy(big + sizeof big - 4, ":80", 4);
	refused(big, 1, "a 296-character address", "too long");
}

static void ports(void)
{
	int port = -1;
	isol8_err err = {0};
	ok(listen_parse_port("--port", "3000", 1, &port, &err) == 0 && port == 3000, "a port alone");
	ok(listen_parse_port("PORT", "0", 0, &port, &err) == 0 && port == 0, "port 0 where it is allowed");
	ok(listen_parse_port("ISOL8_PORT", "99999", 1, &port, &err) < 0, "port 99999 refused");
	is_str(err.msg, "Invalid port from ISOL8_PORT: 99999. Expected 1-65535.", "…with the documented message");
	ok(listen_parse_port("--port", "", 1, &port, &err) < 0 && one_line_naming(&err, "--port"), "an empty port refused");
	ok(listen_parse_port("--port", "0x50", 1, &port, &err) < 0, "a hex port refused");
}

static void sockets(void)
{
	listen_addr a;
	isol8_err err = {0};
	int port = 0;
	ok(listen_parse("--listen", "127.0.0.1:0", 0, &a, &err) == 0, "127.0.0.1:0 parses");
	int fd = listen_tcp(&a, &port);
	ok(fd >= 0 && port > 0, "listening on port 0 gets a free port (%d)", port);
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "…close-on-exec");
	int again = listen_addr_set(&a, "127.0.0.1", port, "--listen", &err) == 0 ? listen_tcp(&a, &port) : -2;
	ok(again == -1 && errno == EADDRINUSE, "the same port again: EADDRINUSE");
	ok(listen_addr_set(&a, "example.com", 80, "--listen", &err) < 0 && one_line_naming(&err, "--listen"),
	   "listen_addr_set takes no names");

	/* socket activation: fd 3, for this process only */
	bool accepted = true;
	unsetenv("LISTEN_PID");
	setenv("LISTEN_FDS", "1", 1);
	ok(listen_activated(&accepted) == -1 && !accepted, "LISTEN_FDS without LISTEN_PID: none");
	setenv("LISTEN_PID", "1", 1);
	ok(listen_activated(&accepted) == -1, "LISTEN_PID of another process: none");
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "0", 1);
	ok(listen_activated(&accepted) == -1, "LISTEN_FDS=0: none");
	setenv("LISTEN_FDS", "1", 1);
	dup2(fd, 3);
	ok(listen_activated(&accepted) == 3 && !accepted, "a listening socket passed as fd 3");
	ok(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS"), "…and the variables are gone (no child takes it)");
	ok((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0, "…close-on-exec");
	close(3);
	close(fd);

	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	dup2(sv[0], 3);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ok(listen_activated(&accepted) == 3 && accepted, "an accepted connection passed as fd 3 (Accept=yes)");
	close(3);
	close(sv[0]);
	close(sv[1]);
}

/* inetd with a stdin that is no socket: refused, and stdin left alone */
static void inetd_needs_a_socket(void)
{
	int p[2], saved = dup(0);
	isol8_err err = {0};
	if (pipe(p) < 0)
		return;
	dup2(p[0], 0);
	ok(listen_take_stdio(&err) == -1 && one_line_naming(&err, "--inetd"), "--inetd with a pipe on stdin: %s", err.msg);
	dup2(saved, 0);
	close(saved);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	addresses();
	ports();
	sockets();
	inetd_needs_a_socket();
	return done_testing();
}
