/* record.h — a sandbox's run-dir record, sandboxes/<id>.json: who made the sandbox and who holds
 * it, so that isol8-cleanup can judge it after a crash. Written by the supervisor that starts a
 * sandbox (and rewritten by isol8-pool when it hands one over), read by the reaper.
 *
 *   {"id","pid","startTime","bootId","supervisor","supervisorStartTime","cgroupVersion",
 *    "persist","created"}
 *
 * pid + start time + boot id identify a process for good: the reaper never mistakes a recycled
 * pid for the sandbox's init or for a live supervisor. */
#ifndef ISOL8_STATE_RECORD_H
#define ISOL8_STATE_RECORD_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct isol8_record {
	char id[33];
	pid_t pid;                       /* the init, host pid */
	unsigned long long start;        /* its start time (clock ticks since boot) */
	char boot[64];
	pid_t supervisor;                /* who holds it: a live one means "in use" */
	unsigned long long sup_start;
	int cgroup_version;
	bool persist;
	char created[32];
} isol8_record;

/* A sandbox id: 16 lowercase hex digits (it names files and cgroups, so nothing else passes). */
bool record_id_valid(const char *id);
/* Fills r for sandbox id (init pid, supervisor): start times and boot id are read now. */
void record_fill(isol8_record *r, const char *id, pid_t pid, pid_t supervisor, int cgroup_version, bool persist);
/* Atomically (path.tmp, then rename), mode 0600. -1 with errno on failure. */
int record_write(const char *path, const isol8_record *r);
/* -1 when unreadable or malformed (a bad id, a missing identity field): left for a person. */
int record_read(const char *path, isol8_record *r);

#endif
