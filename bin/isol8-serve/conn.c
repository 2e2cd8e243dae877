/* conn.c — one HTTP connection: read a bounded head and body, authenticate, answer (the reply
 * helpers and the watchdog every route uses). It knows nothing of routes: router.c calls it.
 *
 * Threats: a client that trickles bytes or sends half a head and waits (slowloris: the head
 * has serve.headTimeoutMs, the body serve.bodyTimeoutMs, then 408; and the accept loop may
 * evict an unauthenticated connection early with SIGUSR1, see guard.c), one that announces a
 * huge body (413 before a byte of it is read), guessing keys by timing (keys are compared as
 * SHA-256 digests with a constant-time compare over every configured key), errors that echo
 * secrets (error bodies carry our messages, never the request's values), and an execution or
 * file operation that never ends (the watchdog ends this process at its bound, so the slot it
 * holds comes back). One request per connection (Connection: close). */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/json.h"
#include "keydb.h"
#include "serve.h"
#include "core/util.h"

/* Set by SIGUSR1: the accept loop closes this unauthenticated connection to make room. */
static volatile sig_atomic_t evicted;

static void on_evict(int sig)
{
	(void)sig;
	evicted = 1;
}

/* The watchdog's view of the connection (a signal handler can use only these). */
#define WD_MSG "the request did not finish within its timeout plus serve.graceMs; it was ended"
#define WD_WRITE_S 2
static volatile int wd_fd = -1;
static volatile sig_atomic_t wd_answered, wd_sse;
static char wd_reply[512];
static size_t wd_reply_len;

