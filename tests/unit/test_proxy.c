/* Proxy: request-head parsing, host canonicalisation, the Host header check, ClientHello
 * reassembly and SNI, the address policy, rule order, ports. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "net/proxy.h"
#include "tap.h"

static bool priv(const char *addr)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return proxy_addr_special((struct sockaddr *)&s4);
	inet_pton(AF_INET6, addr, &s6.sin6_addr);
	return proxy_addr_special((struct sockaddr *)&s6);
}

/* getifaddrs counted (and, with fake_ifs set, answered from that list): the address policy
 * must read this host's interfaces once per dial, not once per candidate address. */
static int ifaddrs_calls;
static struct ifaddrs *fake_ifs;

int getifaddrs(struct ifaddrs **ifap)
{
	ifaddrs_calls++;
	if (fake_ifs) {
		*ifap = fake_ifs;
		return 0;
	}
	int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	return real(ifap);
}

void freeifaddrs(struct ifaddrs *ifa)
{
	if (ifa == fake_ifs)
		return;
	void (*real)(struct ifaddrs *) = (void (*)(struct ifaddrs *))dlsym(RTLD_NEXT, "freeifaddrs");
	real(ifa);
}

/* A minimal ClientHello carrying one server_name, then the extensions in extra (whole:
 * type, length, data). */
static size_t hello_with(unsigned char *b, const char *name, const unsigned char *extra, size_t extra_len)
{
	size_t nl = strlen(name), i = 0;
	unsigned char body[1024];
	body[i++] = 3; body[i++] = 3;
	memset(body + i, 0, 32); i += 32;
	body[i++] = 0;                 /* session id */
	body[i++] = 0; body[i++] = 2; body[i++] = 0x13; body[i++] = 1; /* one cipher */
	body[i++] = 1; body[i++] = 0;  /* compression: null */
	size_t ext = 9 + nl + extra_len;
	body[i++] = (unsigned char)(ext >> 8); body[i++] = (unsigned char)ext;
	body[i++] = 0; body[i++] = 0;  /* server_name */
	body[i++] = (unsigned char)((nl + 5) >> 8); body[i++] = (unsigned char)(nl + 5);
	body[i++] = (unsigned char)((nl + 3) >> 8); body[i++] = (unsigned char)(nl + 3);
	body[i++] = 0;
	body[i++] = (unsigned char)(nl >> 8); body[i++] = (unsigned char)nl;
	memcpy(body + i, name, nl); i += nl;
	if (extra_len)
		memcpy(body + i, extra, extra_len);
	i += extra_len;
	size_t hs = i + 4, n = 0;
	b[n++] = 22; b[n++] = 3; b[n++] = 1; b[n++] = (unsigned char)(hs >> 8); b[n++] = (unsigned char)hs;
	b[n++] = 1; b[n++] = 0; b[n++] = (unsigned char)(i >> 8); b[n++] = (unsigned char)i;
	memcpy(b + n, body, i);
	return n + i;
}

static size_t hello(unsigned char *b, const char *name)
{
	return hello_with(b, name, NULL, 0);
}

/* The handshake of a one-record ClientHello, framed again as records of at most `size` bytes. */
static size_t reframe(const unsigned char *one, size_t n, size_t size, unsigned char *out)
{
	size_t o = 0;
	for (size_t k = 5; k < n; k += size) {
		size_t l = n - k < size ? n - k : size;
		out[o++] = 22; out[o++] = 3; out[o++] = 1; out[o++] = (unsigned char)(l >> 8); out[o++] = (unsigned char)l;
		memcpy(out + o, one + k, l);
		o += l;
	}
	return o;
}

static const char *canon(const char *in, bool bracketed)
{
	static char out[256];
	return proxy_canon_host(in, strlen(in), bracketed, out, sizeof out, NULL) < 0 ? "REFUSED" : out;
}

static bool this_host(const char *addr)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return proxy_addr_this_host((struct sockaddr *)&s4);
	inet_pton(AF_INET6, addr, &s6.sin6_addr);
	return proxy_addr_this_host((struct sockaddr *)&s6);
}

