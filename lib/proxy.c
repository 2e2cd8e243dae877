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
 * Proxy-* headers, Connection: close (one request per upstream connection). */
static void rewrite_head(const char *head, size_t len, const proxy_request *r, isol8_buf *out)
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
	buf_puts(out, "Connection: close\r\n\r\n");
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
	isol8_buf req = {0};
	rewrite_head(head, r.head_len, &r, &req);
	buf_append(&req, head + r.head_len, len - r.head_len); /* body bytes already read */
	if (write_all(u, req.data, req.len) == 0)
		relay(c, u, o->idle_ms);
	buf_free(&req);
	log_line(o, &r, "ALLOW", t0);
	close(u);
}

int proxy_serve(int lfd, const isol8_proxy_opts *o, int stop_fd, isol8_err *err)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
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
