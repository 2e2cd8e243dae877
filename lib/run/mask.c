/* mask.c — the pattern set (raw, URL-encoded, hex, base64 at every alignment) and the streaming
 * scan. See mask.h for what is matched and docs/secrets.md for why. */
#include "run/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An encoded pattern must pin down this many bits of the secret; fewer would match by chance
 * in ordinary output (a 4-character base64 run is 24 bits: once per 16 MB of random text). */
#define MIN_ENCODED_BITS 32

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool set_has(const uint8_t set[32], unsigned char c)
{
	return set[c >> 3] & (1u << (c & 7));
}

static bool same_pat(const isol8_mask_pat *a, const isol8_mask_pat *b)
{
	return a->len == b->len && a->has_lead == b->has_lead && a->has_trail == b->has_trail &&
	       !memcmp(a->s, b->s, a->len) && !memcmp(a->lead, b->lead, sizeof a->lead) &&
	       !memcmp(a->trail, b->trail, sizeof a->trail);
}

/* Takes a copy of p (its bytes included); duplicates are dropped. */
static void add_pat(isol8_masker *m, const isol8_mask_pat *p)
{
	if (!p->len)
		return;
	for (size_t i = 0; i < m->npats; i++)
		if (same_pat(&m->pats[i], p))
			return;
	m->pats = xrealloc(m->pats, (m->npats + 1) * sizeof *m->pats);
	isol8_mask_pat *q = &m->pats[m->npats++];
	*q = *p;
	q->s = xmalloc(p->len);
	memcpy(q->s, p->s, p->len);
	if (p->len > m->maxlen)
		m->maxlen = p->len;
}

static void add_exact(isol8_masker *m, const char *s, size_t len)
{
	isol8_mask_pat p = {.s = (unsigned char *)s, .len = len};
	add_pat(m, &p);
}

static void add_hex(isol8_masker *m, const unsigned char *sec, size_t len)
{
	if (8 * len < MIN_ENCODED_BITS)
		return;
	char *hex = xmalloc(2 * len + 1);
	for (size_t j = 0; j < len; j++)
		sprintf(hex + 2 * j, "%02x", sec[j]);
	add_exact(m, hex, 2 * len);
	for (size_t j = 0; j < 2 * len; j++)
		if (hex[j] >= 'a')
			hex[j] = (char)(hex[j] - 32);
	add_exact(m, hex, 2 * len);
	free(hex);
}

/* Percent-encoding of every byte outside the RFC 3986 unreserved set and `keep`;
 * plus_for_space: the form encoding (application/x-www-form-urlencoded). */
static void add_urlenc(isol8_masker *m, const unsigned char *sec, size_t len, const char *keep, bool plus_for_space)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	char *u = xmalloc(3 * len + 1);
	size_t n = 0;
	for (size_t j = 0; j < len; j++) {
		unsigned char c = sec[j];
		if (c && (strchr(unreserved, c) || strchr(keep, c)))
			u[n++] = (char)c;
		else if (c == ' ' && plus_for_space)
			u[n++] = '+';
		else
			n += (size_t)sprintf(u + n, "%%%02X", c);
	}
	if (n != len || memcmp(u, sec, len)) /* the raw pattern already covers an unchanged form */
		add_exact(m, u, n);
	free(u);
}

/* Of the six bits of base64 character c (counted from the start of the 3-byte group), which are
 * the secret's (mask) and their values (val). The secret's bits are [lo, hi). */
static void b64_char_bits(const unsigned char *sec, size_t lo, size_t hi, size_t c, unsigned *mask, unsigned *val)
{
	*mask = *val = 0;
	for (unsigned j = 0; j < 6; j++) {
		size_t q = 6 * c + j;
		if (q < lo || q >= hi)
			continue;
		size_t off = q - lo;
		unsigned bit = (sec[off / 8] >> (7 - off % 8)) & 1u;
		*mask |= 1u << (5 - j);
		*val |= bit << (5 - j);
	}
}

