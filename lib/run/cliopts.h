/* cliopts.h — the limit flags that `isol8 run` and `isol8-session` share: --timeout, --memory,
 * --cpu, --pids-limit, --sandbox-size, --tmp-size, --max-output, --net, --image, --writable and
 * --secret. Each is named, parsed, range-checked and worded here once; a tool appends them to
 * its own getopt_long table, hands each one it meets to cliopt_apply, and dies with the message
 * (one "[ERR] …" line) when that fails. cliopt_json gives the Isol8Options member a flag stands
 * for, for a run sent to a server (isol8 run --host) or a session exec. */
#ifndef ISOL8_CLIOPTS_H
#define ISOL8_CLIOPTS_H

#include <getopt.h>
#include <jv.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"
#include "wire/request.h"

/* getopt_long returns CLIOPT_FIRST + k for the k-th limit flag: a code of their own each, so
 * that an abbreviation such as --m stays ambiguous (memory, max-output) instead of silently
 * meaning the first. A tool's own codes stay below it. */
#define CLIOPT_FIRST 0x1000

/* What the flags are for: a session has no proxy, so --net filtered is refused for one. */
enum cliopt_scope { CLIOPT_RUN, CLIOPT_SESSION };

/* own (ended by a zeroed entry) followed by the limit flags: a tool's getopt_long table, to
 * free(). */
struct option *cliopt_longopts(const struct option *own);
/* Whether getopt_long's c is one of the limit flags (its name is then table[longindex].name). */
bool cliopt_is(int c);
/* Whether name (without "--") is a limit flag, and whether it takes a value. */
bool cliopt_known(const char *name);
bool cliopt_takes_value(const char *name);

/* Applies the limit flag name with its value to opt: 0, or -1 with err holding the message.
 * A --secret's value is blanked in place once copied: it points into argv, which every local
 * user can read in /proc/PID/cmdline for as long as the process lives. */
int cliopt_apply(isol8_options *opt, const char *name, char *value, enum cliopt_scope scope, isol8_err *err);
/* --secret KEY=VALUE alone, added to *kv (blanked in place as above): for a tool that keeps the
 * secrets given as flags apart from the others. */
int cliopt_secret(char *arg, isol8_kv **kv, size_t *n, isol8_err *err);
/* o (consumed) with the Isol8Options member that the flag name stands for, written from opt by
 * wire/options.h (sizes in bytes; --secret: every secret, as one object). */
jv cliopt_json(jv o, const isol8_options *opt, const char *name);

/* --options FILE|-: an Isol8Options JSON object applied over opt, with cfg bounding it as it
 * bounds a request's options. How isol8-serve and isol8 run --persistent pass a session's
 * secrets: a file or a pipe, never argv. An inherited /proc/self/fd/N or /dev/fd/N (N > 2) is
 * closed once read. 0, or -1 with err. */
int cliopt_options_file(isol8_options *opt, const char *path, const isol8_config *cfg, isol8_err *err);

#endif
