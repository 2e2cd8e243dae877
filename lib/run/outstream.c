#include "run/outstream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ostream_init(isol8_ostream *s, isol8_event_type type, int fd, isol8_buf *keep, uint64_t max,
		  const char *const *secrets, size_t nsecrets)
{
	memset(s, 0, sizeof *s);
	s->type = type;
	s->fd = fd;
	s->keep = keep;
	s->max = max;
	masker_init(&s->mask, secrets, nsecrets);
}

void ostream_free(isol8_ostream *s)
{
	masker_free(&s->mask);
}


static void emit(isol8_ostream *s, const unsigned char *p, size_t n, isol8_event_fn fn, void *ctx)
{
	s->seen += n;
	size_t room = s->keep->len < s->max ? (size_t)(s->max - s->keep->len) : 0;
	size_t take = n < room ? n : room;
	if (take) {
		buf_append(s->keep, p, take);
		if (fn) {
			isol8_event ev = {s->type, p, take, s->phase};
			fn(ctx, &ev);
		}
	}
	if (take < n)
		s->over = true;
}

void ostream_feed(isol8_ostream *s, const unsigned char *p, size_t n, isol8_event_fn fn, void *ctx)
{
	isol8_buf masked = {0};
	masker_feed(&s->mask, p, n, &masked);
	emit(s, masked.data, masked.len, fn, ctx);
	isol8_buf_free(&masked);
}

void ostream_finish(isol8_ostream *s, isol8_event_fn fn, void *ctx)
{
	isol8_buf masked = {0};
	masker_flush(&s->mask, &masked);
	emit(s, masked.data, masked.len, fn, ctx);
	isol8_buf_free(&masked);
	if (s->over) {
		char m[128];
		int n = snprintf(m, sizeof m, "\n\n--- OUTPUT TRUNCATED (%llu bytes, limit: %llu) ---",
				 (unsigned long long)s->seen, (unsigned long long)s->max);
		buf_append(s->keep, m, (size_t)n);
		if (fn) {
			isol8_event ev = {s->type, (unsigned char *)m, (size_t)n, s->phase};
			fn(ctx, &ev);
		}
	}
}

/* One read: 1 with data (or interrupted), 0 at EOF (or on an error), -1 when nothing is there. */
static int read_once(isol8_ostream *s, isol8_event_fn fn, void *ctx)
{
	unsigned char tmp[65536];
	ssize_t r = read(s->fd, tmp, sizeof tmp);
	if (r < 0)
		return errno == EINTR ? 1 : errno == EAGAIN ? -1 : 0;
	if (r == 0)
		return 0;
	if (!s->over)
		ostream_feed(s, tmp, (size_t)r, fn, ctx);
	else
		s->seen += (uint64_t)r;
	return 1;
}

/* Reads what is available; returns false at EOF. */
bool ostream_pump(isol8_ostream *s, isol8_event_fn fn, void *ctx)
{
	for (int i = 0; i < 16; i++) { /* bounded, so one busy stream cannot starve the other */
		int r = read_once(s, fn, ctx);
		if (r <= 0)
			return r < 0;
	}
	return true;
}

void ostream_drain(isol8_ostream *s, isol8_event_fn fn, void *ctx)
{
	while (read_once(s, fn, ctx) > 0)
		;
}

