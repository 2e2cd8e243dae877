#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int isol8_fail(isol8_err *err, enum isol8_err_kind kind, int sys_errno, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (sys_errno && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(sys_errno));
	err->kind = kind;
	err->sys_errno = sys_errno;
	return -1;
}
