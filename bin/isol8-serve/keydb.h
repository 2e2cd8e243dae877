/* keydb.h — API keys in a database: SQLite (a path) or PostgreSQL (a postgres:// or
 * postgresql:// URL). The reference's table and key format: a key is "isol8_" + 64 hex (32 random
 * bytes); only its SHA-256 (hex) is stored, with a display prefix (first 10 characters + "..."),
 * a UUID id, a tenant, ISO-8601 UTC times (created, expires, last used) and a revoked flag:
 *
 *   SQLite      api_keys(id, name, keyHash UNIQUE, keyPrefix, tenantId, createdAt, expiresAt,
 *               lastUsedAt, revoked)   — WAL mode
 *   PostgreSQL  api_keys(id, name, key_hash UNIQUE, key_prefix, tenant_id, created_at,
 *               expires_at, last_used_at, revoked)
 *
 * Every value reaches the database as a bound parameter, never in SQL text (names and tenant ids
 * are the client's). Times are stored as fixed-width ISO strings, so comparing them is comparing
 * times. */
#ifndef ISOL8_SERVE_KEYDB_H
#define ISOL8_SERVE_KEYDB_H

#include <jv.h>
#include <stdbool.h>

#include "core/err.h"

#define KEYDB_KEY_LEN 70 /* "isol8_" + 64 hex */

typedef struct keydb keydb;

typedef struct keydb_key {
	char id[37];
	char name[256];
	char prefix[16];
	char tenant[129];
	char created[32], expires[32], last_used[32]; /* last_used "" when never */
	bool revoked;
} keydb_key;

/* Opens (creating the file's directory, for SQLite); migrate: brings the schema up (once, at the
 * server's start: PostgreSQL's DDL is not free per connection). NULL with err. */
keydb *keydb_open(const char *conn, bool migrate, isol8_err *err);
void keydb_close(keydb *db);
/* For the key keeper: lastUsedAt and the purge are committed without waiting for the disk. */
void keydb_relax(keydb *db);
/* What conn names, for messages: "sqlite:<path>" or "postgresql" (never a password). */
const char *keydb_kind(const keydb *db);
/* conn as an operator may see it (the ready line): a SQLite path as it is, a PostgreSQL URL with
 * its password and any *password= parameter shown as "***" (malloc'd). */
char *keydb_display(const char *conn);

/* The key whose SHA-256 is digest_hex: 1 when it exists, is not revoked and has not expired (k
 * filled, its lastUsedAt set to now unless it was set in the last second), 0 when not, -1 when the database failed (err). */
int keydb_lookup(keydb *db, const char *digest_hex, keydb_key *k, isol8_err *err);
/* A new key of tenant, valid for ttl_ms: 0 with the key itself in key (shown once, never stored)
 * and its row in k, -1 with err. */
int keydb_create(keydb *db, const char *name, const char *tenant, long long ttl_ms, char key[KEYDB_KEY_LEN + 1],
		 keydb_key *k, isol8_err *err);
/* Every key (of tenant, when not NULL), as the reference lists them: an array of
 * {id,name,keyPrefix,tenantId,createdAt,expiresAt,lastUsedAt|null,revoked}. */
int keydb_list(keydb *db, const char *tenant, jv *out, isol8_err *err);
/* 1 revoked, 0 no such id, -1 err. */
int keydb_revoke(keydb *db, const char *id, isol8_err *err);
/* Deletes the revoked and the expired: how many, or -1 with err. */
long long keydb_purge(keydb *db, isol8_err *err);

/* ---- the statements underneath, for other tables in the same database (registry.c) -------- */

/* One statement in both dialects; slot is its place in the connection's cache of prepared
 * statements (each statement its own, below KEYDB_SLOTS; keydb.c uses 0-15). */
typedef struct keydb_sql {
	int slot;
	const char *sqlite, *pg;
} keydb_sql;
#define KEYDB_SLOTS 48
/* Runs s with n text parameters (bound, never spliced into the SQL): rows (when not NULL) gets
 * an array of rows, each an array of strings; *changed the rows written. 0, or -1 with err. */
int keydb_run(keydb *db, const keydb_sql *s, const char *const *params, int n, jv *rows, long long *changed,
	      isol8_err *err);
/* Statements without parameters (a schema), in the database's dialect. */
int keydb_script(keydb *db, const char *sqlite_sql, const char *pg_sql, isol8_err *err);
bool keydb_is_pg(const keydb *db);

/* SHA-256 of text as 64 lowercase hex digits. */
void keydb_digest(const char *text, char out[65]);
/* The key's row as the reference's JSON. */
jv keydb_key_json(const keydb_key *k);

#endif
