#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define CG_ROOT "/sys/fs/cgroup"
static const char *const v1_names[CG_V1_N] = {"memory", "pids", "cpu", "cpuacct"};

/* Sandboxes live under <hierarchy>/<parent>/<id>; ISOL8_CGROUP_PARENT picks a delegated subtree. */
static const char *parent_name(void)
{
	const char *p = getenv("ISOL8_CGROUP_PARENT");
	return p && *p && !strstr(p, "..") ? p : "isol8";
}

static bool is_fs(const char *path, long magic)
{
	struct statfs s;
	return statfs(path, &s) == 0 && s.f_type == magic;
}

int cgroup_detect(const char **why)
{
	const char *w = NULL;
	if (is_fs(CG_ROOT, CGROUP2_SUPER_MAGIC)) {
		if (access(CG_ROOT "/cgroup.subtree_control", W_OK) == 0 || getenv("ISOL8_CGROUP_PARENT"))
			return 2;
		w = "cgroup v2 is mounted but not writable: run as root, or under systemd with Delegate=yes and ISOL8_CGROUP_PARENT set";
	} else {
		bool all = true;
		for (int i = 0; i < CG_V1_N; i++) {
			char p[PATH_MAX], d[PATH_MAX + 64];
			snprintf(p, sizeof p, CG_ROOT "/%s", v1_names[i]);
			/* writable hierarchy root, or a parent delegated to us (chowned by root) */
			snprintf(d, sizeof d, "%s/%s", p, parent_name());
			if (!is_fs(p, CGROUP_SUPER_MAGIC) || (access(p, W_OK) != 0 && access(d, W_OK) != 0))
				all = false;
		}
		if (all)
			return 1;
		w = "no writable cgroup hierarchy with memory, pids and cpu controllers (v2, or v1 memory/pids/cpu/cpuacct): run as root";
	}
	if (why)
		*why = w;
	return 0;
}

const char *cgroup_describe(void)
{
	static char buf[256];
	const char *why = NULL;
	int v = cgroup_detect(&why);
	if (v == 2)
		snprintf(buf, sizeof buf, "cgroup v2 (memory, pids, cpu) under " CG_ROOT "/%s", parent_name());
	else if (v == 1)
		snprintf(buf, sizeof buf, "cgroup v1 (memory, pids, cpu, cpuacct) under " CG_ROOT "/<controller>/%s",
			 parent_name());
	else
		snprintf(buf, sizeof buf, "none: %s", why);
	return buf;
}

static int put(const char *dir, const char *file, const char *val, isol8_err *err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, val, strlen(val)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "cgroup: cannot write %s to %s", val, p);
	}
	close(fd);
	return 0;
}

static bool exists(const char *dir, const char *file)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

static int v2_enable_controllers(const char *dir, isol8_err *err)
{
	/* Children of dir get memory, pids and cpu (retry: the kernel answers EBUSY transiently). */
	for (int tries = 0;; tries++) {
		if (put(dir, "cgroup.subtree_control", "+memory +pids +cpu", err) == 0)
			return 0;
		if (err->sys_errno != EBUSY || tries > 20)
			return -1;
		usleep(1000);
	}
}

static void set_paths(isol8_cgroup *cg, int version, const char *id)
{
	memset(cg, 0, sizeof *cg);
	cg->version = version;
	if (version == 2) {
		cg->path = xasprintf(CG_ROOT "/%s/%s", parent_name(), id);
		return;
	}
	for (int i = 0; i < CG_V1_N; i++)
		cg->v1[i] = xasprintf(CG_ROOT "/%s/%s/%s", v1_names[i], parent_name(), id);
}

void cgroup_forget(isol8_cgroup *cg)
{
	free(cg->path);
	for (int i = 0; i < CG_V1_N; i++)
		free(cg->v1[i]);
	memset(cg, 0, sizeof *cg);
}

int cgroup_open(isol8_cgroup *cg, const char *id)
{
	/* once per process: ~10 syscalls that a warm run would otherwise pay on its critical path,
	 * and what is mounted at /sys/fs/cgroup does not change under a running isol8-serve */
	static _Atomic int known;
	int v = known;
	if (!v)
		known = v = cgroup_detect(NULL);
	if (!v)
		return -1;
	set_paths(cg, v, id);
	return 0;
}

