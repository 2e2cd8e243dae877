/* proxy.c — one proxy client connection, and the accept loop.
 *
 * A connection goes through the parts in order: its request head (proxy_head.c), the host
 * rules and ports (proxy_rules.c), the address policy as it is dialled (proxy_addr.c), then
 * either keep-alive HTTP with its Host header checked and its framing kept, or a CONNECT tunnel
 * whose first bytes must be a TLS ClientHello with an allowed SNI (proxy_hello.c). Every
 * decision is one line of the network log. The accept loop forks one child per connection
 * (at most max_conns), each dying with the proxy. */
#include "net/proxy.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "net/proxy_stream.h"
#include "state/netlog.h"

/* ---- answers and the network log ------------------------------------------------------------ */

/* One JSON line per request (network.jsonl shape), with the canonical host; a BLOCK line also
 * says why (reason). */
static void log_line(const isol8_proxy_opts *o, const proxy_request *r, const char *action, const char *reason,
		     uint64_t start_ns)
{
	if (o->log_fd < 0)
		return;
	netlog_entry e = {r->method, r->host, r->connect ? NULL : r->path, action, reason,
			  (now_mono_ns() - start_ns) / 1000000};
	(void)netlog_append(o->log_fd, &e);
}

static void reply(int fd, const char *status, const char *body)
{
	char m[1536];
	int n = snprintf(m, sizeof m,
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
			 strlen(body), body);
	(void)write_all(fd, m, (size_t)n < sizeof m ? (size_t)n : sizeof m - 1);
}

static void bad_request(int fd, const char *why)
{
	char body[512];
	snprintf(body, sizeof body, "isol8: malformed proxy request: %s", why ? why : "invalid request");
	reply(fd, "400 Bad Request", body);
}

/* host:port as a URI writes it (IPv6 in brackets); the port left out when it is def_port. */
static void authority(const proxy_request *r, int def_port, char *out, size_t outlen)
{
	bool v6 = strchr(r->host, ':') != NULL;
	if (r->port == def_port)
		snprintf(out, outlen, v6 ? "[%s]" : "%s", r->host);
	else
		snprintf(out, outlen, v6 ? "[%s]:%d" : "%s:%d", r->host, r->port);
}

/* ---- the checks, each answering and logging its refusal ---------------------------------------- */


/* Connects upstream, or answers the client and logs: 403 for a refused address, 502 for an
 * upstream that cannot be reached (a policy refusal is a BLOCK; the other was still allowed). */
static int dial_or_refuse(int c, const isol8_proxy_opts *o, const proxy_request *r, uint64_t t0)
{
	const char *refusal;
	char body[512];
	int u = proxy_dial(r->host, r->port, o->rules.allow_private, &refusal);
	if (u >= 0)
		return u;
	log_line(o, r, refusal ? "BLOCK" : "ALLOW", refusal, t0);
	if (refusal) {
		snprintf(body, sizeof body, "isol8: request to %s blocked: private or local address", r->host);
		reply(c, "403 Forbidden", body);
	} else {
		snprintf(body, sizeof body, "isol8: proxy error: connection to %s:%d failed", r->host, r->port);
		reply(c, "502 Bad Gateway", body);
	}
	return -1;
}

/* The rules on the canonical host, then the ports (CONNECT and plain HTTP alike); answers and
 * logs a refusal. */
static bool request_allowed(int c, const isol8_proxy_opts *o, const proxy_request *r, uint64_t t0)
{
	char body[512], auth[300];
	if (!proxy_host_allowed(&o->rules, r->host)) {
		log_line(o, r, "BLOCK", "denied by rules", t0);
		snprintf(body, sizeof body, r->connect ? "isol8: CONNECT to %s blocked by network filter"
						       : "isol8: request to %s blocked by network filter",
			 r->host);
		reply(c, "403 Forbidden", body);
		return false;
	}
	if (!proxy_port_allowed(&o->rules, r->port)) {
		log_line(o, r, "BLOCK", "port not allowed", t0);
		authority(r, 0, auth, sizeof auth);
		snprintf(body, sizeof body, "isol8: request to %s blocked: port %d is not allowed", auth, r->port);
		reply(c, "403 Forbidden", body);
		return false;
	}
	return true;
}

/* The Host header against the absolute URI (400 when they disagree). */
static bool host_header_agrees(int c, const isol8_proxy_opts *o, const proxy_request *r, const char *head, bool *has_host,
			       uint64_t t0)
{
	char seen[300], auth[300], body[1024];
	int h = proxy_check_host_header(head, r->head_len, r, seen, sizeof seen);
	*has_host = h == 1;
	if (h >= 0)
		return true;
	log_line(o, r, "BLOCK", h == -1 ? "Host header disagrees with the URI" : "malformed Host header", t0);
	authority(r, 0, auth, sizeof auth);
	if (h == -1)
		snprintf(body, sizeof body, "isol8: bad request: the Host header names %s but the URI names %s; send one host", seen,
			 auth);
	else
		snprintf(body, sizeof body, "isol8: bad request: send exactly one valid Host header");
	reply(c, "400 Bad Request", body);
	return false;
}


