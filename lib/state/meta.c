/* meta.c — see meta.h. */
#include "state/meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"

#define ISO_FORMAT "%Y-%m-%dT%H:%M:%SZ"
#define MAX_META_BYTES (1 << 16)

static void iso_time(uint64_t secs, char out[32])
{
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, ISO_FORMAT, &tm))
		out[0] = 0;
}

/* Only the exact form iso_time writes: whatever strptime would also accept (other widths,
 * out-of-range fields that timegm folds into the next minute) is not a file this module wrote. */
static bool iso_time_parse(const char *s, uint64_t *secs)
{
	struct tm tm = {0};
	const char *end = strptime(s, ISO_FORMAT, &tm);
	if (!end || *end)
		return false;
	time_t t = timegm(&tm);
	char again[32];
	if (t < 0)
		return false;
	iso_time((uint64_t)t, again);
	if (strcmp(again, s))
		return false;
	*secs = (uint64_t)t;
	return true;
}

jv session_meta_json(const isol8_session_meta *m)
{
	char created[32], last[32];
	iso_time(m->created_s, created);
	iso_time(m->last_used_ms / 1000, last);
	jv o = jv_object();
	o = jv_object_set(o, jv_string("id"), jv_string(m->id));
	o = jv_object_set(o, jv_string("runtime"), jv_string(m->runtime));
	o = jv_object_set(o, jv_string("created"), jv_string(created));
	o = jv_object_set(o, jv_string("lastUsed"), jv_string(last));
	o = jv_object_set(o, jv_string("lastUsedMs"), jv_number((double)m->last_used_ms));
	o = jv_object_set(o, jv_string("idleTimeoutMs"), jv_number((double)m->idle_timeout_ms));
	o = jv_object_set(o, jv_string("execs"), jv_number(m->execs));
	o = jv_object_set(o, jv_string("daemon"), jv_number(m->daemon));
	o = jv_object_set(o, jv_string("daemonStartTime"), jv_number((double)m->daemon_start));
	o = jv_object_set(o, jv_string("bootId"), jv_string(m->boot_id));
	o = jv_object_set(o, jv_string("sandbox"), jv_string(m->sandbox));
	o = jv_object_set(o, jv_string("sandboxPid"), jv_number(m->sandbox_pid));
	return jv_object_set(o, jv_string("busy"), jv_bool(m->busy));
}

int session_meta_write(const char *path, const isol8_session_meta *m, isol8_err *err)
{
	jv text = jv_dump_string(session_meta_json(m), 0);
	char *line = xasprintf("%s\n", jv_string_value(text));
	char *tmp = xasprintf("%s.tmp", path);
	int rc = 0;
	if (write_file(tmp, line, 0600) < 0 || rename(tmp, path) < 0) {
		rc = isol8_fail(err, ISOL8_E_INTERNAL, errno, "cannot write %s", path);
		unlink(tmp); /* a stray .tmp would keep the directory from being removed */
	}
	free(tmp);
	free(line);
	jv_free(text);
	return rc;
}

/* ---- reading: every member checked, nothing guessed ------------------------------------- */

/* A string member copied into out[size]: refused when missing, not a string, holding a NUL (it
 * would be read as a shorter string), too long, or empty unless may_be_empty. */
static int text_member(jv obj, const char *key, char *out, size_t size, bool may_be_empty, isol8_err *err)
{
	jv s = json_get(obj, key);
	int rc = -1;
	if (jv_get_kind(s) == JV_KIND_STRING) {
		const char *p = jv_string_value(s);
		size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
		if (n < size && strlen(p) == n && (n || may_be_empty)) {
			memcpy(out, p, n + 1);
			rc = 0;
		}
	}
	jv_free(s);
	if (rc < 0)
		return isol8_input_error(err, "meta.json: \"%s\" must be a string of %s%zu bytes", key,
					 may_be_empty ? "0 to " : "1 to ", size - 1);
	return 0;
}

/* A whole number in [min, below): JSON has only doubles, so a fraction, NaN or anything out of
 * range is refused rather than rounded or wrapped. */
