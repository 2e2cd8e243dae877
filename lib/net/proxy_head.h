/* proxy_head.h — the parsers of what a client sends the proxy in the clear (proxy_head.c): the
 * request head (CONNECT host:port, or an absolute http:// URI), its Host header, and HTTP/1.1
 * message framing for keep-alive.
 *
 * Threats: heads that never end (bounded at PROXY_MAX_HEAD), domain fronting through a Host
 * header that names another host than the URI, and request smuggling through ambiguous framing
 * (several Content-Length, Transfer-Encoding with Content-Length, "Name :" headers). Every input
 * byte here comes from untrusted code: these functions are fuzzed (tests/fuzz/fuzz_proxy.c). */
#ifndef ISOL8_PROXY_HEAD_H
#define ISOL8_PROXY_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define PROXY_MAX_HEAD 16384

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

#endif
