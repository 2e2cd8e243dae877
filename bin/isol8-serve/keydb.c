/* keydb.c — see keydb.h. One set of statements per backend; rows come back as text. */
#include "keydb.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* The statements, once per dialect: SQLite's camelCase columns, ?N placeholders and integer
 * booleans against PostgreSQL's snake_case, $N and real booleans. Kept as pairs rather than
 * generated, so each reads as the SQL its database runs. */
#define COLS_SQLITE "id,name,keyPrefix,tenantId,createdAt,expiresAt,COALESCE(lastUsedAt,''),revoked"
#define COLS_PG "id,name,key_prefix,tenant_id,created_at,expires_at,COALESCE(last_used_at,''),revoked::int"
static const keydb_sql S_LOOKUP = {0, "SELECT " COLS_SQLITE " FROM api_keys WHERE keyHash=?1",
				   "SELECT " COLS_PG " FROM api_keys WHERE key_hash=$1"};
static const keydb_sql S_TOUCH = {1, "UPDATE api_keys SET lastUsedAt=?2 WHERE id=?1",
				  "UPDATE api_keys SET last_used_at=$2 WHERE id=$1"};
static const keydb_sql S_INSERT = {
	2,
	"INSERT INTO api_keys(id,name,keyHash,keyPrefix,tenantId,createdAt,expiresAt,revoked) VALUES(?1,?2,?3,?4,?5,?6,?7,0)",
	"INSERT INTO api_keys(id,name,key_hash,key_prefix,tenant_id,created_at,expires_at,revoked) "
	"VALUES($1,$2,$3,$4,$5,$6,$7,false)"};
static const keydb_sql S_LIST = {3, "SELECT " COLS_SQLITE " FROM api_keys ORDER BY createdAt DESC",
				 "SELECT " COLS_PG " FROM api_keys ORDER BY created_at DESC"};
static const keydb_sql S_LIST_TENANT = {4, "SELECT " COLS_SQLITE " FROM api_keys WHERE tenantId=?1 ORDER BY createdAt DESC",
					"SELECT " COLS_PG " FROM api_keys WHERE tenant_id=$1 ORDER BY created_at DESC"};
static const keydb_sql S_REVOKE = {5, "UPDATE api_keys SET revoked=1 WHERE id=?1", "UPDATE api_keys SET revoked=true WHERE id=$1"};
static const keydb_sql S_PURGE = {6, "DELETE FROM api_keys WHERE revoked=1 OR expiresAt<?1",
				  "DELETE FROM api_keys WHERE revoked OR expires_at<$1"};

static const char sqlite_schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS api_keys(id TEXT PRIMARY KEY, name TEXT NOT NULL, keyHash TEXT NOT NULL UNIQUE,"
	" keyPrefix TEXT NOT NULL, tenantId TEXT NOT NULL, createdAt TEXT NOT NULL, expiresAt TEXT NOT NULL,"
	" lastUsedAt TEXT, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS idx_api_keys_keyHash ON api_keys(keyHash);";
static const char pg_schema[] =
	"CREATE TABLE IF NOT EXISTS api_keys(id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,"
	" key_prefix TEXT NOT NULL, tenant_id TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,"
	" last_used_at TEXT, revoked BOOLEAN NOT NULL DEFAULT false);"
	"CREATE INDEX IF NOT EXISTS idx_api_keys_key_hash ON api_keys(key_hash);";

/* The longest one call waits on PostgreSQL: connecting, or one statement (with a reconnection).
 * Below the 5 s a connection waits for the key keeper, so a hung database is a 503, not a hang. */
#define PG_WAIT_MS 3000

struct keydb {
	sqlite3 *lite;
	sqlite3_stmt *st[KEYDB_SLOTS];
	PGconn *pg;          /* PostgreSQL: the connection (NULL after one that timed out) */
	char *pg_url;        /* PostgreSQL: what to connect to again */
	bool relaxed;        /* keydb_relax: applied again to a new connection */
	bool prepared[KEYDB_SLOTS];
	char kind[300];
};

void keydb_digest(const char *text, char out[65])
{
	unsigned char h[32];
	SHA256((const unsigned char *)text, strlen(text), h);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static bool is_pg(const char *conn)
{
	return !strncmp(conn, "postgres://", 11) || !strncmp(conn, "postgresql://", 13);
}

static keydb *open_sqlite(keydb *db, const char *path, isol8_err *err)
{
	snprintf(db->kind, sizeof db->kind, "sqlite:%s", path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir_p(dir, 0700);
	}
	free(dir);
	char *msg = NULL;
	if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(db->lite, 5000) != SQLITE_OK ||
	    sqlite3_exec(db->lite, sqlite_schema, NULL, NULL, &msg) != SQLITE_OK ||
	    /* committed pages reach the WAL; no fsync per lookup (lastUsedAt is not worth one) */
	    sqlite3_exec(db->lite, "PRAGMA synchronous=NORMAL", NULL, NULL, &msg) != SQLITE_OK) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database %s: %s", path,
			   msg ? msg : db->lite ? sqlite3_errmsg(db->lite) : "cannot open");
		sqlite3_free(msg);
		keydb_close(db);
		return NULL;
	}
	return db;
}

