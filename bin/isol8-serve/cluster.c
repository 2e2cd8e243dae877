/* cluster.c — a connection's side of being one node of several (cluster.node): before every
 * request about a session the session registry is asked, through the key keeper (node.c
 * answers), whether the session is served here, held by another live node (421 naming it), or
 * lost with its node (410); and it is told what became of the session.
 *
 * Threats: a session made twice (a request for another live node's session is answered 421 and
 * never served here; one for a gone node's is 410, never a fresh empty session); a registry that
 * cannot be asked (503, nothing created). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "serve.h"

#define LOST_MESSAGE "Session lost: its node %s is no longer available"

/* ---- a connection's side --------------------------------------------------------------------- */

/* Asks the keeper; the answer, or an {"error"} when it cannot be had. */
static jv ask(serve_ctx *c, jv q)
{
	char *s = json_dump(q, 0), *line = xasprintf("%s\n", s);
	free(s);
	jv_free(q);
	jv v = keeper_ask(c, line);
	free(line);
	if (!jv_is_valid(v))
		v = jv_object_set(jv_object(), jv_string("error"), jv_string("the key keeper did not answer"));
	return v;
}

static jv question(const char *what, const serve_conn *k, const char *sid)
{
	jv q = jv_object_set(jv_object(), jv_string("ask"), jv_string(what));
	q = jv_object_set(q, jv_string("owner"), jv_string(k->owner));
	return sid ? jv_object_set(q, jv_string("sid"), jv_string(sid)) : q;
}

/* An {"error"} answer becomes a 503: 0 fine, -1 answered. */
static int unavailable(serve_conn *k, jv v)
{
	jv e = json_get(v, "error");
	bool bad = jv_is_valid(e);
	jv_free(e);
	if (bad)
		reply_error(k, 503, "the session registry is unavailable: retry in a moment");
	return bad ? -1 : 0;
}

static void misdirected(serve_conn *k, const char *sid, const char *node, const char *address)
{
	char msg[700];
	snprintf(msg, sizeof msg, "Misdirected Request: session %s is held by node %s%s%s%s: send its requests there, or "
		 "through the load balancer with the X-Isol8-Session header", sid, node, *address ? " (" : "", address,
		 *address ? ")" : "");
	jv o = jv_object_set(jv_object(), jv_string("error"), jv_string(msg));
	o = jv_object_set(o, jv_string("node"), jv_string(node));
	reply_json(k, 421, *address ? jv_object_set(o, jv_string("address"), jv_string(address)) : o);
}

int cluster_route(serve_ctx *c, serve_conn *k, reg_op op, const char *sid, const char *runtime, int cap, reg_answer *a)
{
	memset(a, 0, sizeof *a);
	a->v = REG_LOCAL;
	if (!c->cluster)
		return 0;
	bool may_create = op == REG_EXEC && !__atomic_load_n(c->draining, __ATOMIC_RELAXED);
	jv q = question("decide", k, sid);
	q = jv_object_set(q, jv_string("op"), jv_string(registry_op_name(op)));
	q = jv_object_set(q, jv_string("tenant"), jv_string(k->tenant));
	q = jv_object_set(q, jv_string("runtime"), jv_string(runtime ? runtime : ""));
	q = jv_object_set(q, jv_string("cap"), jv_number(cap));
	q = jv_object_set(q, jv_string("create"), jv_bool(may_create));
	jv v = ask(c, q);
	if (unavailable(k, v) < 0)
		return jv_free(v), -1;
	char verdict[16] = "";
	json_get_str(v, "verdict", verdict, sizeof verdict);
	json_get_str(v, "node", a->node, sizeof a->node);
	json_get_str(v, "address", a->address, sizeof a->address);
	a->stop_local = json_get_bool(v, "stopLocal");
	jv_free(v);
	int found = registry_verdict_of(verdict);
	if (found < 0)
		return reply_error(k, 503, "the session registry gave no usable answer: retry in a moment"), -1;
	a->v = (reg_verdict)found;
	switch (a->v) {
	case REG_LOCAL:
	case REG_FRESH:
		return 0;
	case REG_ABSENT:
		if (op == REG_EXEC) /* nothing may be made here: the node drains */
			return refuse_if_draining(c, k, "a new session") < 0 ? -1 : (reply_error(k, 503, "no session is made here now"), -1);
		return 0;
	case REG_ELSEWHERE:
		node_stop_local(k->owner, sid); /* a copy here was taken over while this node seemed gone */
		misdirected(k, sid, a->node, a->address);
		return -1;
	case REG_LOST:
		reply_error(k, 410, LOST_MESSAGE, a->node);
		return -1;
	case REG_PENDING:
		reply_error(k, 503, "session %s is being deleted on node %s: retry in a moment", sid, a->node);
		return -1;
	case REG_FULL:
		return 1;
	}
	return 0;
}

void cluster_note(serve_ctx *c, serve_conn *k, const char *what, const char *sid, const char *runtime)
{
	if (!c->cluster)
		return;
	jv q = question(what, k, sid);
	if (runtime)
		q = jv_object_set(q, jv_string("runtime"), jv_string(runtime));
	jv v = ask(c, q);
	jv e = json_get(v, "error");
	if (jv_is_valid(e)) /* the heartbeat's reconciling puts right what this leaves */
		fprintf(stderr, "[WARN] isol8-serve: the session registry was not told %s of %s: %s\n", what, sid,
			jv_string_value(e));
	jv_free(e);
	jv_free(v);
}

int cluster_sessions(serve_ctx *c, serve_conn *k, jv *out)
{
	jv v = ask(c, question("list", k, NULL));
	if (unavailable(k, v) < 0)
		return jv_free(v), -1;
	*out = json_get(v, "sessions");
	jv_free(v);
	if (jv_get_kind(*out) != JV_KIND_ARRAY) {
		jv_free(*out);
		return reply_error(k, 503, "the session registry gave no usable answer: retry in a moment"), -1;
	}
	return 0;
}

int cluster_cleanup(serve_ctx *c, serve_conn *k, jv *here, int *elsewhere)
{
	jv v = ask(c, question("cleanup", k, NULL));
	if (unavailable(k, v) < 0)
		return jv_free(v), -1;
	*here = json_get(v, "here");
	jv n = json_get(v, "elsewhere");
	*elsewhere = jv_get_kind(n) == JV_KIND_NUMBER ? (int)jv_number_value(n) : 0;
	jv_free(n);
	jv_free(v);
	if (jv_get_kind(*here) != JV_KIND_ARRAY) {
		jv_free(*here);
		*here = jv_array();
	}
	return 0;
}