static void on_watchdog(int sig)
{
	(void)sig;
	/* "\n\n" first: the write this signal interrupted may have left half a frame, which the
	 * blank line ends, so the error below still parses as a frame of its own */
	static const char sse[] = "\n\ndata: {\"type\":\"error\",\"data\":\"" WD_MSG "\",\"phase\":\"code\"}\n\n"
				  "data: {\"type\":\"exit\",\"data\":\"1\",\"phase\":\"code\"}\n\n";
	/* Threat: a client that stops reading (often the reason we are here: a write to it
	 * blocked) would block this write too, and this process, its sandbox and its slot would
	 * live on forever. The last words get WD_WRITE_S seconds, then the process ends anyway. */
	if (wd_fd >= 0) {
		struct timeval tv = {WD_WRITE_S, 0};
		(void)setsockopt(wd_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (wd_fd >= 0 && !wd_answered)
		(void)!write(wd_fd, wd_reply, wd_reply_len);
	else if (wd_fd >= 0 && wd_sse)
		(void)!write(wd_fd, sse, sizeof sse - 1);
	/* our sandboxes die with us (PDEATHSIG); the slot comes back through SEM_UNDO, the key's
	 * share through the holder table's pid check */
	_exit(3);
}

void watchdog_arm_reply(serve_conn *k, long long ms, int code, const char *msg)
{
	char body[300];
	int b = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
	int n = snprintf(wd_reply, sizeof wd_reply,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s"
			 "Connection: close\r\n\r\n%s", code, http_status_text(code), b, code == 503 ? "Retry-After: 1\r\n" : "", body);
	wd_reply_len = n > 0 && (size_t)n < sizeof wd_reply ? (size_t)n : 0;
	wd_fd = k->fd;
	struct sigaction sa = {.sa_handler = on_watchdog};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

void watchdog_arm(serve_conn *k, long long ms)
{
	watchdog_arm_reply(k, ms, 504, WD_MSG);
}

void mark_streaming(serve_conn *k)
{
	k->status = 200;
	k->answered = true;
	wd_answered = true;
	wd_sse = true;
}

int reply_json(serve_conn *k, int code, jv body)
{
	char *t = json_dump(body, 0);
	jv_free(body);
	size_t n = strlen(t);
	t[n] = '\n';
	k->status = code;
	k->answered = true;
	wd_answered = true;
	int rc = http_respond(k->fd, code, "application/json", code == 503 || code == 429 ? "Retry-After: 1\r\n" : NULL, t,
			      n + 1);
	free(t);
	return rc;
}

int reply_error(serve_conn *k, int code, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return reply_json(k, code, jv_object_set(jv_object(), jv_string("error"), jv_string(msg)));
}

/* One read of at most n bytes by the deadline: the count, 0 at EOF, -1 on error, -2 on timeout,
 * -3 when the accept loop evicted this connection. */
static ssize_t read_some(int fd, void *p, size_t n, uint64_t deadline_ns)
{
	for (;;) {
		if (evicted)
			return -3;
		uint64_t now = now_mono_ns();
		if (now >= deadline_ns)
			return -2;
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, (int)((deadline_ns - now) / 1000000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -2;
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		return got;
	}
}

/* 408 for a client too slow for its deadline, or evicted to make room (the accept loop
 * counted that one). */
static void reply_slow(serve_ctx *c, serve_conn *k, ssize_t why, const char *what, int deadline_ms)
{
	if (why == -3) {
		reply_error(k, 408, "closed to make room: this address has too many connections without a complete "
			    "request (config serve.maxUnauthenticatedPerAddress), or the server is full");
		return;
	}
	metrics_reject(c, REJ_SLOW);
	reply_error(k, 408, "request %s not received within %d ms (config serve.%sTimeoutMs): send it at once", what,
		    deadline_ms, what);
}

int conn_read_head(serve_ctx *c, serve_conn *k, isol8_buf *in)
{
	uint64_t deadline = now_mono_ns() + (uint64_t)c->head_timeout_ms * 1000000;
	char tmp[8192];
	for (;;) {
		int r = http_parse_request(in->data ? (const char *)in->data : "", in->len, &k->req);
		if (r == 1)
			return 1;
		if (r < 0) {
			reply_error(k, k->req.error, "%s", k->req.reason ? k->req.reason
					 : k->req.error == 431 ? "request head too large"
					 : k->req.error == 414 ? "request target too long"
					 : k->req.error == 501 ? "Transfer-Encoding is not supported: send a Content-Length"
					 : k->req.error == 505 ? "only HTTP/1.0 and HTTP/1.1"
					 : k->req.error == 417 ? "unsupported Expect header"
								: "malformed HTTP request");
			return -1;
		}
		ssize_t n = read_some(k->fd, tmp, sizeof tmp, deadline);
		if (n == -2 || n == -3) {
			/* a connection that sent nothing is answered too: it held a slot just the same */
			reply_slow(c, k, n, "head", c->head_timeout_ms);
			return -1;
		}
		if (n <= 0)
			return 0;
		buf_append(in, tmp, (size_t)n);
	}
}

int conn_read_body(serve_ctx *c, serve_conn *k, isol8_buf *in)
{
	if (!k->req.has_length)
		return 0;
	if (k->req.content_length > c->max_body) {
		metrics_reject(c, REJ_TOO_LARGE);
		reply_error(k, 413, "request body too large: %llu bytes, this server takes at most %llu (config serve.maxBodyBytes)",
			    k->req.content_length, (unsigned long long)c->max_body);
		return -1;
	}
	if (k->req.expect_continue && in->len == k->req.head_len)
		(void)write_all(k->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	size_t want = k->req.head_len + (size_t)k->req.content_length;
	uint64_t deadline = now_mono_ns() + (uint64_t)c->body_timeout_ms * 1000000 +
			    k->req.content_length / 1024 * 1000000; /* and 1 ms per KiB: ≥ 1 MB/s is fine */
	char tmp[65536];
	while (in->len < want) {
		size_t room = want - in->len < sizeof tmp ? want - in->len : sizeof tmp;
		ssize_t n = read_some(k->fd, tmp, room, deadline);
		if (n <= 0) {
			/* a client we give up on is told why (-3 cannot happen once authenticated, see
			 * conn_authenticate, but must never become a silent close) */
			if (n == -2 || n == -3)
				reply_slow(c, k, n, "body", c->body_timeout_ms);
			return -1;
		}
		buf_append(in, tmp, (size_t)n);
	}
	k->body = (char *)in->data + k->req.head_len;
	k->body_len = (size_t)k->req.content_length;
	return 0;
}

/* "Bearer <token>" (any case, any spacing) or a bare token: clients send either. */
static const char *token_of(const char *auth)
{
	if (!strncasecmp(auth, "bearer", 6) && (auth[6] == ' ' || auth[6] == '\t')) {
		auth += 6;
		while (*auth == ' ' || *auth == '\t')
			auth++;
	}
	return auth;
}

int conn_authenticate(serve_ctx *c, serve_conn *k)
{
	if (!k->req.auth[0]) {
		metrics_reject(c, REJ_AUTH);
		reply_error(k, 401, "Missing Authorization header");
		return 401;
	}
	const char *tok = token_of(k->req.auth);
	unsigned char h[32];
	SHA256((const unsigned char *)tok, strlen(tok), h);
	int match = -1;
	for (size_t i = 0; i < c->nkeys; i++) /* no early exit: every key is compared */
		if (CRYPTO_memcmp(h, c->keys[i], 32) == 0)
			match = (int)i;
	static const char hex[] = "0123456789abcdef";
	unsigned char tag[32];
	if (match >= 0) {
		k->master = true;
		memcpy(tag, c->keys[match], 32);
	} else {
		keydb_key dk;
		int r = c->auth_conn ? keys_lookup(c, tok, &dk) : 0;
		if (r < 0) { /* never an open door: no key is accepted while the database is away */
			metrics_reject(c, REJ_AUTH);
			reply_error(k, 503, "the key database is unavailable: retry in a moment");
			return 503;
		}
		if (r == 0) {
			metrics_reject(c, REJ_AUTH);
			reply_error(k, 403, "Invalid API key");
			return 403;
		}
		snprintf(k->tenant, sizeof k->tenant, "%s", dk.tenant);
		snprintf(k->key_id, sizeof k->key_id, "%s", dk.id);
		/* a tenant's keys share its sessions; the tag cannot be a static key's digest */
		char *t = xasprintf("tenant\n%s", dk.tenant);
		SHA256((const unsigned char *)t, strlen(t), tag);
		free(t);
	}
	/* the owner tag is derived from the key (or tenant), so sessions stay theirs across restarts */
	for (int i = 0; i < 6; i++) {
		k->owner[2 * i] = hex[tag[i] >> 4];
		k->owner[2 * i + 1] = hex[tag[i] & 15];
	}
	k->owner[12] = 0;
	/* Threat: one key holding every connection the server takes (authenticated connections
	 * are never evicted), e.g. with dozens of GET /file waiting on a busy session: /health and
	 * other keys would get 503. A key may hold serve.maxConnectionsPerKey connections at once.
	 * One over it is answered 429 and is not reported as authenticated: it stays evictable
	 * while it lingers, so it never takes a place the others need. */
	if (conn_share_take(c, k->owner) < 0) {
		metrics_reject(c, REJ_KEY_CONNS);
		reply_error(k, 429, "too many requests open: %d for this key (serve.maxConnectionsPerKey) or %d for all "
			    "keys (maxConcurrent + serve.maxQueue): retry when one ends", c->key_conns, c->conns_total);
		return 429;
	}
	k->conn_share = true;
	/* From here the connection is a key's: the accept loop no longer evicts it. It may have
	 * sent SIGUSR1 already (it learns of the key only from the pipe below), after the head was
	 * read: that eviction is void, else conn_read_body would give up on a keyed request. */
	signal(SIGUSR1, SIG_IGN);
	evicted = 0;
	if (c->auth_fd >= 0) {
		int pid = getpid();
		(void)!write(c->auth_fd, &pid, sizeof pid); /* < PIPE_BUF: atomic */
	}
	return 0;
}

/* Closing with unread request bytes makes the kernel send a reset, which can destroy the
 * response (a 401 or 413) before the client reads it: stop writing, then drain briefly
 * (very briefly for a slow client: it must not keep its process for a second more). */
static void linger_close(int fd, bool slow)
{
	shutdown(fd, SHUT_WR);
	uint64_t deadline = now_mono_ns() + (slow ? 100000000ull : 1000000000ull);
	char tmp[65536];
	size_t total = 0;
	ssize_t n;
	while (total < (64u << 20) && (n = read_some(fd, tmp, sizeof tmp, deadline)) > 0)
		total += (size_t)n;
}

void conn_open(serve_conn *k, int fd)
{
	*k = (serve_conn){.fd = fd, .start_ns = now_mono_ns()};
	struct sigaction sa = {.sa_handler = on_evict}; /* no SA_RESTART: the poll must wake up */
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL); /* the accept loop forks us with it blocked */
	wd_fd = fd;
}

void conn_close(serve_ctx *c, serve_conn *k)
{
	if (k->conn_share)
		conn_share_release(c);
	if (c->debug && k->req.method[0])
		fprintf(stderr, "[DEBUG] %s %s %d %.1fms\n", k->req.method, k->req.path, k->status,
			(double)(now_mono_ns() - k->start_ns) / 1e6);
	linger_close(k->fd, k->status == 408 || k->status == 429);
}

/* The client's address as text ("" when it has none: a unix socket). */
void peer_text(int fd, char *out, size_t n)
{
	struct sockaddr_storage sa;
	socklen_t l = sizeof sa;
	out[0] = 0;
	if (getpeername(fd, (struct sockaddr *)&sa, &l) < 0)
		return;
	if (sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, out, (socklen_t)n);
	else if (sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, out, (socklen_t)n);
}

int refuse_if_draining(serve_ctx *c, serve_conn *k, const char *what)
{
	if (!__atomic_load_n(c->draining, __ATOMIC_RELAXED))
		return 0;
	reply_error(k, 503, "this node is draining (it is stopping): %s starts on another node; retry", what);
	return -1;
}
