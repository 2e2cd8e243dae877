/* netlog.c — see netlog.h. */
#include "state/netlog.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

int netlog_append(int fd, const netlog_entry *e)
{
	char ts[32];
	iso8601_now(ts);
	jv o = jv_object();
	o = jv_object_set(o, jv_string("timestamp"), jv_string(ts));
	o = jv_object_set(o, jv_string("method"), jv_string(e->method));
	o = jv_object_set(o, jv_string("host"), jv_string(e->host));
	o = jv_object_set(o, jv_string("path"), e->path ? jv_string(e->path) : jv_null());
	o = jv_object_set(o, jv_string("action"), jv_string(e->action));
	if (e->reason)
		o = jv_object_set(o, jv_string("reason"), jv_string(e->reason));
	o = jv_object_set(o, jv_string("durationMs"), jv_number((double)e->duration_ms));
	int rc = json_write_line(fd, o); /* builds the whole line, then one write */
	jv_free(o);
	return rc;
}

jv netlog_read(const char *path)
{
	isol8_buf b = {0};
	isol8_err e = {0};
	jv arr = jv_array();
	if (read_file(path, 16u << 20, &b, &e) == 0) {
		char *p = (char *)b.data, *end = p + b.len;
		while (p && p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			jv v = jv_parse_sized(p, (int)l);
			if (jv_get_kind(v) == JV_KIND_OBJECT)
				arr = jv_array_append(arr, v);
			else
				jv_free(v);
			p = nl ? nl + 1 : NULL;
		}
	}
	isol8_buf_free(&b);
	return arr;
}
