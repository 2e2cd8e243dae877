/* libFuzzer target for the proxy's parsers of untrusted input: the request head, its Host
 * header and framing (lib/net/proxy_head.c: anything a sandboxed program sends), host
 * canonicalisation (proxy_host.c), and the TLS ClientHello reassembled across records
 * (proxy_hello.c). Only those parts are linked. Built and run briefly by `make fuzz`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxy_head.h"
#include "net/proxy_hello.h"
#include "net/proxy_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A canonical host is a fixed point: canonicalising it again changes nothing. */
static void check_canonical(const char *host)
{
	char again[256];
	bool v6 = strchr(host, ':') != NULL;
	if (proxy_canon_host(host, strlen(host), v6, again, sizeof again, NULL) < 0 || strcmp(again, host))
		__builtin_trap();
}

/* The ClientHello fed in two pieces (split where the first byte says) decides as fed whole. */
static void check_hello(const uint8_t *data, size_t size)
{
	char sni[256], sni2[256];
	const char *why = NULL;
	int whole = proxy_parse_sni(data, size, sni, sizeof sni, &why);
	if (whole == 1) {
		if (!sni[0] || strlen(sni) >= sizeof sni)
			__builtin_trap();
		check_canonical(sni);
	}
	if (whole == -2 && !why)
		__builtin_trap(); /* every refusal says why */
	proxy_hello *h = calloc(1, sizeof *h);
	size_t cut = size ? data[0] % (size + 1) : 0;
	int part = proxy_hello_feed(h, data, cut, sni2, sizeof sni2, NULL);
	if (part == -1)
		part = proxy_hello_feed(h, data, size, sni2, sizeof sni2, NULL);
	if (part != whole || (whole == 1 && strcmp(sni, sni2)))
		__builtin_trap();
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proxy_request r;
	int st = proxy_parse_head((const char *)data, size, &r);
	if (st == 1) {
		/* what a successful parse promises */
		if (!r.host[0] || r.port < 1 || r.port > 65535 || r.head_len > size)
			__builtin_trap();
		if (!r.connect && r.path[0] != '/')
			__builtin_trap();
		check_canonical(r.host);
		char seen[300];
		int hh = proxy_check_host_header((const char *)data, r.head_len, &r, seen, sizeof seen);
		if (hh < -2 || hh > 1)
			__builtin_trap();
	} else if (st < 0 && !r.error) {
		__builtin_trap(); /* every refusal says why */
	}
	char canon[256];
	if (size < 300 && proxy_canon_host((const char *)data, size, false, canon, sizeof canon, NULL) == 0)
		check_canonical(canon);
	proxy_framing f;
	if (proxy_request_framing((const char *)data, size, &f) == 0 && f.kind == BODY_UNTIL_CLOSE)
		__builtin_trap(); /* a request body is never "until close" */
	if (proxy_response_framing((const char *)data, size, "GET", &f) == 0 && (f.status < 100 || f.status > 999))
		__builtin_trap();
	unsigned long long cs;
	(void)proxy_parse_chunk_size((const char *)data, size, &cs);
	check_hello(data, size);
	return 0;
}
