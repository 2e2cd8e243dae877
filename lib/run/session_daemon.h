/* session_daemon.h — the supervisor of one persistent session: the process that
 * `isol8-session create` (and so isol8-serve and isol8 run --persistent) leaves running.
 *
 * It owns the session's sandbox (which dies with it: PDEATHSIG), listens on
 * $RUN_DIR/sessions/<id>/ctl.sock (mode 0600), keeps meta.json current (state/meta.h), serves
 * one client at a time — so concurrent execs run one after the other, never interleaved — and
 * expires itself after the idle timeout. SIGTERM, SIGINT or SIGHUP end a running exec, then the
 * session. Whatever way it ends, it removes its socket, meta.json and directory.
 *
 * Protocol: one JSON request line per connection ({"op":…}); exec answers with event lines
 * (wire/events.h) ending in {"type":"result",…}, put, get, show and delete with one line, and
 * any failure with {"error":…}. The client side is in run/session.h. */
#ifndef ISOL8_SESSION_DAEMON_H
#define ISOL8_SESSION_DAEMON_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "wire/request.h"

typedef struct isol8_session_spec {
	const char *id;           /* a valid session id (session_id_valid) that no live session has */
	const char *runtime;      /* a known runtime */
	const isol8_options *opt; /* the session's limits and secrets, already isol8_options_validate'd */
	uint64_t idle_ms;         /* it expires itself after this long without a request */
	const isol8_config *cfg;  /* the defaults and bounds of each exec's own options */
	const isol8_request *image; /* a built image's setup script and environment (opt->layer), or NULL */
} isol8_session_spec;

/* Creates the session's directory and forks its supervisor, which detaches (setsid, stdio on
 * /dev/null) and outlives the caller. Returns once the supervisor listens and the sandbox is
 * ready: 0, or -1 with err saying why it could not start (the supervisor's own message when it
 * failed; it then removes what it created). */
int session_daemon_start(const isol8_session_spec *spec, isol8_err *err);

#endif
