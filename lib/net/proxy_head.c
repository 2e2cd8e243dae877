/* proxy_head.c — the parsers of a client's request head: the request line (CONNECT target or
 * absolute URI), the Host header, and HTTP/1.1 message framing.
 *
 * Threats: every byte comes from untrusted code. A head is bounded (PROXY_MAX_HEAD); userinfo
 * in a URI is refused (it only serves to confuse host checks); a Host header must name what the
 * URI names (fronting); framing that two parsers could read differently (differing or doubled
 * Content-Length, Transfer-Encoding with Content-Length or not ending in chunked, "Name :") is
 * refused (request smuggling). Fuzzed by tests/fuzz/fuzz_proxy.c. */
#include "net/proxy_head.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "net/proxy_host.h"

/* ---- the request line ---------------------------------------------------------------------- */

/* host[:port] or [v6][:port] into a canonical host and a port. */
static int split_hostport(const char *s, size_t n, int def_port, char *host, size_t hostlen, int *port, const char **why)
{
	const char *end = s + n, *colon, *h = s;
	size_t hl;
	bool bracketed = n && s[0] == '[';
	*why = "invalid host:port";
	if (bracketed) {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < end && !colon)
			return -1;
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
	}
	*port = def_port;
	if (colon) {
		long long p;
		char num[8];
		size_t pl = (size_t)(end - colon - 1);
		if (!pl || pl >= sizeof num)
			return -1;
		memcpy(num, colon + 1, pl);
		num[pl] = 0;
		if (parse_ll(num, 1, 65535, &p) < 0)
			return -1;
		*port = (int)p;
	}
	return proxy_canon_host(h, hl, bracketed, host, hostlen, why);
}

static int head_error(proxy_request *req, const char *why)
{
	req->error = why;
	return -1;
}

int proxy_parse_head(const char *buf, size_t len, proxy_request *req)
{
	memset(req, 0, sizeof *req);
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			end = buf + i + 4;
			break;
		}
	if (!end)
		return len > PROXY_MAX_HEAD ? head_error(req, "request head over 16 KiB") : 0;
	req->head_len = (size_t)(end - buf);
	const char *eol = memchr(buf, '\r', req->head_len);
	const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof req->method)
		return head_error(req, "invalid request line");
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || (size_t)(eol - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return head_error(req, "invalid request line");
	memcpy(req->method, buf, (size_t)(sp1 - buf));
	for (char *m = req->method; *m; m++)
		if (!isupper((unsigned char)*m))
			return head_error(req, "invalid request line");
	const char *t = sp1 + 1, *why;
	size_t tl = (size_t)(sp2 - t);
	if (!strcmp(req->method, "CONNECT")) {
		req->connect = true;
		if (!memchr(t, ':', tl))
			return head_error(req, "CONNECT needs host:port");
		return split_hostport(t, tl, 443, req->host, sizeof req->host, &req->port, &why) < 0 ? head_error(req, why) : 1;
	}
	if (tl < 8 || strncasecmp(t, "http://", 7))
		return head_error(req, "not a proxy request (send an absolute http:// URI, or CONNECT for https)");
	const char *hs = t + 7, *te = t + tl;
	const char *slash = memchr(hs, '/', (size_t)(te - hs));
	const char *he = slash ? slash : te;
	if (memchr(hs, '@', (size_t)(he - hs)))
		return head_error(req, "userinfo in the URI"); /* it only serves to confuse host checks */
	if (split_hostport(hs, (size_t)(he - hs), 80, req->host, sizeof req->host, &req->port, &why) < 0)
		return head_error(req, why);
	size_t pl = slash ? (size_t)(te - slash) : 1;
	if (pl >= sizeof req->path)
		return head_error(req, "request URI too long");
	if (slash)
		memcpy(req->path, slash, pl);
	else
		req->path[0] = '/';
	req->path[pl] = 0;
	return 1;
}

/* ---- headers --------------------------------------------------------------------------------- */

/* Calls fn for every "Name: value" line of a head (after the first line). */
static int each_header(const char *head, size_t len, int (*fn)(const char *name, size_t nl, const char *val, size_t vl, void *ctx),
		       void *ctx)
{
	const char *p = memchr(head, '\n', len), *end = head + len;
	if (!p)
		return -1;
	for (p++; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		size_t l = (size_t)(nl - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (!l)
			break; /* the empty line */
		const char *colon = memchr(p, ':', l);
		if (!colon || colon == p)
			return -1;
		for (const char *c = p; c < colon; c++)
			if (*c == ' ' || *c == '\t')
				return -1; /* "Name :" — a classic smuggling vector */
		const char *v = colon + 1, *ve = p + l;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		int r = fn(p, (size_t)(colon - p), v, (size_t)(ve - v), ctx);
		if (r)
			return r;
		p = nl + 1;
	}
	return 0;
}

struct host_scan {
	const proxy_request *req;
	int count;
	bool differs, bad;
	char seen[300];
};

static int scan_host(const char *name, size_t nl, const char *v, size_t vl, void *ctx)
{
	struct host_scan *h = ctx;
	if (nl != 4 || strncasecmp(name, "Host", 4))
		return 0;
	char host[256];
	int port;
	const char *why;
	if (++h->count > 1 || split_hostport(v, vl, 80, host, sizeof host, &port, &why) < 0) {
		h->bad = true;
		return 1;
	}
	h->differs = strcmp(host, h->req->host) || port != h->req->port;
	snprintf(h->seen, sizeof h->seen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	return 0;
}

/* Threat: an absolute URI naming an allowed host, forwarded with a Host header naming a denied
 * one: the rules see the URI, a virtual-hosting origin or a CDN serves the Host. */
int proxy_check_host_header(const char *head, size_t len, const proxy_request *req, char *seen, size_t seenlen)
{
	struct host_scan h = {.req = req};
	if (each_header(head, len, scan_host, &h) < 0 || h.bad)
		return -2;
	if (!h.count)
		return 0;
	if (h.differs) {
		snprintf(seen, seenlen, "%s", h.seen);
		return -1;
	}
	return 1;
}

/* ---- HTTP/1.1 framing ---------------------------------------------------------------------- */

static bool has_token(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = 0; i + tl <= vl; i++)
		if (!strncasecmp(v + i, tok, tl) && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + tl == vl || v[i + tl] == ',' || v[i + tl] == ' '))
			return true;
	return false;
}

