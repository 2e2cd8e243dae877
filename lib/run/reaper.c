#include "run/reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jv.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "core/json.h"
#include "state/meta.h"
#include "state/record.h"
#include "state/rundir.h"
#include "core/util.h"

static void add_error(isol8_reap_report *r, const char *id, const char *msg)
{
	r->errors = xrealloc(r->errors, (r->nerrors + 1) * sizeof *r->errors);
	r->errors[r->nerrors++] = xasprintf("%s: %s", id, msg);
	r->failed++;
}

static void add_candidate(isol8_reap_report *r, const char *id, const char *why, int pid)
{
	r->cands = xrealloc(r->cands, (r->ncands + 1) * sizeof *r->cands);
	isol8_reap_candidate *c = &r->cands[r->ncands++];
	snprintf(c->id, sizeof c->id, "%s", id);
	c->why = why;
	c->pid = pid;
}

/* Sends sig to the process (pid, start time) and waits up to wait_ms for it to exit. Through a
 * pidfd opened *before* the start time is checked again, so the signal can only reach that very
 * process even if the pid is recycled meanwhile. 0 when gone (or already gone), -1 otherwise. */
static int signal_verified(int pid, unsigned long long start, int sig, int wait_ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return 0;
	int rc = 0;
	if (proc_start_time(pid) == start) {
		syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
		struct pollfd p = {pfd, POLLIN, 0}; /* readable once the process has exited */
		rc = poll(&p, 1, wait_ms) == 1 ? 0 : -1;
	}
	close(pfd);
	return rc;
}

static int kill_init(const isol8_record *rec, isol8_err *err)
{
	if (signal_verified(rec->pid, rec->start, SIGKILL, 5000) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "init %d did not exit", rec->pid);
	return 0;
}

static int remove_cgroup(const char *id, isol8_err *err)
{
	isol8_cgroup cg;
	if (cgroup_open(&cg, id) < 0)
		return 0;
	cgroup_kill_all(&cg); /* anything that escaped the PID namespace teardown */
	if (cgroup_destroy(&cg) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cgroup still busy");
	return 0;
}

static bool older_than(const char *path, unsigned secs)
{
	struct stat st;
	return stat(path, &st) == 0 && time(NULL) - st.st_mtime >= (time_t)secs;
}

/* Opens path (taken: freed here) and keeps its name in dir. */
static DIR *open_dir(char *path, char dir[PATH_MAX])
{
	snprintf(dir, PATH_MAX, "%s", path);
	free(path);
	return opendir(dir);
}

/* "<id>.json.tmp": record_write's temporary file, left when its writer was killed between
 * writing it and renaming it into place (a pool killed while it hands a record over). Only
 * that exact shape: nothing else in the directory is cleanup's to delete. */
static bool stray_record_tmp(const char *name, size_t n)
{
	char id[64];
	if (n < 10 || strcmp(name + n - 9, ".json.tmp") || n - 9 >= sizeof id)
		return false;
	snprintf(id, sizeof id, "%.*s", (int)(n - 9), name);
	return record_id_valid(id);
}

static void reap_records(const isol8_reap_opts *o, const char *run_dir, isol8_reap_report *r)
{
	char dir[PATH_MAX], cur_boot[64];
	boot_id(cur_boot);
	DIR *d = open_dir(rundir_sandboxes(run_dir), dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[PATH_MAX + 300];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!o->dry_run && stray_record_tmp(e->d_name, n) && older_than(path, o->orphan_age_s)) {
			unlink(path);
			continue;
		}
		if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		isol8_record rec;
		if (record_read(path, &rec) < 0) {
			char id[300];
			snprintf(id, sizeof id, "%.*s", (int)(n - 5), e->d_name);
			add_error(r, id, "unreadable record (left in place)");
			continue;
		}
		bool same_boot = !strcmp(rec.boot, cur_boot);
		bool init_alive = same_boot && proc_alive(rec.pid, rec.start);
		const char *why;
		if (!same_boot)
			why = "previous boot";
		else if (!rec.persist && proc_alive(rec.supervisor, rec.sup_start) &&
			 (init_alive || !older_than(path, o->orphan_age_s))) {
			/* its isol8 run is still running (or tearing down right now): never touched */
			r->active++;
			continue;
		} else if (rec.persist && init_alive && !o->include_persisted) {
			r->active++;
			continue;
		} else if (rec.persist) {
			why = "persisted";
		} else {
			/* a live supervisor with an exited init (past the grace) is stale too: e.g. a
			 * pooled sandbox whose hand-over failed still names the live pool */
			why = proc_alive(rec.supervisor, rec.sup_start) ? "sandbox exited" : "supervisor gone";
		}
		add_candidate(r, rec.id, why, init_alive ? rec.pid : 0);
		if (o->dry_run)
			continue;
		isol8_err err = {0};
		if ((init_alive && kill_init(&rec, &err) < 0) || remove_cgroup(rec.id, &err) < 0) {
			add_error(r, rec.id, err.msg);
			continue;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			add_error(r, rec.id, strerror(errno));
			continue;
		}
		/* the proxy's log of a --net filtered run killed before it could remove it */
		char *netlog = rundir_sandbox_netlog(run_dir, rec.id);
		unlink(netlog);
		free(netlog);
		r->removed++;
	}
	closedir(d);
}

