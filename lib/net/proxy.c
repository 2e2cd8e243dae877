#include "net/proxy.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

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

static bool rules_pass(const isol8_proxy_rules *r, const char *host)
{
	if (any_match(r->deny, r->ndeny, host))
		return false;
	return r->nallow == 0 || any_match(r->allow, r->nallow, host);
}

static bool v6_embedded_v4(const unsigned char *b, uint32_t *v4);

/* Threat: a rule on "1.2.3.4" dodged by naming that IPv4 host through the NAT64 prefix or
 * 6to4 ("[64:ff9b::102:304]", "[2002:102:304::1]"). Such a literal stays IPv6 — it is what is
 * dialled (through the translator, into the 6to4 site) and logged — but it is judged in both
 * forms and passes only if each does: a deny rule on either refuses it, an allow-list must
 * admit both. */
bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host)
{
	char low[256];
	size_t i = 0;
	for (; host[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)host[i]);
	low[i] = 0;
	if (!rules_pass(r, low))
		return false;
	struct in6_addr a;
	uint32_t v4;
	char quad[INET_ADDRSTRLEN];
	if (!strchr(low, ':') || inet_pton(AF_INET6, low, &a) != 1 || !v6_embedded_v4(a.s6_addr, &v4))
		return true;
	snprintf(quad, sizeof quad, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255);
	return rules_pass(r, quad);
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

/* ---- the address policy ------------------------------------------------------------------- */

/* Threat: a public-looking name (or a literal) that leads to this host, its neighbours or the
 * cloud metadata service. The special-purpose ranges of RFC 6890 and the registry that
 * succeeded it. 192.0.0.9 and .10, globally reachable anycast inside 192.0.0/24, are refused
 * with it: no sandbox needs them. */
static const struct {
	uint32_t net;
	int bits;
} v4_special_ranges[] = {
	{0x00000000, 8},  /* 0/8 "this network" */
	{0x0a000000, 8},  /* 10/8 private */
	{0x64400000, 10}, /* 100.64/10 CGNAT shared address space */
	{0x7f000000, 8},  /* 127/8 loopback */
	{0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
	{0xac100000, 12}, /* 172.16/12 private */
	{0xc0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
	{0xc0000200, 24}, /* 192.0.2/24 documentation */
	{0xc0586300, 24}, /* 192.88.99/24 6to4 relay anycast (deprecated) */
	{0xc0a80000, 16}, /* 192.168/16 private */
	{0xc6120000, 15}, /* 198.18/15 benchmarking */
	{0xc6336400, 24}, /* 198.51.100/24 documentation */
	{0xcb007100, 24}, /* 203.0.113/24 documentation */
	{0xe0000000, 4},  /* 224/4 multicast */
	{0xf0000000, 4},  /* 240/4 reserved, 255.255.255.255 broadcast */
};

static bool v4_special(uint32_t a)
{
	for (size_t i = 0; i < ARRAY_SIZE(v4_special_ranges); i++)
		if ((a ^ v4_special_ranges[i].net) >> (32 - v4_special_ranges[i].bits) == 0)
			return true;
	return false;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool v6_prefix(const unsigned char *b, const unsigned char *pfx, int bits)
{
	for (int i = 0; i < bits / 8; i++)
		if (b[i] != pfx[i])
			return false;
	return bits % 8 == 0 || (b[bits / 8] ^ pfx[bits / 8]) >> (8 - bits % 8) == 0;
}

static const unsigned char nat64_wkp[12] = {0, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96 */
static const unsigned char sixto4[2] = {0x20, 0x02};              /* 2002::/16 */

/* The IPv4 address an IPv6 address carries by a translation that reaches it from here: the
 * NAT64 well-known prefix (a DNS64 network's answers for IPv4-only names) and 6to4. */
static bool v6_embedded_v4(const unsigned char *b, uint32_t *v4)
{
	if (v6_prefix(b, nat64_wkp, 96)) {
		*v4 = be32(b + 12);
		return true;
	}
	if (v6_prefix(b, sixto4, 16)) {
		*v4 = be32(b + 2);
		return true;
	}
	return false;
}

/* IPv6: only global unicast (2000::/3) passes, which leaves out ::/8 (unspecified, loopback,
 * v4-mapped, v4-compatible), 64:ff9b:1::/48 (local-use NAT64, where the IPv4 address may sit
 * anywhere), 100::/64, 5f00::/16, fc00::/7, fe80::/10, fec0::/10 and multicast; inside it,
 * 2001::/23 (IETF assignments: Teredo, benchmarking, ORCHID — refused outright, Teredo hides
 * an IPv4 address behind an XOR), 2001:db8::/32 and 3fff::/20 (documentation). NAT64
 * 64:ff9b::/96 and 6to4 2002::/16 pass when the IPv4 address they carry does. */
static bool v6_special(const unsigned char *b)
{
	static const unsigned char ietf[] = {0x20, 0x01, 0x00}, doc[] = {0x20, 0x01, 0x0d, 0xb8}, doc2[] = {0x3f, 0xff, 0x00};
	uint32_t v4;
	if (v6_prefix(b, nat64_wkp, 96))
		return v4_special(be32(b + 12));
	if ((b[0] & 0xe0) != 0x20)
		return true;
	if (v6_prefix(b, ietf, 23) || v6_prefix(b, doc, 32) || v6_prefix(b, doc2, 20))
		return true;
	return v6_embedded_v4(b, &v4) && v4_special(v4);
}

bool proxy_addr_special(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_special(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return v6_special(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return true;
}

/* Threat: a service bound to 0.0.0.0 or [::] on this host answers on every address the host
 * has, public ones too, which no fixed range can know. The interfaces are read at each
 * connection (once for all the addresses of a name: proxy_dial_addrs), so an address added
 * while the proxy runs is refused as well. ifs NULL: they could not be read, fail closed. */
static bool addr_in_ifs(const struct sockaddr *sa, const struct ifaddrs *ifs)
{
	uint32_t v4 = 0;
	bool has_v4 = sa->sa_family == AF_INET;
	const unsigned char *v6 = NULL;
	if (has_v4)
		v4 = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
	else if (sa->sa_family == AF_INET6)
		has_v4 = v6_embedded_v4(v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, &v4);
	else
		return true;
	if (!ifs)
		return true; /* cannot tell: fail closed */
	bool mine = false;
	for (const struct ifaddrs *i = ifs; i && !mine; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			mine = has_v4 && ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) == v4;
		else if (i->ifa_addr->sa_family == AF_INET6 && v6)
			mine = !memcmp(((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr, v6, 16);
	}
	return mine;
}

bool proxy_addr_this_host(const struct sockaddr *sa)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0)
		return true;
	bool mine = addr_in_ifs(sa, ifs);
	freeifaddrs(ifs);
	return mine;
}

/* ---- host names and IP literals in one canonical form ------------------------------------ */

/* Threat: a rule written for "evil.example" or "127.0.0.1" dodged by another spelling of the
 * same host: "EVIL.example.", "127.1", "0177.0.0.1", "0x7f.1", "2130706433",
 * "[::ffff:127.0.0.1]". Every host the proxy meets (request line, Host header, CONNECT, SNI)
 * goes through here before the rules, the address policy, the connection and the log. */

/* One part of an inet_aton spelling: decimal, 0-octal or 0x-hex. */
static int ipv4_part(const char *s, size_t n, uint64_t *v)
{
	unsigned base = 10;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		n -= 2;
	} else if (n >= 2 && s[0] == '0') {
		base = 8;
		s++;
		n--;
	}
	if (n == 0 || n > 11)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned d = isdigit(c) ? (unsigned)(c - '0') : isxdigit(c) ? (unsigned)(tolower(c) - 'a' + 10) : 99;
		if (d >= base)
			return -1;
		x = x * base + d;
	}
	*v = x;
	return 0;
}

/* a, a.b, a.b.c or a.b.c.d, the last part filling the bytes left (inet_aton's forms). */
static int parse_ipv4_any(const char *s, size_t n, uint32_t *out)
{
	uint64_t part[4], v = 0;
	size_t np = 0;
	const char *p = s, *end = s + n;
	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p)), *pe = dot ? dot : end;
		if (np == 4 || ipv4_part(p, (size_t)(pe - p), &part[np++]) < 0)
			return -1;
		if (!dot)
			break;
		p = dot + 1;
	}
	for (size_t i = 0; i + 1 < np; i++) {
		if (part[i] > 255)
			return -1;
		v = v << 8 | part[i];
	}
	unsigned rest = 8 * (unsigned)(5 - np);
	if (part[np - 1] >> rest)
		return -1;
	*out = (uint32_t)(v << rest | part[np - 1]);
	return 0;
}

/* The last label decides: all digits or 0x-hex means an IPv4 literal (as browsers decide). */
static bool numeric_label(const char *s, size_t n)
{
	size_t i = 0;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		for (i = 2; i < n && isxdigit((unsigned char)s[i]); i++)
			;
	else
		for (; i < n && isdigit((unsigned char)s[i]); i++)
			;
	return n && i == n;
}

static int canon_v6(const char *in, size_t n, char *out, size_t outlen, const char **why)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	*why = "invalid IPv6 address";
	if (n >= sizeof tmp)
		return -1;
	memcpy(tmp, in, n);
	tmp[n] = 0;
	if (inet_pton(AF_INET6, tmp, &a) != 1)
		return -1;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!memcmp(a.s6_addr, mapped, 12)) /* ::ffff:a.b.c.d is a.b.c.d */
		return inet_ntop(AF_INET, a.s6_addr + 12, out, (socklen_t)outlen) ? 0 : -1;
	return inet_ntop(AF_INET6, &a, out, (socklen_t)outlen) ? 0 : -1;
}

