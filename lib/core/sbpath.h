/* sbpath.h — paths inside the sandbox, judged as text (sbpath.c says what is refused). */
#ifndef ISOL8_CORE_SBPATH_H
#define ISOL8_CORE_SBPATH_H

#include "core/err.h"

/* Workdir resolution: relative to /sandbox, POSIX-normalized, must stay under
 * /sandbox. Returns malloc'd path or NULL with err set. */
char *resolve_workdir(const char *w, isol8_err *err);
/* For files/outputPaths: absolute, normalized, strictly inside /sandbox or /tmp. */
char *resolve_sandbox_path(const char *p, isol8_err *err);
/* The same for a directory to list, /sandbox and /tmp themselves included (returned with a
 * trailing '/': "/sandbox/"). */
char *resolve_sandbox_dir(const char *p, isol8_err *err);
#endif