/* ---- keep-alive HTTP ------------------------------------------------------------------------ */

/* Rewrites an absolute-form request head for the origin: origin-form request line, no
 * Proxy-* or hop-by-hop connection headers; Connection: close only when the client asked; a
 * Host header (the URI's) when there was none. */
static void rewrite_head(const char *head, size_t len, const proxy_request *r, bool close, bool has_host, isol8_buf *out)
{
	char line[4200], auth[300];
	snprintf(line, sizeof line, "%s %s HTTP/1.1\r\n", r->method, r->path);
	buf_puts(out, line);
	if (!has_host) { /* HTTP/1.0 without one: the origin gets the URI's */
		authority(r, 80, auth, sizeof auth);
		snprintf(line, sizeof line, "Host: %s\r\n", auth);
		buf_puts(out, line);
	}
	const char *p = memchr(head, '\n', len) + 1, *end = head + len - 2;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		if (strncasecmp(p, "proxy-", 6) && strncasecmp(p, "connection:", 11) && strncasecmp(p, "keep-alive:", 11))
			buf_append(out, p, l);
		p += l;
	}
	buf_puts(out, close ? "Connection: close\r\n\r\n" : "\r\n");
}

/* Passes the upstream's response heads on to the client: the interim 1xx ones, then the final
 * one (or a 101). 0 with *rs its framing; -1 when no head could be read or framed, or the
 * client could not be written to. */
static int forward_response_head(int c, int u, struct proxy_rbuf *ub, const char *method, proxy_framing *rs, int idle_ms)
{
	for (;;) {
		ssize_t hl = proxy_rb_head(u, ub, 65536, idle_ms);
		if (hl <= 0 || proxy_response_framing(rb_data(ub), (size_t)hl, method, rs) < 0)
			return -1;
		if (write_all(c, rb_data(ub), (size_t)hl) < 0)
			return -1;
		rb_consume(ub, (size_t)hl);
		if (rs->status >= 200 || rs->status == 101)
			return 0;
	}
}

/* Absolute-form HTTP with keep-alive: each request on the client connection is checked against
 * the rules and forwarded; the upstream connection is reused while the host stays the same. */
static void serve_http(int c, const isol8_proxy_opts *o, struct proxy_rbuf *cb, proxy_request *r, uint64_t t0)
{
	struct proxy_rbuf ub = {{0}, 0};
	int u = -1, uport = 0;
	char uhost[256] = "", body[512];
	bool sent_any = false, has_host;
	for (;;) {
		proxy_framing rq, rs;
		if (r->connect || proxy_request_framing(rb_data(cb), r->head_len, &rq) < 0) {
			reply(c, "400 Bad Request", r->connect ? "isol8: malformed proxy request: CONNECT on a plain-HTTP connection"
							       : "isol8: malformed proxy request: ambiguous or invalid message framing");
			break;
		}
		if (!host_header_agrees(c, o, r, rb_data(cb), &has_host, t0) || !request_allowed(c, o, r, t0))
			break;
		if (u >= 0 && (strcmp(uhost, r->host) || uport != r->port)) {
			close(u);
			u = -1;
			ub.b.len = ub.off = 0;
		}
		if (u < 0) {
			if ((u = dial_or_refuse(c, o, r, t0)) < 0)
				break;
			snprintf(uhost, sizeof uhost, "%s", r->host);
			uport = r->port;
		}
		isol8_buf h = {0};
		rewrite_head(rb_data(cb), r->head_len, r, rq.close, has_host, &h);
		int w = write_all(u, h.data, h.len);
		isol8_buf_free(&h);
		rb_consume(cb, r->head_len);
		if (w < 0 || proxy_copy_body(c, cb, u, &rq, o->idle_ms) < 0)
			break;
		/* the response: interim 1xx heads are passed on, then the final one and its body */
		if (forward_response_head(c, u, &ub, r->method, &rs, o->idle_ms) < 0) {
			if (!sent_any) {
				snprintf(body, sizeof body, "isol8: proxy error: bad response from %s:%d", r->host, r->port);
				reply(c, "502 Bad Gateway", body);
			}
			break;
		}
		sent_any = true;
		if (rs.status == 101) { /* upgraded: a plain tunnel from here */
			log_line(o, r, "ALLOW", NULL, t0);
			if ((rb_len(&ub) && write_all(c, rb_data(&ub), rb_len(&ub)) < 0) ||
			    (rb_len(cb) && write_all(u, rb_data(cb), rb_len(cb)) < 0))
				break;
			proxy_relay(c, u, o->idle_ms);
			break;
		}
		int cbr = proxy_copy_body(u, &ub, c, &rs, o->idle_ms);
		log_line(o, r, "ALLOW", NULL, t0);
		if (cbr < 0 || rq.close || rs.close)
			break;
		/* the next request on this connection */
		t0 = now_mono_ns();
		ssize_t nh = proxy_rb_head(c, cb, PROXY_MAX_HEAD, o->idle_ms);
		if (nh == 0)
			break;
		if (nh < 0 || proxy_parse_head(rb_data(cb), (size_t)nh, r) != 1) {
			bad_request(c, nh < 0 ? "request head over 16 KiB" : r->error);
			break;
		}
	}
	if (u >= 0)
		close(u);
	isol8_buf_free(&ub.b);
}

