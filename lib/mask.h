/* mask.h — streaming secret masking.
 * Threat: a program prints a secret it was given (or an encoding of it), possibly split across
 * many small writes so that no single chunk contains it. The masker holds back any tail that
 * could still be the start of a secret, so a match is found whatever the chunking; every
 * occurrence becomes "***". For secrets of 4+ bytes, the lower/upper hex and base64 forms are
 * masked too (the reference masks only the raw value). */
#ifndef ISOL8_MASK_H
#define ISOL8_MASK_H

#include <stddef.h>

#include "util.h"

typedef struct isol8_masker {
	char **pats;   /* patterns, longest first */
	size_t *lens;
	size_t npats;
	size_t maxlen;
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