static int create_v2(isol8_cgroup *cg, const isol8_cg_limits *lim, isol8_err *err)
{
	char parent[PATH_MAX], val[64];
	snprintf(parent, sizeof parent, CG_ROOT "/%s", parent_name());
	if (!getenv("ISOL8_CGROUP_PARENT") && v2_enable_controllers(CG_ROOT, err) < 0)
		return -1;
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup: mkdir %s", parent);
	if (v2_enable_controllers(parent, err) < 0)
		return -1;
	if (mkdir(cg->path, 0755) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup: mkdir %s", cg->path);
	snprintf(val, sizeof val, "%llu", (unsigned long long)lim->memory);
	if (put(cg->path, "memory.max", val, err) < 0)
		return -1;
	if (exists(cg->path, "memory.swap.max") && put(cg->path, "memory.swap.max", "0", err) < 0)
		return -1;
	if (exists(cg->path, "memory.oom.group") && put(cg->path, "memory.oom.group", "1", err) < 0)
		return -1;
	snprintf(val, sizeof val, "%lld", lim->pids);
	if (put(cg->path, "pids.max", val, err) < 0)
		return -1;
	snprintf(val, sizeof val, "%lld 100000", (long long)(lim->cpus * 100000));
	return put(cg->path, "cpu.max", val, err);
}

static int create_v1(isol8_cgroup *cg, const isol8_cg_limits *lim, isol8_err *err)
{
	char val[64];
	for (int i = 0; i < CG_V1_N; i++) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, CG_ROOT "/%s/%s", v1_names[i], parent_name());
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup: mkdir %s", parent);
		/* cpu and cpuacct may be one co-mounted hierarchy: the second mkdir finds it there. */
		if (mkdir(cg->v1[i], 0755) < 0 && errno != EEXIST)
			return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup: mkdir %s", cg->v1[i]);
	}
	snprintf(val, sizeof val, "%llu", (unsigned long long)lim->memory);
	if (put(cg->v1[CG_V1_MEMORY], "memory.limit_in_bytes", val, err) < 0)
		return -1;
	/* memsw = memory: no swap on top of the limit (absent when swap accounting is off). */
	if (exists(cg->v1[CG_V1_MEMORY], "memory.memsw.limit_in_bytes") &&
	    put(cg->v1[CG_V1_MEMORY], "memory.memsw.limit_in_bytes", val, err) < 0)
		return -1;
	if (exists(cg->v1[CG_V1_MEMORY], "memory.swappiness"))
		put(cg->v1[CG_V1_MEMORY], "memory.swappiness", "0", NULL);
	snprintf(val, sizeof val, "%lld", lim->pids);
	if (put(cg->v1[CG_V1_PIDS], "pids.max", val, err) < 0)
		return -1;
	if (put(cg->v1[CG_V1_CPU], "cpu.cfs_period_us", "100000", err) < 0)
		return -1;
	snprintf(val, sizeof val, "%lld", (long long)(lim->cpus * 100000));
	return put(cg->v1[CG_V1_CPU], "cpu.cfs_quota_us", val, err);
}

int cgroup_create(isol8_cgroup *cg, const char *id, const isol8_cg_limits *lim, isol8_err *err)
{
	const char *why = NULL;
	int v = cgroup_detect(&why);
	if (!v)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "cannot enforce resource limits: %s", why);
	set_paths(cg, v, id);
	int rc = v == 2 ? create_v2(cg, lim, err) : create_v1(cg, lim, err);
	if (rc < 0) {
		cgroup_destroy(cg);
		return -1;
	}
	return 0;
}

int cgroup_attach(const isol8_cgroup *cg, pid_t pid, isol8_err *err)
{
	char val[32];
	snprintf(val, sizeof val, "%d", pid);
	if (cg->version == 2)
		return put(cg->path, "cgroup.procs", val, err);
	for (int i = 0; i < CG_V1_N; i++)
		if (put(cg->v1[i], "cgroup.procs", val, err) < 0)
			return -1;
	return 0;
}

