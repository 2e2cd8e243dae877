/* Proxy: request-head parsing, SNI extraction, the address policy, rule order. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "proxy.h"
#include "tap.h"

static bool priv(const char *addr)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return proxy_addr_private((struct sockaddr *)&s4);
	inet_pton(AF_INET6, addr, &s6.sin6_addr);
	return proxy_addr_private((struct sockaddr *)&s6);
}

/* A minimal ClientHello carrying one server_name. */
static size_t hello(unsigned char *b, const char *name)
{
	size_t nl = strlen(name), i = 0;
	unsigned char body[512];
	body[i++] = 3; body[i++] = 3;
	memset(body + i, 0, 32); i += 32;
	body[i++] = 0;                 /* session id */
	body[i++] = 0; body[i++] = 2; body[i++] = 0x13; body[i++] = 1; /* one cipher */
	body[i++] = 1; body[i++] = 0;  /* compression: null */
	size_t ext = 9 + nl;
	body[i++] = (unsigned char)(ext >> 8); body[i++] = (unsigned char)ext;
	body[i++] = 0; body[i++] = 0;  /* server_name */
	body[i++] = (unsigned char)((nl + 5) >> 8); body[i++] = (unsigned char)(nl + 5);
	body[i++] = (unsigned char)((nl + 3) >> 8); body[i++] = (unsigned char)(nl + 3);
	body[i++] = 0;
	body[i++] = (unsigned char)(nl >> 8); body[i++] = (unsigned char)nl;
	memcpy(body + i, name, nl); i += nl;
	size_t hs = i + 4, n = 0;
	b[n++] = 22; b[n++] = 3; b[n++] = 1; b[n++] = (unsigned char)(hs >> 8); b[n++] = (unsigned char)hs;
	b[n++] = 1; b[n++] = 0; b[n++] = (unsigned char)(i >> 8); b[n++] = (unsigned char)i;
	memcpy(b + n, body, i);
	return n + i;
}

int main(void)
{
	proxy_request r;
	const char *c = "CONNECT api.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n";
	ok(proxy_parse_head(c, strlen(c), &r) == 1 && r.connect && !strcmp(r.host, "api.example.com") && r.port == 443,
	   "CONNECT host:port");
	const char *g = "GET http://Example.com:8080/a/b?c=d HTTP/1.1\r\n\r\n";
	ok(proxy_parse_head(g, strlen(g), &r) == 1 && !r.connect && !strcmp(r.host, "Example.com") && r.port == 8080 &&
	       !strcmp(r.path, "/a/b?c=d"), "absolute-form GET");
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

	unsigned char b[600];
	char sni[256];
	size_t n = hello(b, "front.example.com");
	ok(proxy_parse_sni(b, n, sni, sizeof sni) == 1 && !strcmp(sni, "front.example.com"), "SNI from a ClientHello");
	ok(proxy_parse_sni(b, n - 3, sni, sizeof sni) == -1, "a truncated ClientHello is not parsed");
	ok(proxy_parse_sni((const unsigned char *)"GET / HTTP/1.1", 14, sni, sizeof sni) == -1, "not TLS");
	b[43] = 0xff; /* session id length far past the end */
	ok(proxy_parse_sni(b, n, sni, sizeof sni) == -1, "a length field pointing past the end is refused");

	const char *private[] = {"127.0.0.1", "10.0.0.8", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254",
				 "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
				 "::ffff:8.8.8.8", "2002:7f00:1::", "64:ff9b::a00:1"};
	for (size_t i = 0; i < sizeof private / sizeof *private; i++)
		ok(priv(private[i]), "private or special: %s", private[i]);
	const char *public[] = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2002:0808:0808::"};
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
	ok(proxy_port_allowed(&rules, 443) && proxy_port_allowed(&rules, 80) && !proxy_port_allowed(&rules, 22),
	   "CONNECT ports default to 443 and 80");
	proxy_rules_free(&rules);
	isol8_proxy_rules open_rules = {0};
	ok(proxy_host_allowed(&open_rules, "anything.example"), "no rules: every host (addresses are still checked)");
	return done_testing();
}
