/* events.c — see events.h. */
#include "wire/events.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* ---- writing ------------------------------------------------------------------------------- */

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

static void line(const isol8_evwriter *w, const char *type, jv data, bool b64, isol8_phase phase)
{
	jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(type));
	o = jv_object_set(o, jv_string("data"), data);
	if (b64)
		o = jv_object_set(o, jv_string("encoding"), jv_string("base64"));
	o = jv_object_set(o, jv_string("phase"), jv_string(phase == ISOL8_PHASE_SETUP ? "setup" : "code"));
	emit(w, o);
	jv_free(o);
}

void evw_one(const isol8_evwriter *w, const isol8_event *ev)
{
	const unsigned char *p = ev->len ? ev->data : (const unsigned char *)"";
	if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR) {
		bool b64;
		jv data = json_bytes(p, ev->len, &b64);
		line(w, ev->type == ISOL8_EV_STDOUT ? "stdout" : "stderr", data, b64, ev->phase);
		return;
	}
	line(w, ev->type == ISOL8_EV_EXIT ? "exit" : "error", jv_string_sized((const char *)p, (int)ev->len), false,
	     ev->phase);
}

static void flush_pending(isol8_evwriter *w, int i, bool all)
{
	isol8_buf *p = &w->pend[i];
	size_t n = all ? p->len : utf8_complete_prefix(p->data, p->len);
	if (!n)
		return;
	isol8_event ev = {i == 0 ? ISOL8_EV_STDOUT : ISOL8_EV_STDERR, p->data, n, w->pend_phase[i]};
	evw_one(w, &ev);
	memmove(p->data, p->data + n, p->len - n);
	p->len -= n;
}

void evw_event(void *ctx, const isol8_event *ev)
{
	isol8_evwriter *w = ctx;
	if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR) {
		int i = ev->type == ISOL8_EV_STDOUT ? 0 : 1;
		if (w->pend_phase[i] != ev->phase) /* a setup's unfinished character stays the setup's */
			flush_pending(w, i, true);
		w->pend_phase[i] = ev->phase;
		buf_append(&w->pend[i], ev->data, ev->len);
		flush_pending(w, i, false);
		return;
	}
	flush_pending(w, 0, true);
	flush_pending(w, 1, true);
	evw_one(w, ev);
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

/* ---- reading ------------------------------------------------------------------------------- */

/* Borrows s: a JSON string equal to lit byte for byte (a NUL inside s does not end it early). */
static bool str_is(jv s, const char *lit)
{
	size_t n = strlen(lit);
	return jv_get_kind(s) == JV_KIND_STRING && (size_t)jv_string_length_bytes(jv_copy(s)) == n &&
	       !memcmp(jv_string_value(s), lit, n);
}

/* Borrows s (a string): its bytes into b, whole. b->data is never NULL afterwards. */
static void take_text(jv s, isol8_buf *b)
{
	buf_append(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
}

/* An exit text: an optional '-' and decimal digits only (no sign, space or NUL strtoll would
 * let through), within an int. */
static bool exit_text(const isol8_buf *b, int *code)
{
	const char *s = (const char *)b->data;
	size_t i = s[0] == '-';
	if (i >= b->len)
		return false;
	for (; i < b->len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	long long v;
	if (parse_ll(s, INT_MIN, INT_MAX, &v) < 0)
		return false;
	*code = (int)v;
	return true;
}

/* Output data (a string) into b: as it is, or decoded when enc is "base64" (the only encoding). */
static bool output(jv data, jv enc, isol8_buf *b)
{
	if (!jv_is_valid(enc)) {
		take_text(data, b);
		return true;
	}
	return str_is(enc, "base64") &&
	       base64_decode(jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)), b) == 0;
}

/* The fields of an event of kind k (borrows v): false when one is missing or wrong. Only output
 * may have an encoding; "phase", when there, is a string. */
