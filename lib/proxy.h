/* proxy.h — the filtering egress proxy behind `--net filtered` (and isol8-proxy standalone).
 *
 * Threats handled, each with a test: a sandbox reaching hosts the rules do not allow (pcre2
 * rules on the lower-cased host, blacklist first, then whitelist; an invalid pattern is an
 * error at start-up, never a silent fail-open); reaching loopback, private, link-local, CGNAT
 * or metadata addresses through a public-looking name (names are resolved here and every
 * address is checked; the proxy connects to exactly the address it checked, so DNS rebinding
 * has no gap); domain fronting through CONNECT (the TLS ClientHello's SNI must pass the rules
 * too); tunnels to arbitrary ports (CONNECT only to allowed ports); and resource exhaustion
 * (bounded header size, connection count and idle time). */
#ifndef ISOL8_PROXY_H
#define ISOL8_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"

#define PROXY_MAX_HEAD 16384

typedef struct isol8_proxy_rules {
	void **allow, **deny; /* pcre2_code * */
	size_t nallow, ndeny;
	bool allow_private;
	int ports[16];
	size_t nports;
} isol8_proxy_rules;

int proxy_rules_add(isol8_proxy_rules *r, bool deny, const char *pattern, isol8_err *err);
void proxy_rules_free(isol8_proxy_rules *r);
/* Blacklist first, then whitelist (empty whitelist: every host that passes the blacklist). */
bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host);
bool proxy_port_allowed(const isol8_proxy_rules *r, int port);
/* Loopback, private, link-local, CGNAT, metadata, multicast, unspecified (v4, v6, v4-mapped). */
bool proxy_addr_private(const struct sockaddr *sa);

typedef struct proxy_request {
	char method[16];
	char host[256];
	int port;
	char path[4096];      /* origin-form for HTTP; empty for CONNECT */
	size_t head_len;      /* bytes of the request head, CRLFCRLF included */
	bool connect;
} proxy_request;

/* Parses a request head: CONNECT host:port, or METHOD http://host[:port]/path HTTP/1.x.
 * Returns 1 when complete and valid, 0 when more bytes are needed, -1 when invalid. */
int proxy_parse_head(const char *buf, size_t len, proxy_request *req);
/* The SNI of a TLS ClientHello record: 1 found (out filled), 0 complete but no SNI,
 * -1 not (yet) a parseable ClientHello. */
int proxy_parse_sni(const unsigned char *buf, size_t len, char *out, size_t outlen);

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
