/* guard.c — the accept loop's table of live connections, against starvation by clients that
 * never authenticate.
 *
 * Threat: slowloris. Fifty connections that each send half a request head and wait used to
 * take every connection the server would fork for, so /health and keyed requests got 503.
 * Now a connection counts as unauthenticated until its process reports (over a pipe) that its
 * key matched, and:
 *   - one client address (IPv4, or an IPv6 /64, which one client usually has whole) may hold
 *     at most serve.maxUnauthenticatedPerAddress of them: a newer one from that address
 *     evicts its oldest;
 *   - when the table is full, a new connection evicts the oldest unauthenticated one from
 *     anywhere; only when every live connection is authenticated work is it refused (503).
 * An evicted connection's process gets SIGUSR1 and answers 408 (conn.c). Its entry stays until
 * it is reaped, and evicted-but-not-yet-gone processes are bounded too (2 × the table), so
 * eviction cannot be turned into unbounded forking. A legitimate client's head arrives in
 * well under a millisecond, so it is authenticated long before it is the oldest.
 * Limits: an attacker with many addresses still gets its connections evicted in turn, not
 * refused; the head deadline (serve.headTimeoutMs) ends those that are not evicted. */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "serve.h"
#include "core/util.h"

enum conn_state { C_FREE, C_UNAUTH, C_AUTH, C_EVICTED };

struct conn_entry {
	int pid;
	enum conn_state state;
	unsigned char addr[16];
	uint64_t since_ns;
};

struct guard {
	int max_conns, per_addr, cap;
	struct conn_entry *v;
};

guard *guard_new(int max_conns, int per_addr)
{
	guard *g = xcalloc(1, sizeof *g);
	g->max_conns = max_conns;
	g->per_addr = per_addr;
	g->cap = 2 * max_conns;
	g->v = xcalloc((size_t)g->cap, sizeof *g->v);
	return g;
}

void guard_free(guard *g)
{
	if (g) {
		free(g->v);
		free(g);
	}
}

void guard_addr_key(const void *sa, unsigned char out[16])
{
	const struct sockaddr *s = sa;
	memset(out, 0, 16);
	if (s->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (s->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		memcpy(out, a, memcmp(a, mapped, 12) ? 8 : 16); /* a mapped IPv4 counts as that IPv4 */
	}
	/* AF_UNIX (a socket systemd passed): every client is one address */
}

static struct conn_entry *find(guard *g, int pid)
{
	for (int i = 0; i < g->cap; i++)
		if (g->v[i].state != C_FREE && g->v[i].pid == pid)
			return &g->v[i];
	return NULL;
}

/* The oldest unauthenticated connection (from addr, or from anywhere when addr is NULL). */
static struct conn_entry *oldest_unauth(guard *g, const unsigned char *addr, int *count)
{
	struct conn_entry *o = NULL;
	*count = 0;
	for (int i = 0; i < g->cap; i++) {
		struct conn_entry *e = &g->v[i];
		if (e->state != C_UNAUTH || (addr && memcmp(e->addr, addr, 16)))
			continue;
		++*count;
		if (!o || e->since_ns < o->since_ns)
			o = e;
	}
	return o;
}

static void evict(serve_ctx *c, struct conn_entry *e)
{
	kill(e->pid, SIGUSR1); /* not yet reaped, so the pid is still this connection's */
	e->state = C_EVICTED;
	metrics_reject(c, REJ_EVICTED);
}

bool guard_admit(serve_ctx *c, guard *g, const unsigned char addr[16])
{
	int n_addr, n_unauth, active = 0, procs = 0;
	struct conn_entry *o = oldest_unauth(g, addr, &n_addr);
	if (n_addr >= g->per_addr)
		evict(c, o);
	for (int i = 0; i < g->cap; i++) {
		procs += g->v[i].state != C_FREE;
		active += g->v[i].state == C_UNAUTH || g->v[i].state == C_AUTH;
	}
	if (active >= g->max_conns) {
		o = oldest_unauth(g, NULL, &n_unauth);
		if (!o)
			return false; /* all of them are keyed work: a real 503 */
		evict(c, o);
	}
	return procs < g->cap;
}

void guard_add(guard *g, int pid, const unsigned char addr[16])
{
	for (int i = 0; i < g->cap; i++)
		if (g->v[i].state == C_FREE) {
			g->v[i] = (struct conn_entry){.pid = pid, .state = C_UNAUTH, .since_ns = now_mono_ns()};
			memcpy(g->v[i].addr, addr, 16);
			return;
		}
}

void guard_authenticated(guard *g, int pid)
{
	struct conn_entry *e = find(g, pid);
	if (e) /* also an evicted one: it authenticated before the signal and ignored it */
		e->state = C_AUTH;
}

void guard_gone(guard *g, int pid)
{
	struct conn_entry *e = find(g, pid);
	if (e)
		e->state = C_FREE;
}

int guard_live(const guard *g)
{
	int n = 0;
	for (int i = 0; i < g->cap; i++)
		n += g->v[i].state != C_FREE;
	return n;
}

void guard_signal_all(const guard *g, int sig)
{
	for (int i = 0; i < g->cap; i++)
		if (g->v[i].state != C_FREE && g->v[i].pid > 0)
			kill(g->v[i].pid, sig);
}
