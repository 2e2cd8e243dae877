/* keydb.c — see keydb.h. One set of statements per backend; rows come back as text. */
#include "keydb.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
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

struct keydb {
	sqlite3 *lite;
	sqlite3_stmt *st[KEYDB_SLOTS];
	PGconn *pg;
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

static keydb *open_pg(keydb *db, const char *url, bool migrate, isol8_err *err)
{
	snprintf(db->kind, sizeof db->kind, "postgresql");
	db->pg = PQconnectdb(url);
	if (PQstatus(db->pg) != CONNECTION_OK) {
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql): %s", PQerrorMessage(db->pg));
		keydb_close(db);
		return NULL;
	}
	PQclear(PQexec(db->pg, "SET client_min_messages = warning"));
	if (!migrate)
		return db;
	PGresult *r = PQexec(db->pg, pg_schema);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql): %s", PQresultErrorMessage(r));
	PQclear(r);
	if (!ok) {
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
	free(db);
}

const char *keydb_kind(const keydb *db)
{
	return db->kind;
}

bool keydb_is_pg(const keydb *db)
{
	return db->pg != NULL;
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
	PGresult *r = PQexec(db->pg, pg_sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0
						      : isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
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

static int run_pg(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
		  isol8_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (PQstatus(db->pg) != CONNECTION_OK) { /* the server restarted: one new connection */
			PQreset(db->pg);
			memset(db->prepared, 0, sizeof db->prepared);
			if (PQstatus(db->pg) != CONNECTION_OK)
				break;
		}
		char name[8];
		snprintf(name, sizeof name, "k%d", s->slot);
		if (!db->prepared[s->slot]) {
			PGresult *p = PQprepare(db->pg, name, s->pg, n, NULL);
			db->prepared[s->slot] = PQresultStatus(p) == PGRES_COMMAND_OK;
			if (!db->prepared[s->slot] && PQstatus(db->pg) == CONNECTION_OK) { /* bad SQL, not a lost connection */
				isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", PQresultErrorMessage(p));
				PQclear(p);
				return -1;
			}
			PQclear(p);
			if (!db->prepared[s->slot])
				continue;
		}
		PGresult *r = PQexecPrepared(db->pg, name, n, params, NULL, NULL, 0);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			for (int i = 0; rows && i < PQntuples(r); i++) {
				jv row = jv_array();
				for (int c = 0; c < PQnfields(r); c++)
					row = jv_array_append(row, jv_string(PQgetvalue(r, i, c)));
				*rows = jv_array_append(*rows, row);
			}
			if (changed)
				*changed = atoll(PQcmdTuples(r));
			PQclear(r);
			return 0;
		}
		if (PQstatus(db->pg) == CONNECTION_OK) { /* the statement failed, not the connection */
			isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database: %s", PQresultErrorMessage(r));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return isol8_fail(err, ISOL8_E_SANDBOX, 0, "the key database (postgresql) is unreachable: %s",
			  PQerrorMessage(db->pg));
}

int keydb_run(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
	      isol8_err *err)
{
	if (rows)
		*rows = jv_array();
	int rc = db->pg ? run_pg(db, s, params, n, rows, changed, err) : run_sqlite(db, s, params, n, rows, changed, err);
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
	if (db->pg)
		PQclear(PQexec(db->pg, "SET synchronous_commit = off"));
}
