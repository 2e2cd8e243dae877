/* listen.h — where a server's connections come from (listen.c): an ADDR:PORT to listen on,
 * the socket systemd passes (socket activation, LISTEN_FDS/LISTEN_PID), or the one connection
 * inetd puts on stdin. Shared by isol8-proxy and isol8-serve.
 *
 * Threat: a server listening somewhere else than the operator wrote: a port out of range
 * wrapped into it, trailing junk ignored, a name resolved to an address nobody checked. Only
 * literal addresses and whole port numbers are accepted; anything else is one clear error line,
 * before any socket is opened. */
#ifndef ISOL8_LISTEN_H
#define ISOL8_LISTEN_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "core/err.h"

typedef struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char host[INET6_ADDRSTRLEN]; /* the address as written, without brackets */
	int port;
} listen_addr;

/* A whole port number from min_port (0: "any free port") to 65535. src names where raw came
 * from (an option, a variable) for the error: "Invalid port from SRC: RAW. Expected 1-65535." */
int listen_parse_port(const char *src, const char *raw, int min_port, int *port, isol8_err *err);
/* An IPv4 or IPv6 literal (no brackets) and a port into a. 0, or -1 with err. */
int listen_addr_set(listen_addr *a, const char *host, int port, const char *src, isol8_err *err);
/* "ADDR:PORT": ADDR an IPv4 literal or a bracketed IPv6 one ("[::1]:3000"; an unbracketed one
 * is split at its last colon), PORT from min_port to 65535. 0, or -1 with err naming src. */
int listen_parse(const char *src, const char *spec, int min_port, listen_addr *a, isol8_err *err);

/* A TCP socket listening on a (SO_REUSEADDR, close-on-exec, backlog 128) with *bound_port the
 * port it got (the one the kernel picked for port 0): the fd, or -1 with errno. */
int listen_tcp(const listen_addr *a, int *bound_port);

/* systemd socket activation: when LISTEN_PID is this process and LISTEN_FDS at least 1, fd 3
 * (made close-on-exec, the variables removed so no child takes it for its own), with *accepted
 * true when it is a connection systemd accepted (Accept=yes) rather than a listening socket.
 * -1 when there is none. */
int listen_activated(bool *accepted);

/* inetd (and systemd Accept=yes, socat EXEC): the client's socket is stdin/stdout. Returns it on
 * an fd above 2 and points stdin, stdout (and stderr when it is the socket too) at /dev/null, so
 * that no line of ours reaches the client; -1 with err when stdin is no socket. */
int listen_take_stdio(isol8_err *err);

#endif
