/* outstream.h — one output stream of a program: secret masking, then the per-stream cap,
 * then events. Bytes past the cap are counted, not kept, so memory stays bounded. */
#ifndef ISOL8_OUTSTREAM_H
#define ISOL8_OUTSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/result.h"
#include "run/mask.h"

typedef struct isol8_ostream {
	isol8_event_type type;
	isol8_phase phase; /* of its events (ostream_init: code) */
	isol8_masker mask;
	isol8_buf *keep;  /* what is kept for the result (at most max bytes, then the marker) */
	uint64_t max, seen;
	bool over;        /* the cap was exceeded */
	int fd;
} isol8_ostream;

void ostream_init(isol8_ostream *s, isol8_event_type type, int fd, isol8_buf *keep, uint64_t max,
		  const char *const *secrets, size_t nsecrets);
void ostream_feed(isol8_ostream *s, const unsigned char *p, size_t n, isol8_event_fn fn, void *ctx);
/* Reads what is available from s->fd (non-blocking); false at EOF. */
bool ostream_pump(isol8_ostream *s, isol8_event_fn fn, void *ctx);
/* Reads until s->fd is empty or at EOF, however many reads that takes: for when every writer has
 * been killed and nothing more can arrive that is worth waiting for. */
void ostream_drain(isol8_ostream *s, isol8_event_fn fn, void *ctx);
/* End of the stream: flushes the masker, appends the truncation marker if the cap was hit. */
void ostream_finish(isol8_ostream *s, isol8_event_fn fn, void *ctx);
void ostream_free(isol8_ostream *s);

#endif