static bool typed(jv v, evr_kind k, isol8_evread *ev)
{
	jv data = json_get(v, "data"), enc = json_get(v, "encoding"), phase = json_get(v, "phase");
	bool out = k == EVR_STDOUT || k == EVR_STDERR;
	bool good = (!jv_is_valid(phase) || jv_get_kind(phase) == JV_KIND_STRING) && (out || !jv_is_valid(enc));
	if (good && k == EVR_RESULT) {
		good = jv_get_kind(data) == JV_KIND_OBJECT;
		if (good)
			ev->result = jv_copy(data);
	} else if (good && jv_get_kind(data) != JV_KIND_STRING) {
		good = false;
	} else if (good && out) {
		good = output(data, enc, &ev->data);
	} else if (good) {
		take_text(data, &ev->data);
		good = k != EVR_EXIT || exit_text(&ev->data, &ev->exit_code);
	}
	ev->phase = jv_get_kind(phase) == JV_KIND_STRING && str_is(phase, "setup") ? ISOL8_PHASE_SETUP : ISOL8_PHASE_CODE;
	jv_free(data);
	jv_free(enc);
	jv_free(phase);
	return good;
}

static const struct {
	const char *name;
	evr_kind kind;
} types[] = {
	{"stdout", EVR_STDOUT}, {"stderr", EVR_STDERR}, {"error", EVR_ERROR}, {"exit", EVR_EXIT}, {"result", EVR_RESULT},
};

/* The kind of an object (borrows v), its content into ev. */
static evr_kind classify(jv v, isol8_evread *ev)
{
	jv type = json_get(v, "type"), e = json_get(v, "error");
	evr_kind k = EVR_MALFORMED;
	if (!jv_is_valid(type) && jv_get_kind(e) == JV_KIND_STRING) {
		take_text(e, &ev->data);
		k = EVR_REFUSAL;
	} else if (!jv_is_valid(e)) {
		/* both "type" and "error" would be two answers in one: neither is believed */
		for (size_t i = 0; i < ARRAY_SIZE(types) && k == EVR_MALFORMED; i++)
			if (str_is(type, types[i].name))
				k = typed(v, types[i].kind, ev) ? types[i].kind : EVR_MALFORMED;
	}
	jv_free(type);
	jv_free(e);
	return k;
}

evr_kind evr_parse(jv v, isol8_evread *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->result = jv_invalid();
	evr_kind k = jv_get_kind(v) == JV_KIND_OBJECT ? classify(v, ev) : EVR_MALFORMED;
	if (k == EVR_MALFORMED) {
		/* fail closed: nothing of a malformed event is left to be used by mistake */
		evr_free(ev);
		memset(ev, 0, sizeof *ev);
		ev->result = jv_invalid();
	}
	ev->kind = k;
	return k;
}

evr_kind evr_parse_line(const char *line, size_t n, isol8_evread *ev)
{
	jv v = n <= INT_MAX ? jv_parse_sized(line, (int)n) : jv_invalid();
	evr_kind k = evr_parse(v, ev);
	jv_free(v);
	return k;
}

bool evr_sse_line(const char *line, size_t n, isol8_evread *ev)
{
	if (n < 6 || memcmp(line, "data: ", 6))
		return false;
	evr_parse_line(line + 6, n - 6, ev);
	return true;
}

bool evr_event(const isol8_evread *ev, isol8_event *out)
{
	switch (ev->kind) {
	case EVR_STDOUT: out->type = ISOL8_EV_STDOUT; break;
	case EVR_STDERR: out->type = ISOL8_EV_STDERR; break;
	case EVR_ERROR: out->type = ISOL8_EV_ERROR; break;
	case EVR_EXIT: out->type = ISOL8_EV_EXIT; break;
	default: return false;
	}
	out->data = ev->data.data;
	out->len = ev->data.len;
	out->phase = ev->phase;
	return true;
}

void evr_free(isol8_evread *ev)
{
	isol8_buf_free(&ev->data);
	jv_free(ev->result);
	ev->result = jv_invalid();
}
