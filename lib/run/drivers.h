/* drivers.h — the per-runtime interpreter drivers of persistent sessions (see drivers.c). */
#ifndef ISOL8_DRIVERS_H
#define ISOL8_DRIVERS_H

#include <stdbool.h>

typedef struct isol8_driver {
	const char *runtime;
	const char *argv[12];
	const char *file;      /* a file the driver needs in the sandbox (deno), or NULL */
	const char *file_text;
	bool nul_framing;      /* bash: "code\0stdin\0"; others: one JSON line {code, stdin, env} */
} isol8_driver;

const isol8_driver *driver_for(const char *runtime);

#endif