struct hdr_scan {
	int cl_count;
	unsigned long long cl;
	bool te, te_chunked_last, conn_close, conn_keepalive;
};

static int scan_header(const char *name, size_t nl, const char *v, size_t vl, void *ctx)
{
	struct hdr_scan *h = ctx;
	if (nl == 14 && !strncasecmp(name, "Content-Length", 14)) {
		char num[24];
		long long n;
		if (!vl || vl >= sizeof num)
			return -1;
		memcpy(num, v, vl);
		num[vl] = 0;
		if (parse_ll(num, 0, 1ll << 50, &n) < 0)
			return -1;
		if (h->cl_count && (unsigned long long)n != h->cl)
			return -1; /* differing lengths */
		h->cl = (unsigned long long)n;
		h->cl_count++;
	} else if (nl == 17 && !strncasecmp(name, "Transfer-Encoding", 17)) {
		h->te = true;
		/* chunked must be the last coding */
		size_t e = vl;
		while (e && (v[e - 1] == ' ' || v[e - 1] == ','))
			e--;
		h->te_chunked_last = e >= 7 && !strncasecmp(v + e - 7, "chunked", 7) && (e == 7 || v[e - 8] == ',' || v[e - 8] == ' ');
	} else if (nl == 10 && !strncasecmp(name, "Connection", 10)) {
		h->conn_close |= has_token(v, vl, "close");
		h->conn_keepalive |= has_token(v, vl, "keep-alive");
	}
	return 0;
}

static bool http10(const char *head, size_t len, bool request)
{
	const char *eol = memchr(head, '\r', len);
	if (!eol)
		return true;
	if (request)
		return eol - head >= 8 && !strncmp(eol - 8, "HTTP/1.0", 8);
	return len >= 8 && !strncmp(head, "HTTP/1.0", 8);
}

int proxy_request_framing(const char *head, size_t len, proxy_framing *f)
{
	struct hdr_scan h = {0};
	memset(f, 0, sizeof *f);
	if (each_header(head, len, scan_header, &h) < 0)
		return -1;
	if (h.te && h.cl_count)
		return -1; /* both: refuse rather than guess which one the origin believes */
	if (h.te) {
		if (!h.te_chunked_last)
			return -1;
		f->kind = BODY_CHUNKED;
	} else if (h.cl_count) {
		f->kind = h.cl ? BODY_LENGTH : BODY_NONE;
		f->length = h.cl;
	}
	f->close = h.conn_close || (http10(head, len, true) && !h.conn_keepalive);
	return 0;
}

int proxy_response_framing(const char *head, size_t len, const char *req_method, proxy_framing *f)
{
	struct hdr_scan h = {0};
	memset(f, 0, sizeof *f);
	if (len < 12 || strncmp(head, "HTTP/1.", 7) || head[8] != ' ')
		return -1;
	char code[4] = {head[9], head[10], head[11], 0};
	long long st;
	if (parse_ll(code, 100, 999, &st) < 0)
		return -1;
	f->status = (int)st;
	if (each_header(head, len, scan_header, &h) < 0)
		return -1;
	f->close = h.conn_close || (http10(head, len, false) && !h.conn_keepalive);
	if (!strcmp(req_method, "HEAD") || (st >= 100 && st < 200 && st != 101) || st == 204 || st == 304) {
		f->kind = BODY_NONE;
	} else if (st == 101) {
		f->kind = BODY_UNTIL_CLOSE; /* an upgraded connection: a tunnel from here on */
		f->close = true;
	} else if (h.te) {
		f->kind = h.te_chunked_last ? BODY_CHUNKED : BODY_UNTIL_CLOSE;
		f->close |= !h.te_chunked_last;
	} else if (h.cl_count) {
		f->kind = h.cl ? BODY_LENGTH : BODY_NONE;
		f->length = h.cl;
	} else {
		f->kind = BODY_UNTIL_CLOSE;
		f->close = true;
	}
	return 0;
}

int proxy_parse_chunk_size(const char *line, size_t len, unsigned long long *size)
{
	unsigned long long v = 0;
	size_t i = 0;
	for (; i < len && isxdigit((unsigned char)line[i]); i++) {
		if (v >> 56)
			return -1; /* overflow */
		int d = isdigit((unsigned char)line[i]) ? line[i] - '0' : (tolower((unsigned char)line[i]) - 'a' + 10);
		v = v << 4 | (unsigned)d;
	}
	if (i == 0)
		return -1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] != ';')
		return -1;
	*size = v;
	return 0;
}
