/* proxy_stream.c — bytes between a proxy client and its upstream: reads by a deadline, one
 * message body as framed, and the two-way relay of a tunnel or an upgraded connection.
 *
 * Threats: a peer that trickles bytes (a head gets one deadline in all), that goes idle (every
 * wait is bounded by the idle timeout), or that sends chunk sizes or lines without end
 * (overflow refused, lines bounded at 4 KiB). Bytes of a body pass through unchanged. */
#include "net/proxy_stream.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t proxy_read_timed(int fd, void *buf, size_t n, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	ssize_t r = read(fd, buf, n);
	return r < 0 ? 0 : r;
}

/* Threat: a client that trickles a head or a ClientHello a byte at a time, each byte inside
 * the idle timeout, holds its connection (one of --max-conns) for days if every read gets the
 * whole timeout. A head or a hello gets one deadline: idle_ms in all. */
uint64_t proxy_deadline_after(int ms)
{
	return now_mono_ns() + (uint64_t)ms * 1000000u;
}

/* Milliseconds left before a deadline (rounded up), 0 once it has passed. */
int proxy_ms_left(uint64_t deadline)
{
	uint64_t now = now_mono_ns();
	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

void proxy_relay(int a, int b, int idle_ms)
{
	char buf[65536];
	bool a_open = true, b_open = true;
	while (a_open || b_open) {
		struct pollfd p[2] = {{a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}};
		int r = poll(p, 2, idle_ms);
		if (r <= 0)
			return; /* idle: drop both */
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			int from = i ? b : a, to = i ? a : b;
			ssize_t n = read(from, buf, sizeof buf);
			if (n <= 0 || write_all(to, buf, (size_t)n) < 0) {
				shutdown(to, SHUT_WR);
				if (i)
					b_open = false;
				else
					a_open = false;
			}
		}
	}
}

static ssize_t rb_fill(int fd, struct proxy_rbuf *r, int ms)
{
	char tmp[65536];
	ssize_t n = proxy_read_timed(fd, tmp, sizeof tmp, ms);
	if (n > 0)
		buf_append(&r->b, tmp, (size_t)n);
	return n;
}

/* The length of a complete head at the front of r (reading as needed), 0 at EOF/idle, -1 if
 * it grows past max. */
ssize_t proxy_rb_head(int fd, struct proxy_rbuf *r, size_t max, int ms)
{
	uint64_t deadline = proxy_deadline_after(ms); /* for the whole head */
	for (;;) {
		char *d = rb_data(r);
		size_t n = rb_len(r);
		for (size_t i = 0; i + 3 < n; i++)
			if (d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r' && d[i + 3] == '\n')
				return (ssize_t)(i + 4);
		if (n > max)
			return -1;
		int left = proxy_ms_left(deadline);
		if (!left || rb_fill(fd, r, left) <= 0)
			return 0;
	}
}

/* Forwards n bytes of body from src (its buffer first) to dst. */
static int copy_n(int src, struct proxy_rbuf *r, int dst, unsigned long long n, int ms)
{
	while (n) {
		if (!rb_len(r) && rb_fill(src, r, ms) <= 0)
			return -1;
		size_t k = rb_len(r) < n ? rb_len(r) : (size_t)n;
		if (write_all(dst, rb_data(r), k) < 0)
			return -1;
		rb_consume(r, k);
		n -= k;
	}
	return 0;
}

/* Forwards one line (up to and including CRLF), returning its length without the CRLF. */
static ssize_t copy_line(int src, struct proxy_rbuf *r, int dst, char *line, size_t cap, int ms)
{
	for (;;) {
		char *d = rb_data(r);
		size_t n = rb_len(r);
		for (size_t i = 0; i + 1 < n; i++)
			if (d[i] == '\r' && d[i + 1] == '\n') {
				if (i >= cap)
					return -1;
				memcpy(line, d, i);
				line[i] = 0;
				if (write_all(dst, d, i + 2) < 0)
					return -1;
				rb_consume(r, i + 2);
				return (ssize_t)i;
			}
		if (n > 4096)
			return -1;
		if (rb_fill(src, r, ms) <= 0)
			return -1;
	}
}

/* Forwards exactly one message body as framed; bytes are passed through unchanged. */
int proxy_copy_body(int src, struct proxy_rbuf *r, int dst, const proxy_framing *f, int ms)
{
	char line[4097];
	unsigned long long size;
	switch (f->kind) {
	case BODY_NONE:
		return 0;
	case BODY_LENGTH:
		return copy_n(src, r, dst, f->length, ms);
	case BODY_CHUNKED:
		for (;;) {
			ssize_t l = copy_line(src, r, dst, line, sizeof line, ms);
			if (l < 0 || proxy_parse_chunk_size(line, (size_t)l, &size) < 0)
				return -1;
			if (size == 0) { /* trailers, then the empty line */
				while ((l = copy_line(src, r, dst, line, sizeof line, ms)) > 0)
					;
				return l == 0 ? 0 : -1;
			}
			if (copy_n(src, r, dst, size, ms) < 0 || copy_line(src, r, dst, line, sizeof line, ms) != 0)
				return -1;
		}
	case BODY_UNTIL_CLOSE:
		if (rb_len(r) && write_all(dst, rb_data(r), rb_len(r)) < 0)
			return -1;
		rb_consume(r, rb_len(r));
		for (char tmp[65536];;) {
			ssize_t n = proxy_read_timed(src, tmp, sizeof tmp, ms);
			if (n <= 0)
				return 0;
			if (write_all(dst, tmp, (size_t)n) < 0)
				return -1;
		}
	}
	return -1;
}
