/* sessionmsg.h — the messages on a session's socket ($RUN_DIR/sessions/<id>/ctl.sock): one
 * request line per connection, from isol8-session, isol8-serve and the library, read by the
 * session's supervisor (run/session_daemon.c).
 *
 *   {"op":"exec","request":{…},"options":{…}}  → event lines (wire/events.h), then the result
 *   {"op":"put","path":P,"content":<base64>}   → {"ok":true}
 *   {"op":"get","path":P}                      → {"content":<base64>}
 *   {"op":"list","path":P}                     → {"entries":[{"name","type","size"}…]}
 *   {"op":"show"}                              → the session's meta.json (state/meta.h)
 *   {"op":"delete"}                            → {"ok":true}, then the session ends
 *   any refusal                                → {"error":"…"} */
#ifndef ISOL8_WIRE_SESSIONMSG_H
#define ISOL8_WIRE_SESSIONMSG_H

#include <jv.h>

#include "core/util.h"

typedef enum {
	SESSION_OP_BAD, SESSION_OP_EXEC, SESSION_OP_PUT, SESSION_OP_GET, SESSION_OP_SHOW, SESSION_OP_DELETE, SESSION_OP_LIST
} session_opcode;

/* Requests (each a new object). exec takes {"request","options"} (consumed); put's content is
 * base64 text. */
jv sessionmsg_exec(jv doc);
jv sessionmsg_put(const char *path, const char *content_b64);
jv sessionmsg_get(const char *path);
jv sessionmsg_list(const char *path);
jv sessionmsg_op(session_opcode op); /* show, delete: nothing but the op */
/* The op of a request (borrows doc): SESSION_OP_BAD for anything else. */
session_opcode sessionmsg_op_of(jv doc);
#define SESSIONMSG_OPS "exec, put, get, show, delete, list"

/* Replies. */
jv sessionmsg_ok(void);
jv sessionmsg_error(const char *msg);
jv sessionmsg_content(const char *content_b64);
jv sessionmsg_entries(jv entries); /* consumed */
/* Readers (borrow v): a reply's refusal, NULL when it is none; a content reply's bytes into out
 * (-1 when v is not one: no "content", or not base64). */
const char *sessionmsg_error_of(jv v);
int sessionmsg_content_of(jv v, isol8_buf *out);

#endif
