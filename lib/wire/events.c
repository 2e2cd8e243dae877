#include "wire/events.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* One event: a JSON line, or an SSE frame ("data: <json>\n\n", JSON never holds a raw newline). */
static void emit(const isol8_evwriter *w, jv o)
{
	if (!w->sse) {
		json_write_line(w->fd, o);
		return;
	}
	char *t = json_dump(o, 0);
	char *frame = xasprintf("data: %s\n\n", t);
	(void)write_all(w->fd, frame, strlen(frame));
	free(frame);
	free(t);
}

static void line(const isol8_evwriter *w, const char *type, jv data, bool b64)
{
	jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(type));
	o = jv_object_set(o, jv_string("data"), data);
	if (b64)
		o = jv_object_set(o, jv_string("encoding"), jv_string("base64"));
	o = jv_object_set(o, jv_string("phase"), jv_string("code"));
	emit(w, o);
	jv_free(o);
}

static void flush_pending(isol8_evwriter *w, int i, bool all)
{
	isol8_buf *p = &w->pend[i];
	size_t n = all ? p->len : utf8_complete_prefix(p->data, p->len);
	if (!n)
		return;
	bool b64;
	jv data = json_bytes(p->data, n, &b64);
	line(w, i == 0 ? "stdout" : "stderr", data, b64);
	memmove(p->data, p->data + n, p->len - n);
	p->len -= n;
}

void evw_event(void *ctx, const isol8_event *ev)
{
	isol8_evwriter *w = ctx;
	if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR) {
		int i = ev->type == ISOL8_EV_STDOUT ? 0 : 1;
		buf_append(&w->pend[i], ev->data, ev->len);
		flush_pending(w, i, false);
		return;
	}
	flush_pending(w, 0, true);
	flush_pending(w, 1, true);
	line(w, ev->type == ISOL8_EV_EXIT ? "exit" : "error", jv_string_sized((const char *)ev->data, (int)ev->len), false);
}

void evw_result(isol8_evwriter *w, jv result)
{
	flush_pending(w, 0, true);
	flush_pending(w, 1, true);
	jv o = jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("result")), jv_string("data"), result);
	emit(w, o);
	jv_free(o);
}

void evw_free(isol8_evwriter *w)
{
	isol8_buf_free(&w->pend[0]);
	isol8_buf_free(&w->pend[1]);
}
