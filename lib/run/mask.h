/* mask.h — streaming secret masking.
 * Threat: a program prints a secret it was given, or an encoding of it (an HTTP Basic header,
 * a URL, a hex dump), possibly split across many small writes so that no single chunk contains
 * it. The masker holds back any tail that could still be the start of a pattern, so a match is
 * found whatever the chunking; each match becomes "***".
 *
 * What is matched, for each secret (docs/secrets.md has the reasoning):
 *   - the raw value, any length;
 *   - URL-encoded forms (every byte outside A-Z a-z 0-9 - . _ ~ as %XX upper-case; the same
 *     with '/' kept, with !'()* kept, and with space as '+'), when they differ from the raw value;
 *   - lower- and upper-case hex, for secrets of 4+ bytes;
 *   - base64 and base64url, padded or not, at each of the three byte offsets the secret can
 *     have inside the encoded stream, for secrets of 5+ bytes. The characters whose six bits
 *     all come from the secret must match exactly; the character at each edge, which also
 *     carries bits of the neighbouring bytes, is masked too when its secret bits agree. So
 *     exactly the characters that carry a bit of the secret are replaced, and no other.
 * An encoded pattern is used only if its fixed characters carry at least 32 bits of the
 * secret, so that a chance match in unrelated output is rare (about 1 in 2^32 per position). */
#ifndef ISOL8_MASK_H
#define ISOL8_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* One pattern: exact bytes, except that the first and/or last position may instead be a set
 * of accepted bytes (the base64 edge characters). */
typedef struct isol8_mask_pat {
	unsigned char *s; /* len bytes; an edge position with a set holds 0 */
	size_t len;
	bool has_lead, has_trail;
	uint8_t lead[32], trail[32]; /* 256-bit sets of accepted bytes */
} isol8_mask_pat;

typedef struct isol8_masker {
	isol8_mask_pat *pats; /* longest first, so a secret containing another is masked whole */
	size_t npats;
	size_t maxlen;
	/* The patterns that can start with byte b are order[start[b] .. start[b + 1]), longest
	 * first: the scan looks only at those, and skips bytes that start none in one test. */
	size_t start[257];
	size_t *order;
	/* Bit (a << 8 | b) set: some pattern can begin with the bytes a, b. Testing two bytes at
	 * once skips almost every position, even in base64-looking output. */
	uint8_t pair[65536 / 8];
	isol8_buf pend; /* held-back bytes that may begin a pattern */
} isol8_masker;

/* Builds the pattern set from secret values (empty values are ignored). */
void masker_init(isol8_masker *m, const char *const *secrets, size_t n);
/* Feeds bytes; appends what is safe to emit (masked) to out. */
void masker_feed(isol8_masker *m, const unsigned char *p, size_t n, isol8_buf *out);
/* End of stream: emits everything still held (masking complete matches). */
void masker_flush(isol8_masker *m, isol8_buf *out);
void masker_free(isol8_masker *m);
/* One-shot helper for whole strings. Returns a malloc'd, NUL-terminated result. */
char *mask_string(const char *const *secrets, size_t n, const char *s, size_t len, size_t *outlen);

#endif