int proxy_canon_host(const char *in, size_t n, bool bracketed, char *out, size_t outlen, const char **why)
{
	const char *w;
	why = why ? why : &w;
	if (bracketed)
		return canon_v6(in, n, out, outlen, why);
	if (n && in[n - 1] == '.')
		n--; /* "example.com." is "example.com" (one dot only: ".." is an empty label) */
	if (n == 0 || n > 253 || n >= outlen) {
		*why = n ? "host name over 253 characters" : "empty host name";
		return -1;
	}
	size_t label = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '.') {
			if (!label) {
				*why = "empty label in host name";
				return -1;
			}
			label = 0;
			last = i + 1;
			out[i] = '.';
			continue;
		}
		if (c >= 0x80) {
			*why = "non-ASCII host name (send it punycoded, xn--)";
			return -1;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			*why = "invalid character in host name";
			return -1;
		}
		if (++label > 63) {
			*why = "label over 63 characters in host name";
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (!label) {
		*why = "empty label in host name";
		return -1;
	}
	out[n] = 0;
	if (!numeric_label(out + last, n - last))
		return 0;
	uint32_t v4;
	if (parse_ipv4_any(out, n, &v4) < 0) {
		*why = "invalid IPv4 address";
		return -1;
	}
	snprintf(out, outlen, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255);
	return 0;
}

