/* shared.c — execution slots and metrics shared by every isol8-serve process of one run dir.
 *
 * Slots are one SysV semaphore taken with SEM_UNDO: if a connection's process is killed while
 * it holds a slot, the kernel gives the slot back, so a crash cannot shrink the server's
 * capacity for good. The waiters the kernel counts (GETNCNT) are the queue; the queue is
 * bounded (serve.maxQueue) and so is the wait (serve.queueTimeoutMs). The state file holds the
 * semaphore's id and the counters; it is re-initialised after a reboot (boot id) or when its
 * semaphore is gone. Every server process holds a shared lock on the state file while it
 * lives; set-up and clean-up are serialised by a separate lock file, and the last server
 * process to leave (the one that can turn its shared lock exclusive) removes both.
 *
 * Per-key shares: one key could otherwise fill every slot and the queue (ten requests stuck
 * on a FIFO took them all), so a key may have at most serve.maxConcurrentPerKey executions
 * running or queued. The holders are a table in the state file, changed under the lock file;
 * an entry whose process is gone (pid and start time) is free, so a crash cannot leak one.
 * A second table counts each key's authenticated connections (serve.maxConnectionsPerKey) the
 * same way: file operations, deletes and the rest hold a connection too. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/runtime.h"
#include "run/pool.h"
#include "serve.h"
#include "core/util.h"
#include "state/rundir.h"

#define STATE_MAGIC 0x6c38737fu
#define STATE_VERSION 6

static const char *const statuses[SERVE_NST] = {"ok", "error", "timeout", "oom", "signal", "output_limit", "failed"};
static const char *const reject_names[REJ_N] = {"queue_full", "queue_timeout", "body_too_large", "unauthorized",
						 "session_limit", "key_share", "slow_client", "unauthenticated_evicted",
						 "gave_up", "key_connections"};
static const double bucket_ms[SERVE_NBUCKETS] = {2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000, 1e300};

union semun_arg {
	int val;
	struct semid_ds *buf;
};

static bool sem_usable(int id)
{
	struct semid_ds ds;
	union semun_arg a = {.buf = &ds};
	return id > 0 && semctl(id, 0, IPC_STAT, a) == 0 && ds.sem_nsems == 1 && ds.sem_perm.uid == geteuid();
}

static int sem_new(int max, isol8_err *err)
{
	int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (id < 0)
		return isol8_fail(err, ISOL8_E_INTERNAL, errno, "cannot create the execution-slot semaphore");
	union semun_arg a = {.val = max};
	semctl(id, 0, SETVAL, a);
	return id;
}

/* The set-up/clean-up lock, held until unlock_setup. */
static int lock_setup(void)
{
	char *path = rundir_serve(NULL, "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	/* an eviction's SIGUSR1 (no SA_RESTART) interrupts the wait: wait again, never go on
	 * without the lock */
	int r = -1;
	while (fd >= 0 && (r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (fd >= 0 && r < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void unlock_setup(int fd)
{
	if (fd >= 0)
		close(fd);
}

int shared_open(serve_ctx *c, int max_concurrent, isol8_err *err)
{
	char *dir = rundir_serve(NULL, NULL);
	char *path = rundir_serve(NULL, "state");
	int rc = -1, lk = -1;
	if (mkdir_p(dir, 0700) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create %s (set ISOL8_RUN_DIR)", dir);
		goto out;
	}
	lk = lock_setup();
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_SH) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot open %s", path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (ftruncate(fd, sizeof(struct serve_shared)) < 0) {
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot size %s", path);
		close(fd);
		goto out;
	}
	struct serve_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED) {
		isol8_fail(err, ISOL8_E_INTERNAL, errno, "cannot map %s", path);
		close(fd);
		goto out;
	}
	char boot[64];
	boot_id(boot);
	if (sh->magic != STATE_MAGIC || sh->version != STATE_VERSION || strcmp(sh->boot, boot) || !sem_usable(sh->semid)) {
		memset(sh, 0, sizeof *sh);
		if ((sh->semid = sem_new(max_concurrent, err)) < 0) {
			munmap(sh, sizeof *sh);
			close(fd);
			goto out;
		}
		sh->max_concurrent = max_concurrent;
		snprintf(sh->boot, sizeof sh->boot, "%s", boot);
		sh->magic = STATE_MAGIC;
		sh->version = STATE_VERSION;
	} else if (sh->max_concurrent != max_concurrent && semctl(sh->semid, 0, GETVAL) == sh->max_concurrent &&
		   semctl(sh->semid, 0, GETNCNT) == 0) {
		/* nothing in flight: take the new maxConcurrent */
		union semun_arg a = {.val = max_concurrent};
		semctl(sh->semid, 0, SETVAL, a);
		sh->max_concurrent = max_concurrent;
	}
	c->draining = mmap(NULL, sizeof *c->draining, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->draining == MAP_FAILED) {
		c->draining = NULL;
		isol8_fail(err, ISOL8_E_INTERNAL, errno, "cannot map a page");
		munmap(sh, sizeof *sh);
		close(fd);
		goto out;
	}
	c->sh = sh;
	c->state_fd = fd;
	rc = 0;
out:
	unlock_setup(lk);
	free(dir);
	free(path);
	return rc;
}

void shared_close(serve_ctx *c)
{
	if (!c->sh)
		return;
	int lk = lock_setup();
	if (flock(c->state_fd, LOCK_EX | LOCK_NB) == 0) {
		semctl(c->sh->semid, 0, IPC_RMID);
		char *path = rundir_serve(NULL, "state");
		unlink(path);
		free(path);
		/* the lock file stays: unlinking it would let two processes hold "the" lock */
	}
	unlock_setup(lk);
	munmap(c->sh, sizeof *c->sh);
	close(c->state_fd);
	c->sh = NULL;
	munmap(c->draining, sizeof *c->draining);
	c->draining = NULL;
}

int slot_acquire(serve_ctx *c, enum serve_reject *why)
{
	int id = c->sh->semid;
	struct sembuf op = {0, -1, SEM_UNDO | IPC_NOWAIT};
	if (semop(id, &op, 1) == 0)
		return 0;
	if (semctl(id, 0, GETNCNT) >= c->max_queue) {
		*why = REJ_QUEUE_FULL;
		return -1;
	}
	op.sem_flg = SEM_UNDO;
	struct timespec ts = {c->queue_timeout_ms / 1000, (long)(c->queue_timeout_ms % 1000) * 1000000L};
	while (semtimedop(id, &op, 1, &ts) < 0) {
		if (errno != EINTR) {
			*why = REJ_QUEUE_TIMEOUT;
			return -1;
		}
	}
	return 0;
}

void slot_release(serve_ctx *c)
{
	struct sembuf op = {0, 1, SEM_UNDO};
	semop(c->sh->semid, &op, 1);
}

static bool holder_alive(const struct serve_holder *h)
{
	return proc_alive(h->pid, h->start);
}

/* Takes one of owner's cap entries in the table hs for this process: 0, or -1 when owner has
 * cap of them, all owners together hold total (0: no such bound), the table is full, or the
 * table cannot be locked (fail closed: an unlocked update could lose a count). */
static int share_take(struct serve_holder *hs, const char *owner, int cap, int total)
{
	struct serve_holder *free_slot = NULL;
	int mine = 0, all = 0, lk = lock_setup();
	if (lk < 0)
		return -1;
	for (int i = 0; i < SERVE_MAX_HOLDERS; i++) {
		if (hs[i].pid && !holder_alive(&hs[i]))
			memset(&hs[i], 0, sizeof hs[i]);
		if (!hs[i].pid) {
			free_slot = free_slot ? free_slot : &hs[i];
			continue;
		}
		all++;
		if (!strcmp(hs[i].owner, owner))
			mine++;
	}
	int rc = -1;
	if (mine < cap && (!total || all < total) && free_slot) {
		snprintf(free_slot->owner, sizeof free_slot->owner, "%s", owner);
		free_slot->start = proc_start_time(getpid());
		free_slot->pid = getpid();
		rc = 0;
	}
	unlock_setup(lk);
	return rc;
}

static void share_release(struct serve_holder *hs)
{
	int lk = lock_setup();
	for (int i = 0; i < SERVE_MAX_HOLDERS; i++)
		if (hs[i].pid == getpid()) {
			memset(&hs[i], 0, sizeof hs[i]);
			break;
		}
	unlock_setup(lk);
}

int key_share_take(serve_ctx *c, const char *owner, int cap)
{
	return share_take(c->sh->holders, owner, cap, 0);
}

int tenant_limit(const serve_ctx *c, const serve_conn *k, const char *what, int fallback)
{
	if (!k->tenant[0])
		return fallback;
	jv all = config_get(&c->cfg, "serve.tenants"), t = json_get(all, k->tenant), v = json_get(t, what);
	int n = jv_get_kind(v) == JV_KIND_NUMBER ? (int)jv_number_value(v) : fallback;
	jv_free(v);
	jv_free(t);
	jv_free(all);
	return n;
}

/* The tenant's row of counters, claimed on first use; NULL when the table is full. */
static struct serve_tenant *tenant_row(struct serve_shared *sh, const char *name)
{
	for (int i = 0; i < SERVE_MAX_TENANTS; i++) {
		struct serve_tenant *t = &sh->tenants[i];
		if (__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) && !strcmp(t->name, name))
			return t;
	}
	for (int i = 0; i < SERVE_MAX_TENANTS; i++) {
		struct serve_tenant *t = &sh->tenants[i];
		uint32_t zero = 0;
		if (__atomic_compare_exchange_n(&t->used, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			snprintf(t->name, sizeof t->name, "%s", name);
			__atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
			return t; /* two processes may claim a row each for one new tenant: summed when shown */
		}
	}
	return NULL;
}

void metrics_audit_failed(serve_ctx *c)
{
	if (c->sh)
		__atomic_add_fetch(&c->sh->audit_failures, 1, __ATOMIC_RELAXED);
}

void key_share_release(serve_ctx *c)
{
	share_release(c->sh->holders);
}

int conn_share_take(serve_ctx *c, const char *owner)
{
	return share_take(c->sh->conn_holders, owner, c->key_conns, c->conns_total);
}

void conn_share_release(serve_ctx *c)
{
	if (c->sh)
		share_release(c->sh->conn_holders);
}

static int index_of(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && !strcmp(names[i], s))
			return i;
	return n - 1;
}

void metrics_count(serve_ctx *c, const serve_conn *k, const char *runtime, const char *status, bool warm)
{
	struct serve_shared *sh = c->sh;
	uint64_t start_ns = k->start_ns;
	int r = runtime_index(runtime), s = index_of(statuses, SERVE_NST, status);
	if (r < 0)
		r = SERVE_NRT - 1; /* "other" */
	__atomic_add_fetch(&sh->execs[r][s], 1, __ATOMIC_RELAXED);
	if (k->tenant[0]) {
		struct serve_tenant *t = tenant_row(sh, k->tenant);
		__atomic_add_fetch(t ? &t->execs[s] : &sh->tenants_other[s], 1, __ATOMIC_RELAXED);
	}
	if (warm)
		__atomic_add_fetch(&sh->warm, 1, __ATOMIC_RELAXED);
	uint64_t us = (now_mono_ns() - start_ns) / 1000;
	for (int b = 0; b < SERVE_NBUCKETS; b++)
		if ((double)us / 1000.0 <= bucket_ms[b]) {
			__atomic_add_fetch(&sh->lat_buckets[b], 1, __ATOMIC_RELAXED);
			break;
		}
	__atomic_add_fetch(&sh->lat_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->lat_sum_us, us, __ATOMIC_RELAXED);
}

void metrics_reject(serve_ctx *c, enum serve_reject why)
{
	if (c->sh)
		__atomic_add_fetch(&c->sh->rejects[why], 1, __ATOMIC_RELAXED);
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Pool gauges from isol8-pool's status reply, when a pool runs for this run dir. */
static void pool_gauges(isol8_buf *b)
{
	pool_status_msg st;
	if (pool_status(&st, 1000) < 0) /* a stuck pool must not stall /metrics */
		return;
	static const char *const f[] = {"size", "ready", "hits", "misses", "discarded"};
	static const char *const help[] = {"configured pool size", "prepared sandboxes waiting",
					   "sandboxes handed over", "requests the pool could not serve",
					   "pooled sandboxes discarded (dead or too old)"};
	const unsigned long long v[] = {(unsigned long long)st.size, (unsigned long long)st.ready, st.hits, st.misses,
					st.discarded};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char *t = xasprintf("# HELP isol8_pool_%s %s\n# TYPE isol8_pool_%s %s\nisol8_pool_%s %llu\n", f[i], help[i], f[i],
				    i < 2 ? "gauge" : "counter", f[i], v[i]);
		buf_puts(b, t);
		free(t);
	}
}

static void line(isol8_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(isol8_buf *b, const char *fmt, ...)
{
	char *t;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) >= 0) {
		buf_puts(b, t);
		free(t);
	}
	va_end(ap);
}

