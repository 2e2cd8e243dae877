/* proxy_host.h — one canonical form for every host the proxy meets (proxy_host.c).
 *
 * Threat: a rule written for "evil.example" or "127.0.0.1" dodged by another spelling of the
 * same host ("EVIL.example.", "127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]"). The
 * request line, the Host header, CONNECT and the SNI all go through here before the rules,
 * the address policy, the connection and the log. */
#ifndef ISOL8_PROXY_HOST_H
#define ISOL8_PROXY_HOST_H

#include <stdbool.h>
#include <stddef.h>

/* Puts a host (n bytes; bracketed: it came as [v6]) in its one canonical form: a name lower
 * case without its trailing dot; an IPv4 literal in any inet_aton spelling ("127.1",
 * "0x7f.1", "2130706433") as a dotted quad; an IPv6 literal in RFC 5952 form, a v4-mapped one
 * as its IPv4 address. 0, or -1 and *why (non-ASCII names, empty labels, a numeric last label
 * that is no IPv4 address, …). out needs 256 bytes. */
int proxy_canon_host(const char *in, size_t n, bool bracketed, char *out, size_t outlen, const char **why);

#endif
