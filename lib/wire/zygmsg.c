/* zygmsg.c — see zygmsg.h. */
#include "wire/zygmsg.h"

#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

static char *text_of(jv o)
{
	char *t = json_dump(o, 0);
	jv_free(o);
	return t;
}

char *zygmsg_request_line(const zyg_request *r)
{
	jv j = set(jv_object(), "seccomp", jv_bool(r->seccomp));
	j = set(j, "user", jv_bool(r->user));
	j = set(j, "support", jv_bool(r->support));
	j = set(j, "sandboxSize", jv_number((double)r->sandbox_size));
	j = set(j, "tmpSize", jv_number((double)r->tmp_size));
	j = set(j, "staging", jv_string(r->staging));
	j = set(j, "cgroup", jv_number(r->cgroup));
	j = set(j, "cgroupFds", jv_number(r->cgroup_fds));
	j = set(j, "session", jv_bool(r->session));
	if (r->runtimes[0])
		j = set(j, "runtimes", jv_string(r->runtimes));
	if (r->probe[0])
		j = set(j, "probe", jv_string(r->probe));
	return text_of(j);
}

static bool get_bool(jv v, const char *k, bool *out)
{
	jv b = json_get(v, k);
	jv_kind kind = jv_get_kind(b);
	jv_free(b);
	if (kind != JV_KIND_TRUE && kind != JV_KIND_FALSE)
		return false;
	*out = kind == JV_KIND_TRUE;
	return true;
}

/* an optional string: absent is "", present must fit */
static bool get_opt_str(jv v, const char *k, char *out, size_t n)
{
	jv s = json_get(v, k);
	bool absent = !jv_is_valid(s) || jv_get_kind(s) == JV_KIND_NULL;
	jv_free(s);
	if (absent) {
		out[0] = 0;
		return true;
	}
	return json_get_str(v, k, out, n) && out[0] == '/';
}

int zygmsg_parse_request(const char *line, size_t len, zyg_request *r)
{
	memset(r, 0, sizeof *r);
	jv v = jv_parse_sized(line, (int)len);
	double ss = 0, ts = 0, cv = 0, cn = 0;
	bool ok = jv_get_kind(v) == JV_KIND_OBJECT && get_bool(v, "seccomp", &r->seccomp) &&
		  get_bool(v, "user", &r->user) && get_bool(v, "support", &r->support) &&
		  json_get_num(v, "sandboxSize", 1, 1ull << 50, &ss) && json_get_num(v, "tmpSize", 1, 1ull << 50, &ts) &&
		  json_get_str(v, "staging", r->staging, sizeof r->staging) && r->staging[0] == '/' &&
		  get_opt_str(v, "runtimes", r->runtimes, sizeof r->runtimes) &&
		  get_opt_str(v, "probe", r->probe, sizeof r->probe) && json_get_num(v, "cgroup", 0, 2, &cv) &&
		  json_get_num(v, "cgroupFds", 0, 4, &cn) && get_bool(v, "session", &r->session) && (cv == (int)cv && cn == (int)cn) && (cv != 0) == (cn != 0) &&
		  (cv != 2 || cn == 1);
	jv_free(v);
	r->cgroup = (int)cv;
	r->cgroup_fds = (int)cn;
	r->sandbox_size = (uint64_t)ss;
	r->tmp_size = (uint64_t)ts;
	return ok ? 0 : -1;
}

char *zygmsg_reply_line(pid_t pid, const char *error)
{
	return text_of(error ? set(jv_object(), "error", jv_string(error)) : set(jv_object(), "pid", jv_number(pid)));
}

int zygmsg_parse_reply(const char *line, size_t len, pid_t *pid, char error[256])
{
	jv v = jv_parse_sized(line, (int)len);
	double p = 0;
	int rc = -1;
	if (jv_get_kind(v) == JV_KIND_OBJECT && json_get_num(v, "pid", 2, 1 << 30, &p)) {
		*pid = (pid_t)p;
		rc = 1;
	} else if (jv_get_kind(v) == JV_KIND_OBJECT && json_get_str(v, "error", error, 256)) {
		rc = 0;
	}
	jv_free(v);
	return rc;
}