/* A label value as Prometheus wants it: \\, \" and \n escaped (a tenant id is anyone's text). */
static void label(isol8_buf *b, const char *v)
{
	for (; *v; v++)
		*v == '\\' ? buf_puts(b, "\\\\") : *v == '"' ? buf_puts(b, "\\\"") : *v == '\n' ? buf_puts(b, "\\n")
											    : buf_append(b, v, 1);
}

/* Executions by database-key tenant (rows of one tenant summed: two may have been claimed).
 * A master key sees every tenant; a database key its own only (tenant ids are not its to read). */
static void tenant_metrics(isol8_buf *b, struct serve_shared *sh, const serve_conn *k)
{
	line(b, "# HELP isol8_tenant_executions_total Executions by tenant (database keys) and status.\n"
		"# TYPE isol8_tenant_executions_total counter\n");
	for (int i = 0; i < SERVE_MAX_TENANTS; i++) {
		struct serve_tenant *t = &sh->tenants[i];
		bool first = __atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) && (k->master || !strcmp(t->name, k->tenant));
		for (int j = 0; first && j < i; j++)
			first = !(__atomic_load_n(&sh->tenants[j].ready, __ATOMIC_ACQUIRE) && !strcmp(sh->tenants[j].name, t->name));
		for (int s = 0; first && s < SERVE_NST; s++) {
			uint64_t n = 0;
			for (int j = i; j < SERVE_MAX_TENANTS; j++)
				if (__atomic_load_n(&sh->tenants[j].ready, __ATOMIC_ACQUIRE) && !strcmp(sh->tenants[j].name, t->name))
					n += ld(&sh->tenants[j].execs[s]);
			buf_puts(b, "isol8_tenant_executions_total{tenant=\"");
			label(b, t->name);
			line(b, "\",status=\"%s\"} %llu\n", statuses[s], (unsigned long long)n);
		}
	}
	for (int s = 0; k->master && s < SERVE_NST; s++)
		if (ld(&sh->tenants_other[s]))
			line(b, "isol8_tenant_executions_total{tenant=\"(other)\",status=\"%s\"} %llu\n", statuses[s],
			     (unsigned long long)ld(&sh->tenants_other[s]));
}

