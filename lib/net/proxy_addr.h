/* proxy_addr.h — the address policy: which resolved addresses the proxy may connect to
 * (proxy_addr.c).
 *
 * Threat: reaching this host or special-purpose addresses (RFC 6890: loopback, private,
 * link-local, CGNAT, documentation, benchmarking, multicast, reserved; IPv4 hidden in IPv6 by
 * NAT64, 6to4, Teredo, mapping) through a public-looking name. Names are resolved here, every
 * address is checked, and the proxy connects to exactly the address it checked (no DNS
 * rebinding gap); the host's own addresses are read at each connection. */
#ifndef ISOL8_PROXY_ADDR_H
#define ISOL8_PROXY_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The special-purpose ranges of RFC 6890 and its successors, for IPv4 and IPv6 (IPv6: only
 * global unicast 2000::/3 may pass, and the NAT64 prefix 64:ff9b::/96 when the IPv4 address it
 * carries may). */
bool proxy_addr_special(const struct sockaddr *sa);
/* An address of one of this host's interfaces (read now), or an IPv6 address carrying one.
 * Fails closed: true when the interfaces cannot be read. */
bool proxy_addr_this_host(const struct sockaddr *sa);
/* The IPv4 address (host order) an IPv6 address (16 bytes) carries by a translation that
 * reaches it from here: the NAT64 well-known prefix 64:ff9b::/96 or 6to4 2002::/16. */
bool proxy_v6_embedded_v4(const unsigned char *v6, uint32_t *v4);
struct addrinfo;
/* Connects to the first address of a resolved list that passes the address policy (every one
 * when allow_private), reading this host's interfaces once for the whole list: returns the
 * socket, or -1 and *refusal (why an address was refused; NULL when none was and connecting
 * failed). */
int proxy_dial_addrs(const struct addrinfo *res, bool allow_private, const char **refusal);
/* Resolves host and connects as proxy_dial_addrs does. */
int proxy_dial(const char *host, int port, bool allow_private, const char **refusal);

#endif
