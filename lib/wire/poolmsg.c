/* poolmsg.c — see poolmsg.h. */
#include "wire/poolmsg.h"

#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

static char *line_of(jv o)
{
	char *text = json_dump(o, 0);
	jv_free(o);
	char *line = xasprintf("%s\n", text);
	free(text);
	return line;
}

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

char *poolmsg_request_line(const pool_request *r)
{
	if (r->op == POOL_OP_STATUS)
		return line_of(set(jv_object(), "op", jv_string("status")));
	const isol8_options *o = &r->limits;
	jv j = set(jv_object(), "op", jv_string("acquire"));
	if (r->runtime[0]) {
		char d[17];
		snprintf(d, sizeof d, "%016llx", (unsigned long long)r->env_digest);
		j = set(j, "runtime", jv_string(r->runtime));
		j = set(j, "env", jv_string(d));
		if (r->session)
			j = set(j, "session", jv_true());
	}
	if (r->layer[0])
		j = set(j, "layer", jv_string(r->layer));
	j = set(j, "memory", jv_number((double)o->memory_limit));
	j = set(j, "cpu", jv_number(o->cpu_limit));
	j = set(j, "pids", jv_number((double)o->pids_limit));
	j = set(j, "sandboxSize", jv_number((double)o->sandbox_size));
	j = set(j, "tmpSize", jv_number((double)o->tmp_size));
	j = set(j, "seccomp", jv_string(o->seccomp == ISOL8_SECCOMP_STRICT ? "strict" : "unconfined"));
	return line_of(j);
}

/* a non-negative number, 0 when absent or anything else */
static double num(jv o, const char *k)
{
	double d = 0;
	return json_get_num(o, k, 0, 1e300, &d) ? d : 0;
}

void poolmsg_parse_request(const char *line, size_t len, pool_request *r)
{
	memset(r, 0, sizeof *r);
	jv v = jv_parse_sized(line, (int)len);
	char op[16] = "", env[17] = "", sc[16] = "";
	if (jv_get_kind(v) == JV_KIND_OBJECT && json_get_str(v, "op", op, sizeof op)) {
		if (!strcmp(op, "status")) {
			r->op = POOL_OP_STATUS;
		} else if (!strcmp(op, "acquire")) {
			r->op = POOL_OP_ACQUIRE;
			isol8_options *o = &r->limits;
			o->memory_limit = (uint64_t)num(v, "memory");
			o->cpu_limit = num(v, "cpu");
			o->pids_limit = (long long)num(v, "pids");
			o->sandbox_size = (uint64_t)num(v, "sandboxSize");
			o->tmp_size = (uint64_t)num(v, "tmpSize");
			/* anything but "strict" can never match a strict pool: fail closed */
			o->seccomp = json_get_str(v, "seccomp", sc, sizeof sc) && !strcmp(sc, "strict") ? ISOL8_SECCOMP_STRICT
											     : ISOL8_SECCOMP_UNCONFINED;
			char *end = NULL;
			if (json_get_str(v, "runtime", r->runtime, sizeof r->runtime) && json_get_str(v, "env", env, sizeof env) &&
			    strlen(env) == 16)
				r->env_digest = strtoull(env, &end, 16);
			if (!end || *end)
				r->runtime[0] = 0; /* no interpreter without a digest to check it by */
			r->session = r->runtime[0] && json_get_bool(v, "session");
			jv layer = json_get(v, "layer");
			/* a layer that cannot be read must never become "no layer": refuse the request */
			if (jv_is_valid(layer) && !json_get_str(v, "layer", r->layer, sizeof r->layer))
				r->op = POOL_OP_BAD;
			jv_free(layer);
		}
	}
	jv_free(v);
}

char *poolmsg_handover_line(const char *id, pid_t pid, const char *driver, pid_t driver_pid)
{
	jv j = set(set(jv_object(), "id", jv_string(id)), "pid", jv_number(pid));
	if (driver && *driver)
		j = set(j, "driver", jv_string(driver));
	if (driver_pid > 0)
		j = set(j, "driverPid", jv_number(driver_pid));
	return line_of(j);
}

char *poolmsg_miss_line(const char *why)
{
	return line_of(set(jv_object(), "miss", jv_string(why)));
}

