/* result.c — see result.h. */
#include "wire/result.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imagehdr.h"
#include "core/json.h"

const char *signal_name(int sig)
{
	static const char *const names[] = {[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",
		[SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",
		[SIGUSR2] = "SIGUSR2", [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ", [SIGSYS] = "SIGSYS"};
	if (sig > 0 && (size_t)sig < ARRAY_SIZE(names) && names[sig])
		return names[sig];
	return "SIG?";
}


void rtrim_buf(isol8_buf *b)
{
	while (b->len && strchr(" \t\n\r\v\f", b->data[b->len - 1]))
		b->len--;
	if (b->data)
		b->data[b->len] = 0;
}

static jv text_field(jv obj, const char *key, isol8_buf *b)
{
	isol8_buf t = {0};
	buf_append(&t, b->data ? b->data : (unsigned char *)"", b->len);
	rtrim_buf(&t);
	bool b64 = false;
	obj = jv_object_set(obj, jv_string(key), json_bytes(t.data, t.len, &b64));
	if (b64) {
		char enc[32];
		snprintf(enc, sizeof enc, "%sEncoding", key);
		obj = jv_object_set(obj, jv_string(enc), jv_string("base64"));
	}
	isol8_buf_free(&t);
	return obj;
}

jv result_resource_usage(const isol8_result *res)
{
	double cpu_ms = (double)res->stats.cpu_ns / 1e6;
	jv ru = jv_object();
	ru = jv_object_set(ru, jv_string("cpuMs"), jv_number((double)(uint64_t)(cpu_ms * 1000) / 1000));
	ru = jv_object_set(ru, jv_string("cpuPercent"),
			   jv_number(res->duration_ms ? (double)(long)(cpu_ms / (double)res->duration_ms * 10000) / 100 : 0));
	ru = jv_object_set(ru, jv_string("peakMemoryBytes"), jv_number((double)res->stats.peak_memory));
	ru = jv_object_set(ru, jv_string("memoryMB"), jv_number((double)((res->stats.peak_memory + (1 << 19)) >> 20)));
	ru = jv_object_set(ru, jv_string("peakMemoryMB"), jv_number((double)((res->stats.peak_memory + (1 << 19)) >> 20)));
	return ru;
}

/* "outputs": [{"type","data" (base64),"width","height"}, …], in order. */
static jv outputs_json(const isol8_result *res)
{
	jv l = jv_array();
	for (size_t i = 0; i < res->noutputs; i++) {
		const isol8_output *out = &res->outputs[i];
		size_t bl;
		char *b = base64_encode(out->data ? out->data : (unsigned char *)"", out->len, &bl);
		jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(out->type));
		o = jv_object_set(o, jv_string("data"), jv_string_sized(b, (int)bl));
		o = jv_object_set(o, jv_string("width"), jv_number(out->width));
		o = jv_object_set(o, jv_string("height"), jv_number(out->height));
		l = jv_array_append(l, o);
		free(b);
	}
	return l;
}

jv isol8_result_json(const isol8_result *res)
{
	jv o = jv_object();
	o = text_field(o, "stdout", (isol8_buf *)&res->out);
	o = text_field(o, "stderr", (isol8_buf *)&res->err);
	o = jv_object_set(o, jv_string("exitCode"), jv_number(res->exit_code));
	o = jv_object_set(o, jv_string("durationMs"), jv_number((double)res->duration_ms));
	o = jv_object_set(o, jv_string("truncated"), jv_bool(res->truncated));
	o = jv_object_set(o, jv_string("executionId"), jv_string(res->execution_id));
	o = jv_object_set(o, jv_string("runtime"), jv_string(res->runtime));
	o = jv_object_set(o, jv_string("timestamp"), jv_string(res->timestamp));
	o = jv_object_set(o, jv_string("containerId"), jv_string(res->sandbox_id));
	o = jv_object_set(o, jv_string("status"), jv_string(res->status ? res->status : "internal"));
	o = jv_object_set(o, jv_string("signal"), res->signal ? jv_string(signal_name(res->signal)) : jv_null());
	o = jv_object_set(o, jv_string("warm"), jv_bool(res->warm));
	o = jv_object_set(o, jv_string("resourceUsage"), result_resource_usage(res));
	if (res->network_logs && jv_get_kind(*res->network_logs) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(*res->network_logs)) > 0)
		o = jv_object_set(o, jv_string("networkLogs"), jv_copy(*res->network_logs));
	if (res->nfiles) {
		jv files = jv_object();
		for (size_t i = 0; i < res->nfiles; i++) {
			size_t bl;
			char *b = base64_encode(res->files[i].data.data ? res->files[i].data.data : (unsigned char *)"",
						res->files[i].data.len, &bl);
			files = jv_object_set(files, jv_string(res->files[i].path), jv_string_sized(b, (int)bl));
			free(b);
		}
		o = jv_object_set(o, jv_string("files"), files);
	}
	if (res->noutputs)
		o = jv_object_set(o, jv_string("outputs"), outputs_json(res));
	if (res->outputs_note)
		o = jv_object_set(o, jv_string("outputsNote"), jv_string(res->outputs_note));
	return o;
}

void isol8_result_free(isol8_result *res)
{
	if (res->security_events) {
		jv_free(*res->security_events);
		free(res->security_events);
		res->security_events = NULL;
	}
	if (res->network_logs) {
		jv_free(*res->network_logs);
		free(res->network_logs);
		res->network_logs = NULL;
	}
	isol8_buf_free(&res->out);
	isol8_buf_free(&res->err);
	for (size_t i = 0; i < res->nfiles; i++) {
		free(res->files[i].path);
		isol8_buf_free(&res->files[i].data);
	}
	free(res->files);
	res->files = NULL;
	res->nfiles = 0;
	for (size_t i = 0; i < res->noutputs; i++) {
		free(res->outputs[i].type);
		free(res->outputs[i].data);
	}
	free(res->outputs);
	res->outputs = NULL;
	res->noutputs = 0;
	free(res->outputs_note);
	res->outputs_note = NULL;
}

static void text_from(jv j, const char *key, isol8_buf *b)
{
	char enc[32];
	snprintf(enc, sizeof enc, "%sEncoding", key);
	jv v = json_get(j, key), e = json_get(j, enc);
	if (jv_get_kind(v) == JV_KIND_STRING) {
		size_t n = (size_t)jv_string_length_bytes(jv_copy(v));
		if (jv_get_kind(e) == JV_KIND_STRING)
			(void)base64_decode(jv_string_value(v), n, b);
		else
			buf_append(b, jv_string_value(v), n);
	}
	jv_free(v);
	jv_free(e);
}

static void str_from(jv j, const char *key, char *out, size_t cap)
{
	jv v = json_get(j, key);
	snprintf(out, cap, "%s", jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "");
	jv_free(v);
}

static double num_from(jv j, const char *key, double fallback)
{
	jv v = json_get(j, key);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : fallback;
	jv_free(v);
	return d;
}

/* A dimension from the JSON: a whole number of pixels, 1 .. 1000000, else 0. */
static int pixels_from(jv o, const char *key)
{
	double d = num_from(o, key, 0);
	return d >= 1 && d <= 1000000 && d == (double)(int)d ? (int)d : 0;
}

/* One entry of "outputs" (borrowed), checked as the engine checks what a sandbox wrote: a PNG's
 * size is read from the PNG itself; an SVG must look like one and state a size. False: dropped. */
static bool output_from(jv e, isol8_result *res)
{
	jv type = json_get(e, "type"), data = json_get(e, "data");
	isol8_buf raw = {0};
	bool png = jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "image/png");
	bool svg = jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "image/svg+xml");
	int w = 0, h = 0;
	bool ok = (png || svg) && jv_get_kind(data) == JV_KIND_STRING &&
		  base64_decode(jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)), &raw) == 0 && raw.len;
	if (ok && png)
		ok = png_size(raw.data, raw.len, &w, &h) == 0;
	else if (ok)
		ok = svg_looks_like(raw.data, raw.len) && (w = pixels_from(e, "width")) > 0 && (h = pixels_from(e, "height")) > 0;
	if (ok) {
		res->outputs = xrealloc(res->outputs, (res->noutputs + 1) * sizeof *res->outputs);
		res->outputs[res->noutputs++] = (isol8_output){xstrdup(jv_string_value(type)), raw.data, raw.len, w, h};
	} else {
		isol8_buf_free(&raw);
	}
	jv_free(type);
	jv_free(data);
	return ok;
}