/* Threat: fronting a denied host behind an allowed CONNECT. The first bytes through the tunnel
 * must be a TLS ClientHello (reassembled across records, bounded) whose SNI, if any, passes the
 * rules; anything else is refused, plain HTTP included (its Host header would go unchecked).
 * The client already speaks TLS by then: closing is the only answer. */
static void tunnel(int c, int u, const isol8_proxy_opts *o, proxy_request *r, const char *early, size_t nearly,
		   uint64_t t0)
{
	unsigned char *raw = xmalloc(PROXY_MAX_HELLO_RAW);
	proxy_hello *h = xcalloc(1, sizeof *h);
	char sni[256];
	const char *why = NULL;
	size_t n = nearly;
	int s = -1;
	uint64_t deadline = proxy_deadline_after(o->idle_ms); /* for the whole hello, not per read */
	memcpy(raw, early, n);
	for (;;) {
		if (n)
			s = proxy_hello_feed(h, raw, n, sni, sizeof sni, &why);
		if (s != -1)
			break;
		int left = proxy_ms_left(deadline);
		ssize_t k = n < PROXY_MAX_HELLO_RAW && left ? proxy_read_timed(c, raw + n, PROXY_MAX_HELLO_RAW - n, left) : 0;
		if (k <= 0) {
			s = -2;
			why = n == PROXY_MAX_HELLO_RAW     ? "ClientHello spread over too many records"
			      : !n                         ? "no TLS ClientHello"
			      : !proxy_ms_left(deadline)   ? "ClientHello not complete in time"
							   : "incomplete ClientHello";
			break;
		}
		n += (size_t)k;
	}
	if (s == 1 && !proxy_host_allowed(&o->rules, sni)) {
		snprintf(r->host, sizeof r->host, "%s", sni);
		log_line(o, r, "BLOCK", "SNI denied by rules", t0);
	} else if (s < 0) {
		log_line(o, r, "BLOCK", why, t0);
	} else {
		log_line(o, r, "ALLOW", NULL, t0);
		if (write_all(u, raw, n) == 0)
			proxy_relay(c, u, o->idle_ms);
	}
	free(h);
	free(raw);
}

void proxy_handle(int c, const isol8_proxy_opts *o)
{
	char head[PROXY_MAX_HEAD + 1];
	size_t len = 0;
	proxy_request r;
	int st = 0;
	uint64_t t0 = now_mono_ns(), deadline = proxy_deadline_after(o->idle_ms); /* for the whole head */
	while (st == 0) {
		if (len >= PROXY_MAX_HEAD) {
			st = -1;
			r.error = "request head over 16 KiB";
			break;
		}
		int left = proxy_ms_left(deadline);
		ssize_t n = left ? proxy_read_timed(c, head + len, PROXY_MAX_HEAD - len, left) : 0;
		if (n <= 0)
			return;
		len += (size_t)n;
		st = proxy_parse_head(head, len, &r);
	}
	if (st < 0) {
		bad_request(c, r.error);
		return;
	}
	if (!r.connect) {
		struct proxy_rbuf cb = {{0}, 0};
		buf_append(&cb.b, head, len);
		serve_http(c, o, &cb, &r, t0);
		isol8_buf_free(&cb.b);
		return;
	}
	if (!request_allowed(c, o, &r, t0))
		return;
	int u = dial_or_refuse(c, o, &r, t0);
	if (u < 0)
		return;
	static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
	(void)write_all(c, ok, sizeof ok - 1);
	tunnel(c, u, o, &r, head + r.head_len, len - r.head_len, t0);
	close(u);
}

int proxy_serve(int lfd, const isol8_proxy_opts *o, int stop_fd, isol8_err *err)
{
	int sfd = signalfd_for(SIGCHLD, 0);
	if (sfd < 0)
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "signalfd");
	int live = 0;
	for (;;) {
		struct pollfd p[3] = {{live < o->max_conns ? lfd : -1, POLLIN, 0}, {sfd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			(void)!read(sfd, &si, sizeof si);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				live--;
		}
		if (p[0].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid_t parent = getpid();
			pid_t pid = fork();
			if (pid == 0) {
				/* a connection ends with its proxy: one killed with the run that started it
				 * must not leave a child resolving or waiting for a ClientHello, holding the
				 * sandbox's socket (and so its network namespace) */
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					_exit(1);
				close(lfd);
				close(sfd);
				proxy_handle(c, o);
				_exit(0);
			}
			if (pid > 0)
				live++;
			close(c);
		}
	}
	close(sfd);
	return 0;
}
