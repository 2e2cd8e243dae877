#include "net/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

static int fail(http_request *r, int code)
{
	r->error = code;
	return -1;
}

/* A refusal with a message for the client (what to send instead). */
static int fail_why(http_request *r, int code, const char *why)
{
	r->reason = why;
	return fail(r, code);
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

static int hexval(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes n bytes of s into out; plus_space for query strings. HTTP_PCT_BAD on a
 * malformed escape, HTTP_PCT_NUL on a decoded NUL (a C string would end there: an id "a%00b"
 * would silently become "a"), HTTP_PCT_LONG when out has no room (never truncated). */
static int pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return HTTP_PCT_LONG;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return HTTP_PCT_BAD;
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return HTTP_PCT_BAD;
			c = h * 16 + l;
			i += 2;
			if (c == 0)
				return HTTP_PCT_NUL;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return HTTP_PCT_LONG;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* Copies a header value (already trimmed) if it fits; an oversized one is an error, not a
 * silent truncation (a truncated key could still compare equal to a prefix). */
static int copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

static int parse_request_line(const char *l, size_t n, http_request *r)
{
	const char *sp1 = memchr(l, ' ', n);
	if (!sp1 || sp1 == l || (size_t)(sp1 - l) >= sizeof r->method)
		return fail(r, sp1 && sp1 != l ? 501 : 400);
	for (const char *p = l; p < sp1; p++)
		if (*p < 'A' || *p > 'Z')
			return fail(r, 400);
	memcpy(r->method, l, (size_t)(sp1 - l));
	r->method[sp1 - l] = 0;
	const char *t = sp1 + 1, *end = l + n;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2)
		return fail(r, 400);
	if (end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return fail(r, 400);
	char minor = sp2[8];
	if (minor != '0' && minor != '1')
		return fail(r, 505);
	r->close = minor == '0';
	size_t tlen = (size_t)(sp2 - t);
	if (tlen == 0 || t[0] != '/')
		return fail(r, 400);
	if (tlen >= HTTP_MAX_TARGET)
		return fail(r, 414);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return fail(r, 400);
	const char *q = memchr(t, '?', tlen);
	size_t plen = q ? (size_t)(q - t) : tlen;
	int d = pct_decode(t, plen, false, r->path, sizeof r->path);
	if (d == HTTP_PCT_NUL)
		return fail_why(r, 400, "the request path contains %00: a NUL byte is never part of a path or an id");
	if (d < 0)
		return fail_why(r, 400, "the request path has a malformed %-escape");
	if (q) {
		memcpy(r->query, q + 1, tlen - plen - 1);
		r->query[tlen - plen - 1] = 0;
	}
	return 0;
}

static int parse_header(const char *l, size_t n, http_request *r)
{
	const char *colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return fail(r, 400);
	for (const char *p = l; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return fail(r, 400); /* also refuses obs-fold (a line starting with a space) */
	size_t nlen = (size_t)(colon - l);
	const char *v = colon + 1, *end = l + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *p = v; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(r, 400);
	size_t vlen = (size_t)(end - v);
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(l, name, nlen))
	if (IS("Content-Length")) {
		unsigned long long x = 0;
		if (vlen == 0 || vlen > 15)
			return fail(r, 400);
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(r, 400);
			x = x * 10 + (unsigned)(v[i] - '0');
		}
		if (r->has_length && r->content_length != x)
			return fail(r, 400);
		r->content_length = x;
		r->has_length = true;
	} else if (IS("Transfer-Encoding")) {
		return fail(r, 501);
	} else if (IS("Authorization")) {
		if (r->auth[0] || copy_value(r->auth, sizeof r->auth, v, vlen) < 0)
			return fail(r, 400);
	} else if (IS("X-Isol8-Session")) {
		/* a second one is refused: a balancer may route by one and the check see the other */
		if (r->session[0] || copy_value(r->session, sizeof r->session, v, vlen) < 0)
			return fail(r, 400);
	} else if (IS("Origin") || IS("Mcp-Session-Id") || IS("MCP-Protocol-Version") || IS("Accept")) {
		/* a second one is refused: which of two Origins was checked must never be a question */
		char *dst = IS("Origin") ? r->origin : IS("Accept") ? r->accept : IS("Mcp-Session-Id") ? r->mcp_session : r->mcp_version;
		size_t cap = IS("Origin") ? sizeof r->origin : IS("Accept") ? sizeof r->accept
			   : IS("Mcp-Session-Id") ? sizeof r->mcp_session : sizeof r->mcp_version;
		if (dst[0] || (!vlen && dst != r->accept) || copy_value(dst, cap, v, vlen) < 0)
			return fail(r, 400);
	} else if (IS("Expect")) {
		if (vlen == 12 && !strncasecmp(v, "100-continue", 12))
			r->expect_continue = true;
		else
			return fail(r, 417);
	} else if (IS("Connection")) {
		if (vlen == 5 && !strncasecmp(v, "close", 5))
			r->close = true;
	}
#undef IS
	return 0;
}

int http_parse_request(const char *buf, size_t len, http_request *r)
{
	memset(r, 0, sizeof *r);
	size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	const char *end = memmem(buf, scan, "\r\n\r\n", 4);
	/* Bare LF, NUL: refuse now rather than wait for a CRLFCRLF that never comes. Only in the
	 * head: the body that arrived with it is the route's (a JSON body may end in "\n"). */
	size_t head_scan = end ? (size_t)(end - buf) + 4 : scan;
	for (size_t i = 0; i < head_scan; i++)
		if ((buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) || buf[i] == 0)
			return fail_why(r, 400, buf[i] ? "bare LF in the request head: lines end with CRLF"
						     : "NUL byte in the request head");
	if (!end)
		return len >= HTTP_MAX_HEAD ? fail(r, 431) : 0;
	r->head_len = (size_t)(end - buf) + 4;
	const char *p = buf, *stop = end + 2;
	int line = 0;
	while (p < stop) {
		const char *eol = memmem(p, (size_t)(stop - p), "\r\n", 2);
		size_t n = (size_t)(eol - p);
		if (line == 0 ? parse_request_line(p, n, r) < 0 : parse_header(p, n, r) < 0)
			return -1;
		if (++line > HTTP_MAX_HEADERS + 1)
			return fail(r, 431);
		p = eol + 2;
	}
	if (r->has_length && !strcmp(r->method, "GET") && r->content_length)
		return fail(r, 400);
	return 1;
}

int http_query_param(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			int d = pct_decode(p + nl + 1, seg - nl - 1, true, out, outlen);
			return d < 0 ? d : 1;
		}
		if (seg == nl && !strncmp(p, name, nl)) {
			if (outlen)
				out[0] = 0;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

const char *http_status_text(int code)
{
	switch (code) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int http_respond(int fd, int code, const char *content_type, const char *extra, const void *body, size_t len)
{
	char head[1024];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
			 "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
			 code, http_status_text(code), content_type, len, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	if (write_all(fd, head, (size_t)n) < 0)
		return -1;
	return len ? write_all(fd, body, len) : 0;
}
