/* router.c — one connection from its first byte to its close: conn.c reads and authenticates
 * the request, the table below sends it to its handler (routes_exec.c, routes_session.c, or
 * the two small routes here).
 *
 * Threat: work for a client nobody knows. Only GET /health is answered before the key is
 * checked, and the body is read only after it (conn.c); every other method and path is a
 * 404, so no handler runs for a request it was not written for. */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* The server's own routes. */
/* 503 "draining" while a stopping node finishes its work: a balancer's health check takes it
 * out of rotation, and its sessions' requests still reach it until it is gone. */
static void route_health(serve_ctx *c, serve_conn *k)
{
	bool draining = __atomic_load_n(c->draining, __ATOMIC_RELAXED);
	if (strcmp(k->req.method, "GET") && strcmp(k->req.method, "HEAD"))
		reply_error(k, 405, "use GET /health");
	else if (draining)
		reply_json(k, 503, jv_parse("{\"status\":\"draining\",\"version\":\"" ISOL8_VERSION "\"}"));
	else
		reply_json(k, 200, jv_parse("{\"status\":\"ok\",\"version\":\"" ISOL8_VERSION "\"}"));
}

static void route_metrics(serve_ctx *c, serve_conn *k, const char *rest)
{
	char *m = metrics_render(c, k);
	k->status = 200;
	http_respond(k->fd, 200, "text/plain; version=0.0.4", NULL, m, strlen(m));
	free(m);
}

static void route_websocket(serve_ctx *c, serve_conn *k, const char *rest)
{
	reply_error(k, 501, "WebSocket streaming is not supported: use POST /execute/stream (SSE)");
}

/* First match wins, in this order. */
static const struct route {
	const char *method; /* NULL: any */
	const char *path;
	bool prefix;        /* path is a prefix: the handler gets the rest (DELETE /session/ID) */
	route_fn *fn;
} routes[] = {
	{"POST", "/execute", false, route_execute},
	{"POST", "/execute/stream", false, route_execute_stream},
	{"POST", "/file", false, route_file_put},
	{"GET", "/file", false, route_file_get},
	{"GET", "/sessions", false, route_sessions},
	{"DELETE", "/session/", true, route_session_delete}, /* an id with a slash (%2F) is refused there, with 400 */
	{"POST", "/cleanup", false, route_cleanup},
	{"POST", "/auth/keys", false, route_auth_keys_create},
	{"GET", "/auth/keys", false, route_auth_keys_list},
	{"DELETE", "/auth/keys/", true, route_auth_key_revoke},
	{"POST", "/auth/login", false, route_auth_login},
	{"GET", "/metrics", false, route_metrics},
	{NULL, "/mcp", false, route_mcp}, /* POST, GET, DELETE: routes_mcp.c answers each */
	{NULL, "/execute/ws", false, route_websocket},
};

static void route(serve_ctx *c, serve_conn *k)
{
	const char *p = k->req.path;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->path);
		if (r->method && strcmp(k->req.method, r->method))
			continue;
		if (r->prefix ? !strncmp(p, r->path, n) : !strcmp(p, r->path)) {
			r->fn(c, k, p + n);
			return;
		}
	}
	reply_error(k, 404, "Not found: %s %s", k->req.method, p);
}

void serve_connection(serve_ctx *c, int fd)
{
	serve_conn k;
	isol8_buf in = {0};
	conn_open(&k, fd);
	if (conn_read_head(c, &k, &in) == 1) {
		__atomic_add_fetch(&c->sh->requests, 1, __ATOMIC_RELAXED);
		if (!strcmp(k.req.path, "/health"))
			route_health(c, &k);
		else if (conn_authenticate(c, &k) == 0 && conn_read_body(c, &k, &in) == 0)
			route(c, &k); /* authenticated before a byte of the body is read */
	}
	isol8_buf_free(&in);
	conn_close(c, &k);
}