int poolmsg_parse_reply(const char *line, size_t len, pool_reply *r)
{
	memset(r, 0, sizeof *r);
	jv v = jv_parse_sized(line, (int)len);
	int rc = -1;
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv pid = json_get(v, "pid"), drv = json_get(v, "driver"), dp = json_get(v, "driverPid");
		double dpid = 0;
		if (json_get_str(v, "id", r->id, sizeof r->id) && jv_get_kind(pid) == JV_KIND_NUMBER && jv_number_value(pid) > 0 &&
		    (jv_get_kind(drv) == JV_KIND_INVALID || json_get_str(v, "driver", r->driver, sizeof r->driver)) &&
		    (jv_get_kind(dp) == JV_KIND_INVALID || json_get_num(v, "driverPid", 2, 1 << 22, &dpid))) {
			r->handed = true;
			r->pid = (pid_t)jv_number_value(pid);
			r->driver_pid = (pid_t)dpid;
			rc = 0;
		} else if (json_get_str(v, "miss", r->miss, sizeof r->miss)) {
			rc = 0;
		}
		jv_free(pid);
		jv_free(drv);
		jv_free(dp);
	}
	jv_free(v);
	return rc;
}

jv poolmsg_status_json(const pool_status_msg *s)
{
	jv kinds = jv_object();
	for (int i = 0; i < s->nkinds && i < POOL_KINDS_MAX; i++)
		kinds = set(kinds, s->kinds[i].name, jv_number((double)s->kinds[i].ready));
	jv j = set(jv_object(), "pid", jv_number(s->pid));
	j = set(j, "strategy", jv_string(s->strategy));
	j = set(j, "size", jv_number((double)s->size));
	j = set(j, "ready", jv_number((double)s->ready));
	j = set(j, "kinds", kinds);
	j = set(j, "hits", jv_number((double)s->hits));
	j = set(j, "warmHits", jv_number((double)s->warm_hits));
	j = set(j, "misses", jv_number((double)s->misses));
	j = set(j, "discarded", jv_number((double)s->discarded));
	j = set(j, "zygoteHits", jv_number((double)s->zygote_hits));
	j = set(j, "zygoteForks", jv_number((double)s->zygote_forks));
	return set(j, "memoryLimit", jv_number((double)s->memory_limit));
}

char *poolmsg_status_line(const pool_status_msg *s)
{
	return line_of(poolmsg_status_json(s));
}

int poolmsg_parse_status(const char *line, size_t len, pool_status_msg *s)
{
	memset(s, 0, sizeof *s);
	jv v = jv_parse_sized(line, (int)len);
	double pid, size, ready, hits, warm, misses, disc, mem;
	bool ok = jv_get_kind(v) == JV_KIND_OBJECT && json_get_num(v, "pid", 1, 1 << 30, &pid) &&
		  json_get_str(v, "strategy", s->strategy, sizeof s->strategy) && json_get_num(v, "size", 0, 1e15, &size) &&
		  json_get_num(v, "ready", 0, 1e15, &ready) && json_get_num(v, "hits", 0, 1e18, &hits) &&
		  json_get_num(v, "warmHits", 0, 1e18, &warm) && json_get_num(v, "misses", 0, 1e18, &misses) &&
		  json_get_num(v, "discarded", 0, 1e18, &disc) && json_get_num(v, "memoryLimit", 0, 1e18, &mem);
	jv kinds = json_get(v, "kinds");
	if (ok && jv_get_kind(kinds) == JV_KIND_OBJECT) {
		*s = (pool_status_msg){.pid = (pid_t)pid, .size = (long long)size, .ready = (long long)ready,
				       .hits = (unsigned long long)hits, .warm_hits = (unsigned long long)warm,
				       .misses = (unsigned long long)misses, .discarded = (unsigned long long)disc,
				       .memory_limit = (unsigned long long)mem};
		json_get_str(v, "strategy", s->strategy, sizeof s->strategy);
		double zh = 0, zf = 0; /* a pool without zygotes may leave them out */
		if (json_get_num(v, "zygoteHits", 0, 1e18, &zh))
			s->zygote_hits = (unsigned long long)zh;
		if (json_get_num(v, "zygoteForks", 0, 1e18, &zf))
			s->zygote_forks = (unsigned long long)zf;
		jv_object_foreach(kinds, k, n) {
			double d;
			if (s->nkinds < POOL_KINDS_MAX && jv_get_kind(n) == JV_KIND_NUMBER && (d = jv_number_value(n)) >= 0 &&
			    (size_t)jv_string_length_bytes(jv_copy(k)) < sizeof s->kinds[0].name) {
				snprintf(s->kinds[s->nkinds].name, sizeof s->kinds[0].name, "%s", jv_string_value(k));
				s->kinds[s->nkinds++].ready = (long long)d;
			}
			jv_free(k);
			jv_free(n);
		}
	} else {
		ok = false;
	}
	jv_free(kinds);
	jv_free(v);
	return ok ? 0 : -1;
}

char *poolmsg_error_line(const char *msg)
{
	return line_of(set(jv_object(), "error", jv_string(msg)));
}
