/* proxy_host.c — every host the proxy meets in one canonical form.
 *
 * Threat: a rule written for "evil.example" or "127.0.0.1" dodged by another spelling of the
 * same host: "EVIL.example.", "127.1", "0177.0.0.1", "0x7f.1", "2130706433",
 * "[::ffff:127.0.0.1]". Every host the proxy meets (request line, Host header, CONNECT, SNI)
 * goes through here before the rules, the address policy, the connection and the log. */
#include "net/proxy_host.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
