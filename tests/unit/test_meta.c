/* A session's meta.json (lib/state/meta.c): what is written reads back the same; anything
 * else — not JSON, cut short, a member missing or of the wrong type or range — is refused. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "core/util.h"
#include "state/meta.h"

static char dir[] = "/tmp/isol8-test-meta-XXXXXX";
static char path[64];

static isol8_session_meta sample(void)
{
	isol8_session_meta m = {
		.created_s = 1767225600, /* 2026-01-01T00:00:00Z */
		.last_used_ms = 1767225661234,
		.idle_timeout_ms = 1ull << 40,
		.execs = 7,
		.daemon = 4242,
		.daemon_start = 123456789,
		.sandbox_pid = 4250,
		.busy = true,
	};
	strcpy(m.id, "cli-python-0123456789ab");
	strcpy(m.runtime, "python");
	strcpy(m.boot_id, "9f1c2d3e-0000-4000-8000-123456789abc");
	strcpy(m.sandbox, "0123456789abcdef");
	return m;
}

static bool same(const isol8_session_meta *a, const isol8_session_meta *b)
{
	return !strcmp(a->id, b->id) && !strcmp(a->runtime, b->runtime) && a->created_s == b->created_s &&
	       a->last_used_ms == b->last_used_ms && a->idle_timeout_ms == b->idle_timeout_ms && a->execs == b->execs &&
	       a->daemon == b->daemon && a->daemon_start == b->daemon_start && !strcmp(a->boot_id, b->boot_id) &&
	       !strcmp(a->sandbox, b->sandbox) && a->sandbox_pid == b->sandbox_pid && a->busy == b->busy;
}

/* path holds exactly text; the result of reading it */
static int read_text(const char *text, size_t n, isol8_session_meta *m, isol8_err *err)
{
	FILE *f = fopen(path, "w");
	fwrite(text, 1, n, f);
	fclose(f);
	return session_meta_read(path, m, err);
}

/* the sample with obj[key] replaced (or removed when value is invalid), as it reads back */
static int read_altered(const char *key, jv value, isol8_err *err)
{
	isol8_session_meta s = sample();
	jv o = session_meta_json(&s);
	o = jv_is_valid(value) ? jv_object_set(o, jv_string(key), value) : jv_object_delete(o, jv_string(key));
	jv t = jv_dump_string(o, 0);
	isol8_session_meta m;
	int rc = read_text(jv_string_value(t), (size_t)jv_string_length_bytes(jv_copy(t)), &m, err);
	jv_free(t);
	return rc;
}

static void round_trip(void)
{
	isol8_session_meta w = sample(), r;
	isol8_err err = {0};
	ok(session_meta_write(path, &w, &err) == 0, "write");
	ok(session_meta_read(path, &r, &err) == 0 && same(&w, &r), "write then read gives the same fields");
	struct stat st;
	char tmp[80];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && access(tmp, F_OK) < 0,
	   "the file is 0600 and no .tmp is left behind");
	isol8_buf b = {0};
	ok(read_file(path, 1 << 16, &b, &err) == 0 && b.len > 2 && !strncmp((char *)b.data, "{\"id\":\"", 7) &&
		   b.data[b.len - 1] == '\n' && !memchr(b.data, '\n', b.len - 1),
	   "one compact JSON line, id first");
	ok(strstr((char *)b.data, "\"created\":\"2026-01-01T00:00:00Z\",\"lastUsed\":\"2026-01-01T00:01:01Z\"") != NULL,
	   "created and lastUsed in ISO 8601 (UTC)");

	w.busy = false;
	w.execs = 0;
	w.boot_id[0] = 0; /* boot_id() gives "" when it cannot tell */
	w.idle_timeout_ms = 1;
	ok(session_meta_write(path, &w, &err) == 0 && session_meta_read(path, &r, &err) == 0 && same(&w, &r),
	   "…again with the other values (busy false, no execs, empty boot id, 1 ms idle)");

	jv o = session_meta_json(&w);
	o = jv_object_set(o, jv_string("comment"), jv_string("added by hand"));
	jv t = jv_dump_string(o, JV_PRINT_PRETTY);
	ok(read_text(jv_string_value(t), (size_t)jv_string_length_bytes(jv_copy(t)), &r, &err) == 0 && same(&w, &r),
	   "pretty-printed, with a member it does not know: still read");
	jv_free(t);
	isol8_buf_free(&b);
}

