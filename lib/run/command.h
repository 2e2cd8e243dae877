/* command.h — what a run executes: argv (inline code, a code file, or a shell command), the
 * payload's environment, and the files to write first. Shared by cold runs (engine.c), the
 * pre-started interpreters' check (warm.c) and sessions. */
#ifndef ISOL8_RUN_COMMAND_H
#define ISOL8_RUN_COMMAND_H

#include <stddef.h>

#include "sandbox/sandbox.h"
#include "wire/request.h"

typedef struct isol8_command {
	char **argv, **envp;
	isol8_file *files; /* request files (borrowed) + the code file */
	size_t nfiles;
	char *code_path;   /* /sandbox/main<ext> when the code runs from a file */
} isol8_command;

void command_build(const isol8_request *r, const isol8_options *o, isol8_command *c);
void command_free(isol8_command *c);

/* The sandbox a run's options ask for (limits, network, root filesystem, an image's layer). */
isol8_sandbox_cfg command_sandbox_cfg(const isol8_options *o);
/* What every sandbox gets whatever its options (the support files and the probe of figures.h):
 * for a sandbox configured by hand (isol8-pool's). */
void command_sandbox_support(isol8_sandbox_cfg *cfg);

/* The payload environment: PATH and the runtimes' variables, then secrets, then extra (an
 * extra PYTHONPATH gets isol8's support dir appended). */
char **isol8_build_env(const isol8_options *o, const isol8_kv *extra, size_t nextra);
void isol8_free_strv(char **v);
/* Appends s (taken) to the NULL-terminated *v of *n entries. */
void strv_push(char ***v, size_t *n, char *s);

#endif
