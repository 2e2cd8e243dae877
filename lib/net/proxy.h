/* proxy.h — the filtering egress proxy behind `--net filtered` (and isol8-proxy standalone).
 *
 * The tool's API: this header includes the parts, one per concern, each with the threat it
 * handles (tests/unit/test_proxy.c, tests/integ/85-network.t, tests/integ/86-proxy-attacks.t;
 * docs/proxy.md is the design record):
 * - proxy_rules.h: pcre2 allow/deny rules on hosts, and the allowed ports;
 * - proxy_addr.h: the address policy (RFC 6890 ranges, this host's own addresses) and dialling
 *   exactly the address checked;
 * - proxy_host.h: one canonical form per host, so no other spelling dodges a rule;
 * - proxy_head.h: the request head, its Host header, HTTP/1.1 framing (smuggling);
 * - proxy_hello.h: the TLS ClientHello's SNI, reassembled across records (fronting).
 * Here: one client connection (proxy.c), which applies them in order and writes the network
 * log, and the accept loop. Resource exhaustion is bounded there: header size, ClientHello
 * size, connection count, idle time, and one deadline for a whole request head or ClientHello
 * (no trickling a byte at a time; proxy_stream.h). */
#ifndef ISOL8_PROXY_H
#define ISOL8_PROXY_H

#include "core/err.h"
#include "net/proxy_addr.h"
#include "net/proxy_head.h"
#include "net/proxy_hello.h"
#include "net/proxy_host.h"
#include "net/proxy_rules.h"

typedef struct isol8_proxy_opts {
	isol8_proxy_rules rules;
	int log_fd;           /* one JSON line per request; -1 for none */
	int max_conns;
	int idle_ms;
} isol8_proxy_opts;

/* Serves one accepted client connection (blocking); used per connection by proxy_serve. */
void proxy_handle(int client, const isol8_proxy_opts *o);
/* Accept loop on a listening socket: one child process per connection, at most max_conns.
 * Returns when stop_fd (if >= 0) becomes readable. */
int proxy_serve(int listen_fd, const isol8_proxy_opts *o, int stop_fd, isol8_err *err);

#endif
