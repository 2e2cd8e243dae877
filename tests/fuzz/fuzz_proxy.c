/* libFuzzer target for the proxy's parsers of untrusted input: the request head (anything a
 * sandboxed program sends) and the TLS ClientHello SNI. Built and run briefly by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proxy_request r;
	if (proxy_parse_head((const char *)data, size, &r) == 1) {
		/* what a successful parse promises */
		if (!r.host[0] || r.port < 1 || r.port > 65535 || r.head_len > size)
			__builtin_trap();
		if (!r.connect && r.path[0] != '/')
			__builtin_trap();
	}
	proxy_framing f;
	if (proxy_request_framing((const char *)data, size, &f) == 0 && f.kind == BODY_UNTIL_CLOSE)
		__builtin_trap(); /* a request body is never "until close" */
	if (proxy_response_framing((const char *)data, size, "GET", &f) == 0 && (f.status < 100 || f.status > 999))
		__builtin_trap();
	unsigned long long cs;
	(void)proxy_parse_chunk_size((const char *)data, size, &cs);
	char sni[256];
	if (proxy_parse_sni(data, size, sni, sizeof sni) == 1 && (!sni[0] || strlen(sni) >= sizeof sni))
		__builtin_trap();
	return 0;
}
