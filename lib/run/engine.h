/* engine.h — one execution: request + options in, events out, an ExecutionResult at the end.
 * This is the library entry point (isol8.h re-exports it); isol8-run is a thin CLI over it. */
#ifndef ISOL8_ENGINE_H
#define ISOL8_ENGINE_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "wire/request.h"
#include "core/util.h"
#include "isol8.h"
#include "run/command.h"
#include "wire/result.h"


/* Reads req's outputPaths from the sandbox into res->files (missing ones, and anything but a
 * regular file, are left out), each masked with o's secrets like stdout. */
struct isol8_sandbox;
void isol8_collect_files(struct isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, isol8_result *res);
/* Masks o's secrets in a file's content, in place (as stdout and stderr are). */
void isol8_mask_file(const isol8_options *o, isol8_buf *data);

#endif
