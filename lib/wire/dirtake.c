/* dirtake.c — see dirtake.h. */
#include "wire/dirtake.h"

#include <string.h>

void dirtake_put(isol8_buf *b, dirtake_kind kind, const char *name, uint64_t size, const void *data)
{
	size_t n = strlen(name);
	unsigned char head[2 + 255 + 8];
	if (n > 255)
		n = 255;
	head[0] = (unsigned char)kind;
	head[1] = (unsigned char)n;
	memcpy(head + 2, name, n);
	for (int i = 0; i < 8; i++)
		head[2 + n + i] = (unsigned char)(size >> (8 * i));
	buf_append(b, head, 2 + n + 8);
	if (kind == DIRTAKE_DATA && size)
		buf_append(b, data, (size_t)size);
}

static bool known_kind(int k)
{
	return k == DIRTAKE_DATA || k == DIRTAKE_OVER_BYTES || k == DIRTAKE_OVER_COUNT || k == DIRTAKE_NOT_REGULAR ||
	       k == DIRTAKE_UNREADABLE;
}

int dirtake_next(const unsigned char *buf, size_t len, size_t *off, dirtake_rec *r)
{
	size_t o = *off;
	if (o >= len)
		return 0;
	if (len - o < 2 || !known_kind(buf[o]) || buf[o + 1] == 0 || len - o - 2 < (size_t)buf[o + 1] + 8)
		return -1;
	size_t n = buf[o + 1];
	memset(r, 0, sizeof *r);
	r->kind = (dirtake_kind)buf[o];
	memcpy(r->name, buf + o + 2, n);
	if (memchr(r->name, 0, n) || memchr(r->name, '/', n))
		return -1; /* a directory entry's name has neither */
	o += 2 + n;
	for (int i = 0; i < 8; i++)
		r->size |= (uint64_t)buf[o + i] << (8 * i);
	o += 8;
	if (r->kind == DIRTAKE_DATA) {
		if (r->size > len - o)
			return -1;
		r->data = buf + o;
		o += (size_t)r->size;
	}
	*off = o;
	return 1;
}