int cgroup_join_open(const isol8_cgroup *cg, int fds[CG_V1_N], isol8_err *err)
{
	if (cg->version == 2) {
		fds[0] = open(cg->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fds[0] < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup %s", cg->path) : 1;
	}
	int n = 0;
	struct stat seen[CG_V1_N];
	for (int i = 0; i < CG_V1_N; i++) {
		struct stat st;
		bool dup = false;
		if (stat(cg->v1[i], &st) < 0)
			goto fail;
		for (int k = 0; k < n; k++) /* cpu and cpuacct are often one hierarchy */
			dup |= seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino;
		if (dup)
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/tasks", cg->v1[i]);
		if ((fds[n] = open(p, O_WRONLY | O_CLOEXEC)) < 0)
			goto fail;
		seen[n++] = st;
	}
	return n;
fail:;
	int e = errno;
	while (n > 0)
		close(fds[--n]);
	return isol8_fail(err, ISOL8_E_SANDBOX, e, "cgroup v1 tasks files");
}

bool cgroup_favordynmods(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024];
	int mounts = 0, with = 0;
	while (f && fgets(line, sizeof line, f)) {
		char dev[256], dir[512], type[64], opts[512];
		if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4 || strncmp(dir, CG_ROOT, strlen(CG_ROOT)))
			continue;
		bool v2 = !strcmp(type, "cgroup2"), v1 = !strcmp(type, "cgroup");
		bool used = v2 || (v1 && (strstr(opts, "memory") || strstr(opts, "pids") || strstr(opts, "cpu")));
		if (!used)
			continue;
		mounts++;
		with += strstr(opts, "favordynmods") != NULL;
	}
	if (f)
		fclose(f);
	return mounts > 0 && with == mounts;
}

int cgroup_join_self(const int *fds, int n, bool v2)
{
	if (v2) { /* where clone3 could not clone into it: the move by pid, of ourselves */
		int procs = openat(fds[0], "cgroup.procs", O_WRONLY | O_CLOEXEC);
		int w = procs < 0 ? -1 : (int)write(procs, "0", 1);
		int e = errno;
		if (procs >= 0)
			close(procs);
		errno = e;
		return w == 1 ? 0 : -1;
	}
	for (int i = 0; i < n; i++)
		if (write(fds[i], "0", 1) != 1)
			return -1;
	return 0;
}

/* Reads "key value" from a flat-keyed file, or the first number when key is NULL. */
static uint64_t read_u64(const char *dir, const char *file, const char *key)
{
	char p[PATH_MAX], line[256];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	FILE *f = fopen(p, "re");
	uint64_t v = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (!key) {
			v = strtoull(line, NULL, 10);
			break;
		}
		size_t n = strlen(key);
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

void cgroup_read_stats(const isol8_cgroup *cg, isol8_cg_stats *st)
{
	memset(st, 0, sizeof *st);
	if (cg->version == 2) {
		st->cpu_ns = read_u64(cg->path, "cpu.stat", "usage_usec") * 1000;
		st->peak_memory = exists(cg->path, "memory.peak") ? read_u64(cg->path, "memory.peak", NULL)
								  : read_u64(cg->path, "memory.current", NULL);
		st->oom_kills = read_u64(cg->path, "memory.events", "oom_kill");
		st->pids_max_hits = read_u64(cg->path, "pids.events", "max");
	} else if (cg->version == 1) {
		st->cpu_ns = read_u64(cg->v1[CG_V1_CPUACCT], "cpuacct.usage", NULL);
		st->peak_memory = read_u64(cg->v1[CG_V1_MEMORY], "memory.max_usage_in_bytes", NULL);
		st->oom_kills = read_u64(cg->v1[CG_V1_MEMORY], "memory.oom_control", "oom_kill");
		st->pids_max_hits = read_u64(cg->v1[CG_V1_PIDS], "pids.events", "max");
	}
}

static int kill_procs(const char *dir)
{
	char p[PATH_MAX], line[64];
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	int n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		pid_t pid = (pid_t)atoi(line);
		if (pid > 1 && kill(pid, SIGKILL) == 0)
			n++;
	}
	fclose(f);
	return n;
}

void cgroup_kill_all(const isol8_cgroup *cg)
{
	if (cg->version == 2) {
		if (!exists(cg->path, "cgroup.kill") || put(cg->path, "cgroup.kill", "1", NULL) < 0)
			kill_procs(cg->path);
	} else if (cg->version == 1) {
		/* A fork between reading and killing is caught by the next pass. */
		for (int pass = 0; pass < 10 && kill_procs(cg->v1[CG_V1_PIDS]) > 0; pass++)
			;
	}
}

static int rmdir_retry(const char *dir)
{
	for (int i = 0; i < 200; i++) { /* up to ~1 s for the last processes to be reaped */
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

int cgroup_destroy(isol8_cgroup *cg)
{
	int rc = 0;
	if (cg->version == 2 && cg->path)
		rc = rmdir_retry(cg->path);
	for (int i = 0; i < CG_V1_N; i++)
		if (cg->v1[i] && rmdir_retry(cg->v1[i]) < 0)
			rc = -1;
	cgroup_forget(cg);
	return rc;
}