/* ---- PostgreSQL, never waited on without a deadline -------------------------------------------
 *
 * Threat: a database that accepts connections and never answers (a hung or stopped server, a
 * half-open network path) would hold every request that asks it, and their processes and
 * connection places, for good. Every wait below is a poll with a deadline; a connection whose
 * answer did not come in time is dropped (its late answer is never read as another's), and the
 * server also ends a statement that runs past PG_WAIT_MS (statement_timeout). */

static uint64_t deadline_after(int ms)
{
	return now_mono_ns() + (uint64_t)ms * 1000000u;
}

/* Whether pg's socket is ready (for writing, or reading) before the deadline. */
static bool pg_ready(PGconn *pg, bool writing, uint64_t deadline)
{
	int fd = PQsocket(pg);
	for (;;) {
		uint64_t now = now_mono_ns();
		if (fd < 0 || now >= deadline)
			return false;
		struct pollfd p = {fd, writing ? POLLOUT : POLLIN, 0};
		int r = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static int pg_timed_out(keydb *db, isol8_err *err)
{
	PQfinish(db->pg); /* a late answer must not be taken for the next statement's */
	db->pg = NULL;
	return isol8_fail(err, ISOL8_E_SANDBOX, ETIMEDOUT, "the key database (postgresql) did not answer within %d ms",
			  PG_WAIT_MS);
}

/* The result of what was just sent (PQsend*), by the deadline: the last one (an error stops a
 * script there), or NULL with err when the connection failed or the deadline passed. */
static PGresult *pg_await(keydb *db, uint64_t deadline, isol8_err *err)
{
	int f;
	while ((f = PQflush(db->pg)) == 1)
		if (!pg_ready(db->pg, true, deadline))
			return pg_timed_out(db, err), NULL;
	PGresult *last = NULL, *r;
	for (;;) {
		while (f == 0 && PQisBusy(db->pg)) {
			if (!pg_ready(db->pg, false, deadline)) {
				PQclear(last);
				return pg_timed_out(db, err), NULL;
			}
			if (!PQconsumeInput(db->pg))
				f = -1;
		}
		if (f < 0 || !(r = PQgetResult(db->pg)))
			break;
		PQclear(last);
		last = r;
	}
	if (!last)
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql) is unreachable: %s", PQerrorMessage(db->pg));
	return last;
}

/* What PQsend* (sent: its return) queued, awaited by the deadline; NULL with err. */
static PGresult *pg_sent(keydb *db, int sent, uint64_t deadline, isol8_err *err)
{
	if (!sent) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql): %s", PQerrorMessage(db->pg));
		return NULL;
	}
	return pg_await(db, deadline, err);
}

/* Runs sql (no parameters; several statements allowed). 0, or -1 with err. */
static int pg_script(keydb *db, const char *sql, uint64_t deadline, isol8_err *err)
{
	PGresult *r = pg_sent(db, PQsendQuery(db->pg, sql), deadline, err);
	if (!r)
		return -1;
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0
		 : isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql): %s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

/* A new connection to db->pg_url, by the deadline, with this module's settings: 0, or -1 with
 * err (db->pg then NULL). */
