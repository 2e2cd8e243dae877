/* err.h — the error object every library function fills (crun's idiom).
 * Functions return a negative value and describe the failure here; only main() prints and exits.
 * `kind` keeps isol8's own faults apart from bad input, as isolate keeps die() apart from err(). */
#ifndef ISOL8_ERR_H
#define ISOL8_ERR_H

#include "isol8.h"

/* Fill err (if not NULL) and return -1. A trailing ": strerror" is added when sys_errno != 0. */
int isol8_fail(isol8_err *err, enum isol8_err_kind kind, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define isol8_input_error(err, ...) isol8_fail((err), ISOL8_E_INPUT, 0, __VA_ARGS__)

#endif
