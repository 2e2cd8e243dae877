/* libFuzzer target for isol8-serve's request parser (lib/net/http.c): every byte an
 * unauthenticated client sends goes through it. Built and run briefly by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	http_request r;
	int rc = http_parse_request((const char *)data, size, &r);
	/* what a successful parse promises the routes */
	if (rc == 1 && (r.head_len > size || r.head_len > HTTP_MAX_HEAD || r.path[0] != '/' || !r.method[0] ||
			strlen(r.path) >= sizeof r.path || strlen(r.auth) >= sizeof r.auth))
		__builtin_trap();
	if (rc == -1 && (r.error < 400 || r.error > 505))
		__builtin_trap();
	if (rc == -1 && r.reason && !r.reason[0])
		__builtin_trap();
	if (rc == 1) {
		/* the head has no bare LF and no NUL; whatever follows it (the body) is not judged */
		for (size_t i = 0; i < r.head_len; i++)
			if (data[i] == 0 || (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')))
				__builtin_trap();
		char out[64];
		int q = http_query_param(r.query, "sessionId", out, sizeof out);
		/* a value is either whole, NUL-free and terminated, or refused: never cut short */
		if (q == 1 && strlen(out) >= sizeof out)
			__builtin_trap();
		if (q != 1 && q != 0 && q != HTTP_PCT_BAD && q != HTTP_PCT_NUL && q != HTTP_PCT_LONG)
			__builtin_trap();
		(void)http_query_param(r.query, "path", out, 1);
	}
	return 0;
}
