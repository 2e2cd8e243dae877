/* rpc.c — JSON-RPC 2.0 messages as isol8-mcp writes them: one object per line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "mcp.h"

void rpc_send(int fd, jv msg)
{
	char *t = json_dump(msg, 0), *l = xasprintf("%s\n", t);
	(void)write_all(fd, l, strlen(l)); /* one write per line: the loop copies whole lines */
	free(l);
	free(t);
	jv_free(msg);
}

static jv envelope(void)
{
	return jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0"));
}

jv rpc_response(jv id, jv result)
{
	return jv_object_set(jv_object_set(envelope(), jv_string("id"), id), jv_string("result"), result);
}

jv rpc_error(jv id, int code, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	jv e = jv_object_set(jv_object_set(jv_object(), jv_string("code"), jv_number(code)), jv_string("message"),
			     jv_string(m));
	return jv_object_set(jv_object_set(envelope(), jv_string("id"), id), jv_string("error"), e);
}

jv rpc_progress(jv token, double n, const char *msg, size_t len)
{
	jv p = jv_object_set(jv_object(), jv_string("progressToken"), token);
	p = jv_object_set(p, jv_string("progress"), jv_number(n));
	p = jv_object_set(p, jv_string("message"), jv_string_sized(msg, (int)len));
	return jv_object_set(jv_object_set(envelope(), jv_string("method"), jv_string("notifications/progress")),
			     jv_string("params"), p);
}
