/* cgroup.h — resource limits and accounting for one sandbox.
 * cgroup v2 first (memory.max, memory.swap.max=0, memory.oom.group, pids.max, cpu.max);
 * v1 fallback (memory.limit_in_bytes + memsw, pids.max, cpu.cfs_*; cpuacct for usage).
 * With neither writable, isol8 refuses to run: limits are never silently absent. */
#ifndef ISOL8_CGROUP_H
#define ISOL8_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "wire/result.h"

enum { CG_V1_MEMORY, CG_V1_PIDS, CG_V1_CPU, CG_V1_CPUACCT, CG_V1_N };

typedef struct isol8_cgroup {
	int version;               /* 2, 1, or 0 when not created */
	char *path;                /* v2 directory */
	char *v1[CG_V1_N];         /* v1 directories (cpu and cpuacct may be the same) */
} isol8_cgroup;

typedef struct isol8_cg_limits {
	uint64_t memory;           /* bytes */
	long long pids;
	double cpus;               /* cores */
} isol8_cg_limits;

/* 2, 1, or 0; *why gets a short reason when 0. */
int cgroup_detect(const char **why);
/* Human line for doctor/debug: "cgroup v1 (memory, pids, cpu, cpuacct) under /sys/fs/cgroup/<c>/isol8". */
const char *cgroup_describe(void);
int cgroup_create(isol8_cgroup *cg, const char *id, const isol8_cg_limits *lim, isol8_err *err);
int cgroup_attach(const isol8_cgroup *cg, pid_t pid, isol8_err *err);
/* Joining cg as a process starts, instead of cgroup_attach after it started. Moving a process by
 * pid takes the kernel's threadgroup lock for writing, which on cgroup v1 waits for an RCU grace
 * period (7–25 ms measured, on every cold start); a clone straight into the cgroup (v2:
 * clone3 CLONE_INTO_CGROUP) and a single-threaded process moving itself (v1: "0" written to
 * "tasks") take 0.03 ms. cgroup_join_open opens, in the parent, what the child needs: v2 the
 * directory (fds[0], for clone3), v1 each distinct controller's "tasks" file; returns their
 * count (-1 with err). The child writes with cgroup_join_self (v1, or v2 where clone3 was
 * refused: "0" to cgroup.procs, the slow move; -1 with errno if any write failed). The fds
 * are close-on-exec. */
int cgroup_join_open(const isol8_cgroup *cg, int fds[CG_V1_N], isol8_err *err);
/* Whether the hierarchies in use are mounted with favordynmods, which makes every attach by pid
 * fast (for isol8 doctor: without root, sandboxes are attached by pid). */
bool cgroup_favordynmods(void);
int cgroup_join_self(const int *fds, int n, bool v2);
void cgroup_read_stats(const isol8_cgroup *cg, isol8_cg_stats *st);
/* SIGKILLs every process in the cgroup (cgroup.kill on v2, else via cgroup.procs). */
void cgroup_kill_all(const isol8_cgroup *cg);
/* Removes the directories (retrying while the last processes exit). Returns -1 if any remain. */
int cgroup_destroy(isol8_cgroup *cg);
/* Frees the path strings without touching the cgroup (it stays for later cleanup). */
void cgroup_forget(isol8_cgroup *cg);
/* Rebuilds the paths of an existing sandbox's cgroup from its id (for cleanup). */
int cgroup_open(isol8_cgroup *cg, const char *id);

#endif
