/* run.h — isol8-run's command line as a function, so the `isol8` dispatcher can run it
 * in-process: `isol8 run` is on every agent's hot path, and an extra exec costs ~2 ms. */
#ifndef ISOL8_RUN_H
#define ISOL8_RUN_H

int isol8_run_main(int argc, char **argv);

/* ---- between the files of isol8-run (not for the dispatcher) ---- */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "wire/request.h"

/* How the result is shown: as it comes, after the run, as one JSON line, as event lines. */
enum mode { M_STREAM, M_BUFFERED, M_JSON, M_EVENTS };

/* files.c: the regular files under dfd (taken) as request files under /sandbox/rel, dying with
 * one clear line on anything it cannot copy or past limit bytes in all. */
void files_add_dir(isol8_request *r, int dfd, const char *rel, uint64_t *total, uint64_t limit);

/* outputs.c: --outputs DIR, made if missing and opened before the run (dies with one line if it
 * cannot be); then the result's figures written into it as figure-<n>.<png|svg>. */
int outputs_dir_open(const char *dir);
void outputs_write(int dfd, const char *dir, const isol8_result *res);

/* persistent.c: the run as an exec in session session_id (NULL: one per runtime and
 * directory), by exec'ing isol8-session; never returns. */
__attribute__((noreturn)) void run_persistent(const char *session_id, bool persist, const isol8_request *req,
					      enum mode mode, const isol8_kv *ov, size_t nov, const isol8_kv *secrets,
					      size_t nsecrets);

#endif
