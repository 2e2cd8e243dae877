#include "core/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void isol8_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fputs("[ERR] ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}