static int number_member(jv obj, const char *key, double min, double below, double *out, isol8_err *err)
{
	jv n = json_get(obj, key);
	bool ok = jv_get_kind(n) == JV_KIND_NUMBER;
	double d = ok ? jv_number_value(n) : 0;
	jv_free(n);
	if (!ok || !(d >= min && d < below) || d != (double)(uint64_t)d)
		return isol8_input_error(err, "meta.json: \"%s\" must be a whole number from %.0f", key, min);
	*out = d;
	return 0;
}

static int u64_member(jv obj, const char *key, uint64_t *out, isol8_err *err)
{
	double d;
	if (number_member(obj, key, 0, 0x1p64, &d, err) < 0)
		return -1;
	*out = (uint64_t)d;
	return 0;
}

/* pids and counts: ints, from min */
static int int_member(jv obj, const char *key, int min, int *out, isol8_err *err)
{
	double d;
	if (number_member(obj, key, min, 0x1p31, &d, err) < 0)
		return -1;
	*out = (int)d;
	return 0;
}

static int time_member(jv obj, const char *key, uint64_t *secs, isol8_err *err)
{
	char s[32];
	if (text_member(obj, key, s, sizeof s, false, err) < 0 || !iso_time_parse(s, secs))
		return isol8_input_error(err, "meta.json: \"%s\" must be a time as YYYY-MM-DDTHH:MM:SSZ", key);
	return 0;
}

static int bool_member(jv obj, const char *key, bool *out, isol8_err *err)
{
	jv b = json_get(obj, key);
	jv_kind k = jv_get_kind(b);
	jv_free(b);
	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE)
		return isol8_input_error(err, "meta.json: \"%s\" must be true or false", key);
	*out = k == JV_KIND_TRUE;
	return 0;
}

static int parse_members(jv v, isol8_session_meta *m, isol8_err *err)
{
	uint64_t last_used_s, start;
	/* lastUsed is lastUsedMs written for people: checked, not kept (lastUsedMs is what counts) */
	if (text_member(v, "id", m->id, sizeof m->id, false, err) < 0 ||
	    text_member(v, "runtime", m->runtime, sizeof m->runtime, false, err) < 0 ||
	    time_member(v, "created", &m->created_s, err) < 0 || time_member(v, "lastUsed", &last_used_s, err) < 0 ||
	    u64_member(v, "lastUsedMs", &m->last_used_ms, err) < 0 ||
	    u64_member(v, "idleTimeoutMs", &m->idle_timeout_ms, err) < 0 || int_member(v, "execs", 0, &m->execs, err) < 0 ||
	    int_member(v, "daemon", 1, &m->daemon, err) < 0 || u64_member(v, "daemonStartTime", &start, err) < 0 ||
	    text_member(v, "bootId", m->boot_id, sizeof m->boot_id, true, err) < 0 ||
	    text_member(v, "sandbox", m->sandbox, sizeof m->sandbox, false, err) < 0 ||
	    int_member(v, "sandboxPid", 1, &m->sandbox_pid, err) < 0 || bool_member(v, "busy", &m->busy, err) < 0)
		return -1;
	m->daemon_start = start;
	return 0;
}

int session_meta_parse(jv v, isol8_session_meta *m, isol8_err *err)
{
	memset(m, 0, sizeof *m);
	int rc = jv_get_kind(v) == JV_KIND_OBJECT ? parse_members(v, m, err)
						  : isol8_input_error(err, "meta.json: not a JSON object");
	jv_free(v);
	if (rc < 0)
		memset(m, 0, sizeof *m); /* nothing half-read is left for a careless caller */
	return rc;
}

int session_meta_read(const char *path, isol8_session_meta *m, isol8_err *err)
{
	isol8_buf b = {0};
	memset(m, 0, sizeof *m);
	if (read_file(path, MAX_META_BYTES, &b, err) < 0) {
		isol8_buf_free(&b);
		return -1;
	}
	jv v;
	int rc = json_parse(b.data ? (const char *)b.data : "", b.len, "meta.json", &v, err);
	isol8_buf_free(&b);
	if (rc == 0)
		rc = session_meta_parse(v, m, err);
	return rc < 0 ? -2 : 0;
}
