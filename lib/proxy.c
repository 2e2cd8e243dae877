#include "proxy.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* ---- rules ------------------------------------------------------------------------------- */

int proxy_rules_add(isol8_proxy_rules *r, bool deny, const char *pattern, isol8_err *err)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		return isol8_input_error(err, "invalid %s pattern \"%s\": %s at offset %zu", deny ? "--deny" : "--allow", pattern,
					 (char *)msg, (size_t)off);
	}
	void ***list = deny ? &r->deny : &r->allow;
	size_t *n = deny ? &r->ndeny : &r->nallow;
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = re;
	return 0;
}

void proxy_rules_free(isol8_proxy_rules *r)
{
	for (size_t i = 0; i < r->nallow; i++)
		pcre2_code_free(r->allow[i]);
	for (size_t i = 0; i < r->ndeny; i++)
		pcre2_code_free(r->deny[i]);
	free(r->allow);
	free(r->deny);
	r->allow = r->deny = NULL;
	r->nallow = r->ndeny = 0;
}

static bool any_match(void **res, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(res[i], NULL);
		int rc = pcre2_match(res[i], (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc >= 0)
			return true;
	}
	return false;
}

bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host)
{
	char low[256];
	size_t i = 0;
	for (; host[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)host[i]);
	low[i] = 0;
	if (any_match(r->deny, r->ndeny, low))
		return false;
	return r->nallow == 0 || any_match(r->allow, r->nallow, low);
}

bool proxy_port_allowed(const isol8_proxy_rules *r, int port)
{
	if (!r->nports)
		return port == 443 || port == 80;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

static bool v4_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xa9fe /* 169.254/16 */ ||
	       (a >> 20) == 0xac1 /* 172.16/12 */ || (a >> 16) == 0xc0a8 /* 192.168/16 */ ||
	       (a >> 22) == 0x191 /* 100.64/10 CGNAT */ || (a >> 24) >= 224 /* multicast, reserved */ ||
	       (a >> 8) == 0xc00000 /* 192.0.0/24 */ || (a >> 17) == 0x6309 /* 198.18/15 */;
}

bool proxy_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return true;
	const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const unsigned char zero[10];
	/* ::, ::1, v4-mapped and v4-compatible: a v4 address hides in there; refuse them all
	 * (names resolve to plain AF_INET addresses for v4) */
	if (!memcmp(b, zero, 10))
		return true;
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
		return true;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
		return true;
	if (b[0] == 0xff) /* multicast */
		return true;
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 may wrap a private v4 */
		return v4_private((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5]);
	if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* 64:ff9b::/96 NAT64 */
		return v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	return false;
}

/* ---- parsers ----------------------------------------------------------------------------- */

static bool valid_host(const char *h)
{
	if (!*h)
		return false;
	for (; *h; h++)
		if (!(isalnum((unsigned char)*h) || *h == '.' || *h == '-' || *h == '_' || *h == ':'))
			return false;
	return true;
}

