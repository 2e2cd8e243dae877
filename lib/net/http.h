/* http.h — the strict HTTP/1.1 request parser and response writer behind isol8-serve.
 *
 * Threat: anyone who can reach the server's port sends these bytes, authenticated or not. So
 * the parser accepts only what a real client sends and refuses the rest with a status code:
 * a head larger than HTTP_MAX_HEAD (431), more than HTTP_MAX_HEADERS header lines (431), a
 * target longer than HTTP_MAX_TARGET (414), control characters, obsolete line folding, bare LF,
 * conflicting Content-Length headers (400) and Transfer-Encoding on a request (501: bodies
 * need a Content-Length, so there is no chunked decoder to get wrong). It never allocates; the
 * caller bounds the body. libFuzzer runs it (tests/fuzz/fuzz_http.c). */
#ifndef ISOL8_HTTP_H
#define ISOL8_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD 16384
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_TARGET 4096

typedef struct http_request {
	char method[8];
	char path[HTTP_MAX_TARGET];   /* the target before '?', percent-decoded */
	char query[HTTP_MAX_TARGET];  /* after '?', raw */
	char auth[1024];              /* the Authorization header's value */
	char session[128];            /* X-Isol8-Session (load balancers hash on it): the routes refuse
	                              * a request whose session id is another (400) */
	char origin[512];             /* Origin (a browser's page), "" when absent */
	char accept[1024];            /* Accept */
	char mcp_session[128];        /* Mcp-Session-Id (/mcp) */
	char mcp_version[32];         /* MCP-Protocol-Version (/mcp) */
	unsigned long long content_length;
	bool has_length;
	bool expect_continue;
	bool close;                   /* Connection: close, or HTTP/1.0 */
	size_t head_len;              /* bytes of the head, final CRLFCRLF included */
	int error;                    /* when the parse fails: the status to answer with */
	const char *reason;           /* …and, when set, what to tell the client (a static string) */
} http_request;

/* 1 when buf holds a complete, valid head (r filled), 0 when more bytes are needed, -1 when
 * invalid (r->error is the status: 400, 414, 431, 501 or 505). */
int http_parse_request(const char *buf, size_t len, http_request *r);
#define HTTP_PCT_BAD (-1)  /* a malformed %-escape */
#define HTTP_PCT_NUL (-2)  /* %00: refused, a C string would silently end there */
#define HTTP_PCT_LONG (-3) /* longer than the caller's buffer: refused, never truncated */
/* The value of name in a query string, percent-decoded ('+' is a space). 1 found, 0 absent,
 * else HTTP_PCT_BAD, HTTP_PCT_NUL or HTTP_PCT_LONG (out is then unusable). */
int http_query_param(const char *query, const char *name, char *out, size_t outlen);
/* "OK", "Not Found", … for the codes the server uses. */
const char *http_status_text(int code);
/* A whole response with a JSON (or other) body; extra is more header lines, each ending in
 * CRLF, or NULL. Returns -1 if the peer is gone. */
int http_respond(int fd, int code, const char *content_type, const char *extra, const void *body, size_t len);

#endif
