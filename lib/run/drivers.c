/* drivers.c — the in-sandbox "kernels" of persistent sessions: one long-lived interpreter per
 * session that runs each submitted block in the same state. Requests arrive on fd 3, one reply
 * {"exit":N} per block goes to fd 4 after stdout/stderr are flushed. `exit`/SystemExit/
 * process.exit end the block with that code, not the session.
 * These run as the sandbox user under the same seccomp policy as any payload: they are
 * conveniences, not a security boundary. */
#include "run/drivers.h"

#include <string.h>

/* session_python, session_js, session_bash: the files of lib/run/drivers/, embedded at build
 * time (tools/embed.sh). node, bun and deno share one driver: one realm; top-level
 * let/const/function persist between blocks as between <script> tags; a returned promise is
 * awaited. The bash one makes a block the body of a function, with `exit` aliased to `return`,
 * so `exit 3` ends the block with 3; requests are code NUL stdin NUL. */
#include "session_drivers.h"

const isol8_driver *driver_for(const char *runtime)
{
	static const isol8_driver drivers[] = {
		{"python", {"python3", "-c", session_python}, NULL, NULL, false},
		{"node", {"node", "-e", session_js}, NULL, NULL, false},
		{"bun", {"bun", "-e", session_js}, NULL, NULL, false},
		/* deno eval would grant every permission: run the driver file with the same
		 * permissions as an ephemeral deno run, plus the two channel fds */
		{"deno", {"deno", "run", "--quiet", "--allow-read=/sandbox,/tmp,/proc/self/fd",
			  "--allow-write=/sandbox,/tmp,/proc/self/fd", "--allow-env", "--allow-net",
			  "/tmp/.isol8-driver.mjs"},
		 "/tmp/.isol8-driver.mjs", session_js, false},
		{"bash", {"bash", "-c", session_bash}, NULL, NULL, true},
	};
	for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++)
		if (!strcmp(drivers[i].runtime, runtime))
			return &drivers[i];
	return NULL;
}