/* host[:port] or [v6]:port into req->host / req->port */
static int split_hostport(const char *s, size_t n, int def_port, proxy_request *req)
{
	const char *end = s + n, *colon = NULL;
	char host[256];
	size_t hl;
	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return -1;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s + 1, hl);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < end && !colon)
			return -1;
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
		if (hl >= sizeof host)
			return -1;
		memcpy(host, s, hl);
	}
	host[hl] = 0;
	req->port = def_port;
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
		req->port = (int)p;
	}
	if (!valid_host(host))
		return -1;
	snprintf(req->host, sizeof req->host, "%s", host);
	return 0;
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
		return len > PROXY_MAX_HEAD ? -1 : 0;
	req->head_len = (size_t)(end - buf);
	const char *eol = memchr(buf, '\r', req->head_len);
	const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof req->method)
		return -1;
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || (size_t)(eol - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return -1;
	memcpy(req->method, buf, (size_t)(sp1 - buf));
	for (char *m = req->method; *m; m++)
		if (!isupper((unsigned char)*m))
			return -1;
	const char *t = sp1 + 1;
	size_t tl = (size_t)(sp2 - t);
	if (!strcmp(req->method, "CONNECT")) {
		req->connect = true;
		return split_hostport(t, tl, 443, req) < 0 || !memchr(t, ':', tl) ? -1 : 1;
	}
	if (tl < 8 || strncasecmp(t, "http://", 7))
		return -1; /* only absolute-form http:// (https goes through CONNECT) */
	const char *hs = t + 7, *te = t + tl;
	const char *slash = memchr(hs, '/', (size_t)(te - hs));
	const char *he = slash ? slash : te;
	if (memchr(hs, '@', (size_t)(he - hs)))
		return -1; /* no userinfo: it only serves to confuse host checks */
	if (split_hostport(hs, (size_t)(he - hs), 80, req) < 0)
		return -1;
	size_t pl = slash ? (size_t)(te - slash) : 1;
	if (pl >= sizeof req->path)
		return -1;
	if (slash)
		memcpy(req->path, slash, pl);
	else
		req->path[0] = '/';
	req->path[pl] = 0;
	return 1;
}

int proxy_parse_sni(const unsigned char *b, size_t len, char *out, size_t outlen)
{
	/* TLS record: type 22 (handshake), version, length; handshake type 1 (ClientHello) */
	if (len < 5 || b[0] != 22)
		return -1;
	size_t rec = (size_t)b[3] << 8 | b[4];
	if (len < 5 + rec || rec < 4 || b[5] != 1)
		return -1;
	const unsigned char *p = b + 9, *end = b + 5 + rec;
	size_t hl = (size_t)b[6] << 16 | (size_t)b[7] << 8 | b[8];
	if (b + 9 + hl < end)
		end = b + 9 + hl;
	/* p may have been advanced past end by a length field: compare signed distances (a
	 * cast of a negative difference to size_t would pass any check; found by the fuzzer) */
#define NEED(n)                                                                                            \
	do {                                                                                               \
		if (p > end || end - p < (ptrdiff_t)(n))                                                   \
			return -1;                                                                         \
	} while (0)
	NEED(34);
	p += 34; /* version, random */
	NEED(1);
	p += 1 + p[0]; /* session id */
	NEED(2);
	p += 2 + ((size_t)p[0] << 8 | p[1]); /* cipher suites */
	NEED(1);
	p += 1 + p[0]; /* compression methods */
	if (p >= end)
		return p == end ? 0 : -1;
	NEED(2);
	size_t el = (size_t)p[0] << 8 | p[1];
	p += 2;
	NEED(el);
	const unsigned char *ee = p + el;
	while (p <= ee && ee - p >= 4) {
		size_t type = (size_t)p[0] << 8 | p[1], l = (size_t)p[2] << 8 | p[3];
		p += 4;
		if (ee - p < (ptrdiff_t)l)
			return -1;
		if (type == 0) { /* server_name: list length, then entries (type 0 = host_name) */
			const unsigned char *q = p + 2, *qe = p + l;
			while (q <= qe && qe - q >= 3) {
				size_t nl = (size_t)q[1] << 8 | q[2];
				if (qe - q - 3 < (ptrdiff_t)nl)
					return -1;
				if (q[0] == 0) {
					if (nl == 0 || nl >= outlen)
						return -1;
					memcpy(out, q + 3, nl);
					out[nl] = 0;
					for (size_t i = 0; i < nl; i++)
						if (!out[i] || (unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e)
							return -1;
					return 1;
				}
				q += 3 + nl;
			}
			return -1;
		}
		p += l;
	}
#undef NEED
	return 0;
}

/* ---- HTTP/1.1 framing ---------------------------------------------------------------------- */

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

/* ---- one connection ---------------------------------------------------------------------- */

static void log_line(const isol8_proxy_opts *o, const proxy_request *r, const char *action, uint64_t start_ns)
{
	if (o->log_fd < 0)
		return;
	char ts[32];
	iso8601_now(ts);
	isol8_buf b = {0};
	char head[512];
	snprintf(head, sizeof head, "{\"timestamp\":\"%s\",\"method\":\"%s\",\"host\":\"%s\",\"path\":", ts, r->method,
		 r->host);
	buf_puts(&b, head);
	if (r->connect) {
		buf_puts(&b, "null");
	} else {
		buf_puts(&b, "\"");
		for (const char *c = r->path; *c; c++) {
			if (*c == '"' || *c == '\\')
				buf_append(&b, "\\", 1);
			if ((unsigned char)*c >= 0x20)
				buf_append(&b, c, 1);
		}
		buf_puts(&b, "\"");
	}
	snprintf(head, sizeof head, ",\"action\":\"%s\",\"durationMs\":%llu}\n", action,
		 (unsigned long long)((now_mono_ns() - start_ns) / 1000000));
	buf_puts(&b, head);
	(void)write_all(o->log_fd, b.data, b.len); /* O_APPEND + one write: lines never interleave */
	buf_free(&b);
}

static void reply(int fd, const char *status, const char *body)
{
	char m[1024];
	int n = snprintf(m, sizeof m,
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
			 strlen(body), body);
	(void)write_all(fd, m, (size_t)n);
}

/* Resolves host and connects to the first address that passes the address policy. */
static int dial(const char *host, int port, bool allow_private, bool *refused_private)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res = NULL;
	char ps[8];
	snprintf(ps, sizeof ps, "%d", port);
	*refused_private = false;
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		if (!allow_private && proxy_addr_private(a->ai_addr)) {
			*refused_private = true;
			continue;
		}
		/* connect to exactly the address checked: no second resolution, no rebinding gap */
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd >= 0)
		*refused_private = false;
	return fd;
}