static bool record_exists(const char *run_dir, const char *id)
{
	char *p = rundir_sandbox_record(run_dir, id);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* Cgroups with no record: left by a crash between cgroup creation and the record. Only empty
 * ones older than orphan_age_s go: a younger one may belong to a sandbox being created now. */
static void reap_orphan_cgroups(const isol8_reap_opts *o, const char *run_dir, isol8_reap_report *r)
{
	isol8_cgroup probe;
	if (cgroup_open(&probe, "x") < 0)
		return;
	char *path = probe.version == 2 ? probe.path : probe.v1[CG_V1_PIDS];
	char *slash = strrchr(path, '/');
	*slash = 0; /* the parent: …/isol8 */
	DIR *d = opendir(path);
	if (!d) {
		cgroup_forget(&probe);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!record_id_valid(e->d_name) || record_exists(run_dir, e->d_name))
			continue;
		char p[PATH_MAX + 64], procs[PATH_MAX + 96];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		snprintf(procs, sizeof procs, "%s/cgroup.procs", p);
		if (stat(p, &st) < 0 || time(NULL) - st.st_mtime < (time_t)o->orphan_age_s)
			continue;
		isol8_buf b = {0};
		isol8_err err = {0};
		int rr = read_file(procs, 1 << 20, &b, &err);
		bool empty = rr == 0 && b.len == 0;
		isol8_buf_free(&b);
		if (!empty)
			continue; /* processes but no record: not ours to judge */
		add_candidate(r, e->d_name, "orphan cgroup", 0);
		if (o->dry_run)
			continue;
		if (remove_cgroup(e->d_name, &err) < 0)
			add_error(r, e->d_name, err.msg);
		else
			r->removed++;
	}
	closedir(d);
	cgroup_forget(&probe);
}

static void rm_session_dir(const char *dir)
{
	static const char *const files[] = {ISOL8_SESSION_SOCKET, ISOL8_SESSION_META, ISOL8_SESSION_META ".tmp"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* SIGTERM: the supervisor tears its sandbox down and removes its directory itself. */
static int stop_daemon(int pid, unsigned long long start)
{
	return signal_verified(pid, start, SIGTERM, 10000);
}

/* Sessions: a supervisor that is gone leaves its directory (its sandbox died with it; the
 * sandbox record is reaped above); one idle past its timeout is asked to stop. */
static void reap_sessions(const isol8_reap_opts *o, const char *run_dir, isol8_reap_report *r)
{
	char dir[PATH_MAX], cur_boot[64];
	boot_id(cur_boot);
	DIR *d = open_dir(rundir_sessions(run_dir), dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sdir[PATH_MAX + 300], meta[PATH_MAX + 320];
		snprintf(sdir, sizeof sdir, "%s/%s", dir, e->d_name);
		snprintf(meta, sizeof meta, "%s/" ISOL8_SESSION_META, sdir);
		isol8_session_meta m;
		struct stat st;
		int mr = session_meta_read(meta, &m, NULL);
		if (mr == -1) {
			/* no meta: a create that crashed; only once older than the orphan age */
			if (stat(sdir, &st) == 0 && time(NULL) - st.st_mtime >= (time_t)o->orphan_age_s) {
				add_candidate(r, e->d_name, "incomplete session", 0);
				if (!o->dry_run) {
					rm_session_dir(sdir);
					r->removed++;
				}
			}
			continue;
		}
		/* a refused meta.json (mr == -2) names no process that could be verified: its session
		 * is judged as one whose supervisor is gone (m is zeroed) */
		bool live = mr == 0 && !strcmp(m.boot_id, cur_boot) && proc_alive(m.daemon, m.daemon_start);
		bool persisted = m.idle_timeout_ms >= ISOL8_SESSION_IDLE_NEVER_MS;
		uint64_t now = now_real_ms();
		bool idle_past = now > m.last_used_ms && now - m.last_used_ms > m.idle_timeout_ms;
		if (live && (persisted ? !o->include_persisted : !idle_past)) {
			r->active++; /* a live session: never touched */
			continue;
		}
		const char *why = !live ? "session supervisor gone" : persisted ? "persisted session" : "session idle past its timeout";
		add_candidate(r, e->d_name, why, live ? m.daemon : 0);
		if (o->dry_run)
			continue;
		if (live && stop_daemon(m.daemon, m.daemon_start) < 0) {
			add_error(r, e->d_name, "session supervisor did not stop");
			continue;
		}
		rm_session_dir(sdir);
		r->removed++;
	}
	closedir(d);
}

/* Stops one of a gone MCP client's unnamed sessions, identified by its meta.json. */
static void stop_unnamed(const char *run_dir, const char *owner, const char *name)
{
	if (strlen(owner) + strlen(name) > 64)
		return;
	char *iid = xasprintf("%s%s", owner, name), *meta = rundir_session(run_dir, iid, ISOL8_SESSION_META);
	isol8_session_meta m;
	if (session_meta_read(meta, &m, NULL) == 0 && proc_alive(m.daemon, m.daemon_start))
		stop_daemon(m.daemon, m.daemon_start);
	free(meta);
	free(iid);
}

/* Removes a client's directory: its unnamed sessions stopped first, as the server would have. */
static void end_mcp_client(const char *run_dir, const char *cdir, const char *owner)
{
	static const char *const subs[] = {"unnamed", "calls"};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		char *sub = xasprintf("%s/%s", cdir, subs[i]);
		DIR *d = opendir(sub);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (i == 0 && owner)
				stop_unnamed(run_dir, owner, e->d_name);
			unlinkat(dirfd(d), e->d_name, 0);
		}
		if (d)
			closedir(d);
		rmdir(sub);
		free(sub);
	}
	char *f = xasprintf("%s/client.json", cdir);
	unlink(f);
	free(f);
	rmdir(cdir);
}