static int pg_connect(keydb *db, uint64_t deadline, isol8_err *err)
{
	if (db->pg)
		PQfinish(db->pg);
	memset(db->prepared, 0, sizeof db->prepared);
	db->pg = PQconnectStart(db->pg_url);
	if (!db->pg)
		return isol8_fail(err, ISOL8_E_SANDBOX, ENOMEM, "the key database (postgresql): out of memory");
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (PQstatus(db->pg) != CONNECTION_BAD && (st == PGRES_POLLING_WRITING || st == PGRES_POLLING_READING)) {
		if (!pg_ready(db->pg, st == PGRES_POLLING_WRITING, deadline))
			return pg_timed_out(db, err);
		st = PQconnectPoll(db->pg);
	}
	if (PQstatus(db->pg) != CONNECTION_OK) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql): %s", PQerrorMessage(db->pg));
		PQfinish(db->pg);
		db->pg = NULL;
		return -1;
	}
	char settings[160];
	snprintf(settings, sizeof settings, "SET client_min_messages = warning; SET statement_timeout = %d;%s", PG_WAIT_MS,
		 db->relaxed ? " SET synchronous_commit = off;" : "");
	if (PQsetnonblocking(db->pg, 1) < 0 || pg_script(db, settings, deadline, err) < 0) {
		if (db->pg)
			PQfinish(db->pg);
		db->pg = NULL;
		return -1;
	}
	return 0;
}

static keydb *open_pg(keydb *db, const char *url, bool migrate, isol8_err *err)
{
	snprintf(db->kind, sizeof db->kind, "postgresql");
	db->pg_url = xstrdup(url);
	if (pg_connect(db, deadline_after(PG_WAIT_MS), err) < 0 ||
	    (migrate && pg_script(db, pg_schema, deadline_after(PG_WAIT_MS), err) < 0)) {
		keydb_close(db);
		return NULL;
	}
	return db;
}

keydb *keydb_open(const char *conn, bool migrate, isol8_err *err)
{
	keydb *db = xcalloc(1, sizeof *db);
	return is_pg(conn) ? open_pg(db, conn, migrate, err) : open_sqlite(db, conn, err);
}

void keydb_close(keydb *db)
{
	if (!db)
		return;
	for (int i = 0; i < KEYDB_SLOTS; i++)
		sqlite3_finalize(db->st[i]);
	if (db->lite)
		sqlite3_close(db->lite);
	if (db->pg)
		PQfinish(db->pg);
	free(db->pg_url);
	free(db);
}

/* A query parameter whose value is a secret (password, sslpassword). */
static bool secret_param(const char *p, size_t n)
{
	return n >= 8 && !strncmp(p + n - 8, "password", 8);
}

char *keydb_display(const char *conn)
{
	if (!is_pg(conn))
		return xstrdup(conn);
	isol8_buf b = {0};
	const char *auth = strstr(conn, "://") + 3, *end = auth + strcspn(auth, "/?");
	const char *at = memchr(auth, '@', (size_t)(end - auth));
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	buf_append(&b, conn, (size_t)((colon ? colon + 1 : auth) - conn));
	if (colon)
		buf_puts(&b, "***");
	const char *p = colon ? at : auth;
	const char *q = strchr(p, '?');
	buf_append(&b, p, (size_t)((q ? q : p + strlen(p)) - p));
	while (q && *q) { /* each "?key=value" / "&key=value", a secret's value masked */
		size_t n = 1 + strcspn(q + 1, "&");
		const char *eq = memchr(q, '=', n);
		if (eq && secret_param(q + 1, (size_t)(eq - q - 1))) {
			buf_append(&b, q, (size_t)(eq + 1 - q));
			buf_puts(&b, "***");
		} else {
			buf_append(&b, q, n);
		}
		q += n;
	}
	buf_append(&b, "", 1);
	return (char *)b.data;
}

const char *keydb_kind(const keydb *db)
{
	return db->kind;
}

bool keydb_is_pg(const keydb *db)
{
	return db->pg_url != NULL;
}

int keydb_script(keydb *db, const char *sqlite_sql, const char *pg_sql, isol8_err *err)
{
	if (db->lite) {
		char *msg = NULL;
		int rc = sqlite3_exec(db->lite, sqlite_sql, NULL, NULL, &msg) == SQLITE_OK
				 ? 0
				 : isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", msg ? msg : sqlite3_errmsg(db->lite));
		sqlite3_free(msg);
		return rc;
	}
	uint64_t deadline = deadline_after(PG_WAIT_MS);
	if (!db->pg && pg_connect(db, deadline, err) < 0)
		return -1;
	return pg_script(db, pg_sql, deadline, err);
}

/* ---- one statement: bound text parameters in, rows of text out ------------------------------ */

/* Runs statement s; rows (when not NULL) gets a jv array of arrays of strings, *changed the
 * number of rows written. -1 with err when the database failed. */
