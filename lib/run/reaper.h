/* reaper.h — finds and removes what is stale under the run dir: sandboxes whose supervisor
 * died (a killed `isol8 run`), --persist sandboxes on request, records of a previous boot,
 * empty record-less cgroups left by a crash mid-creation, and the state of MCP clients that are
 * gone (a stdio server killed, an HTTP client that never said DELETE /mcp). Never touches a sandbox whose
 * supervisor is alive. Used by isol8-cleanup (cron) and, later, isol8-serve. */
#ifndef ISOL8_REAPER_H
#define ISOL8_REAPER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* A session whose idle timeout is this long (the most isol8-session accepts, ~35 years) never
 * idles out: it is a persisted one (`isol8 run --persistent --persist`). Like a --persist
 * sandbox it is removed only with include_persisted (`isol8 cleanup`), never by the idle rule. */
#define ISOL8_SESSION_IDLE_NEVER_MS (1ull << 40)

typedef struct isol8_reap_opts {
	const char *run_dir;     /* NULL: isol8_run_dir() */
	bool dry_run;            /* decide, report, remove nothing */
	bool include_persisted;  /* also remove --persist sandboxes that are still running */
	unsigned orphan_age_s;   /* record-less empty cgroups older than this are removed */
	unsigned mcp_idle_s;     /* an MCP HTTP client unused this long is ended (0: 3600) */
} isol8_reap_opts;

typedef struct isol8_reap_candidate {
	char id[33];
	const char *why;         /* "supervisor gone", "persisted", "previous boot", "orphan cgroup" */
	int pid;
} isol8_reap_candidate;

typedef struct isol8_reap_report {
	int removed, failed, active;
	char **errors;           /* "<id>: <message>" */
	size_t nerrors;
	isol8_reap_candidate *cands;
	size_t ncands;
} isol8_reap_report;

/* Scans (and unless dry_run, removes). Holds an exclusive lock on <run_dir>/.cleanup.lock so
 * concurrent runs (cron + a person) do not trip over each other. */
int isol8_reap(const isol8_reap_opts *o, isol8_reap_report *r, isol8_err *err);
void isol8_reap_report_free(isol8_reap_report *r);

#endif
