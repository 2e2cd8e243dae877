/* setup.h — a request's setup script: bash run before the code, in the same sandbox, as the
 * sandbox user in /sandbox, with the request's files already in place. */
#ifndef ISOL8_RUN_SETUP_H
#define ISOL8_RUN_SETUP_H

#include "sandbox/sandbox.h"
#include "wire/request.h"

/* Where the script is written in the sandbox (as the reference names it). */
#define ISOL8_SETUP_PATH "/sandbox/.isol8-setup.sh"

/* One --setup value into b: a file's contents when v names a regular file, else v itself (the
 * reference's rule); values are joined with "\n". -1 with err when the file cannot be read. */
int setup_add(isol8_buf *b, const char *v, isol8_err *err);

/* Runs script in sb, within its own budget of the run's timeout; with_files: its feed writes
 * req's files first (the first script of a run). Its output goes to fn as events of phase setup,
 * masked like the code's; on success an exit "0" event of phase setup follows. Returns 0 when it
 * succeeded (the code may run), 1 when it failed or timed out (res then holds the outcome: status
 * error or timeout, the exit code, its stderr and the reference's line "Setup script failed (exit
 * code N)" / "SETUP SCRIPT TIMED OUT", and fn has had the error and exit events), -1 when the
 * sandbox failed (err says why). */
int setup_run(isol8_sandbox *sb, const isol8_request *req, const char *script, bool with_files,
	      const isol8_options *o, isol8_event_fn fn, void *ctx, isol8_result *res, isol8_err *err);
/* req's image setup script, then its own (either may be NULL), as setup_run each: the second
 * runs only when the first succeeded, and the first writes req's files. Returns as setup_run. */
int setup_run_scripts(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, isol8_event_fn fn,
		      void *ctx, isol8_result *res, isol8_err *err);

#endif