static void refused(void)
{
	isol8_session_meta w = sample(), r;
	isol8_err err = {0};
	char missing[80];
	snprintf(missing, sizeof missing, "%s/none", dir);
	ok(session_meta_read(missing, &r, &err) == -1, "no file: -1 (cannot be read)");

	jv t = jv_dump_string(session_meta_json(&w), 0);
	const char *full = jv_string_value(t);
	size_t n = strlen(full);
	int cut_refused = 0;
	for (size_t i = 0; i < n; i++)
		cut_refused += read_text(full, i, &r, &err) == -2;
	ok(cut_refused == (int)n, "every truncation of the file is refused (%d of %zu)", cut_refused, n);
	ok(r.daemon == 0 && r.id[0] == 0, "…and leaves nothing half-read");
	jv_free(t);

	static const char *const junk[] = {"", "garbage", "[]", "null", "\"meta\"", "{}", "{\"id\":\"a\"} {}"};
	int junk_refused = 0;
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
		junk_refused += read_text(junk[i], strlen(junk[i]), &r, &err) == -2;
	ok(junk_refused == (int)ARRAY_SIZE(junk), "not JSON, not an object, empty, or two values: refused");

	static const char *const keys[] = {"id", "runtime", "created", "lastUsed", "lastUsedMs", "idleTimeoutMs", "execs",
					   "daemon", "daemonStartTime", "bootId", "sandbox", "sandboxPid", "busy"};
	int gone = 0, wrong = 0, nulls = 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		gone += read_altered(keys[i], jv_invalid(), &err) == -2;
		nulls += read_altered(keys[i], jv_null(), &err) == -2;
		/* a string where a number or bool belongs, a number where a string belongs */
		bool is_text = i < 4 || i == 9 || i == 10;
		wrong += read_altered(keys[i], is_text ? jv_number(1) : jv_string("1"), &err) == -2;
	}
	ok(gone == (int)ARRAY_SIZE(keys), "any member missing: refused (%d)", gone);
	ok(nulls == (int)ARRAY_SIZE(keys), "any member null: refused (%d)", nulls);
	ok(wrong == (int)ARRAY_SIZE(keys), "any member of the wrong type: refused (%d)", wrong);
	ok(read_altered("daemon", jv_number(4242.5), &err) == -2 && read_altered("daemon", jv_number(-1), &err) == -2 &&
		   read_altered("daemon", jv_number(0), &err) == -2 && read_altered("daemon", jv_number(1e12), &err) == -2,
	   "a pid that is a fraction, negative, 0 or beyond an int: refused");
	ok(strstr(err.msg, "\"daemon\"") != NULL, "…and the message names the member (%s)", err.msg);
	ok(read_altered("lastUsedMs", jv_number(-5), &err) == -2 && read_altered("execs", jv_number(0.5), &err) == -2,
	   "negative or fractional counts: refused");
	ok(read_altered("busy", jv_number(1), &err) == -2, "busy must be a boolean");
	ok(read_altered("id", jv_string_sized("ab\0cd", 5), &err) == -2, "a string holding a NUL: refused");
	ok(read_altered("id", jv_string(""), &err) == -2, "an empty id: refused");
	char long_id[80];
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = 0;
	ok(read_altered("id", jv_string(long_id), &err) == -2, "an id longer than 64: refused");
	ok(read_altered("runtime", jv_string("a-runtime-name-too-long"), &err) == -2, "a runtime too long: refused");
	ok(read_altered("created", jv_string("2026-01-01 00:00:00"), &err) == -2 &&
		   read_altered("created", jv_string("2026-13-01T00:00:00Z"), &err) == -2 &&
		   read_altered("lastUsed", jv_string("2026-01-01T00:00:60Z"), &err) == -2 &&
		   read_altered("created", jv_string("2026-01-01T00:00:00Zjunk"), &err) == -2,
	   "a time not in the written form (no T, month 13, second 60, trailing junk): refused");
	ok(read_altered("lastUsedMs", jv_number(0), &err) == 0, "lastUsedMs 0 (aged by hand) is still a record");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/meta.json", dir);
	round_trip();
	refused();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
