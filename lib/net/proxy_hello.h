/* proxy_hello.h — the TLS ClientHello at the start of a CONNECT tunnel and its SNI
 * (proxy_hello.c).
 *
 * Threat: domain fronting behind an allowed CONNECT. The SNI must pass the rules too, so the
 * ClientHello is reassembled across records (as DPI-evasion tools split it), bounded in size,
 * and refused when it cannot be parsed or hides the real name (ECH, ESNI). Every input byte
 * here comes from untrusted code: these functions are fuzzed (tests/fuzz/fuzz_proxy.c). */
#ifndef ISOL8_PROXY_HELLO_H
#define ISOL8_PROXY_HELLO_H

#include <stddef.h>

#define PROXY_MAX_HELLO 16384                   /* ClientHello handshake bytes reassembled at most */
#define PROXY_MAX_HELLO_RAW (4 * PROXY_MAX_HELLO) /* raw bytes (records and their headers) read for it */

/* The ClientHello reassembled across records as bytes arrive. feed() is given the whole stream
 * read so far each time (len grows) and consumes only the records it has not seen, so the work
 * is linear however the hello is split. */
typedef struct proxy_hello {
	unsigned char hs[PROXY_MAX_HELLO]; /* handshake bytes, record headers stripped */
	size_t hs_len;
	size_t raw_used;                   /* stream bytes consumed (whole records) */
} proxy_hello;
/* 1 complete with an SNI (out: canonical), 0 complete without one, -1 more bytes needed,
 * -2 refused (*why): not TLS, not a ClientHello, over PROXY_MAX_HELLO, malformed, an SNI that
 * is no valid host name, or an encrypted ClientHello (ECH, ESNI: the real name hidden). Start
 * with a zeroed proxy_hello. */
int proxy_hello_feed(proxy_hello *h, const unsigned char *raw, size_t len, char *out, size_t outlen, const char **why);
/* One-shot proxy_hello_feed over a whole buffer. */
int proxy_parse_sni(const unsigned char *buf, size_t len, char *out, size_t outlen, const char **why);

#endif