char *metrics_render(serve_ctx *c, const serve_conn *k)
{
	struct serve_shared *sh = c->sh;
	isol8_buf b = {0};
	line(&b, "# HELP isol8_executions_total Executions by runtime and result status.\n"
		 "# TYPE isol8_executions_total counter\n");
	for (int r = 0; r < SERVE_NRT; r++)
		for (int s = 0; s < SERVE_NST; s++)
			line(&b, "isol8_executions_total{runtime=\"%s\",status=\"%s\"} %llu\n",
			     r < ISOL8_NRUNTIMES ? runtime_name_at(r) : "other", statuses[s],
			     (unsigned long long)ld(&sh->execs[r][s]));
	tenant_metrics(&b, sh, k);
	line(&b, "# HELP isol8_audit_failures_total Audit lines that could not be written (or whose postLogScript could not be started).\n"
		 "# TYPE isol8_audit_failures_total counter\nisol8_audit_failures_total %llu\n",
	     (unsigned long long)ld(&sh->audit_failures));
	line(&b, "# HELP isol8_executions_warm_total Executions that ran in a sandbox from isol8-pool.\n"
		 "# TYPE isol8_executions_warm_total counter\nisol8_executions_warm_total %llu\n",
	     (unsigned long long)ld(&sh->warm));
	line(&b, "# HELP isol8_request_duration_seconds Execution request latency, queueing included.\n"
		 "# TYPE isol8_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i < SERVE_NBUCKETS; i++) {
		cum += ld(&sh->lat_buckets[i]);
		if (i == SERVE_NBUCKETS - 1)
			line(&b, "isol8_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		else
			line(&b, "isol8_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_ms[i] / 1000,
			     (unsigned long long)cum);
	}
	line(&b, "isol8_request_duration_seconds_sum %.6f\nisol8_request_duration_seconds_count %llu\n",
	     (double)ld(&sh->lat_sum_us) / 1e6, (unsigned long long)ld(&sh->lat_count));
	int val = semctl(sh->semid, 0, GETVAL), waiting = semctl(sh->semid, 0, GETNCNT);
	line(&b, "# HELP isol8_in_flight Executions running now.\n# TYPE isol8_in_flight gauge\nisol8_in_flight %d\n",
	     val >= 0 ? sh->max_concurrent - val : 0);
	line(&b, "# HELP isol8_queue_depth Executions waiting for a slot.\n# TYPE isol8_queue_depth gauge\n"
		 "isol8_queue_depth %d\n", waiting > 0 ? waiting : 0);
	line(&b, "# HELP isol8_max_concurrent Execution slots (maxConcurrent).\n# TYPE isol8_max_concurrent gauge\n"
		 "isol8_max_concurrent %d\n", sh->max_concurrent);
	line(&b, "# HELP isol8_rejected_total Requests turned away, by reason.\n# TYPE isol8_rejected_total counter\n");
	for (int i = 0; i < REJ_N; i++)
		line(&b, "isol8_rejected_total{reason=\"%s\"} %llu\n", reject_names[i], (unsigned long long)ld(&sh->rejects[i]));
	line(&b, "# HELP isol8_http_requests_total HTTP requests parsed.\n# TYPE isol8_http_requests_total counter\n"
		 "isol8_http_requests_total %llu\n", (unsigned long long)ld(&sh->requests));
	line(&b, "# HELP isol8_sessions Live sessions in this run dir.\n# TYPE isol8_sessions gauge\nisol8_sessions %d\n",
	     sessions_count(NULL));
	pool_gauges(&b);
	buf_append(&b, "", 0);
	return (char *)b.data;
}