/* The characters of the alphabet whose secret bits (mask) equal val. */
static void b64_edge_set(const char *alpha, unsigned mask, unsigned val, uint8_t set[32])
{
	memset(set, 0, 32);
	for (unsigned v = 0; v < 64; v++)
		if ((v & mask) == val) {
			unsigned char c = (unsigned char)alpha[v];
			set[c >> 3] |= (uint8_t)(1u << (c & 7));
		}
}

/* The base64 text of a secret that starts r bytes (0..2) into a 3-byte group. Its middle
 * characters depend on the secret alone; an edge character shares bits with the neighbouring
 * bytes, so it is a set. Four patterns: middle alone (output cut at an edge), with either edge,
 * with both — the longest that matches wins, so every character carrying a secret bit goes. */
static void add_base64(isol8_masker *m, const unsigned char *sec, size_t len, unsigned r, const char *alpha)
{
	size_t lo = 8 * r, hi = 8 * (r + len);
	size_t first = lo / 6, end = (hi + 5) / 6; /* characters touching the secret's bits */
	unsigned char *buf = xmalloc(end - first + 2); /* + room for both edge placeholders */
	isol8_mask_pat p = {.s = buf};
	size_t nmid = 0;
	for (size_t c = first; c < end; c++) {
		unsigned mask, val;
		b64_char_bits(sec, lo, hi, c, &mask, &val);
		if (mask == 0x3f) {
			buf[1 + nmid++] = (unsigned char)alpha[val];
		} else if (c == first) {
			p.has_lead = true;
			b64_edge_set(alpha, mask, val, p.lead);
		} else {
			p.has_trail = true;
			b64_edge_set(alpha, mask, val, p.trail);
		}
	}
	if (6 * nmid >= MIN_ENCODED_BITS) {
		bool lead = p.has_lead, trail = p.has_trail;
		buf[0] = buf[1 + nmid] = 0; /* placeholders at the set positions */
		for (int with_lead = 0; with_lead <= lead; with_lead++)
			for (int with_trail = 0; with_trail <= trail; with_trail++) {
				isol8_mask_pat v = p;
				v.has_lead = with_lead;
				v.has_trail = with_trail;
				if (!with_lead)
					memset(v.lead, 0, sizeof v.lead);
				if (!with_trail)
					memset(v.trail, 0, sizeof v.trail);
				v.s = buf + !with_lead;
				v.len = nmid + (size_t)with_lead + (size_t)with_trail;
				add_pat(m, &v);
			}
	}
	free(buf);
}

static void add_secret(isol8_masker *m, const char *secret)
{
	const unsigned char *sec = (const unsigned char *)secret;
	size_t len = strlen(secret);
	if (!len)
		return;
	add_exact(m, secret, len);
	add_urlenc(m, sec, len, "", false);
	add_urlenc(m, sec, len, "/", false);     /* Python's quote() */
	add_urlenc(m, sec, len, "!'()*", false); /* JavaScript's encodeURIComponent() */
	add_urlenc(m, sec, len, "", true);       /* HTML forms, Python's quote_plus() */
	add_hex(m, sec, len);
	for (unsigned r = 0; r < 3; r++) {
		add_base64(m, sec, len, r, b64_std);
		add_base64(m, sec, len, r, b64_url);
	}
}

