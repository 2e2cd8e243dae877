/* proxy_rules.h — which hosts and ports the proxy lets a request reach (proxy_rules.c).
 *
 * Threat: reaching hosts the operator did not allow. Rules are pcre2 patterns matched on the
 * one canonical form of a host (proxy_host.h), blacklist first, then whitelist; an invalid
 * pattern is an error at start-up, never a silent fail-open. Ports other than the allowed ones
 * (80 and 443 unless the operator says otherwise) are refused, for CONNECT and plain HTTP
 * alike. */
#ifndef ISOL8_PROXY_RULES_H
#define ISOL8_PROXY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct isol8_proxy_rules {
	void **allow, **deny; /* pcre2_code * */
	size_t nallow, ndeny;
	bool allow_private;
	int ports[16];
	size_t nports;
} isol8_proxy_rules;

int proxy_rules_add(isol8_proxy_rules *r, bool deny, const char *pattern, isol8_err *err);
void proxy_rules_free(isol8_proxy_rules *r);
/* Blacklist first, then whitelist (empty whitelist: every host that passes the blacklist). An
 * IPv6 literal carrying an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) is judged in both
 * forms and passes only if each does. */
bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host);
/* CONNECT and plain HTTP alike: r->ports, or 80 and 443 when none were given. */
bool proxy_port_allowed(const isol8_proxy_rules *r, int port);

#endif
