/* proxy.h — the filtering egress proxy behind `--net filtered` (and isol8-proxy standalone).
 *
 * Threats handled, each with a test (tests/unit/test_proxy.c, tests/integ/85-network.t,
 * tests/integ/86-proxy-attacks.t; docs/proxy.md is the design record):
 * - reaching hosts the rules do not allow: pcre2 rules on one canonical form of the host
 *   (lower case, no trailing dot, IP literals in one spelling), blacklist first, then
 *   whitelist; an invalid pattern is an error at start-up, never a silent fail-open;
 * - reaching this host or special-purpose addresses (RFC 6890: loopback, private, link-local,
 *   CGNAT, documentation, benchmarking, multicast, reserved; IPv4 hidden in IPv6 by NAT64,
 *   6to4, Teredo, mapping) through a public-looking name: names are resolved here, every
 *   address is checked, and the proxy connects to exactly the address it checked (no DNS
 *   rebinding gap); the host's own addresses are read at each connection;
 * - ports other than the allowed ones (80 and 443 unless the operator says otherwise), for
 *   CONNECT and plain HTTP alike;
 * - domain fronting: the TLS ClientHello's SNI must pass the rules too (reassembled across
 *   records, refused when it cannot be parsed or hides the real name with ECH), a plain-HTTP
 *   Host header must name what the absolute URI names, and a CONNECT tunnel carries TLS only;
 * - resource exhaustion: bounded header size, ClientHello size, connection count, idle time,
 *   and one deadline for a whole request head or ClientHello (no trickling a byte at a time). */
#ifndef ISOL8_PROXY_H
#define ISOL8_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"

#define PROXY_MAX_HEAD 16384
#define PROXY_MAX_HELLO 16384                   /* ClientHello handshake bytes reassembled at most */
#define PROXY_MAX_HELLO_RAW (4 * PROXY_MAX_HELLO) /* raw bytes (records and their headers) read for it */

typedef struct isol8_proxy_rules {
	void **allow, **deny; /* pcre2_code * */
	size_t nallow, ndeny;
	bool allow_private;
	int ports[16];
	size_t nports;
} isol8_proxy_rules;

int proxy_rules_add(isol8_proxy_rules *r, bool deny, const char *pattern, isol8_err *err);
void proxy_rules_free(isol8_proxy_rules *r);
/* Blacklist first, then whitelist (empty whitelist: every host that passes the blacklist). An
 * IPv6 literal carrying an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) is judged in both
 * forms and passes only if each does. */
bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host);
/* CONNECT and plain HTTP alike: r->ports, or 80 and 443 when none were given. */
bool proxy_port_allowed(const isol8_proxy_rules *r, int port);
/* The special-purpose ranges of RFC 6890 and its successors, for IPv4 and IPv6 (IPv6: only
 * global unicast 2000::/3 may pass, and the NAT64 prefix 64:ff9b::/96 when the IPv4 address it
 * carries may). */
bool proxy_addr_special(const struct sockaddr *sa);
/* An address of one of this host's interfaces (read now), or an IPv6 address carrying one.
 * Fails closed: true when the interfaces cannot be read. */
bool proxy_addr_this_host(const struct sockaddr *sa);
struct addrinfo;
/* Connects to the first address of a resolved list that passes the address policy (every one
 * when allow_private), reading this host's interfaces once for the whole list: returns the
 * socket, or -1 and *refusal (why an address was refused; NULL when none was and connecting
 * failed). */
int proxy_dial_addrs(const struct addrinfo *res, bool allow_private, const char **refusal);

/* Puts a host (n bytes; bracketed: it came as [v6]) in its one canonical form: a name lower
 * case without its trailing dot; an IPv4 literal in any inet_aton spelling ("127.1",
 * "0x7f.1", "2130706433") as a dotted quad; an IPv6 literal in RFC 5952 form, a v4-mapped one
 * as its IPv4 address. 0, or -1 and *why (non-ASCII names, empty labels, a numeric last label
 * that is no IPv4 address, …). out needs 256 bytes. */
int proxy_canon_host(const char *in, size_t n, bool bracketed, char *out, size_t outlen, const char **why);

typedef struct proxy_request {
	char method[16];
	char host[256];       /* canonical (proxy_canon_host) */
	int port;
	char path[4096];      /* origin-form for HTTP; empty for CONNECT */
	size_t head_len;      /* bytes of the request head, CRLFCRLF included */
	bool connect;
	const char *error;    /* why the head was refused (-1), for the 400 line */
} proxy_request;

/* Parses a request head: CONNECT host:port, or METHOD http://host[:port]/path HTTP/1.x.
 * Returns 1 when complete and valid, 0 when more bytes are needed, -1 when invalid. */
int proxy_parse_head(const char *buf, size_t len, proxy_request *req);
/* The Host header(s) of a parsed absolute-form request head against its URI, both canonical
 * and port-aware: 1 one Host that agrees, 0 none (HTTP/1.0), -1 one that names another host or
 * port (seen gets its canonical host:port), -2 several or an unparseable one. */
int proxy_check_host_header(const char *head, size_t len, const proxy_request *req, char *seen, size_t seenlen);

/* The TLS ClientHello at the start of a CONNECT tunnel, reassembled across records as bytes
 * arrive. feed() is given the whole stream read so far each time (len grows) and consumes only
 * the records it has not seen, so the work is linear however the hello is split. */
typedef struct proxy_hello {
	unsigned char hs[PROXY_MAX_HELLO]; /* handshake bytes, record headers stripped */
	size_t hs_len;
	size_t raw_used;                   /* stream bytes consumed (whole records) */
} proxy_hello;
/* 1 complete with an SNI (out: canonical), 0 complete without one, -1 more bytes needed,
 * -2 refused (*why): not TLS, not a ClientHello, over PROXY_MAX_HELLO, malformed, an SNI that
 * is no valid host name, or an encrypted ClientHello (ECH, ESNI: the real name hidden). Start
 * with a zeroed proxy_hello. */
int proxy_hello_feed(proxy_hello *h, const unsigned char *raw, size_t len, char *out, size_t outlen, const char **why);
/* One-shot proxy_hello_feed over a whole buffer. */
int proxy_parse_sni(const unsigned char *buf, size_t len, char *out, size_t outlen, const char **why);

/* HTTP/1.1 message framing (keep-alive needs to know where each body ends). */
enum proxy_body { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_UNTIL_CLOSE };
typedef struct proxy_framing {
	enum proxy_body kind;
	unsigned long long length; /* BODY_LENGTH */
	bool close;                /* the connection ends after this message */
	int status;                /* responses: the status code */
} proxy_framing;

/* Framing of a request head (method from the request line) or of a response head to a request
 * with req_method. -1 for an ambiguous or invalid message (several differing Content-Length,
 * Transfer-Encoding that does not end in chunked on a request, …): smuggling attempts. */
int proxy_request_framing(const char *head, size_t len, proxy_framing *f);
int proxy_response_framing(const char *head, size_t len, const char *req_method, proxy_framing *f);
/* A chunk-size line ("1a;ext=x", no CRLF): 0 and *size, or -1. */
int proxy_parse_chunk_size(const char *line, size_t len, unsigned long long *size);

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