/* Reads with a deadline; returns bytes read, 0 at EOF or timeout. */
static ssize_t read_timed(int fd, void *buf, size_t n, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	ssize_t r = read(fd, buf, n);
	return r < 0 ? 0 : r;
}

static void relay(int a, int b, int idle_ms)
{
	char buf[65536];
	bool a_open = true, b_open = true;
	while (a_open || b_open) {
		struct pollfd p[2] = {{a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}};
		int r = poll(p, 2, idle_ms);
		if (r <= 0)
			return; /* idle: drop both */
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			int from = i ? b : a, to = i ? a : b;
			ssize_t n = read(from, buf, sizeof buf);
			if (n <= 0 || write_all(to, buf, (size_t)n) < 0) {
				shutdown(to, SHUT_WR);
				if (i)
					b_open = false;
				else
					a_open = false;
			}
		}
	}
}

/* Rewrites an absolute-form request head for the origin: origin-form request line, no
 * Proxy-* or hop-by-hop connection headers; Connection: close only when the client asked. */
static void rewrite_head(const char *head, size_t len, const proxy_request *r, bool close, isol8_buf *out)
{
	char line[4200];
	snprintf(line, sizeof line, "%s %s HTTP/1.1\r\n", r->method, r->path);
	buf_puts(out, line);
	const char *p = memchr(head, '\n', len) + 1, *end = head + len - 2;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		if (strncasecmp(p, "proxy-", 6) && strncasecmp(p, "connection:", 11) && strncasecmp(p, "keep-alive:", 11))
			buf_append(out, p, l);
		p += l;
	}
	buf_puts(out, close ? "Connection: close\r\n\r\n" : "\r\n");
}

/* A read buffer per side of a keep-alive connection (bytes of the next message may arrive
 * with the end of the current one). */
struct rbuf {
	isol8_buf b;
	size_t off;
};

static size_t rb_len(const struct rbuf *r)
{
	return r->b.len - r->off;
}

static char *rb_data(const struct rbuf *r)
{
	return (char *)r->b.data + r->off;
}

static void rb_consume(struct rbuf *r, size_t n)
{
	r->off += n;
	if (r->off == r->b.len)
		r->off = r->b.len = 0;
}