static void outputs_from(jv j, isol8_result *res)
{
	jv l = json_get(j, "outputs"), note = json_get(j, "outputsNote");
	size_t bad = 0;
	if (jv_get_kind(l) == JV_KIND_ARRAY) {
		jv_array_foreach(l, i, e) {
			(void)i;
			bad += !(jv_get_kind(e) == JV_KIND_OBJECT && output_from(e, res));
			jv_free(e);
		}
	}
	const char *given = jv_get_kind(note) == JV_KIND_STRING ? jv_string_value(note) : NULL;
	if (bad)
		res->outputs_note = xasprintf("%s%s%zu output%s dropped: not a valid PNG or SVG in the result", given ? given : "",
					      given ? "; " : "", bad, bad == 1 ? "" : "s");
	else if (given)
		res->outputs_note = xstrdup(given);
	jv_free(l);
	jv_free(note);
}

int isol8_result_from_json(jv j, isol8_result *res, isol8_err *err)
{
	static const char *const statuses[] = {"ok", "error", "timeout", "oom", "signal", "output_limit"};
	memset(res, 0, sizeof *res);
	if (jv_get_kind(j) != JV_KIND_OBJECT) {
		jv_free(j);
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "the server's result is not a JSON object");
	}
	text_from(j, "stdout", &res->out);
	text_from(j, "stderr", &res->err);
	res->exit_code = (int)num_from(j, "exitCode", 1);
	res->duration_ms = (uint64_t)num_from(j, "durationMs", 0);
	res->truncated = json_get_bool(j, "truncated");
	res->warm = json_get_bool(j, "warm");
	str_from(j, "executionId", res->execution_id, sizeof res->execution_id);
	str_from(j, "runtime", res->runtime, sizeof res->runtime);
	str_from(j, "timestamp", res->timestamp, sizeof res->timestamp);
	str_from(j, "containerId", res->sandbox_id, sizeof res->sandbox_id);
	char st[32];
	str_from(j, "status", st, sizeof st);
	res->status = "error";
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (!strcmp(st, statuses[i]))
			res->status = statuses[i];
	char sig[16];
	str_from(j, "signal", sig, sizeof sig);
	for (int s = 1; s < 65 && sig[0]; s++)
		if (!strcmp(signal_name(s), sig))
			res->signal = s;
	jv ru = json_get(j, "resourceUsage");
	res->stats.cpu_ns = (uint64_t)(num_from(ru, "cpuMs", 0) * 1e6);
	res->stats.peak_memory = (uint64_t)num_from(ru, "peakMemoryBytes", 0);
	jv_free(ru);
	jv files = json_get(j, "files");
	if (jv_get_kind(files) == JV_KIND_OBJECT) {
		res->files = xcalloc((size_t)jv_object_length(jv_copy(files)), sizeof *res->files);
		jv_object_foreach(files, k, v) {
			if (jv_get_kind(v) == JV_KIND_STRING) {
				isol8_out_file *f = &res->files[res->nfiles++];
				f->path = xstrdup(jv_string_value(k));
				(void)base64_decode(jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)), &f->data);
			}
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(files);
	outputs_from(j, res);
	jv logs = json_get(j, "networkLogs");
	if (jv_get_kind(logs) == JV_KIND_ARRAY) {
		res->network_logs = xmalloc(sizeof *res->network_logs);
		*res->network_logs = logs;
	} else {
		jv_free(logs);
	}
	jv_free(j);
	return 0;
}
