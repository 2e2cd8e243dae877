/* client.c — isol8_engine: the local engine (this machine, through isol8_execute or an
 * in-process session) and the dispatch to the remote one (remote.c). */
#include "run/client.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "net/remote.h"
#include "run/session.h"
#include "core/util.h"

struct isol8_engine {
	bool remote;
	isol8_mode mode;
	/* local */
	isol8_options opt;
	isol8_session sess;
	bool sess_open;
	/* remote */
	isol8_remote rem;
};

static void options_copy(isol8_options *dst, const isol8_options *src)
{
	*dst = *src;
	dst->secrets = NULL;
	dst->nsecrets = 0;
	dst->net_allow = dst->net_deny = NULL;
	dst->nallow = dst->ndeny = 0;
	dst->image = src->image ? xstrdup(src->image) : NULL;
	for (size_t i = 0; i < src->nsecrets; i++)
		kv_add(&dst->secrets, &dst->nsecrets, src->secrets[i].key, src->secrets[i].value);
	for (size_t i = 0; i < src->nallow; i++)
		strv_add(&dst->net_allow, &dst->nallow, src->net_allow[i]);
	for (size_t i = 0; i < src->ndeny; i++)
		strv_add(&dst->net_deny, &dst->ndeny, src->net_deny[i]);
}

isol8_engine *isol8_engine_local(const isol8_options *opts, isol8_mode mode)
{
	isol8_engine *e = xcalloc(1, sizeof *e);
	e->mode = mode;
	options_copy(&e->opt, opts);
	return e;
}

isol8_engine *isol8_engine_remote(const char *host, const char *api_key, const char *session_id, jv options)
{
	isol8_engine *e = xcalloc(1, sizeof *e);
	e->remote = true;
	e->mode = session_id ? ISOL8_MODE_PERSISTENT : ISOL8_MODE_EPHEMERAL;
	remote_init(&e->rem, host, api_key, session_id, options);
	return e;
}

int isol8_engine_start(isol8_engine *e, isol8_err *err)
{
	return e->remote ? remote_health(&e->rem, err) : 0;
}

static int local_execute(isol8_engine *e, const isol8_request *req, isol8_event_fn fn, void *ctx, isol8_result *res,
			 isol8_err *err)
{
	if (e->mode == ISOL8_MODE_EPHEMERAL)
		return isol8_execute(req, &e->opt, fn, ctx, -1, res, err);
	if (!e->sess_open) {
		if (session_open(&e->sess, req->runtime, &e->opt, err) < 0)
			return -1;
		e->sess_open = true;
	}
	bool restarted;
	return session_exec(&e->sess, req, &e->opt, fn, ctx, res, &restarted, err);
}

int isol8_engine_execute(isol8_engine *e, const isol8_request *req, isol8_result *res, isol8_err *err)
{
	return e->remote ? remote_execute(&e->rem, req, NULL, NULL, res, err) : local_execute(e, req, NULL, NULL, res, err);
}

int isol8_engine_execute_stream(isol8_engine *e, const isol8_request *req, isol8_event_fn fn, void *ctx,
				isol8_result *res, isol8_err *err)
{
	return e->remote ? remote_execute(&e->rem, req, fn, ctx, res, err) : local_execute(e, req, fn, ctx, res, err);
}

static const char no_container[] = "No active container. Call execute() first in persistent mode.";

int isol8_engine_put_file(isol8_engine *e, const char *path, const void *data, size_t len, isol8_err *err)
{
	if (e->remote)
		return remote_put_file(&e->rem, path, data, len, err);
	if (!e->sess_open)
		return isol8_input_error(err, "%s", no_container);
	return session_put(&e->sess, path, data, len, err);
}

int isol8_engine_get_file(isol8_engine *e, const char *path, isol8_buf *out, isol8_err *err)
{
	if (e->remote)
		return remote_get_file(&e->rem, path, out, err);
	if (!e->sess_open)
		return isol8_input_error(err, "%s", no_container);
	return session_get(&e->sess, path, out, err);
}

int isol8_engine_stop(isol8_engine *e, isol8_err *err)
{
	if (e->remote)
		return e->rem.session_id ? isol8_remote_delete_session(e->rem.host, e->rem.key, e->rem.session_id, err) : 0;
	if (e->sess_open) {
		session_close(&e->sess);
		e->sess_open = false;
	}
	return 0;
}

void isol8_engine_free(isol8_engine *e)
{
	if (!e)
		return;
	if (e->remote) {
		remote_free(&e->rem);
	} else {
		if (e->sess_open)
			session_close(&e->sess);
		options_free(&e->opt);
	}
	free(e);
}

/* ---- JSON forms ---------------------------------------------------------------------------- */

jv isol8_request_json(const isol8_request *r)
{
	jv o = jv_object();
	if (r->runtime)
		o = jv_object_set(o, jv_string("runtime"), jv_string(r->runtime));
	if (r->code)
		o = jv_object_set(o, jv_string("code"), jv_string(r->code));
	if (r->cmd)
		o = jv_object_set(o, jv_string("cmd"), jv_string(r->cmd));
	if (r->file_ext)
		o = jv_object_set(o, jv_string("fileExtension"), jv_string(r->file_ext));
	if (r->workdir)
		o = jv_object_set(o, jv_string("workdir"), jv_string(r->workdir));
	if (r->has_stdin)
		o = jv_object_set(o, jv_string("stdin"), jv_string_sized((const char *)r->stdin_data, (int)r->stdin_len));
	if (r->timeout_ms > 0)
		o = jv_object_set(o, jv_string("timeoutMs"), jv_number((double)r->timeout_ms));
	if (r->nenv) {
		jv env = jv_object();
		for (size_t i = 0; i < r->nenv; i++)
			env = jv_object_set(env, jv_string(r->env[i].key), jv_string(r->env[i].value));
		o = jv_object_set(o, jv_string("env"), env);
	}
	if (r->nfiles) {
		jv files = jv_object();
		for (size_t i = 0; i < r->nfiles; i++) {
			size_t bl;
			char *b = base64_encode(r->files[i].data ? r->files[i].data : (unsigned char *)"", r->files[i].len, &bl);
			files = jv_object_set(files, jv_string(r->files[i].path),
					      jv_object_set(jv_object(), jv_string("base64"), jv_string_sized(b, (int)bl)));
			free(b);
		}
		o = jv_object_set(o, jv_string("files"), files);
	}
	if (r->noutput) {
		jv l = jv_array();
		for (size_t i = 0; i < r->noutput; i++)
			l = jv_array_append(l, jv_string(r->output_paths[i]));
		o = jv_object_set(o, jv_string("outputPaths"), l);
	}
	if (r->ninstall) {
		jv l = jv_array();
		for (size_t i = 0; i < r->ninstall; i++)
			l = jv_array_append(l, jv_string(r->install[i]));
		o = jv_object_set(o, jv_string("installPackages"), l);
	}
	return o;
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