static int by_len_desc(const void *a, const void *b)
{
	const isol8_mask_pat *x = a, *y = b;
	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static bool may_start(const isol8_mask_pat *p, unsigned b)
{
	return p->has_lead ? set_has(p->lead, (unsigned char)b) : p->s[0] == b;
}

/* Index patterns by the bytes they can start with, keeping the longest-first order. */
static void build_index(isol8_masker *m)
{
	size_t total = 0;
	for (unsigned b = 0; b < 256; b++) {
		m->start[b] = total;
		for (size_t k = 0; k < m->npats; k++)
			total += may_start(&m->pats[k], b);
	}
	m->start[256] = total;
	m->order = xmalloc((total ? total : 1) * sizeof *m->order);
	for (unsigned b = 0, at = 0; b < 256; b++)
		for (size_t k = 0; k < m->npats; k++)
			if (may_start(&m->pats[k], b))
				m->order[at++] = k;
}

static void pair_set(isol8_masker *m, unsigned a, unsigned b)
{
	unsigned k = a << 8 | b;
	m->pair[k >> 3] |= (uint8_t)(1u << (k & 7));
}

static bool pair_has(const isol8_masker *m, unsigned a, unsigned b)
{
	unsigned k = a << 8 | b;
	return m->pair[k >> 3] & (1u << (k & 7));
}

/* The two-byte filter: a pattern of one byte (a one-byte secret) allows any second byte. */
static void build_pairs(isol8_masker *m)
{
	for (size_t k = 0; k < m->npats; k++) {
		const isol8_mask_pat *p = &m->pats[k];
		for (unsigned a = 0; a < 256; a++) {
			if (!may_start(p, a))
				continue;
			for (unsigned b = 0; b < 256; b++)
				if (p->len == 1 || (p->len == 2 && p->has_trail ? set_has(p->trail, (unsigned char)b) : p->s[1] == b))
					pair_set(m, a, b);
		}
	}
}

void masker_init(isol8_masker *m, const char *const *secrets, size_t n)
{
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < n; i++)
		add_secret(m, secrets[i]);
	if (m->npats)
		qsort(m->pats, m->npats, sizeof *m->pats, by_len_desc);
	build_index(m);
	build_pairs(m);
}

/* Do d[0..n) match the first n positions of p (n <= p->len)? */
static bool pat_matches(const isol8_mask_pat *p, const unsigned char *d, size_t n)
{
	size_t a = 0, z = n;
	if (p->has_lead) {
		if (!set_has(p->lead, d[0]))
			return false;
		a = 1;
	}
	if (p->has_trail && n == p->len) {
		if (!set_has(p->trail, d[n - 1]))
			return false;
		z = n - 1;
	}
	return z <= a || !memcmp(d + a, p->s + a, z - a);
}

/* At d[0..n): the length of the longest pattern matching here (0: none); *wait is set when
 * n is too short to tell and a pattern longer than any match could still complete. */
static size_t match_at(const isol8_masker *m, const unsigned char *d, size_t n, bool final, bool *wait)
{
	*wait = false;
	for (size_t k = m->start[d[0]]; k < m->start[d[0] + 1]; k++) {
		const isol8_mask_pat *p = &m->pats[m->order[k]];
		if (n >= p->len) {
			if (*wait)
				return 0; /* a longer pattern may still complete here */
			if (pat_matches(p, d, p->len))
				return p->len;
		} else if (!final && pat_matches(p, d, n)) {
			*wait = true;
		}
	}
	return 0;
}

/* Scans data[0..n): emits safe bytes to out; returns how many bytes were consumed.
 * With final=false, stops at the first position where the rest is a proper prefix of a pattern. */
static size_t scan(isol8_masker *m, const unsigned char *d, size_t n, bool final, isol8_buf *out)
{
	size_t i = 0, plain = 0; /* plain: start of the run of bytes not yet copied */
	while (i < n) {
		/* the common case: no pattern starts with these two bytes */
		while (i + 1 < n && !pair_has(m, d[i], d[i + 1]))
			i++;
		if (m->start[d[i]] == m->start[d[i] + 1]) {
			i++;
			continue;
		}
		bool wait;
		size_t l = match_at(m, d + i, n - i, final, &wait);
		if (wait)
			break;
		if (!l) {
			i++;
			continue;
		}
		buf_append(out, d + plain, i - plain);
		buf_append(out, "***", 3);
		i += l;
		plain = i;
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
	/* Nothing held back: scan the caller's bytes in place and keep only the unfinished tail. */
	const unsigned char *d = p;
	if (m->pend.len) {
		buf_append(&m->pend, p, n);
		d = m->pend.data;
		n = m->pend.len;
	}
	size_t used = scan(m, d, n, false, out);
	if (d == p) {
		buf_append(&m->pend, p + used, n - used);
		return;
	}
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
		free(m->pats[i].s);
	free(m->pats);
	free(m->order);
	isol8_buf_free(&m->pend);
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