/* MCP clients (bin/isol8-mcp/client.c): a stdio server whose process is gone, or an HTTP client
 * unused for mcp_idle_s. A client.json that does not read back names no owner whose sessions
 * could be stopped (they idle out); its directory goes once older than the idle time. */
static void reap_mcp_clients(const isol8_reap_opts *o, const char *run_dir, isol8_reap_report *r)
{
	char dir[PATH_MAX];
	DIR *d = open_dir(rundir_mcp(run_dir, NULL, NULL), dir);
	if (!d)
		return;
	unsigned idle = o->mcp_idle_s ? o->mcp_idle_s : 3600;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char cdir[PATH_MAX + 300], f[PATH_MAX + 320];
		snprintf(cdir, sizeof cdir, "%s/%s", dir, e->d_name);
		snprintf(f, sizeof f, "%s/client.json", cdir);
		isol8_buf b = {0};
		isol8_err err = {0};
		jv c = read_file(f, 4096, &b, &err) == 0 ? jv_parse_sized((const char *)b.data, (int)b.len) : jv_invalid();
		isol8_buf_free(&b);
		jv owner = json_get(c, "owner"), pid = json_get(c, "pid"), start = json_get(c, "pidStart");
		/* the owner is a prefix of session ids: "" or "k" + 12 hex + "-", nothing else */
		bool owner_ok = jv_get_kind(owner) == JV_KIND_STRING && strlen(jv_string_value(owner)) <= 14 &&
				strspn(jv_string_value(owner), "k0123456789abcdef-") == strlen(jv_string_value(owner));
		bool stdio = jv_get_kind(pid) == JV_KIND_NUMBER && jv_get_kind(start) == JV_KIND_NUMBER;
		bool gone = stdio ? !proc_alive((int)jv_number_value(pid), (unsigned long long)jv_number_value(start))
				  : older_than(jv_is_valid(c) ? f : cdir, idle);
		if (gone) {
			add_candidate(r, e->d_name, stdio ? "mcp client gone" : "mcp client idle", 0);
			if (!o->dry_run) {
				end_mcp_client(run_dir, cdir, owner_ok ? jv_string_value(owner) : NULL);
				r->removed++;
			}
		}
		jv_free(owner);
		jv_free(pid);
		jv_free(start);
		jv_free(c);
	}
	closedir(d);
}

int isol8_reap(const isol8_reap_opts *o, isol8_reap_report *r, isol8_err *err)
{
	memset(r, 0, sizeof *r);
	const char *run_dir = o->run_dir ? o->run_dir : isol8_run_dir();
	char lock[PATH_MAX];
	char *lp = rundir_cleanup_lock(run_dir);
	snprintf(lock, sizeof lock, "%s", lp);
	free(lp);
	if (mkdir_p(run_dir, 0755) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "run dir %s", run_dir);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "lock %s", lock);
	}
	reap_mcp_clients(o, run_dir, r); /* first: their unnamed sessions, then what those leave */
	reap_sessions(o, run_dir, r); /* a stopped session's sandbox is then reaped below */
	reap_records(o, run_dir, r);
	reap_orphan_cgroups(o, run_dir, r);
	close(fd);
	return 0;
}

void isol8_reap_report_free(isol8_reap_report *r)
{
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->cands);
	memset(r, 0, sizeof *r);
}
