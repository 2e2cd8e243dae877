/* sessionmsg.c — see sessionmsg.h. */
#include "wire/sessionmsg.h"

#include <string.h>

#include "core/json.h"

static const char *const names[] = {[SESSION_OP_EXEC] = "exec", [SESSION_OP_PUT] = "put", [SESSION_OP_GET] = "get",
				    [SESSION_OP_SHOW] = "show", [SESSION_OP_DELETE] = "delete", [SESSION_OP_LIST] = "list"};

static jv with(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

jv sessionmsg_op(session_opcode op)
{
	return with(jv_object(), "op", jv_string(op > SESSION_OP_BAD && op <= SESSION_OP_LIST ? names[op] : "?"));
}

jv sessionmsg_exec(jv doc)
{
	return with(jv_get_kind(doc) == JV_KIND_OBJECT ? doc : (jv_free(doc), jv_object()), "op", jv_string("exec"));
}

jv sessionmsg_put(const char *path, const char *content_b64)
{
	return with(with(sessionmsg_op(SESSION_OP_PUT), "path", jv_string(path)), "content", jv_string(content_b64));
}

jv sessionmsg_get(const char *path)
{
	return with(sessionmsg_op(SESSION_OP_GET), "path", jv_string(path));
}

jv sessionmsg_list(const char *path)
{
	return with(sessionmsg_op(SESSION_OP_LIST), "path", jv_string(path));
}

session_opcode sessionmsg_op_of(jv doc)
{
	if (jv_get_kind(doc) != JV_KIND_OBJECT)
		return SESSION_OP_BAD;
	jv op = jv_object_get(jv_copy(doc), jv_string("op"));
	session_opcode r = SESSION_OP_BAD;
	for (int i = SESSION_OP_EXEC; i <= SESSION_OP_LIST && jv_get_kind(op) == JV_KIND_STRING; i++)
		if (!strcmp(jv_string_value(op), names[i]))
			r = (session_opcode)i;
	jv_free(op);
	return r;
}

jv sessionmsg_ok(void)
{
	return with(jv_object(), "ok", jv_true());
}

jv sessionmsg_error(const char *msg)
{
	return with(jv_object(), "error", jv_string(msg));
}

jv sessionmsg_content(const char *content_b64)
{
	return with(jv_object(), "content", jv_string(content_b64));
}

jv sessionmsg_entries(jv entries)
{
	return with(jv_object(), "entries", entries);
}

const char *sessionmsg_error_of(jv v)
{
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return NULL;
	jv e = jv_object_get(jv_copy(v), jv_string("error"));
	/* the string lives as long as v does: v holds a reference to it */
	const char *msg = jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : NULL;
	jv_free(e);
	return msg;
}

int sessionmsg_content_of(jv v, isol8_buf *out)
{
	jv c = json_get(v, "content");
	int rc = jv_get_kind(c) == JV_KIND_STRING &&
			 base64_decode(jv_string_value(c), (size_t)jv_string_length_bytes(jv_copy(c)), out) == 0
		     ? 0
		     : -1;
	jv_free(c);
	return rc;
}
