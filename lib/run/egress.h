/* egress.h — the filtering proxy of a --net filtered run (isol8-proxy(1)). */
#ifndef ISOL8_RUN_EGRESS_H
#define ISOL8_RUN_EGRESS_H

#include <jv.h>
#include <sys/types.h>

#include "wire/request.h"

/* Starts isol8-proxy (found via ISOL8_PROXY, next to this executable, or on PATH) on listen_fd
 * with o's allow/deny lists, logging to log_path. Its pid, or -1 with err set. */
pid_t egress_start(int listen_fd, const isol8_options *o, const char *log_path, isol8_err *err);
/* Kills it and its connection children, and reaps it. pid <= 0: nothing to do. */
void egress_stop(pid_t pid);

#endif