static int run_sqlite(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
		      isol8_err *err)
{
	if (!db->st[s->slot] && sqlite3_prepare_v2(db->lite, s->sqlite, -1, &db->st[s->slot], NULL) != SQLITE_OK)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", sqlite3_errmsg(db->lite));
	sqlite3_stmt *st = db->st[s->slot];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jv row = jv_array();
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			row = jv_array_append(row, jv_string(t ? (const char *)t : ""));
		}
		if (rows)
			*rows = jv_array_append(*rows, row);
		else
			jv_free(row);
	}
	if (rc != SQLITE_DONE) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", sqlite3_errmsg(db->lite));
		sqlite3_reset(st);
		return -1;
	}
	if (changed)
		*changed = sqlite3_changes(db->lite);
	sqlite3_reset(st);
	return 0;
}

/* Prepares s on this connection once: 0, or -1 with err (*lost: the connection failed, not the SQL). */
static int pg_prepare(keydb *db, const keydb_sql *s, const char *name, int n, uint64_t deadline, bool *lost,
		      isol8_err *err)
{
	if (db->prepared[s->slot])
		return 0;
	PGresult *p = pg_sent(db, PQsendPrepare(db->pg, name, s->pg, n, NULL), deadline, err);
	db->prepared[s->slot] = p && PQresultStatus(p) == PGRES_COMMAND_OK;
	*lost = !db->pg || PQstatus(db->pg) != CONNECTION_OK;
	if (!db->prepared[s->slot] && p)
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", PQresultErrorMessage(p));
	PQclear(p);
	return db->prepared[s->slot] ? 0 : -1;
}

static void pg_rows(PGresult *r, jv *rows, long long *changed)
{
	for (int i = 0; rows && i < PQntuples(r); i++) {
		jv row = jv_array();
		for (int c = 0; c < PQnfields(r); c++)
			row = jv_array_append(row, jv_string(PQgetvalue(r, i, c)));
		*rows = jv_array_append(*rows, row);
	}
	if (changed)
		*changed = atoll(PQcmdTuples(r));
}

/* One statement; a connection found lost (the server restarted) is opened again once. The whole
 * call, reconnection included, is bounded by PG_WAIT_MS. */
static int run_pg(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
		  isol8_err *err)
{
	uint64_t deadline = deadline_after(PG_WAIT_MS);
	char name[8];
	snprintf(name, sizeof name, "k%d", s->slot);
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((!db->pg || PQstatus(db->pg) != CONNECTION_OK) && pg_connect(db, deadline, err) < 0)
			return -1;
		bool lost = false;
		if (pg_prepare(db, s, name, n, deadline, &lost, err) < 0) {
			if (lost && db->pg) /* not a timeout (that dropped the connection): try a new one */
				continue;
			return -1;
		}
		PGresult *r = pg_sent(db, PQsendQueryPrepared(db->pg, name, n, params, NULL, NULL, 0), deadline, err);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			pg_rows(r, rows, changed);
			PQclear(r);
			return 0;
		}
		bool retry = db->pg && PQstatus(db->pg) != CONNECTION_OK;
		if (r && !retry) /* the statement failed, not the connection */
			isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", PQresultErrorMessage(r));
		PQclear(r);
		if (!retry)
			return -1;
	}
	return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql) is unreachable: %s",
			  db->pg ? PQerrorMessage(db->pg) : "no connection");
}

int keydb_run(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
	      isol8_err *err)
{
	if (rows)
		*rows = jv_array();
	int rc = db->pg_url ? run_pg(db, s, params, n, rows, changed, err) : run_sqlite(db, s, params, n, rows, changed, err);
	if (rc < 0 && rows) {
		jv_free(*rows);
		*rows = jv_invalid();
	}
	return rc;
}

/* ---- keys -------------------------------------------------------------------------------------- */

static void row_key(jv row, keydb_key *k)
{
	char *const fields[] = {k->id, k->name, k->prefix, k->tenant, k->created, k->expires, k->last_used};
	const size_t sizes[] = {sizeof k->id, sizeof k->name, sizeof k->prefix, sizeof k->tenant, sizeof k->created,
				sizeof k->expires, sizeof k->last_used};
	memset(k, 0, sizeof *k);
	for (int i = 0; i < 7; i++) {
		jv v = jv_array_get(jv_copy(row), i);
		snprintf(fields[i], sizes[i], "%s", jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "");
		jv_free(v);
	}
	jv r = jv_array_get(jv_copy(row), 7);
	k->revoked = jv_get_kind(r) == JV_KIND_STRING && strcmp(jv_string_value(r), "0") != 0;
	jv_free(r);
}

