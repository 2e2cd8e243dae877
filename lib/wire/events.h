/* events.h — the JSON-lines event stream, both ways: {"type":"stdout"|"stderr","data":…,
 * "phase":"code"} as output arrives (a UTF-8 character is never split between two events;
 * bytes that are not UTF-8 travel as base64 with "encoding":"base64"), {"type":"error"},
 * {"type":"exit"}, and last {"type":"result","data":<ExecutionResult>}. A session supervisor
 * may answer an exec with {"error":"…"} instead (wire/sessionmsg.h), which the reader knows too.
 * Lines, or SSE frames "data: <json>\n\n" (isol8-serve's /execute/stream). */
#ifndef ISOL8_EVENTS_H
#define ISOL8_EVENTS_H

#include <jv.h>
#include <stdbool.h>

#include "wire/result.h"
#include "core/util.h"

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct isol8_evwriter {
	int fd;
	bool sse;          /* frames "data: <json>\n\n" (isol8-serve's /execute/stream) instead of lines */
	isol8_buf pend[2]; /* held-back bytes of an unfinished UTF-8 character, per stream */
	isol8_phase pend_phase[2]; /* …and the phase they belong to */
} isol8_evwriter;

/* An isol8_event_fn: ctx is an isol8_evwriter. */
void evw_event(void *ctx, const isol8_event *ev);
/* Writes {"type":"result","data":result} (consumes result) after flushing held bytes. */
void evw_result(isol8_evwriter *w, jv result);
/* Writes one event as it is, on its own: output bytes whole (base64 when they are not UTF-8),
 * an error or exit text. Nothing held back in w is flushed or kept. */
void evw_one(const isol8_evwriter *w, const isol8_event *ev);
void evw_free(isol8_evwriter *w);

/* ---- reading ------------------------------------------------------------------------------- */

typedef enum {
	EVR_MALFORMED, /* anything else: not JSON, not an object, a field of the wrong type, an
			* unknown type or encoding, base64 that does not decode, both "type" and "error" */
	EVR_STDOUT,    /* {"type":"stdout","data":S[,"encoding":"base64"]} */
	EVR_STDERR,
	EVR_ERROR,     /* {"type":"error","data":S} */
	EVR_EXIT,      /* {"type":"exit","data":"N"}: N a decimal int */
	EVR_RESULT,    /* {"type":"result","data":{…}} */
	EVR_REFUSAL,   /* {"error":S}: a session supervisor did not run the exec */
} evr_kind;

typedef struct isol8_evread {
	evr_kind kind;
	isol8_buf data; /* STDOUT, STDERR: the output bytes, decoded; ERROR, EXIT, REFUSAL: the
			 * text. For these kinds data.data is never NULL and is NUL-terminated. */
	int exit_code;  /* EXIT: the text as a number */
	jv result;      /* RESULT: the ExecutionResult object; jv_invalid() otherwise */
	isol8_phase phase; /* "phase":"setup" -> ISOL8_PHASE_SETUP; else (or absent) code */
} isol8_evread;

/* One event object (borrows v). Fills *ev (free it with evr_free whatever the kind). */
evr_kind evr_parse(jv v, isol8_evread *ev);
/* One event line, with or without its '\n'. */
evr_kind evr_parse_line(const char *line, size_t n, isol8_evread *ev);
/* One line of an SSE stream, without its '\n': false (ev untouched) for a line that is not
 * "data: <json>" (the blank line ending a frame, a comment, another field); true with ev filled
 * otherwise. */
bool evr_sse_line(const char *line, size_t n, isol8_evread *ev);
/* An output, error or exit event as an isol8_event (pointing into ev); false for the rest. */
bool evr_event(const isol8_evread *ev, isol8_event *out);
void evr_free(isol8_evread *ev);

#endif
