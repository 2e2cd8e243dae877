/* keys.c — API keys in a database (keydb.h) for isol8-serve: whether DB auth is on, the key
 * keeper, the lookup a connection makes, the purge job, and the /auth routes.
 *
 * The keeper is a process of a listening server that holds one open database connection on a
 * unix socket in the run dir: a connection's lookup then costs one query, not a database
 * connection (PostgreSQL: ~4 ms to connect, ~0.03 ms to query). It also runs the purge job. One
 * connection of --inetd has no keeper and opens the database itself.
 *
 * Threats: a database that is down or hangs must never open the door (503, nothing runs) nor hold
 * a request for good (keydb.c bounds every wait, a watchdog bounds each /auth route); a key is found
 * by its SHA-256 only (the key itself is never stored or logged); names and tenant ids are the
 * client's and reach the database only as bound parameters; the keeper's socket is the run dir's
 * (0700) and its protocol takes exactly 64 hex digits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "keydb.h"
#include "serve.h"
#include "state/rundir.h"

#define MAX_NAME 255
#define MAX_TENANT 128

/* ---- setting up ------------------------------------------------------------------------------ */

/* "~/x" with $HOME; anything else as it is (malloc'd). */
static char *expand_home(const char *p)
{
	const char *home = getenv("HOME");
	return p[0] == '~' && p[1] == '/' && home ? xasprintf("%s%s", home, p + 1) : xstrdup(p);
}

int keys_setup(serve_ctx *c, const char *flag_conn, isol8_err *err)
{
	c->keeper_pid = -1;
	c->auth_ttl_ms = (long long)config_num(&c->cfg, "auth.defaultTtlMs", 86400000);
	c->auth_purge_ms = (long long)config_num(&c->cfg, "auth.cleanupIntervalMs", 3600000);
	if (c->auth_ttl_ms < 1 || c->auth_ttl_ms > 10000000000000ll || c->auth_purge_ms < 1000)
		return isol8_input_error(err, "config auth.defaultTtlMs must be from 1 to 10000000000000 and "
					      "auth.cleanupIntervalMs at least 1000");
	const char *conn = flag_conn;
	if (!conn && config_bool(&c->cfg, "auth.enabled", 0)) {
		conn = config_str(&c->cfg, "auth.connectionString", "");
		if (!*conn)
			conn = "~/.isol8/auth.db";
	}
	if (!conn)
		return 0;
	if (!*conn)
		return isol8_input_error(err, "--auth-db needs a SQLite path or a postgres:// URL");
	if (strstr(conn, "://") && strncmp(conn, "postgres://", 11) && strncmp(conn, "postgresql://", 13))
		return isol8_input_error(err, "the key database must be a SQLite path or a postgres:// URL (MySQL and "
					      "others are not supported), not %.*s…", (int)(strstr(conn, "://") - conn + 3), conn);
	c->auth_conn = expand_home(conn);
	keydb *db = keydb_open(c->auth_conn, true, err); /* the schema, once, before anything serves */
	if (!db)
		return -1;
	keydb_close(db);
	return 0;
}

/* ---- the keeper -------------------------------------------------------------------------------- */

static bool hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && s[64] == 0;
}

/* The database, opened when it is not (relaxed for the keeper). */
static keydb *ensure_db(keydb **db, const char *conn, bool keeper, isol8_err *err)
{
	if (!*db && (*db = keydb_open(conn, false, err)) && keeper)
		keydb_relax(*db);
	return *db;
}

/* One lookup as a JSON line: {"found":true,<key>} / {"found":false} / {"error":"…"}. */
static char *lookup_line(keydb **db, const char *conn, const char *digest, bool keeper)
{
	isol8_err err = {0};
	keydb_key k;
	ensure_db(db, conn, keeper, &err);
	int r = *db ? keydb_lookup(*db, digest, &k, &err) : -1;
	jv o;
	if (r < 0) {
		fprintf(stderr, "[ERR] isol8-serve: %s\n", err.msg);
		keydb_close(*db); /* opened again for the next one: the database may be back */
		*db = NULL;
		o = jv_object_set(jv_object(), jv_string("error"), jv_string("the key database is unavailable"));
	} else {
		o = r ? jv_object_set(keydb_key_json(&k), jv_string("found"), jv_true())
		      : jv_object_set(jv_object(), jv_string("found"), jv_false());
	}
	char *s = json_dump(o, 0), *line = xasprintf("%s\n", s);
	jv_free(o);
	free(s);
	return line;
}

