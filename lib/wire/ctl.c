/* ctl.c — see ctl.h. The init parses requests from a supervisor it trusts, but the supervisor
 * parses lines from an init that runs beside untrusted code: every field is checked for its
 * type and range, and anything else is CTL_BAD, never a guess. */
#include "wire/ctl.h"

#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/fdpass.h"
#include "core/json.h"
#include "core/util.h"

static void send_obj(int fd, jv obj)
{
	(void)json_write_line(fd, obj);
	jv_free(obj);
}

static jv obj1(const char *key, jv val)
{
	return jv_object_set(jv_object(), jv_string(key), val);
}

void ctl_send_ready(int fd, int listener)
{
	if (listener < 0) {
		send_obj(fd, obj1("ready", jv_number(1)));
		return;
	}
	jv o = jv_object_set(obj1("ready", jv_number(1)), jv_string("listener"), jv_true());
	char *text = json_dump(o, 0);
	jv_free(o);
	isol8_buf b = {0};
	buf_puts(&b, text);
	buf_append(&b, "\n", 1);
	/* one sendmsg: the socket travels with its line, never apart from it */
	(void)fd_send(fd, b.data, b.len, &listener, 1);
	isol8_buf_free(&b);
	free(text);
}

void ctl_send_exit(int fd, pid_t pid, int wait_status, const char *exec_error, bool found)
{
	jv o = exec_error                 ? obj1("error", jv_string(exec_error))
	       : WIFSIGNALED(wait_status) ? obj1("signal", jv_number(WTERMSIG(wait_status)))
					  : obj1("exit", jv_number(WEXITSTATUS(wait_status)));
	if (found && !exec_error)
		o = jv_object_set(o, jv_string("found"), jv_true());
	send_obj(fd, jv_object_set(o, jv_string("pid"), jv_number(pid)));
}

void ctl_send_error(int fd, const char *msg)
{
	send_obj(fd, obj1("error", jv_string(msg)));
}

void ctl_send_reply(int fd, const char *key, long long value)
{
	send_obj(fd, obj1(key, jv_number((double)value)));
}

/* A whole number in [lo, hi] at obj[key]; false when absent or anything else. */
static bool int_field(jv obj, const char *key, double lo, double hi, long long *out)
{
	jv v = json_get(obj, key);
	bool ok = jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= lo && jv_number_value(v) <= hi &&
		  jv_number_value(v) == (double)(long long)jv_number_value(v);
	if (ok)
		*out = (long long)jv_number_value(v);
	jv_free(v);
	return ok;
}

static bool has(jv obj, const char *key)
{
	jv v = json_get(obj, key);
	bool r = jv_is_valid(v);
	jv_free(v);
	return r;
}

static void parse_status(jv v, ctl_msg *m)
{
	long long n;
	jv e = json_get(v, "error");
	if (jv_get_kind(e) == JV_KIND_STRING) {
		m->kind = CTL_ERROR;
		m->error = xstrdup(jv_string_value(e));
	} else if (int_field(v, "exit", 0, 255, &n)) {
		m->kind = CTL_EXIT;
		m->code = (int)n;
	} else if (int_field(v, "signal", 1, 64, &n)) {
		m->kind = CTL_SIGNAL;
		m->code = (int)n;
	}
	jv_free(e);
}

static const char *const reply_keys[] = {"ok", "spawned", "size"};

void ctl_parse(const char *line, size_t len, ctl_msg *m)
{
	memset(m, 0, sizeof *m);
	m->kind = CTL_BAD;
	jv v = jv_parse_sized(line, (int)len);
	long long n;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return;
	}
	if (has(v, "ready")) {
		m->kind = CTL_READY;
		m->listener = json_get_bool(v, "listener");
	} else if (has(v, "pid")) {
		if (int_field(v, "pid", 1, 1 << 30, &n)) {
			m->pid = (pid_t)n;
			parse_status(v, m);
			m->found = m->kind != CTL_ERROR && json_get_bool(v, "found");
		}
	} else if (has(v, "error")) {
		parse_status(v, m);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(reply_keys); i++)
			if (int_field(v, reply_keys[i], 0, 9e15, &n)) {
				m->kind = CTL_REPLY;
				snprintf(m->reply, sizeof m->reply, "%s", reply_keys[i]);
				m->value = n;
			}
	}
	jv_free(v);
}

void ctl_msg_free(ctl_msg *m)
{
	free(m->error);
	m->error = NULL;
}

int ctl_exit_code(const ctl_msg *m)
{
	return m->kind == CTL_EXIT ? m->code : m->kind == CTL_SIGNAL ? 128 + m->code : 127;
}

char *ctl_request_line(const ctl_req *r)
{
	jv o;
	switch (r->kind) {
	case CTL_REQ_GET:
		o = jv_object_set(obj1("get", jv_string(r->path)), jv_string("max"), jv_number((double)r->max));
		if (r->list)
			o = jv_object_set(o, jv_string("list"), jv_true());
		break;
	case CTL_REQ_PUT:
		o = jv_object_set(jv_object_set(obj1("put", jv_string(r->path)), jv_string("size"), jv_number((double)r->size)),
				  jv_string("mode"), jv_number(r->mode));
		break;
	case CTL_REQ_SPAWN:
		o = obj1("spawn", jv_true());
		break;
	case CTL_REQ_KILLALL:
		o = obj1("killall", jv_true());
		break;
	case CTL_REQ_TAKE:
		o = jv_object_set(jv_object_set(obj1("take", jv_string(r->path)), jv_string("max"), jv_number((double)r->max)),
				  jv_string("count"), jv_number((double)r->count));
		o = jv_object_set(o, jv_string("remove"), jv_bool(r->remove));
		break;
	default:
		o = jv_object();
	}
	char *text = json_dump(o, 0);
	jv_free(o);
	char *line = xasprintf("%s\n", text);
	free(text);
	return line;
}

static bool str_field(jv obj, const char *key, char **out)
{
	jv v = json_get(obj, key);
	bool ok = jv_get_kind(v) == JV_KIND_STRING;
	if (ok)
		*out = xstrdup(jv_string_value(v));
	jv_free(v);
	return ok;
}

void ctl_parse_request(const char *line, size_t len, ctl_req *r)
{
	memset(r, 0, sizeof *r);
	r->kind = CTL_REQ_BAD;
	jv v = jv_parse_sized(line, (int)len);
	long long n, mode;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return;
	}
	if (int_field(v, "max", 0, 9e15, &n) && str_field(v, "get", &r->path)) {
		r->kind = CTL_REQ_GET;
		r->max = (size_t)n;
		r->list = json_get_bool(v, "list");
	} else if (int_field(v, "size", 0, 9e15, &n) && str_field(v, "put", &r->path)) {
		r->kind = CTL_REQ_PUT;
		r->size = (size_t)n;
		r->mode = int_field(v, "mode", 0, 07777, &mode) ? (unsigned)mode : 0644;
	} else if (json_get_bool(v, "spawn")) {
		r->kind = CTL_REQ_SPAWN;
	} else if (json_get_bool(v, "killall")) {
		r->kind = CTL_REQ_KILLALL;
	} else if (int_field(v, "max", 0, 9e15, &n) && int_field(v, "count", 0, 1 << 20, &mode) &&
		   str_field(v, "take", &r->path)) {
		r->kind = CTL_REQ_TAKE;
		r->max = (size_t)n;
		r->count = (size_t)mode;
		r->remove = json_get_bool(v, "remove");
	}
	jv_free(v);
}

void ctl_req_free(ctl_req *r)
{
	free(r->path);
	r->path = NULL;
}
