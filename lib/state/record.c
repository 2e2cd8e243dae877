/* record.c — see record.h. */
#include "state/record.h"

#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

bool record_id_valid(const char *id)
{
	return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

void record_fill(isol8_record *r, const char *id, pid_t pid, pid_t supervisor, int cgroup_version, bool persist)
{
	memset(r, 0, sizeof *r);
	snprintf(r->id, sizeof r->id, "%s", id);
	r->pid = pid;
	r->start = proc_start_time(pid);
	boot_id(r->boot);
	r->supervisor = supervisor;
	r->sup_start = proc_start_time(supervisor);
	r->cgroup_version = cgroup_version;
	r->persist = persist;
	iso8601_now(r->created);
}

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

int record_write(const char *path, const isol8_record *r)
{
	jv o = jv_object();
	o = set(o, "id", jv_string(r->id));
	o = set(o, "pid", jv_number(r->pid));
	o = set(o, "startTime", jv_number((double)r->start));
	o = set(o, "bootId", jv_string(r->boot));
	o = set(o, "supervisor", jv_number(r->supervisor));
	o = set(o, "supervisorStartTime", jv_number((double)r->sup_start));
	o = set(o, "cgroupVersion", jv_number(r->cgroup_version));
	o = set(o, "persist", jv_bool(r->persist));
	o = set(o, "created", jv_string(r->created));
	char *text = json_dump(o, 0);
	jv_free(o);
	char *tmp = xasprintf("%s.tmp", path);
	char *line = xasprintf("%s\n", text);
	int rc = write_file(tmp, line, 0600) == 0 && rename(tmp, path) == 0 ? 0 : -1;
	free(line);
	free(tmp);
	free(text);
	return rc;
}

int record_read(const char *path, isol8_record *r)
{
	isol8_buf b = {0};
	isol8_err e = {0};
	memset(r, 0, sizeof *r);
	if (read_file(path, 1 << 16, &b, &e) < 0) {
		isol8_buf_free(&b);
		return -1;
	}
	jv v = jv_parse_sized(b.data ? (const char *)b.data : "", (int)b.len);
	isol8_buf_free(&b);
	double pid, start, sup = 0, sst = 0, cgv = 0;
	bool ok = jv_get_kind(v) == JV_KIND_OBJECT && json_get_str(v, "id", r->id, sizeof r->id) &&
		  record_id_valid(r->id) && json_get_num(v, "pid", 0, 9e15, &pid) &&
		  json_get_num(v, "startTime", 0, 9e15, &start) && json_get_str(v, "bootId", r->boot, sizeof r->boot);
	if (ok) {
		r->pid = (pid_t)pid;
		r->start = (unsigned long long)start;
		/* optional: records of older versions lack them */
		if (json_get_num(v, "supervisor", 0, 9e15, &sup) && json_get_num(v, "supervisorStartTime", 0, 9e15, &sst)) {
			r->supervisor = (pid_t)sup;
			r->sup_start = (unsigned long long)sst;
		}
		if (json_get_num(v, "cgroupVersion", 0, 9e15, &cgv))
			r->cgroup_version = (int)cgv;
		r->persist = json_get_bool(v, "persist");
		json_get_str(v, "created", r->created, sizeof r->created);
	}
	jv_free(v);
	return ok ? 0 : -1;
}
