/* events.h — the JSON-lines event stream: {"type":"stdout"|"stderr","data":…,
 * "phase":"code"} as output arrives (a UTF-8 character is never split between two events;
 * bytes that are not UTF-8 travel as base64 with "encoding":"base64"), {"type":"error"},
 * {"type":"exit"}, and last {"type":"result","data":<ExecutionResult>}. */
#ifndef ISOL8_EVENTS_H
#define ISOL8_EVENTS_H

#include <jv.h>
#include <stdbool.h>

#include "wire/result.h"
#include "core/util.h"

typedef struct isol8_evwriter {
	int fd;
	bool sse;          /* frames "data: <json>\n\n" (isol8-serve's /execute/stream) instead of lines */
	isol8_buf pend[2]; /* held-back bytes of an unfinished UTF-8 character, per stream */
} isol8_evwriter;

/* An isol8_event_fn: ctx is an isol8_evwriter. */
void evw_event(void *ctx, const isol8_event *ev);
/* Writes {"type":"result","data":result} (consumes result) after flushing held bytes. */
void evw_result(isol8_evwriter *w, jv result);
void evw_free(isol8_evwriter *w);

#endif
