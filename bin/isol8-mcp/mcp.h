/* mcp.h — the parts of isol8-mcp (see isol8-mcp(1) and docs/mcp.md):
 *   rpc.c       JSON-RPC 2.0 messages: responses, errors, progress notifications
 *   tools.c     the tools' definitions, the options every call runs with (mcp.*), run_code and
 *               run_command, the file tools, and how a result reads for a model
 *   client.c    what a client owns between messages, under $RUN_DIR/mcp/<client>/: its HTTP
 *               session, the sessions it created, its running calls; and the session tools
 *   main.c      the stdio loop, and one HTTP message for isol8-serve (--http)
 *
 * Threat: the model is the client. What it sends is data: limits, network and languages come
 * from the operator's config (mcp.*, then defaults.*), never from tool arguments; a session id
 * is a checked name under the caller's owner prefix, never a path; a malformed message is a
 * JSON-RPC error and changes nothing. */
#ifndef ISOL8_MCP_H
#define ISOL8_MCP_H

#include <jv.h>
#include <stdbool.h>

#include "isol8.h"

/* JSON-RPC error codes */
enum { E_PARSE = -32700, E_INVALID = -32600, E_METHOD = -32601, E_PARAMS = -32602, E_INTERNAL = -32603 };

/* The longest session name a client may give (the owner prefix of isol8-serve, 14 bytes, goes
 * before it in a 64-byte session id). */
#define MCP_MAX_SESSION_NAME 48

typedef struct mcp_ctx {
	isol8_config cfg;
	char client[80];        /* this client's directory under $RUN_DIR/mcp */
	const char *owner;      /* prefix of its sessions' ids: "" on stdio, isol8-serve's "k<12 hex>-" */
	int owner_max_sessions; /* isol8-serve: the key's or tenant's session cap (0: none) */
	isol8_audit_who who;
} mcp_ctx;

/* ---- rpc.c ---- */
void rpc_send(int fd, jv msg); /* one line (consumes msg) */
jv rpc_response(jv id, jv result);
jv rpc_error(jv id, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jv rpc_progress(jv token, double n, const char *msg, size_t len);

/* ---- tools.c ---- */
jv tools_list(const mcp_ctx *c);
bool tool_known(const char *name);
/* A tools/call, in its own worker process: its progress notifications (when token is valid)
 * and its response go to fd as lines; cancel_r reaching EOF cancels it, and then nothing is
 * answered. Never returns. */
void __attribute__((noreturn)) tool_call(const mcp_ctx *c, jv id, const char *name, jv args, jv token, int fd,
					 int cancel_r);
/* The options every MCP run and session gets: config defaults.*, then mcp.* over them. */
int mcp_options(const mcp_ctx *c, isol8_options *o, isol8_err *err);
/* Whether lang is a runtime the operator offers (mcp.languages). */
bool language_allowed(const mcp_ctx *c, const char *lang);
/* Result helpers shared with client.c */
jv text_block(const char *s, size_t n);
jv tool_result(jv content, jv structured, bool is_error);
jv tool_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- client.c ---- */
/* The client's directory: created (with its owner and protocol version, and with_pid the
 * process's pid and start time, for isol8-cleanup) or checked to be the
 * owner's. -1 when it is absent or another owner's (a client must not learn which). */
int client_create(const mcp_ctx *c, const char *version, bool with_pid);
int client_check(const mcp_ctx *c);
/* Closes the sessions it created unnamed and removes its directory. */
void client_close(const mcp_ctx *c);
/* Running calls, by request id: registered with the pid that cancels on SIGTERM. */
void client_call_register(const mcp_ctx *c, jv id, pid_t pid);
void client_call_forget(const mcp_ctx *c, jv id);
void client_call_cancel(const mcp_ctx *c, jv id);
/* The session tools (create_session, list_sessions, close_session): the result to send. */
jv session_tool(const mcp_ctx *c, const char *name, jv args, bool *bad_args, char *why, size_t whyn);
/* "owner + name" for a client's session name; false (why set) when the name is not one. */
bool session_iid(const mcp_ctx *c, jv name, char out[80], char *why, size_t whyn);

#endif
