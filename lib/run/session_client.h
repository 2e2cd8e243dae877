/* session_client.h — what a command-line client of session supervisors needs beyond one
 * request (run/session.h): which sessions the run dir holds, and an exec's reply shown the way
 * isol8 run shows a run. For tools: session_show_exec writes to stdout and stderr. */
#ifndef ISOL8_SESSION_CLIENT_H
#define ISOL8_SESSION_CLIENT_H

#include <jv.h>
#include <stdbool.h>
#include <stdio.h>

#include "wire/result.h"

/* Whether a supervisor accepts connections on the session's socket (false for an invalid id). */
bool session_listening(const char *id);

/* Every session of the run dir whose meta.json reads back (state/meta.h): its JSON object plus
 * "alive" (session_listening), in directory order. */
jv session_list(void);

/* isol8 run's output modes: the program's output as it comes, after the run (right-trimmed),
 * the result as one JSON line, or every event line and then the result. */
enum session_output { SESSION_OUT_STREAM, SESSION_OUT_BUFFERED, SESSION_OUT_JSON, SESSION_OUT_EVENTS };

/* isol8 run --no-stream's display of a result: stdout and stderr right-trimmed, each with one
 * newline, and a warning when the output was truncated. */
void result_show_buffered(isol8_result *res);

/* Reads an exec's reply lines from f to the end and shows them as mode says; an {"error":…}
 * line becomes "[ERR] …" on stderr. The program's exit code, or 1 when no result came.
 * result (may be NULL): the ExecutionResult object, or invalid when none came. *mid_line: the
 * program's output on stdout did not end with a newline (a line an audit record must not join). */
int session_show_exec(FILE *f, enum session_output mode, jv *result, bool *mid_line);

#endif