/* ---- parsers ----------------------------------------------------------------------------- */

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

static int each_header(const char *head, size_t len, int (*fn)(const char *name, size_t nl, const char *val, size_t vl, void *ctx),
		       void *ctx);

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

/* ---- the TLS ClientHello ------------------------------------------------------------------ */

static int hello_refuse(const char **why, const char *reason)
{
	*why = reason;
	return -2;
}

/* The server_name extension: exactly one host_name entry, filling the extension. */
static int hello_sni(const unsigned char *p, size_t l, char *out, size_t outlen, const char **why)
{
	if (l < 5 || ((size_t)p[0] << 8 | p[1]) != l - 2 || p[2] != 0 || ((size_t)p[3] << 8 | p[4]) != l - 5)
		return hello_refuse(why, "malformed server_name in the ClientHello");
	const char *name = (const char *)p + 5;
	size_t nl = l - 5;
	for (size_t i = 0; i < nl; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			return hello_refuse(why, "invalid SNI host name");
	if (proxy_canon_host(name, nl, false, out, outlen, why) < 0)
		return hello_refuse(why, "invalid SNI host name");
	return 1;
}

/* A complete ClientHello body: version, random, session id, cipher suites, compression,
 * extensions (which must fill the rest exactly; the server_name one at most once). */
static int hello_body(const unsigned char *p, size_t n, char *out, size_t outlen, const char **why)
{
	const unsigned char *end = p + n;
#define NEED(k)                                                                                            \
	do {                                                                                               \
		if ((size_t)(end - p) < (size_t)(k))                                                       \
			return hello_refuse(why, "malformed ClientHello");                                 \
	} while (0)
	NEED(35);
	p += 34;
	NEED(1 + (size_t)p[0]);
	p += 1 + p[0]; /* session id */
	NEED(2);
	size_t cs = (size_t)p[0] << 8 | p[1];
	NEED(2 + cs);
	p += 2 + cs;
	NEED(1);
	NEED(1 + (size_t)p[0]);
	p += 1 + p[0]; /* compression methods */
	if (p == end)
		return 0; /* no extensions, no SNI */
	NEED(2);
	size_t el = (size_t)p[0] << 8 | p[1];
	p += 2;
	if ((size_t)(end - p) != el)
		return hello_refuse(why, "malformed ClientHello extensions");
	int found = 0;
	while (p < end) {
		NEED(4);
		size_t type = (size_t)p[0] << 8 | p[1], l = (size_t)p[2] << 8 | p[3];
		p += 4;
		NEED(l);
		/* Threat: ECH (and the older encrypted SNI) carries the real server name encrypted
		 * for the server; the clear one is a front. The proxy cannot see the name the
		 * server will serve: fail closed. */
		if (type == 0xfe0d)
			return hello_refuse(why, "encrypted ClientHello (ECH)");
		if (type == 0xffce)
			return hello_refuse(why, "encrypted SNI (ESNI)");
		if (type == 0) {
			if (found)
				return hello_refuse(why, "two server_name extensions in the ClientHello");
			found = hello_sni(p, l, out, outlen, why);
			if (found < 0)
				return found;
		}
		p += l;
	}
#undef NEED
	return found;
}

/* Threat: a ClientHello split over several TLS records (legal, and what DPI-evasion tools do)
 * whose SNI the proxy would not see: the handshake is reassembled from the records, up to
 * PROXY_MAX_HELLO bytes, and anything that is not a well-formed ClientHello is refused. */
int proxy_hello_feed(proxy_hello *h, const unsigned char *raw, size_t len, char *out, size_t outlen, const char **why)
{
	const char *w;
	why = why ? why : &w;
	for (;;) {
		if (h->hs_len >= 4) {
			if (h->hs[0] != 1)
				return hello_refuse(why, "not a TLS ClientHello");
			size_t body = (size_t)h->hs[1] << 16 | (size_t)h->hs[2] << 8 | h->hs[3];
			if (body > PROXY_MAX_HELLO - 4)
				return hello_refuse(why, "ClientHello over 16 KiB");
			if (h->hs_len >= 4 + body)
				return hello_body(h->hs + 4, body, out, outlen, why);
		}
		const unsigned char *r = raw + h->raw_used;
		size_t left = len - h->raw_used;
		if (left && r[0] != 22)
			return hello_refuse(why, "not a TLS ClientHello");
		if (left >= 2 && r[1] != 3)
			return hello_refuse(why, "not a TLS ClientHello");
		if (left < 5)
			return -1;
		size_t rl = (size_t)r[3] << 8 | r[4];
		if (rl == 0 || rl > 16384)
			return hello_refuse(why, "malformed TLS record");
		if (left < 5 + rl)
			return -1;
		size_t take = rl < PROXY_MAX_HELLO - h->hs_len ? rl : PROXY_MAX_HELLO - h->hs_len;
		memcpy(h->hs + h->hs_len, r + 5, take);
		h->hs_len += take;
		h->raw_used += 5 + rl;
	}
}

int proxy_parse_sni(const unsigned char *buf, size_t len, char *out, size_t outlen, const char **why)
{
	proxy_hello *h = xcalloc(1, sizeof *h);
	int r = proxy_hello_feed(h, buf, len, out, outlen, why);
	free(h);
	return r;
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

/* One JSON line per request (network.jsonl shape), with the canonical host; a BLOCK line also
 * says why (reason). */
static void log_line(const isol8_proxy_opts *o, const proxy_request *r, const char *action, const char *reason,
		     uint64_t start_ns)
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
	snprintf(head, sizeof head, ",\"action\":\"%s\"%s%s%s,\"durationMs\":%llu}\n", action, reason ? ",\"reason\":\"" : "",
		 reason ? reason : "", reason ? "\"" : "", (unsigned long long)((now_mono_ns() - start_ns) / 1000000));
	buf_puts(&b, head);
	(void)write_all(o->log_fd, b.data, b.len); /* O_APPEND + one write: lines never interleave */
	buf_free(&b);
}

static void reply(int fd, const char *status, const char *body)
{
	char m[1536];
	int n = snprintf(m, sizeof m,
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
			 strlen(body), body);
	(void)write_all(fd, m, (size_t)n < sizeof m ? (size_t)n : sizeof m - 1);
}

static void bad_request(int fd, const char *why)
{
	char body[512];
	snprintf(body, sizeof body, "isol8: malformed proxy request: %s", why ? why : "invalid request");
	reply(fd, "400 Bad Request", body);
}

/* host:port as a URI writes it (IPv6 in brackets); the port left out when it is def_port. */
static void authority(const proxy_request *r, int def_port, char *out, size_t outlen)
{
	bool v6 = strchr(r->host, ':') != NULL;
	if (r->port == def_port)
		snprintf(out, outlen, v6 ? "[%s]" : "%s", r->host);
	else
		snprintf(out, outlen, v6 ? "[%s]:%d" : "%s:%d", r->host, r->port);
}

/* Why an address may not be dialled, or NULL. The interfaces (*ifs) are read the first time
 * an address gets past the ranges, once per dial however many addresses the name has (a
 * netlink dump each time otherwise); *ifs_read tells that NULL means unreadable. */
static const char *address_refusal(const struct sockaddr *sa, struct ifaddrs **ifs, bool *ifs_read)
{
	if (proxy_addr_special(sa))
		return "special-purpose address";
	if (!*ifs_read) {
		*ifs_read = true;
		if (getifaddrs(ifs) < 0)
			*ifs = NULL;
	}
	if (addr_in_ifs(sa, *ifs))
		return "address of this host";
	return NULL;
}

int proxy_dial_addrs(const struct addrinfo *res, bool allow_private, const char **refusal)
{
	int fd = -1;
	struct ifaddrs *ifs = NULL;
	bool ifs_read = false;
	*refusal = NULL;
	for (const struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		const char *why = allow_private ? NULL : address_refusal(a->ai_addr, &ifs, &ifs_read);
		if (why) {
			*refusal = why;
			continue;
		}
		/* connect to exactly the address checked: no second resolution, no rebinding gap */
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (ifs)
		freeifaddrs(ifs);
	if (fd >= 0)
		*refusal = NULL;
	return fd;
}

/* Resolves host and connects to the first address that passes the address policy. */
static int dial(const char *host, int port, bool allow_private, const char **refusal)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res = NULL;
	char ps[8];
	snprintf(ps, sizeof ps, "%d", port);
	*refusal = NULL;
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	int fd = proxy_dial_addrs(res, allow_private, refusal);
	freeaddrinfo(res);
	return fd;
}

/* Connects upstream, or answers the client and logs: 403 for a refused address, 502 for an
 * upstream that cannot be reached (a policy refusal is a BLOCK; the other was still allowed). */
static int dial_or_refuse(int c, const isol8_proxy_opts *o, const proxy_request *r, uint64_t t0)
{
	const char *refusal;
	char body[512];
	int u = dial(r->host, r->port, o->rules.allow_private, &refusal);
	if (u >= 0)
		return u;
	log_line(o, r, refusal ? "BLOCK" : "ALLOW", refusal, t0);
	if (refusal) {
		snprintf(body, sizeof body, "isol8: request to %s blocked: private or local address", r->host);
		reply(c, "403 Forbidden", body);
	} else {
		snprintf(body, sizeof body, "isol8: proxy error: connection to %s:%d failed", r->host, r->port);
		reply(c, "502 Bad Gateway", body);
	}
	return -1;
}

/* The rules on the canonical host, then the ports (CONNECT and plain HTTP alike); answers and
 * logs a refusal. */
static bool request_allowed(int c, const isol8_proxy_opts *o, const proxy_request *r, uint64_t t0)
{
	char body[512], auth[300];
	if (!proxy_host_allowed(&o->rules, r->host)) {
		log_line(o, r, "BLOCK", "denied by rules", t0);
		snprintf(body, sizeof body, r->connect ? "isol8: CONNECT to %s blocked by network filter"
						       : "isol8: request to %s blocked by network filter",
			 r->host);
		reply(c, "403 Forbidden", body);
		return false;
	}
	if (!proxy_port_allowed(&o->rules, r->port)) {
		log_line(o, r, "BLOCK", "port not allowed", t0);
		authority(r, 0, auth, sizeof auth);
		snprintf(body, sizeof body, "isol8: request to %s blocked: port %d is not allowed", auth, r->port);
		reply(c, "403 Forbidden", body);
		return false;
	}
	return true;
}

/* The Host header against the absolute URI (400 when they disagree). */
static bool host_header_agrees(int c, const isol8_proxy_opts *o, const proxy_request *r, const char *head, bool *has_host,
			       uint64_t t0)
{
	char seen[300], auth[300], body[1024];
	int h = proxy_check_host_header(head, r->head_len, r, seen, sizeof seen);
	*has_host = h == 1;
	if (h >= 0)
		return true;
	log_line(o, r, "BLOCK", h == -1 ? "Host header disagrees with the URI" : "malformed Host header", t0);
	authority(r, 0, auth, sizeof auth);
	if (h == -1)
		snprintf(body, sizeof body, "isol8: bad request: the Host header names %s but the URI names %s; send one host", seen,
			 auth);
	else
		snprintf(body, sizeof body, "isol8: bad request: send exactly one valid Host header");
	reply(c, "400 Bad Request", body);
	return false;
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

/* Threat: a client that trickles a head or a ClientHello a byte at a time, each byte inside
 * the idle timeout, holds its connection (one of --max-conns) for days if every read gets the
 * whole timeout. A head or a hello gets one deadline: idle_ms in all. */
static uint64_t deadline_after(int ms)
{
	return now_mono_ns() + (uint64_t)ms * 1000000u;
}

/* Milliseconds left before a deadline (rounded up), 0 once it has passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = now_mono_ns();
	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
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
 * Proxy-* or hop-by-hop connection headers; Connection: close only when the client asked; a
 * Host header (the URI's) when there was none. */
static void rewrite_head(const char *head, size_t len, const proxy_request *r, bool close, bool has_host, isol8_buf *out)
{
	char line[4200], auth[300];
	snprintf(line, sizeof line, "%s %s HTTP/1.1\r\n", r->method, r->path);
	buf_puts(out, line);
	if (!has_host) { /* HTTP/1.0 without one: the origin gets the URI's */
		authority(r, 80, auth, sizeof auth);
		snprintf(line, sizeof line, "Host: %s\r\n", auth);
		buf_puts(out, line);
	}
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
	uint64_t deadline = deadline_after(ms); /* for the whole head */
	for (;;) {
		char *d = rb_data(r);
		size_t n = rb_len(r);
		for (size_t i = 0; i + 3 < n; i++)
			if (d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r' && d[i + 3] == '\n')
				return (ssize_t)(i + 4);
		if (n > max)
			return -1;
		int left = ms_left(deadline);
		if (!left || rb_fill(fd, r, left) <= 0)
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
	bool sent_any = false, has_host;
	for (;;) {
		proxy_framing rq, rs;
		if (r->connect || proxy_request_framing(rb_data(cb), r->head_len, &rq) < 0) {
			reply(c, "400 Bad Request", r->connect ? "isol8: malformed proxy request: CONNECT on a plain-HTTP connection"
							       : "isol8: malformed proxy request: ambiguous or invalid message framing");
			break;
		}
		if (!host_header_agrees(c, o, r, rb_data(cb), &has_host, t0) || !request_allowed(c, o, r, t0))
			break;
		if (u >= 0 && (strcmp(uhost, r->host) || uport != r->port)) {
			close(u);
			u = -1;
			ub.b.len = ub.off = 0;
		}
		if (u < 0) {
			if ((u = dial_or_refuse(c, o, r, t0)) < 0)
				break;
			snprintf(uhost, sizeof uhost, "%s", r->host);
			uport = r->port;
		}
		isol8_buf h = {0};
		rewrite_head(rb_data(cb), r->head_len, r, rq.close, has_host, &h);
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
			log_line(o, r, "ALLOW", NULL, t0);
			if ((rb_len(&ub) && write_all(c, rb_data(&ub), rb_len(&ub)) < 0) ||
			    (rb_len(cb) && write_all(u, rb_data(cb), rb_len(cb)) < 0))
				break;
			relay(c, u, o->idle_ms);
			break;
		}
		int cbr = copy_body(u, &ub, c, &rs, o->idle_ms);
		log_line(o, r, "ALLOW", NULL, t0);
		if (cbr < 0 || rq.close || rs.close)
			break;
		/* the next request on this connection */
		t0 = now_mono_ns();
		ssize_t nh = rb_head(c, cb, PROXY_MAX_HEAD, o->idle_ms);
		if (nh == 0)
			break;
		if (nh < 0 || proxy_parse_head(rb_data(cb), (size_t)nh, r) != 1) {
			bad_request(c, nh < 0 ? "request head over 16 KiB" : r->error);
			break;
		}
	}
	if (u >= 0)
		close(u);
	buf_free(&ub.b);
}

/* Threat: fronting a denied host behind an allowed CONNECT. The first bytes through the tunnel
 * must be a TLS ClientHello (reassembled across records, bounded) whose SNI, if any, passes the
 * rules; anything else is refused, plain HTTP included (its Host header would go unchecked).
 * The client already speaks TLS by then: closing is the only answer. */
static void tunnel(int c, int u, const isol8_proxy_opts *o, proxy_request *r, const char *early, size_t nearly,
		   uint64_t t0)
{
	unsigned char *raw = xmalloc(PROXY_MAX_HELLO_RAW);
	proxy_hello *h = xcalloc(1, sizeof *h);
	char sni[256];
	const char *why = NULL;
	size_t n = nearly;
	int s = -1;
	uint64_t deadline = deadline_after(o->idle_ms); /* for the whole hello, not per read */
	memcpy(raw, early, n);
	for (;;) {
		if (n)
			s = proxy_hello_feed(h, raw, n, sni, sizeof sni, &why);
		if (s != -1)
			break;
		int left = ms_left(deadline);
		ssize_t k = n < PROXY_MAX_HELLO_RAW && left ? read_timed(c, raw + n, PROXY_MAX_HELLO_RAW - n, left) : 0;
		if (k <= 0) {
			s = -2;
			why = n == PROXY_MAX_HELLO_RAW ? "ClientHello spread over too many records"
			      : !n                     ? "no TLS ClientHello"
			      : !ms_left(deadline)     ? "ClientHello not complete in time"
						       : "incomplete ClientHello";
			break;
		}
		n += (size_t)k;
	}
	if (s == 1 && !proxy_host_allowed(&o->rules, sni)) {
		snprintf(r->host, sizeof r->host, "%s", sni);
		log_line(o, r, "BLOCK", "SNI denied by rules", t0);
	} else if (s < 0) {
		log_line(o, r, "BLOCK", why, t0);
	} else {
		log_line(o, r, "ALLOW", NULL, t0);
		if (write_all(u, raw, n) == 0)
			relay(c, u, o->idle_ms);
	}
	free(h);
	free(raw);
}

void proxy_handle(int c, const isol8_proxy_opts *o)
{
	char head[PROXY_MAX_HEAD + 1];
	size_t len = 0;
	proxy_request r;
	int st = 0;
	uint64_t t0 = now_mono_ns(), deadline = deadline_after(o->idle_ms); /* for the whole head */
	while (st == 0) {
		if (len >= PROXY_MAX_HEAD) {
			st = -1;
			r.error = "request head over 16 KiB";
			break;
		}
		int left = ms_left(deadline);
		ssize_t n = left ? read_timed(c, head + len, PROXY_MAX_HEAD - len, left) : 0;
		if (n <= 0)
			return;
		len += (size_t)n;
		st = proxy_parse_head(head, len, &r);
	}
	if (st < 0) {
		bad_request(c, r.error);
		return;
	}
	if (!r.connect) {
		struct rbuf cb = {{0}, 0};
		buf_append(&cb.b, head, len);
		serve_http(c, o, &cb, &r, t0);
		buf_free(&cb.b);
		return;
	}
	if (!request_allowed(c, o, &r, t0))
		return;
	int u = dial_or_refuse(c, o, &r, t0);
	if (u < 0)
		return;
	static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
	(void)write_all(c, ok, sizeof ok - 1);
	tunnel(c, u, o, &r, head + r.head_len, len - r.head_len, t0);
	close(u);
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
			pid_t parent = getpid();
			pid_t pid = fork();
			if (pid == 0) {
				/* a connection ends with its proxy: one killed with the run that started it
				 * must not leave a child resolving or waiting for a ClientHello, holding the
				 * sandbox's socket (and so its network namespace) */
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					_exit(1);
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
