#include "mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_pat(isol8_masker *m, const char *p, size_t len)
{
	if (!len)
		return;
	for (size_t i = 0; i < m->npats; i++)
		if (m->lens[i] == len && !memcmp(m->pats[i], p, len))
			return;
	m->pats = xrealloc(m->pats, (m->npats + 1) * sizeof *m->pats);
	m->lens = xrealloc(m->lens, (m->npats + 1) * sizeof *m->lens);
	m->pats[m->npats] = xstrndup(p, len);
	m->lens[m->npats] = len;
	m->npats++;
	if (len > m->maxlen)
		m->maxlen = len;
}

static int by_len_desc(const void *a, const void *b, void *ctx)
{
	const isol8_masker *m = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	return m->lens[ia] < m->lens[ib] ? 1 : m->lens[ia] > m->lens[ib] ? -1 : 0;
}

void masker_init(isol8_masker *m, const char *const *secrets, size_t n)
{
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(secrets[i]);
		add_pat(m, secrets[i], len);
		if (len < 4)
			continue; /* encodings of tiny secrets would mask noise */
		char *hex = xmalloc(2 * len + 1);
		for (size_t j = 0; j < len; j++)
			sprintf(hex + 2 * j, "%02x", (unsigned char)secrets[i][j]);
		add_pat(m, hex, 2 * len);
		for (size_t j = 0; j < 2 * len; j++)
			if (hex[j] >= 'a')
				hex[j] = (char)(hex[j] - 32);
		add_pat(m, hex, 2 * len);
		free(hex);
		size_t bl;
		char *b = base64_encode((const unsigned char *)secrets[i], len, &bl);
		while (bl && b[bl - 1] == '=')
			bl--;
		add_pat(m, b, bl);
		free(b);
	}
	/* Longest first, so a secret containing another secret is masked whole. */
	size_t *idx = xmalloc(m->npats * sizeof *idx);
	for (size_t i = 0; i < m->npats; i++)
		idx[i] = i;
	qsort_r(idx, m->npats, sizeof *idx, by_len_desc, m);
	char **pats = xmalloc(m->npats * sizeof *pats);
	size_t *lens = xmalloc(m->npats * sizeof *lens);
	for (size_t i = 0; i < m->npats; i++) {
		pats[i] = m->pats[idx[i]];
		lens[i] = m->lens[idx[i]];
	}
	free(m->pats);
	free(m->lens);
	free(idx);
	m->pats = pats;
	m->lens = lens;
}

/* Scans data[0..n): emits safe bytes to out; returns how many bytes were consumed.
 * With final=false, stops at the first position where the rest is a proper prefix of a pattern. */
static size_t scan(isol8_masker *m, const unsigned char *d, size_t n, bool final, isol8_buf *out)
{
	size_t i = 0, plain = 0; /* plain: start of the run of bytes not yet copied */
	while (i < n) {
		bool matched = false, maybe = false;
		for (size_t k = 0; k < m->npats; k++) {
			size_t l = m->lens[k];
			if (n - i >= l) {
				/* A longer pattern may still complete here: wait for more bytes. */
				if (maybe)
					break;
				if (d[i] == (unsigned char)m->pats[k][0] && !memcmp(d + i, m->pats[k], l)) {
					buf_append(out, d + plain, i - plain);
					buf_append(out, "***", 3);
					i += l;
					plain = i;
					matched = true;
					break;
				}
			} else if (!final && !memcmp(d + i, m->pats[k], n - i)) {
				maybe = true;
			}
		}
		if (matched)
			continue;
		if (maybe)
			break;
		i++;
	}
	buf_append(out, d + plain, i - plain);
	return i;
}

void masker_feed(isol8_masker *m, const unsigned char *p, size_t n, isol8_buf *out)
{
	if (!m->npats) {
		buf_append(out, p, n);
		return;
	}
	buf_append(&m->pend, p, n);
	size_t used = scan(m, m->pend.data, m->pend.len, false, out);
	memmove(m->pend.data, m->pend.data + used, m->pend.len - used);
	m->pend.len -= used;
}

void masker_flush(isol8_masker *m, isol8_buf *out)
{
	if (m->pend.len)
		scan(m, m->pend.data, m->pend.len, true, out);
	m->pend.len = 0;
}

void masker_free(isol8_masker *m)
{
	for (size_t i = 0; i < m->npats; i++)
		free(m->pats[i]);
	free(m->pats);
	free(m->lens);
	buf_free(&m->pend);
	memset(m, 0, sizeof *m);
}

char *mask_string(const char *const *secrets, size_t n, const char *s, size_t len, size_t *outlen)
{
	isol8_masker m;
	isol8_buf out = {0};
	masker_init(&m, secrets, n);
	masker_feed(&m, (const unsigned char *)s, len, &out);
	masker_flush(&m, &out);
	masker_free(&m);
	buf_append(&out, "", 0);
	if (outlen)
		*outlen = out.len;
	return (char *)out.data;
}