static ssize_t rb_fill(int fd, struct rbuf *r, int ms)
{
	char tmp[65536];
	ssize_t n = read_timed(fd, tmp, sizeof tmp, ms);
	if (n > 0)
		buf_append(&r->b, tmp, (size_t)n);
	return n;
}

/* The length of a complete head at the front of r (reading as needed), 0 at EOF/idle, -1 if
 * it grows past max. */
static ssize_t rb_head(int fd, struct rbuf *r, size_t max, int ms)
{
	for (;;) {
		char *d = rb_data(r);
		size_t n = rb_len(r);
		for (size_t i = 0; i + 3 < n; i++)
			if (d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r' && d[i + 3] == '\n')
				return (ssize_t)(i + 4);
		if (n > max)
			return -1;
		if (rb_fill(fd, r, ms) <= 0)
			return 0;
	}
}

/* Forwards n bytes of body from src (its buffer first) to dst. */
static int copy_n(int src, struct rbuf *r, int dst, unsigned long long n, int ms)
{
	while (n) {
		if (!rb_len(r) && rb_fill(src, r, ms) <= 0)
			return -1;
		size_t k = rb_len(r) < n ? rb_len(r) : (size_t)n;
		if (write_all(dst, rb_data(r), k) < 0)
			return -1;
		rb_consume(r, k);
		n -= k;
	}
	return 0;
}

/* Forwards one line (up to and including CRLF), returning its length without the CRLF. */
static ssize_t copy_line(int src, struct rbuf *r, int dst, char *line, size_t cap, int ms)
{
	for (;;) {
		char *d = rb_data(r);
		size_t n = rb_len(r);
		for (size_t i = 0; i + 1 < n; i++)
			if (d[i] == '\r' && d[i + 1] == '\n') {
				if (i >= cap)
					return -1;
				memcpy(line, d, i);
				line[i] = 0;
				if (write_all(dst, d, i + 2) < 0)
					return -1;
				rb_consume(r, i + 2);
				return (ssize_t)i;
			}
		if (n > 4096)
			return -1;
		if (rb_fill(src, r, ms) <= 0)
			return -1;
	}
}

/* Forwards exactly one message body as framed; bytes are passed through unchanged. */
static int copy_body(int src, struct rbuf *r, int dst, const proxy_framing *f, int ms)
{
	char line[4097];
	unsigned long long size;
	switch (f->kind) {
	case BODY_NONE:
		return 0;
	case BODY_LENGTH:
		return copy_n(src, r, dst, f->length, ms);
	case BODY_CHUNKED:
		for (;;) {
			ssize_t l = copy_line(src, r, dst, line, sizeof line, ms);
			if (l < 0 || proxy_parse_chunk_size(line, (size_t)l, &size) < 0)
				return -1;
			if (size == 0) { /* trailers, then the empty line */
				while ((l = copy_line(src, r, dst, line, sizeof line, ms)) > 0)
					;
				return l == 0 ? 0 : -1;
			}
			if (copy_n(src, r, dst, size, ms) < 0 || copy_line(src, r, dst, line, sizeof line, ms) != 0)
				return -1;
		}
	case BODY_UNTIL_CLOSE:
		if (rb_len(r) && write_all(dst, rb_data(r), rb_len(r)) < 0)
			return -1;
		rb_consume(r, rb_len(r));
		for (char tmp[65536];;) {
			ssize_t n = read_timed(src, tmp, sizeof tmp, ms);
			if (n <= 0)
				return 0;
			if (write_all(dst, tmp, (size_t)n) < 0)
				return -1;
		}
	}
	return -1;
}

/* Absolute-form HTTP with keep-alive: each request on the client connection is checked against
 * the rules and forwarded; the upstream connection is reused while the host stays the same. */
static void serve_http(int c, const isol8_proxy_opts *o, struct rbuf *cb, proxy_request *r, uint64_t t0)
{
	struct rbuf ub = {{0}, 0};
	int u = -1, uport = 0;
	char uhost[256] = "", body[512];
	bool sent_any = false;
	for (;;) {
		proxy_framing rq, rs;
		if (r->connect || proxy_request_framing(rb_data(cb), r->head_len, &rq) < 0) {
			reply(c, "400 Bad Request", "isol8: malformed proxy request");
			break;
		}
		if (!proxy_host_allowed(&o->rules, r->host)) {
			log_line(o, r, "BLOCK", t0);
			snprintf(body, sizeof body, "isol8: request to %s blocked by network filter", r->host);
			reply(c, "403 Forbidden", body);
			break;
		}
		if (u >= 0 && (strcmp(uhost, r->host) || uport != r->port)) {
			close(u);
			u = -1;
			ub.b.len = ub.off = 0;
		}
		if (u < 0) {
			bool private_refused;
			u = dial(r->host, r->port, o->rules.allow_private, &private_refused);
			if (u < 0) {
				log_line(o, r, private_refused ? "BLOCK" : "ALLOW", t0);
				if (private_refused)
					snprintf(body, sizeof body, "isol8: request to %s blocked: private or local address", r->host);
				else
					snprintf(body, sizeof body, "isol8: proxy error: connection to %s:%d failed", r->host, r->port);
				reply(c, private_refused ? "403 Forbidden" : "502 Bad Gateway", body);
				break;
			}
			snprintf(uhost, sizeof uhost, "%s", r->host);
			uport = r->port;
		}
		isol8_buf h = {0};
		rewrite_head(rb_data(cb), r->head_len, r, rq.close, &h);
		int w = write_all(u, h.data, h.len);
		buf_free(&h);
		rb_consume(cb, r->head_len);
		if (w < 0 || copy_body(c, cb, u, &rq, o->idle_ms) < 0)
			break;
		/* the response: interim 1xx heads are passed on, then the final one and its body */
		ssize_t hl;
		for (;;) {
			hl = rb_head(u, &ub, 65536, o->idle_ms);
			if (hl <= 0 || proxy_response_framing(rb_data(&ub), (size_t)hl, r->method, &rs) < 0) {
				hl = -1;
				break;
			}
			if (write_all(c, rb_data(&ub), (size_t)hl) < 0) {
				hl = -1;
				break;
			}
			rb_consume(&ub, (size_t)hl);
			if (rs.status >= 200 || rs.status == 101)
				break;
		}
		if (hl < 0) {
			if (!sent_any) {
				snprintf(body, sizeof body, "isol8: proxy error: bad response from %s:%d", r->host, r->port);
				reply(c, "502 Bad Gateway", body);
			}
			break;
		}
		sent_any = true;
		if (rs.status == 101) { /* upgraded: a plain tunnel from here */
			log_line(o, r, "ALLOW", t0);
			if ((rb_len(&ub) && write_all(c, rb_data(&ub), rb_len(&ub)) < 0) ||
			    (rb_len(cb) && write_all(u, rb_data(cb), rb_len(cb)) < 0))
				break;
			relay(c, u, o->idle_ms);
			break;
		}
		int cbr = copy_body(u, &ub, c, &rs, o->idle_ms);
		log_line(o, r, "ALLOW", t0);
		if (cbr < 0 || rq.close || rs.close)
			break;
		/* the next request on this connection */
		t0 = now_mono_ns();
		ssize_t nh = rb_head(c, cb, PROXY_MAX_HEAD, o->idle_ms);
		if (nh == 0)
			break;
		if (nh < 0 || proxy_parse_head(rb_data(cb), (size_t)nh, r) != 1) {
			reply(c, "400 Bad Request", "isol8: malformed proxy request");
			break;
		}
	}
	if (u >= 0)
		close(u);
	buf_free(&ub.b);
}

void proxy_handle(int c, const isol8_proxy_opts *o)
{
	char head[PROXY_MAX_HEAD + 1];
	size_t len = 0;
	proxy_request r;
	int st = 0;
	uint64_t t0 = now_mono_ns();
	while (st == 0) {
		if (len >= PROXY_MAX_HEAD) {
			st = -1;
			break;
		}
		ssize_t n = read_timed(c, head + len, PROXY_MAX_HEAD - len, o->idle_ms);
		if (n <= 0)
			return;
		len += (size_t)n;
		st = proxy_parse_head(head, len, &r);
	}
	if (st < 0) {
		reply(c, "400 Bad Request", "isol8: malformed proxy request");
		return;
	}
	if (!r.connect) {
		struct rbuf cb = {{0}, 0};
		buf_append(&cb.b, head, len);
		serve_http(c, o, &cb, &r, t0);
		buf_free(&cb.b);
		return;
	}
	char body[512];
	if (!proxy_host_allowed(&o->rules, r.host) || (r.connect && !proxy_port_allowed(&o->rules, r.port))) {
		log_line(o, &r, "BLOCK", t0);
		snprintf(body, sizeof body, r.connect ? "isol8: CONNECT to %s blocked by network filter"
						      : "isol8: request to %s blocked by network filter",
			 r.host);
		reply(c, "403 Forbidden", body);
		return;
	}
	bool private_refused;
	int u = dial(r.host, r.port, o->rules.allow_private, &private_refused);
	if (u < 0) {
		/* a policy refusal is a BLOCK; an upstream that cannot be reached was still allowed */
		log_line(o, &r, private_refused ? "BLOCK" : "ALLOW", t0);
		if (private_refused) {
			snprintf(body, sizeof body, "isol8: request to %s blocked: private or local address", r.host);
			reply(c, "403 Forbidden", body);
		} else {
			snprintf(body, sizeof body, "isol8: proxy error: connection to %s:%d failed", r.host, r.port);
			reply(c, "502 Bad Gateway", body);
		}
		return;
	}
	if (r.connect) {
		static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
		(void)write_all(c, ok, sizeof ok - 1);
		/* the first bytes through the tunnel: if they are a ClientHello, its SNI must pass
		 * the rules too (no fronting a blocked host behind an allowed CONNECT) */
		unsigned char hello[16384 + 5];
		size_t hl = len - r.head_len;
		memcpy(hello, head + r.head_len, hl);
		if (hl == 0) {
			ssize_t n = read_timed(c, hello, sizeof hello, o->idle_ms);
			hl = n > 0 ? (size_t)n : 0;
		}
		char sni[256];
		int s = hl ? proxy_parse_sni(hello, hl, sni, sizeof sni) : 0;
		while (s < 0 && hello[0] == 22 && hl < sizeof hello) { /* a ClientHello split over reads */
			ssize_t n = read_timed(c, hello + hl, sizeof hello - hl, o->idle_ms);
			if (n <= 0)
				break;
			hl += (size_t)n;
			s = proxy_parse_sni(hello, hl, sni, sizeof sni);
		}
		if (s == 1 && strcasecmp(sni, r.host) && !proxy_host_allowed(&o->rules, sni)) {
			snprintf(r.host, sizeof r.host, "%s", sni);
			log_line(o, &r, "BLOCK", t0);
			close(u);
			return; /* the client is speaking TLS now: closing is the only answer */
		}
		log_line(o, &r, "ALLOW", t0);
		if (hl && write_all(u, hello, hl) < 0) {
			close(u);
			return;
		}
		relay(c, u, o->idle_ms);
		close(u);
		return;
	}
}

int proxy_serve(int lfd, const isol8_proxy_opts *o, int stop_fd, isol8_err *err)
{
	int sfd = signalfd_for(SIGCHLD, 0);
	if (sfd < 0)
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "signalfd");
	int live = 0;
	for (;;) {
		struct pollfd p[3] = {{live < o->max_conns ? lfd : -1, POLLIN, 0}, {sfd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			(void)!read(sfd, &si, sizeof si);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				live--;
		}
		if (p[0].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid_t pid = fork();
			if (pid == 0) {
				close(lfd);
				close(sfd);
				proxy_handle(c, o);
				_exit(0);
			}
			if (pid > 0)
				live++;
			close(c);
		}
	}
	close(sfd);
	return 0;
}
