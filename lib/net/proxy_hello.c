/* proxy_hello.c — the TLS ClientHello at the start of a CONNECT tunnel, and its SNI.
 *
 * Threats: fronting a denied host behind an allowed CONNECT (the SNI goes through the rules
 * too); a ClientHello split over many records so that a record-at-a-time reader misses the
 * SNI (reassembled, up to PROXY_MAX_HELLO); the real name hidden by ECH or ESNI (refused: fail
 * closed); malformed lengths (every length is checked against what is left). Fuzzed by
 * tests/fuzz/fuzz_proxy.c. */
#include "net/proxy_hello.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "net/proxy_host.h"

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
