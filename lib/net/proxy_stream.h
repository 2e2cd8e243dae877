/* proxy_stream.h — moving bytes between a proxy client and its upstream (proxy_stream.c): reads
 * by a deadline, message bodies as framed, and the plain two-way relay of a tunnel. Used by
 * the connection handling in proxy.c; not part of the tool's API.
 *
 * Threats: a peer that trickles a head or a ClientHello a byte at a time (one deadline for the
 * whole of it, not a new timeout per read), one that goes idle (every wait is bounded), and
 * chunked bodies that lie about their sizes (parsed, bounded lines, overflow refused). */
#ifndef ISOL8_PROXY_STREAM_H
#define ISOL8_PROXY_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util.h"
#include "net/proxy_head.h"

/* Reads with a deadline; returns bytes read, 0 at EOF or timeout. */
ssize_t proxy_read_timed(int fd, void *buf, size_t n, int ms);
/* The monotonic time ms from now, and the milliseconds left before it (rounded up, 0 once it
 * has passed). */
uint64_t proxy_deadline_after(int ms);
int proxy_ms_left(uint64_t deadline);

/* Copies both ways until both sides are closed, or nothing moves for idle_ms. */
void proxy_relay(int a, int b, int idle_ms);

/* A read buffer per side of a keep-alive connection (bytes of the next message may arrive
 * with the end of the current one). */
struct proxy_rbuf {
	isol8_buf b;
	size_t off;
};

static inline size_t rb_len(const struct proxy_rbuf *r)
{
	return r->b.len - r->off;
}

static inline char *rb_data(const struct proxy_rbuf *r)
{
	return (char *)r->b.data + r->off;
}

static inline void rb_consume(struct proxy_rbuf *r, size_t n)
{
	r->off += n;
	if (r->off == r->b.len)
		r->off = r->b.len = 0;
}

/* The length of a complete head at the front of r (reading as needed, within ms in all), 0 at
 * EOF/idle, -1 if it grows past max. */
ssize_t proxy_rb_head(int fd, struct proxy_rbuf *r, size_t max, int ms);
/* Forwards exactly one message body as framed; bytes are passed through unchanged. */
int proxy_copy_body(int src, struct proxy_rbuf *r, int dst, const proxy_framing *f, int ms);

#endif
