/* runtime.h — the five runtimes: names, extensions, and how code is started. */
#ifndef ISOL8_RUNTIME_H
#define ISOL8_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

typedef struct isol8_runtime {
	const char *name;
	const char *default_ext;     /* used for /sandbox/main<ext> */
	const char *inline_argv[4];  /* code appended as the last argument; NULL[0] = no inline mode */
	const char *file_argv[8];    /* file path appended as the last argument */
} isol8_runtime;

/* Where the runtimes live on the host, mounted read-only into every sandbox: ISOL8_RUNTIMES,
 * else /opt/isol8/runtimes. */
const char *runtime_dir(void);
#define ISOL8_NRUNTIMES 5
const isol8_runtime *runtime_get(const char *name);
/* The runtime's place in the table (0 .. ISOL8_NRUNTIMES-1), -1 for an unknown name; and back. */
int runtime_index(const char *name);
const char *runtime_name_at(int i);
/* Detects by the text after the last '.' of name; NULL if unknown or no dot. */
const isol8_runtime *runtime_detect(const char *filename);
/* "python, node, bun, deno, bash" */
const char *runtime_names(void);
/* ".py, .mjs, .js, .cjs, .ts, .sh, .mts" */
const char *runtime_extensions(void);

#endif
