/* proxy_rules.c — the operator's host rules (pcre2, case-insensitive) and allowed ports.
 *
 * Threat: a sandbox reaching a host the operator did not allow. Patterns are compiled once at
 * start-up (an invalid one is an error there, never a rule that silently matches nothing) and
 * matched on the canonical host only (proxy_host.c), deny rules first. */
#include "net/proxy_rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "net/proxy_addr.h"

int proxy_rules_add(isol8_proxy_rules *r, bool deny, const char *pattern, isol8_err *err)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		return isol8_input_error(err, "invalid %s pattern \"%s\": %s at offset %zu", deny ? "--deny" : "--allow", pattern,
					 (char *)msg, (size_t)off);
	}
	void ***list = deny ? &r->deny : &r->allow;
	size_t *n = deny ? &r->ndeny : &r->nallow;
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = re;
	return 0;
}

void proxy_rules_free(isol8_proxy_rules *r)
{
	for (size_t i = 0; i < r->nallow; i++)
		pcre2_code_free(r->allow[i]);
	for (size_t i = 0; i < r->ndeny; i++)
		pcre2_code_free(r->deny[i]);
	free(r->allow);
	free(r->deny);
	r->allow = r->deny = NULL;
	r->nallow = r->ndeny = 0;
}

static bool any_match(void **res, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(res[i], NULL);
		int rc = pcre2_match(res[i], (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc >= 0)
			return true;
	}
	return false;
}

static bool rules_pass(const isol8_proxy_rules *r, const char *host)
{
	if (any_match(r->deny, r->ndeny, host))
		return false;
	return r->nallow == 0 || any_match(r->allow, r->nallow, host);
}


/* Threat: a rule on "1.2.3.4" dodged by naming that IPv4 host through the NAT64 prefix or
 * 6to4 ("[64:ff9b::102:304]", "[2002:102:304::1]"). Such a literal stays IPv6 — it is what is
 * dialled (through the translator, into the 6to4 site) and logged — but it is judged in both
 * forms and passes only if each does: a deny rule on either refuses it, an allow-list must
 * admit both. */
bool proxy_host_allowed(const isol8_proxy_rules *r, const char *host)
{
	char low[256];
	size_t i = 0;
	for (; host[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)host[i]);
	low[i] = 0;
	if (!rules_pass(r, low))
		return false;
	struct in6_addr a;
	uint32_t v4;
	char quad[INET_ADDRSTRLEN];
	if (!strchr(low, ':') || inet_pton(AF_INET6, low, &a) != 1 || !proxy_v6_embedded_v4(a.s6_addr, &v4))
		return true;
	snprintf(quad, sizeof quad, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255);
	return rules_pass(r, quad);
}

bool proxy_port_allowed(const isol8_proxy_rules *r, int port)
{
	if (!r->nports)
		return port == 443 || port == 80;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}