int main(void)
{
	proxy_request r;
	const char *c = "CONNECT api.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n";
	ok(proxy_parse_head(c, strlen(c), &r) == 1 && r.connect && !strcmp(r.host, "api.example.com") && r.port == 443,
	   "CONNECT host:port");
	const char *g = "GET http://Example.com.:8080/a/b?c=d HTTP/1.1\r\n\r\n";
	ok(proxy_parse_head(g, strlen(g), &r) == 1 && !r.connect && !strcmp(r.host, "example.com") && r.port == 8080 &&
	       !strcmp(r.path, "/a/b?c=d"), "absolute-form GET, host in canonical form");
	const char *gi = "GET http://0x7f.1/ HTTP/1.1\r\n\r\n";
	ok(proxy_parse_head(gi, strlen(gi), &r) == 1 && !strcmp(r.host, "127.0.0.1"), "an IP literal in canonical form");
	const char *v6 = "GET http://[::1]/ HTTP/1.1\r\n\r\n";
	ok(proxy_parse_head(v6, strlen(v6), &r) == 1 && !strcmp(r.host, "::1") && r.port == 80, "IPv6 literal host");
	ok(proxy_parse_head("GET http://x/", 13, &r) == 0, "an unfinished head asks for more");
	const char *bad[] = {
		"GET / HTTP/1.1\r\n\r\n", "GET https://x/ HTTP/1.1\r\n\r\n", "CONNECT x HTTP/1.1\r\n\r\n",
		"GET http://user@evil/ HTTP/1.1\r\n\r\n", "GET http://a b/ HTTP/1.1\r\n\r\n", "get http://x/ HTTP/1.1\r\n\r\n",
		"CONNECT x:99999 HTTP/1.1\r\n\r\n", "GET http://x/ HTTP/2\r\n\r\n", "GET http://x:/ HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(proxy_parse_head(bad[i], strlen(bad[i]), &r) == -1, "refused: %.*s", (int)(strcspn(bad[i], "\r")), bad[i]);

	/* canonical hosts */
	const char *canon_cases[][2] = {
		{"Example.COM.", "example.com"}, {"127.1", "127.0.0.1"}, {"0177.0.0.1", "127.0.0.1"}, {"0x7f.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"}, {"2130706433", "127.0.0.1"}, {"127.0.1", "127.0.0.1"}, {"10.0.0.1.", "10.0.0.1"},
		{"0", "0.0.0.0"}, {"4294967295", "255.255.255.255"}, {"xn--mnchen-3ya.de", "xn--mnchen-3ya.de"},
		{"a_b-c.example", "a_b-c.example"}, {"1e100.net", "1e100.net"}, {"deadbeef.cafe", "deadbeef.cafe"},
		{"evil.example..", "REFUSED"}, {".example", "REFUSED"}, {"", "REFUSED"}, {".", "REFUSED"},
		{"4294967296", "REFUSED"}, {"256.0.0.1", "REFUSED"}, {"1.2.3.4.5", "REFUSED"}, {"08.1", "REFUSED"},
		{"0x.1", "REFUSED"}, {"0x", "REFUSED"}, {"example.123", "REFUSED"}, {"1.2.256", "1.2.1.0"}, {"1.256.0", "REFUSED"},
		{"1.65536.0", "REFUSED"}, {"m\xc3\xbcnchen.de", "REFUSED"}, {"a b", "REFUSED"}, {"a:b", "REFUSED"},
		{"a%00", "REFUSED"},
	};
	for (size_t i = 0; i < sizeof canon_cases / sizeof *canon_cases; i++)
		is_str(canon(canon_cases[i][0], false), canon_cases[i][1], "canonical host: \"%s\"", canon_cases[i][0]);
	const char *canon6[][2] = {
		{"::ffff:127.0.0.1", "127.0.0.1"}, {"::FFFF:7f00:1", "127.0.0.1"}, {"0:0:0:0:0:ffff:7f00:1", "127.0.0.1"},
		{"0::1", "::1"}, {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"}, {"64:ff9b::127.0.0.1", "64:ff9b::7f00:1"},
		{"fe80::1%eth0", "REFUSED"}, {"127.0.0.1", "REFUSED"}, {"x", "REFUSED"},
	};
	for (size_t i = 0; i < sizeof canon6 / sizeof *canon6; i++)
		is_str(canon(canon6[i][0], true), canon6[i][1], "canonical IPv6 literal: [%s]", canon6[i][0]);
	char labels[400];
	memset(labels, 'a', 64);
	strcpy(labels + 64, ".example");
	is_str(canon(labels, false), "REFUSED", "a label over 63 characters is refused");
	for (int i = 0; i < 300; i++)
		labels[i] = i % 2 ? '.' : 'a';
	labels[300] = 0;
	is_str(canon(labels, false), "REFUSED", "a name over 253 characters is refused");

	/* the Host header against the absolute URI */
	char seen[300];
	const struct {
		const char *head;
		int want;
	} hosts[] = {
		{"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 1},
		{"GET http://a.example/ HTTP/1.1\r\nhost: A.Example.:80\r\n\r\n", 1},
		{"GET http://127.0.0.1:8080/ HTTP/1.1\r\nHost: 127.1:8080\r\n\r\n", 1},
		{"GET http://a.example/ HTTP/1.0\r\nUser-Agent: x\r\n\r\n", 0},
		{"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", -1},
		{"GET http://a.example/ HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", -1},
		{"GET http://a.example:8080/ HTTP/1.1\r\nHost: a.example\r\n\r\n", -1},
		{"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n", -2},
		{"GET http://a.example/ HTTP/1.1\r\nHost: a..example\r\n\r\n", -2},
		{"GET http://a.example/ HTTP/1.1\r\nHost: \r\n\r\n", -2},
	};
	for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
		int st = proxy_parse_head(hosts[i].head, strlen(hosts[i].head), &r);
		ok(st == 1 && proxy_check_host_header(hosts[i].head, r.head_len, &r, seen, sizeof seen) == hosts[i].want,
		   "Host header check %d: %.*s", hosts[i].want, (int)strcspn(strchr(hosts[i].head, '\n') + 1, "\r"),
		   strchr(hosts[i].head, '\n') + 1);
	}
	proxy_parse_head(hosts[4].head, strlen(hosts[4].head), &r);
	proxy_check_host_header(hosts[4].head, r.head_len, &r, seen, sizeof seen);
	is_str(seen, "b.example:80", "…the disagreeing Host is reported canonical, with its port");

	/* the ClientHello, whole and split */
	unsigned char b[600], split[2000], one[600];
	char sni[256];
	const char *why;
	size_t n = hello(b, "Front.Example.com.");
	memcpy(one, b, n);
	ok(proxy_parse_sni(b, n, sni, sizeof sni, NULL) == 1 && !strcmp(sni, "front.example.com"), "SNI from a ClientHello, canonical");
	ok(proxy_parse_sni(b, n - 3, sni, sizeof sni, NULL) == -1, "a truncated ClientHello asks for more");
	ok(proxy_parse_sni((const unsigned char *)"GET / HTTP/1.1", 14, sni, sizeof sni, &why) == -2 &&
	       !strcmp(why, "not a TLS ClientHello"), "not TLS: refused");
	b[43] = 0xff; /* session id length far past the end */
	ok(proxy_parse_sni(b, n, sni, sizeof sni, NULL) == -2, "a length field pointing past the end is refused");
	for (size_t size = 1; size <= 64; size = size * 2 + 1) {
		size_t sn = reframe(one, n, size, split);
		ok(proxy_parse_sni(split, sn, sni, sizeof sni, NULL) == 1 && !strcmp(sni, "front.example.com"),
		   "SNI from a ClientHello split into records of %zu bytes", size);
	}
	size_t sn = reframe(one, n, 7, split);
	proxy_hello *ph = calloc(1, sizeof *ph);
	int st = -1;
	size_t fed = 0;
	while (st == -1 && fed < sn)
		st = proxy_hello_feed(ph, split, ++fed, sni, sizeof sni, NULL);
	ok(st == 1 && fed == sn && !strcmp(sni, "front.example.com"), "fed a byte at a time: complete exactly at the last byte");
	free(ph);
	ok(proxy_parse_sni(split, sn - 1, sni, sizeof sni, NULL) == -1, "a split ClientHello missing its last byte asks for more");
	memcpy(split, one, n);
	split[5] = 2; /* a ServerHello */
	ok(proxy_parse_sni(split, n, sni, sizeof sni, &why) == -2 && !strcmp(why, "not a TLS ClientHello"),
	   "a handshake that is not a ClientHello is refused");
	memcpy(split, one, n);
	split[1] = 2;
	ok(proxy_parse_sni(split, n, sni, sizeof sni, NULL) == -2, "not TLS 1.x record framing: refused");
	const unsigned char huge[] = {22, 3, 1, 0, 4, 1, 0, 0x40, 0x01};
	ok(proxy_parse_sni(huge, sizeof huge, sni, sizeof sni, &why) == -2 && !strcmp(why, "ClientHello over 16 KiB"),
	   "a ClientHello announcing more than 16 KiB is refused before it arrives");
	const unsigned char empty_rec[] = {22, 3, 1, 0, 0};
	ok(proxy_parse_sni(empty_rec, sizeof empty_rec, sni, sizeof sni, NULL) == -2, "an empty TLS record is refused");
	const unsigned char big_rec[] = {22, 3, 1, 0x40, 0x01};
	ok(proxy_parse_sni(big_rec, sizeof big_rec, sni, sizeof sni, NULL) == -2, "a record over 16 KiB is refused");
	unsigned char alert_after[700];
	size_t an = reframe(one, n, 20, alert_after);
	memcpy(alert_after + 25, (const unsigned char[]){21, 3, 1, 0, 2}, 5); /* second record: an alert */
	ok(proxy_parse_sni(alert_after, an, sni, sizeof sni, NULL) == -2, "another record type before the ClientHello ends is refused");
	/* two server_name extensions, and a list of two names: refused (which one would the server use?) */
	unsigned char dup[700];
	memcpy(dup, one, n);
	size_t ext_at = 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2, ext_len = (size_t)dup[ext_at] << 8 | dup[ext_at + 1];
	memcpy(dup + n, dup + ext_at + 2, ext_len); /* the extension once more */
	size_t dn = n + ext_len;
	dup[ext_at] = (unsigned char)((2 * ext_len) >> 8); dup[ext_at + 1] = (unsigned char)(2 * ext_len);
	size_t hsl = dn - 9, rl = dn - 5;
	dup[3] = (unsigned char)(rl >> 8); dup[4] = (unsigned char)rl; dup[7] = (unsigned char)(hsl >> 8); dup[8] = (unsigned char)hsl;
	ok(proxy_parse_sni(dup, dn, sni, sizeof sni, &why) == -2 && strstr(why, "two server_name"), "two server_name extensions are refused");
	memcpy(dup, one, n);
	dup[n - 18 - 5] = 0x7f; /* the list length no longer matches */
	ok(proxy_parse_sni(dup, n, sni, sizeof sni, NULL) == -2, "a server_name list that does not fill its extension is refused");
	memcpy(dup, one, n);
	dup[n - 18 - 3] = 1; /* not a host_name entry */
	ok(proxy_parse_sni(dup, n, sni, sizeof sni, NULL) == -2, "a server_name entry of another type is refused");
	n = hello(b, "evil..example");
	ok(proxy_parse_sni(b, n, sni, sizeof sni, &why) == -2, "an SNI that is no valid host name is refused");
	/* ECH: the outer SNI passes the rules, the inner one (encrypted) names the host the server
	 * serves (domain fronting the proxy cannot see): refused, whole or split; the older
	 * encrypted_server_name too */
	static const unsigned char ech[] = {0xfe, 0x0d, 0, 12, 0 /* outer */, 0, 1, 0, 1, 0x2a /* config id */, 0, 1, 0xee, 0, 1, 0xdd};
	static const unsigned char esni[] = {0xff, 0xce, 0, 4, 0x13, 0x01, 0, 0};
	unsigned char eb[1200];
	n = hello_with(eb, "allowed.example", ech, sizeof ech);
	why = NULL;
	ok(proxy_parse_sni(eb, n, sni, sizeof sni, &why) == -2 && why && !strcmp(why, "encrypted ClientHello (ECH)"),
	   "a ClientHello with encrypted_client_hello (a hidden inner SNI) is refused: %s", why ? why : "passed");
	sn = reframe(eb, n, 9, split);
	ok(proxy_parse_sni(split, sn, sni, sizeof sni, NULL) == -2, "…also split over records");
	n = hello_with(eb, "allowed.example", esni, sizeof esni);
	why = NULL;
	ok(proxy_parse_sni(eb, n, sni, sizeof sni, &why) == -2 && why && !strcmp(why, "encrypted SNI (ESNI)"),
	   "a ClientHello with encrypted_server_name is refused: %s", why ? why : "passed");

	const char *private[] = {"127.0.0.1", "10.0.0.8", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254",
				 "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
				 "240.0.0.1", "255.255.255.255", "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9",
				 "198.18.0.1", "198.19.255.255", "192.88.99.1", "::1", "::", "fe80::1", "fd00::1", "fc00::1",
				 "fec0::1", "ff02::1", "100::1", "5f00::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::8.8.8.8",
				 "2002:7f00:1::", "2002:c000:201::", "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b::c0a8:101",
				 "64:ff9b:1::808:808", "64:ff9b:1:808:8:800::", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
				 "2001:2::1", "2001:db8::1", "3fff::1", "3fff:fff::1"};
	for (size_t i = 0; i < sizeof private / sizeof *private; i++)
		ok(priv(private[i]), "private or special: %s", private[i]);
	const char *public[] = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.0.3.1", "198.20.0.1", "223.255.255.255",
				"2606:4700::1111", "2002:0808:0808::", "64:ff9b::808:808", "2a0c:1::44", "3fff:1000::1",
				"2001:200::1"};
	for (size_t i = 0; i < sizeof public / sizeof *public; i++)
		ok(!priv(public[i]), "public: %s", public[i]);

	proxy_framing f;
	const char *cl = "POST http://x/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n";
	ok(proxy_request_framing(cl, strlen(cl), &f) == 0 && f.kind == BODY_LENGTH && f.length == 12 && !f.close,
	   "request framing: Content-Length, keep-alive by default");
	const char *te = "POST http://x/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n";
	ok(proxy_request_framing(te, strlen(te), &f) == 0 && f.kind == BODY_CHUNKED && f.close,
	   "request framing: chunked last, Connection: close");
	const char *smug[] = {
		"POST http://x/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nContent-Length : 3\r\n\r\n",
		"POST http://x/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof smug / sizeof *smug; i++)
		ok(proxy_request_framing(smug[i], strlen(smug[i]), &f) < 0, "ambiguous request framing refused (%zu)", i);
	const char *h10 = "GET http://x/ HTTP/1.0\r\n\r\n";
	ok(proxy_request_framing(h10, strlen(h10), &f) == 0 && f.close, "HTTP/1.0 closes");
	const char *r204 = "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
	ok(proxy_response_framing(r204, strlen(r204), "GET", &f) == 0 && f.kind == BODY_NONE && f.status == 204, "204 has no body");
	const char *rok = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
	ok(proxy_response_framing(rok, strlen(rok), "HEAD", &f) == 0 && f.kind == BODY_NONE, "a response to HEAD has no body");
	const char *rclose = "HTTP/1.1 200 OK\r\n\r\n";
	ok(proxy_response_framing(rclose, strlen(rclose), "GET", &f) == 0 && f.kind == BODY_UNTIL_CLOSE && f.close,
	   "no length: body until close");
	unsigned long long cs;
	ok(proxy_parse_chunk_size("1a;ext=1", 8, &cs) == 0 && cs == 26, "chunk size with extension");
	ok(proxy_parse_chunk_size("zz", 2, &cs) < 0 && proxy_parse_chunk_size("", 0, &cs) < 0 &&
	       proxy_parse_chunk_size("fffffffffffffffffff", 19, &cs) < 0, "bad chunk sizes refused (overflow too)");

	isol8_proxy_rules rules = {0};
	isol8_err err = {0};
	ok(proxy_rules_add(&rules, false, "example\\.com$", &err) == 0 && proxy_rules_add(&rules, true, "^bad\\.", &err) == 0,
	   "rules compile");
	ok(proxy_host_allowed(&rules, "API.Example.COM"), "case-insensitive whitelist match");
	ok(!proxy_host_allowed(&rules, "bad.example.com"), "the blacklist is checked first");
	ok(!proxy_host_allowed(&rules, "example.org"), "not on the whitelist");
	ok(proxy_rules_add(&rules, false, "(?<", &err) < 0 && strstr(err.msg, "invalid --allow pattern"), "invalid pattern refused");
	ok(proxy_port_allowed(&rules, 443) && proxy_port_allowed(&rules, 80) && !proxy_port_allowed(&rules, 22) &&
	       !proxy_port_allowed(&rules, 8080), "ports default to 443 and 80");
	rules.ports[rules.nports++] = 8080;
	ok(proxy_port_allowed(&rules, 8080) && !proxy_port_allowed(&rules, 80), "ports given: exactly those");
	ok(this_host("127.0.0.1") && this_host("64:ff9b::7f00:1"), "this host's loopback address, also in NAT64 form");
	ok(!this_host("8.8.8.8") || !this_host("9.9.9.9"), "a public address is not this host's");
	proxy_rules_free(&rules);

	/* IPv4 carried in a NAT64 or 6to4 literal: the rules see that IPv4 address too */
	isol8_proxy_rules nat = {0};
	ok(proxy_rules_add(&nat, true, "^1\\.2\\.3\\.4$", &err) == 0 && !proxy_host_allowed(&nat, "1.2.3.4"),
	   "setup: a deny rule on an IPv4 literal");
	ok(!proxy_host_allowed(&nat, "64:ff9b::102:304"), "…holds for its NAT64 form");
	ok(!proxy_host_allowed(&nat, "2002:102:304::1"), "…and for an address of its 6to4 site");
	ok(proxy_host_allowed(&nat, "64:ff9b::102:305") && proxy_host_allowed(&nat, "2001:4860::102:304") &&
	       proxy_host_allowed(&nat, "64:ff9b:1::102:304"), "…and for no other address");
	ok(proxy_rules_add(&nat, false, "^5\\.6\\.7\\.8$", &err) == 0 && proxy_host_allowed(&nat, "5.6.7.8") &&
	       !proxy_host_allowed(&nat, "64:ff9b::506:708"), "with an allow-list, both forms must pass: the IPv4 one alone does not");
	ok(proxy_rules_add(&nat, false, "^64:ff9b::506:708$", &err) == 0 && proxy_host_allowed(&nat, "64:ff9b::506:708"),
	   "…both forms allowed: passes");
	proxy_rules_free(&nat);

	/* the interfaces of this host are read once per dial, however many addresses a name has */
	enum { NADDR = 6 };
	struct sockaddr_in sa[NADDR];
	struct addrinfo ai[NADDR];
	struct ifaddrs ifs[NADDR];
	char ifname[] = "fake0";
	for (int i = 0; i < NADDR; i++) {
		sa[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(443), .sin_addr.s_addr = htonl(0x08080401u + (uint32_t)i)};
		ai[i] = (struct addrinfo){.ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_addr = (struct sockaddr *)&sa[i],
					  .ai_addrlen = sizeof sa[i], .ai_next = i + 1 < NADDR ? &ai[i + 1] : NULL};
		ifs[i] = (struct ifaddrs){.ifa_next = i + 1 < NADDR ? &ifs[i + 1] : NULL, .ifa_name = ifname,
					  .ifa_addr = (struct sockaddr *)&sa[i]};
	}
	const char *refusal = NULL;
	fake_ifs = ifs;
	ifaddrs_calls = 0;
	int dfd = proxy_dial_addrs(ai, false, &refusal);
	ok(dfd == -1 && refusal && !strcmp(refusal, "address of this host") && ifaddrs_calls == 1,
	   "%d addresses of this host: all refused, the interfaces read once (read %d times)", NADDR, ifaddrs_calls);
	ifaddrs_calls = 0;
	dfd = proxy_dial_addrs(ai, false, &refusal);
	ok(dfd == -1 && ifaddrs_calls == 1, "…and read again at the next dial (an address added meanwhile is seen)");
	for (int i = 0; i < NADDR; i++)
		sa[i].sin_addr.s_addr = htonl(0x7f000001u);
	ifaddrs_calls = 0;
	dfd = proxy_dial_addrs(ai, false, &refusal);
	ok(dfd == -1 && refusal && !strcmp(refusal, "special-purpose address") && ifaddrs_calls == 0,
	   "special-purpose addresses only: refused without reading the interfaces (read %d times)", ifaddrs_calls);
	fake_ifs = NULL;

	isol8_proxy_rules open_rules = {0};
	ok(proxy_host_allowed(&open_rules, "anything.example"), "no rules: every host (addresses are still checked)");
	return done_testing();
}
