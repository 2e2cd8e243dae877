/* proxy_addr.c — the address policy: which addresses a name may lead the proxy to, and
 * dialling exactly the address that was checked.
 *
 * Threats: a public-looking name (or a literal) that resolves to this host, its neighbours or
 * the cloud metadata service (RFC 6890 ranges, IPv4 carried in IPv6); a service bound to every
 * address of this host (its interfaces, read at each connection); DNS rebinding between the
 * check and the connect (the checked address is the one connected to). */
#include "net/proxy_addr.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

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
bool proxy_v6_embedded_v4(const unsigned char *b, uint32_t *v4)
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
	return proxy_v6_embedded_v4(b, &v4) && v4_special(v4);
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
		has_v4 = proxy_v6_embedded_v4(v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, &v4);
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

int proxy_dial(const char *host, int port, bool allow_private, const char **refusal)
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
