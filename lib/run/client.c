/* client.c — isol8_engine: the local engine (this machine, through isol8_execute or an
 * in-process session) and the dispatch to the remote one (remote.c). */
#include "run/client.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "run/remote.h"
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
		isol8_kv_add(&dst->secrets, &dst->nsecrets, src->secrets[i].key, src->secrets[i].value);
	for (size_t i = 0; i < src->nallow; i++)
		isol8_strv_add(&dst->net_allow, &dst->nallow, src->net_allow[i]);
	for (size_t i = 0; i < src->ndeny; i++)
		isol8_strv_add(&dst->net_deny, &dst->ndeny, src->net_deny[i]);
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
		if (session_open(&e->sess, req->runtime, &e->opt, NULL, err) < 0)
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
		isol8_options_free(&e->opt);
	}
	free(e);
}