jv keydb_key_json(const keydb_key *k)
{
	jv o = jv_object();
	o = jv_object_set(o, jv_string("id"), jv_string(k->id));
	o = jv_object_set(o, jv_string("name"), jv_string(k->name));
	o = jv_object_set(o, jv_string("keyPrefix"), jv_string(k->prefix));
	o = jv_object_set(o, jv_string("tenantId"), jv_string(k->tenant));
	o = jv_object_set(o, jv_string("createdAt"), jv_string(k->created));
	o = jv_object_set(o, jv_string("expiresAt"), jv_string(k->expires));
	o = jv_object_set(o, jv_string("lastUsedAt"), k->last_used[0] ? jv_string(k->last_used) : jv_null());
	return jv_object_set(o, jv_string("revoked"), jv_bool(k->revoked));
}

int keydb_lookup(keydb *db, const char *digest_hex, keydb_key *k, isol8_err *err)
{
	jv rows;
	const char *p[] = {digest_hex};
	if (keydb_run(db, &S_LOOKUP, p, 1, &rows, NULL, err) < 0)
		return -1;
	int found = 0;
	if (jv_array_length(jv_copy(rows)) == 1) {
		jv row = jv_array_get(jv_copy(rows), 0);
		row_key(row, k);
		jv_free(row);
		char now[32], second_ago[32];
		uint64_t ms = now_real_ms();
		iso8601_at(ms, now);
		iso8601_at(ms - 1000, second_ago);
		found = !k->revoked && strcmp(k->expires, now) >= 0;
		/* lastUsedAt to the second: a key in steady use writes once a second, not per request */
		if (found && strcmp(k->last_used, second_ago) < 0) {
			const char *t[] = {k->id, now};
			isol8_err terr = {0};
			if (keydb_run(db, &S_TOUCH, t, 2, NULL, NULL, &terr) < 0) /* best effort: the key was found */
				fprintf(stderr, "[WARN] isol8-serve: lastUsedAt not written: %s\n", terr.msg);
			else
				snprintf(k->last_used, sizeof k->last_used, "%s", now);
		}
	}
	jv_free(rows);
	return found;
}

int keydb_create(keydb *db, const char *name, const char *tenant, long long ttl_ms, char key[KEYDB_KEY_LEN + 1],
		 keydb_key *k, isol8_err *err)
{
	memset(k, 0, sizeof *k);
	memcpy(key, "isol8_", 6);
	random_hex(key + 6, 32);
	char digest[65];
	keydb_digest(key, digest);
	uuid_v4(k->id);
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->prefix, sizeof k->prefix, "%.10s...", key);
	snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
	uint64_t now = now_real_ms();
	iso8601_at(now, k->created);
	iso8601_at(now + (uint64_t)ttl_ms, k->expires);
	const char *p[] = {k->id, k->name, digest, k->prefix, k->tenant, k->created, k->expires};
	return keydb_run(db, &S_INSERT, p, 7, NULL, NULL, err);
}

int keydb_list(keydb *db, const char *tenant, jv *out, isol8_err *err)
{
	jv rows;
	const char *p[] = {tenant};
	if (keydb_run(db, tenant ? &S_LIST_TENANT : &S_LIST, p, tenant ? 1 : 0, &rows, NULL, err) < 0)
		return -1;
	*out = jv_array();
	jv_array_foreach(rows, i, row) {
		(void)i;
		keydb_key k;
		row_key(row, &k);
		*out = jv_array_append(*out, keydb_key_json(&k));
		jv_free(row);
	}
	jv_free(rows);
	return 0;
}

int keydb_revoke(keydb *db, const char *id, isol8_err *err)
{
	long long n = 0;
	const char *p[] = {id};
	return keydb_run(db, &S_REVOKE, p, 1, NULL, &n, err) < 0 ? -1 : n > 0;
}

long long keydb_purge(keydb *db, isol8_err *err)
{
	long long n = 0;
	char now[32];
	iso8601_now(now);
	const char *p[] = {now};
	return keydb_run(db, &S_PURGE, p, 1, NULL, &n, err) < 0 ? -1 : n;
}

void keydb_relax(keydb *db)
{
	/* the keeper writes only lastUsedAt (and purges): not worth a WAL flush per request */
	if (!db->pg_url)
		return;
	db->relaxed = true;
	isol8_err err = {0};
	if (db->pg && pg_script(db, "SET synchronous_commit = off", deadline_after(PG_WAIT_MS), &err) < 0)
		fprintf(stderr, "[WARN] isol8-serve: %s\n", err.msg);
}