/* One question per connection: 64 hex digits (a key's digest) or a JSON line (the session
 * registry's, cluster.c). Anything else is dropped unanswered. */
static void keeper_answer(serve_ctx *c, int fd, keydb **db)
{
	struct timeval tv = {1, 0}; /* a client that says nothing does not hold up the others */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char in[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof in - 1 && (r = read(fd, in + n, sizeof in - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(in, '\n', n))
			break;
	}
	in[n] = 0;
	in[strcspn(in, "\n")] = 0;
	char *line = NULL;
	if (hex64(in)) {
		line = lookup_line(db, c->auth_conn, in, true);
	} else if (in[0] == '{') {
		isol8_err err = {0};
		bool failed;
		line = node_answer(c, ensure_db(db, c->auth_conn, true, &err), in, &failed);
		if (failed) { /* opened again for the next one: the database may be back */
			keydb_close(*db);
			*db = NULL;
		}
	}
	if (line)
		(void)write_all(fd, line, strlen(line));
	free(line);
}

static void purge(keydb **db, const char *conn, bool keeper)
{
	isol8_err err = {0};
	ensure_db(db, conn, keeper, &err);
	long long n = *db ? keydb_purge(*db, &err) : -1;
	if (n < 0) {
		fprintf(stderr, "[ERR] isol8-serve: purging expired keys: %s\n", err.msg);
		keydb_close(*db);
		*db = NULL;
	}
}

static volatile sig_atomic_t keeper_stopping;

static void on_keeper_term(int sig)
{
	(void)sig;
	keeper_stopping = 1;
}

/* The keeper's clean end (the server stops, or died: SIGTERM either way): a cluster node says it
 * is gone, so its sessions answer 410 at once rather than after the node timeout. */
static __attribute__((noreturn)) void keeper_exit(serve_ctx *c, keydb **db)
{
	if (c->cluster) {
		isol8_err err = {0};
		node_leave(c, ensure_db(db, c->auth_conn, true, &err));
	}
	keydb_close(*db);
	_exit(0);
}

static __attribute__((noreturn)) void keeper_main(serve_ctx *c, int lfd, const int *drop, int ndrop, pid_t parent)
{
	struct sigaction sa = {.sa_handler = on_keeper_term}; /* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (int i = 0; i < ndrop; i++) /* the server's listening socket and signalfd are not ours */
		close(drop[i]);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the server's signalfd blocked them */
	signal(SIGPIPE, SIG_IGN);
	keydb *db = NULL;
	pid_t stopper = 0;
	uint64_t next_purge = now_real_ms(), next_beat = now_real_ms();
	if (getppid() != parent)
		keeper_exit(c, &db);
	while (!keeper_stopping) {
		uint64_t now = now_real_ms();
		if (now >= next_purge) {
			purge(&db, c->auth_conn, true);
			next_purge = now + (uint64_t)c->auth_purge_ms;
		}
		if (c->cluster && now >= next_beat) {
			isol8_err err = {0};
			keydb *d = ensure_db(&db, c->auth_conn, true, &err);
			if (!d || node_beat(c, d, &stopper) < 0) {
				keydb_close(db);
				db = NULL;
			}
			next_beat = now + (uint64_t)c->heartbeat_ms;
		}
		uint64_t next = c->cluster && next_beat < next_purge ? next_beat : next_purge;
		uint64_t wait = next > now_real_ms() ? next - now_real_ms() : 0;
		struct pollfd p = {lfd, POLLIN, 0};
		if (poll(&p, 1, wait > 60000 ? 60000 : (int)wait + 1) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			keeper_answer(c, fd, &db);
			close(fd);
		}
	}
	keeper_exit(c, &db);
}

int keys_start_keeper(serve_ctx *c, const int *drop, int ndrop)
{
	if (!c->auth_conn)
		return 0;
	char name[32], *path;
	snprintf(name, sizeof name, "keys-%d.sock", (int)getpid());
	path = rundir_serve(NULL, name);
	snprintf(c->keeper_sock, sizeof c->keeper_sock, "%s", path);
	free(path);
	unlink(c->keeper_sock);
	int lfd = unix_listen(c->keeper_sock);
	if (lfd < 0) {
		fprintf(stderr, "[ERR] cannot listen on %s: %s\n", c->keeper_sock, strerror(errno));
		c->keeper_sock[0] = 0;
		return -1;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid == 0)
		keeper_main(c, lfd, drop, ndrop, parent);
	close(lfd);
	c->keeper_pid = pid;
	return pid > 0 ? 0 : -1;
}

void keys_stop_keeper(serve_ctx *c)
{
	if (c->keeper_pid > 0) {
		kill(c->keeper_pid, SIGTERM);
		/* a cluster node's keeper marks the node stopped on its way out: wait for that (bounded) */
		for (int i = 0; i < 500 && waitpid(c->keeper_pid, NULL, WNOHANG) == 0; i++)
			usleep(10000);
	}
	if (c->keeper_sock[0])
		unlink(c->keeper_sock);
}

/* ---- a connection's lookup --------------------------------------------------------------------- */

jv keeper_ask(serve_ctx *c, const char *line)
{
	if (!c->keeper_sock[0])
		return jv_invalid();
	int fd = unix_connect(c->keeper_sock);
	if (fd < 0)
		return jv_invalid();
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	isol8_buf b = {0};
	isol8_err err = {0};
	if (write_all(fd, line, strlen(line)) == 0)
		(void)read_fd_all(fd, 64 << 20, &b, &err); /* a cluster-wide session list can be long */
	close(fd);
	jv v = b.len ? jv_parse_sized((const char *)b.data, (int)b.len) : jv_invalid();
	isol8_buf_free(&b);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* The keeper's answer to a key's digest, or invalid when there is no keeper to ask. */
static jv ask_keeper(serve_ctx *c, const char *digest)
{
	if (!c->keeper_sock[0])
		return jv_invalid();
	char line[80];
	snprintf(line, sizeof line, "%s\n", digest);
	jv v = keeper_ask(c, line);
	/* a keeper that does not answer: the database is as good as down */
	return jv_is_valid(v) ? v : jv_object_set(jv_object(), jv_string("error"), jv_string("the key keeper did not answer"));
}

/* Without a keeper (one connection of --inetd): purge here, at most once per interval, as the
 * stamp in the run dir says. */
static void maybe_purge(serve_ctx *c, keydb **db)
{
	char *stamp = rundir_serve(NULL, "keys-purged");
	struct stat st;
	if (stat(stamp, &st) < 0 || (uint64_t)st.st_mtime * 1000 + (uint64_t)c->auth_purge_ms <= now_real_ms()) {
		int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		purge(db, c->auth_conn, false);
	}
	free(stamp);
}

/* Only what keydb_create makes can be a database key: anything else is refused without asking
 * the database (a flood of made-up tokens must not queue up in front of real lookups). */
static bool key_shaped(const char *t)
{
	return !strncmp(t, "isol8_", 6) && strspn(t + 6, "0123456789abcdef") == 64 && t[70] == 0;
}

int keys_lookup(serve_ctx *c, const char *token, keydb_key *k)
{
	if (!key_shaped(token))
		return 0;
	char digest[65];
	keydb_digest(token, digest);
	jv v = ask_keeper(c, digest);
	if (!jv_is_valid(v)) {
		keydb *db = NULL;
		maybe_purge(c, &db);
		char *line = lookup_line(&db, c->auth_conn, digest, false);
		keydb_close(db);
		v = jv_parse(line);
		free(line);
	}
	int rc = -1;
	jv err = json_get(v, "error");
	if (!jv_is_valid(err) && json_get_bool(v, "found")) {
		memset(k, 0, sizeof *k);
		json_get_str(v, "id", k->id, sizeof k->id);
		json_get_str(v, "tenantId", k->tenant, sizeof k->tenant);
		json_get_str(v, "name", k->name, sizeof k->name);
		rc = 1;
	} else if (!jv_is_valid(err)) {
		rc = 0;
	}
	jv_free(err);
	jv_free(v);
	return rc;
}

/* ---- routes -------------------------------------------------------------------------------------- */

/* The checks every /auth route makes, in the reference's order: a master key first, then DB auth
 * on. The database, opened for this request; NULL when answered already. */
static keydb *auth_route_db(serve_ctx *c, serve_conn *k)
{
	if (!k->master) {
		reply_error(k, 403, "Master key required for this operation");
		return NULL;
	}
	if (!c->auth_conn) {
		reply_error(k, 400, "DB-backed auth is not enabled");
		return NULL;
	}
	isol8_err err = {0};
	keydb *db = keydb_open(c->auth_conn, false, &err);
	if (!db) {
		fprintf(stderr, "[ERR] isol8-serve: %s\n", err.msg);
		reply_error(k, 503, "the key database is unavailable: retry in a moment");
	}
	return db;
}

static void db_failed(serve_conn *k, keydb *db, const isol8_err *err)
{
	fprintf(stderr, "[ERR] isol8-serve: %s\n", err->msg);
	reply_error(k, 503, "the key database is unavailable: retry in a moment");
	keydb_close(db);
}

/* A string member of the body: 1 set, 0 absent (or null), -1 answered 400. */
static int body_string(serve_conn *k, jv body, const char *key, size_t max, char *out, size_t outlen)
{
	jv v = json_get(body, key);
	int rc = 0;
	if (jv_get_kind(v) == JV_KIND_STRING) {
		size_t n = (size_t)jv_string_length_bytes(jv_copy(v));
		if (json_string_has_nul(v) || n > max || n >= outlen)
			rc = (reply_error(k, 400, "%s must be at most %zu bytes, without NUL", key, max), -1);
		else
			rc = (snprintf(out, outlen, "%s", jv_string_value(v)), 1);
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		rc = (reply_error(k, 400, "%s must be a string", key), -1);
	}
	jv_free(v);
	return rc;
}

/* The body of a key's creation: name (required unless fallback), tenantId, ttlMs. 0, or -1
 * answered. */
static int key_request(serve_ctx *c, serve_conn *k, bool name_required, char *name, char *tenant, long long *ttl)
{
	jv body = k->body_len ? jv_parse_sized(k->body, (int)k->body_len) : jv_object();
	if (jv_get_kind(body) != JV_KIND_OBJECT) {
		jv_free(body);
		if (name_required)
			return reply_error(k, 400, "name is required"), -1;
		body = jv_object(); /* login: an empty or unreadable body is the defaults */
	}
	int rn = body_string(k, body, "name", MAX_NAME, name, MAX_NAME + 1);
	int rt = rn < 0 ? -1 : body_string(k, body, "tenantId", MAX_TENANT, tenant, MAX_TENANT + 1);
	jv t = json_get(body, "ttlMs");
	int rc = 0;
	if (rn < 0 || rt < 0) {
		rc = -1;
	} else if (name_required && (rn == 0 || !*name)) {
		rc = (reply_error(k, 400, "name is required"), -1);
	} else if (rt == 1 && !*tenant) {
		rc = (reply_error(k, 400, "tenantId must not be empty"), -1);
	} else if (jv_is_valid(t) && jv_get_kind(t) != JV_KIND_NULL &&
		   (jv_get_kind(t) != JV_KIND_NUMBER || !(jv_number_value(t) >= 1 && jv_number_value(t) <= 1e13) ||
		    jv_number_value(t) != (double)(long long)jv_number_value(t))) {
		rc = (reply_error(k, 400, "ttlMs must be a whole number of milliseconds from 1 to 10000000000000"), -1);
	} else {
		*ttl = jv_get_kind(t) == JV_KIND_NUMBER ? (long long)jv_number_value(t) : c->auth_ttl_ms;
		if (rt == 0)
			snprintf(tenant, MAX_TENANT + 1, "default");
	}
	jv_free(t);
	jv_free(body);
	return rc;
}

/* A new key from the body (POST /auth/keys: a name is required; /auth/login: "login-<time>"
 * by default): 0 with the key and its row, -1 answered already. */
static int new_key(serve_ctx *c, serve_conn *k, bool login, char key[KEYDB_KEY_LEN + 1], keydb_key *row)
{
	keydb *db = auth_route_db(c, k);
	char name[MAX_NAME + 1] = "", tenant[MAX_TENANT + 1] = "";
	long long ttl;
	if (!db || key_request(c, k, !login, name, tenant, &ttl) < 0)
		return keydb_close(db), -1;
	if (!name[0]) {
		char now[32];
		iso8601_now(now);
		snprintf(name, sizeof name, "login-%s", now);
	}
	isol8_err err = {0};
	if (keydb_create(db, name, tenant, ttl, key, row, &err) < 0)
		return db_failed(k, db, &err), -1;
	keydb_close(db);
	return 0;
}

static void auth_keys_create(serve_ctx *c, serve_conn *k, const char *rest)
{
	char key[KEYDB_KEY_LEN + 1];
	keydb_key row;
	if (new_key(c, k, false, key, &row) < 0)
		return;
	jv o = jv_object_set(jv_object(), jv_string("id"), jv_string(row.id));
	o = jv_object_set(o, jv_string("key"), jv_string(key));
	o = jv_object_set(o, jv_string("name"), jv_string(row.name));
	o = jv_object_set(o, jv_string("keyPrefix"), jv_string(row.prefix));
	o = jv_object_set(o, jv_string("tenantId"), jv_string(row.tenant));
	o = jv_object_set(o, jv_string("expiresAt"), jv_string(row.expires));
	reply_json(k, 201, o);
	explicit_bzero(key, sizeof key);
}

static void auth_keys_list(serve_ctx *c, serve_conn *k, const char *rest)
{
	keydb *db = auth_route_db(c, k);
	if (!db)
		return;
	char tenant[MAX_TENANT + 2] = "";
	int r = http_query_param(k->req.query, "tenantId", tenant, sizeof tenant);
	if (r < 0 || strlen(tenant) > MAX_TENANT) {
		reply_error(k, 400, "tenantId must be at most %d bytes, without NUL, and well %%-escaped", MAX_TENANT);
		return keydb_close(db);
	}
	jv keys;
	isol8_err err = {0};
	if (keydb_list(db, r == 1 && tenant[0] ? tenant : NULL, &keys, &err) < 0)
		return db_failed(k, db, &err);
	reply_json(k, 200, jv_object_set(jv_object(), jv_string("keys"), keys));
	keydb_close(db);
}

static void auth_key_revoke(serve_ctx *c, serve_conn *k, const char *id)
{
	keydb *db = auth_route_db(c, k);
	if (!db)
		return;
	isol8_err err = {0};
	int r = strlen(id) <= 64 && !strchr(id, '/') ? keydb_revoke(db, id, &err) : 0;
	if (r < 0)
		return db_failed(k, db, &err);
	if (r == 0)
		reply_error(k, 404, "Key not found");
	else
		reply_json(k, 200, jv_object_set(jv_object_set(jv_object(), jv_string("ok"), jv_true()), jv_string("id"),
						 jv_string(id)));
	keydb_close(db);
}

static void auth_login(serve_ctx *c, serve_conn *k, const char *rest)
{
	char key[KEYDB_KEY_LEN + 1];
	keydb_key row;
	if (new_key(c, k, true, key, &row) < 0)
		return;
	jv o = jv_object_set(jv_object(), jv_string("token"), jv_string(key));
	o = jv_object_set(o, jv_string("expiresAt"), jv_string(row.expires));
	o = jv_object_set(o, jv_string("keyId"), jv_string(row.id));
	reply_json(k, 200, o);
	explicit_bzero(key, sizeof key);
}

/* Threat: a database that hangs must not hold a master key's connection, its process and its
 * connection place for good. Every database wait is bounded (keydb.c: a few seconds); this is
 * the last bound, should anything else stall (a name lookup, a stuck filesystem under SQLite). */
#define AUTH_ROUTE_BOUND_MS 10000

static void bounded(serve_ctx *c, serve_conn *k, const char *rest, route_fn *fn)
{
	watchdog_arm_reply(k, AUTH_ROUTE_BOUND_MS, 503, "the key database did not answer in time: retry later");
	fn(c, k, rest);
	watchdog_arm(k, 0);
}

void route_auth_keys_create(serve_ctx *c, serve_conn *k, const char *rest)
{
	bounded(c, k, rest, auth_keys_create);
}

void route_auth_keys_list(serve_ctx *c, serve_conn *k, const char *rest)
{
	bounded(c, k, rest, auth_keys_list);
}

void route_auth_key_revoke(serve_ctx *c, serve_conn *k, const char *id)
{
	bounded(c, k, id, auth_key_revoke);
}

void route_auth_login(serve_ctx *c, serve_conn *k, const char *rest)
{
	bounded(c, k, rest, auth_login);
}
