/* test_events.c — round trips of the event stream: what evw_event and evw_result write to a
 * pipe, as JSON lines and as SSE frames, the reader gives back with the same kinds and bytes
 * (output that is not UTF-8 travels as base64; a UTF-8 character split between two writes is
 * never split between two events); a read event written again is the same line; anything
 * malformed is EVR_MALFORMED, never guessed at. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "tap.h"
#include "wire/events.h"
#include "wire/sessionmsg.h"

struct want {
	evr_kind kind;
	const char *data;
	size_t len;
};

#define W(k, s) {k, s, sizeof s - 1}

/* What the scenario below must read back as, in order. */
static const struct want expected[] = {
	W(EVR_STDOUT, "hello\n"),
	W(EVR_STDERR, "warn\n"),
	W(EVR_STDOUT, "caf"),            /* the é split between two writes waits for its end */
	W(EVR_STDOUT, "\xc3\xa9!\n"),
	W(EVR_STDOUT, "a\0b"),           /* a NUL is UTF-8: plain text */
	W(EVR_STDOUT, "\xff\xfe\x00\x01"), /* not UTF-8: base64 */
	W(EVR_STDERR, "\xe2\x82"),       /* unfinished at the error: flushed as it is, base64 */
	W(EVR_ERROR, "boom \"quoted\"\nline"),
	W(EVR_EXIT, "137"),
	{EVR_RESULT, NULL, 0},
};

static void put(isol8_evwriter *w, isol8_event_type t, const char *s, size_t n)
{
	isol8_event ev = {t, (const unsigned char *)s, n, ISOL8_PHASE_CODE};
	evw_event(w, &ev);
}

#define SEND(w, t, s) put(w, t, s, sizeof s - 1)

static void scenario(isol8_evwriter *w)
{
	SEND(w, ISOL8_EV_STDOUT, "hello\n");
	SEND(w, ISOL8_EV_STDERR, "warn\n");
	SEND(w, ISOL8_EV_STDOUT, "caf\xc3");
	SEND(w, ISOL8_EV_STDOUT, "\xa9!\n");
	SEND(w, ISOL8_EV_STDOUT, "a\0b");
	SEND(w, ISOL8_EV_STDOUT, "\xff\xfe\x00\x01");
	SEND(w, ISOL8_EV_STDERR, "\xe2\x82");
	SEND(w, ISOL8_EV_ERROR, "boom \"quoted\"\nline");
	SEND(w, ISOL8_EV_EXIT, "137");
	jv res = jv_object_set(jv_object(), jv_string("stdout"), jv_string("hello"));
	evw_result(w, jv_object_set(res, jv_string("exitCode"), jv_number(137)));
}

/* Everything a writer function put into a pipe. */
static isol8_buf capture(bool sse, void (*fn)(isol8_evwriter *, const void *), const void *arg)
{
	int p[2];
	isol8_buf b = {0};
	isol8_err err = {0};
	if (pipe(p) < 0)
		return b;
	isol8_evwriter w = {.fd = p[1], .sse = sse};
	fn(&w, arg);
	evw_free(&w);
	close(p[1]);
	(void)read_fd_all(p[0], 1 << 20, &b, &err);
	close(p[0]);
	buf_append(&b, "", 0);
	return b;
}

static void run_scenario(isol8_evwriter *w, const void *arg)
{
	(void)arg;
	scenario(w);
}

/* A read event written again: output, error and exit on their own, the result as the result. */
static void rewrite(isol8_evwriter *w, const void *arg)
{
	const isol8_evread *ev = arg;
	isol8_event e;
	if (evr_event(ev, &e))
		evw_one(w, &e);
	else if (ev->kind == EVR_RESULT)
		evw_result(w, jv_copy(ev->result));
}

static bool same_result(jv r)
{
	jv o = json_get(r, "stdout"), c = json_get(r, "exitCode");
	bool same = jv_get_kind(o) == JV_KIND_STRING && !strcmp(jv_string_value(o), "hello") &&
		    jv_get_kind(c) == JV_KIND_NUMBER && jv_number_value(c) == 137;
	jv_free(o);
	jv_free(c);
	return same;
}

/* One read event against what it should be; it written again is the text it came from. */
static void check_event(bool sse, size_t i, const isol8_evread *ev, const char *text, size_t n)
{
	const struct want *x = &expected[i];
	const char *mode = sse ? "sse" : "lines";
	if (x->kind == EVR_RESULT)
		ok(ev->kind == EVR_RESULT && same_result(ev->result), "%s: event %zu is the result", mode, i);
	else
		ok(ev->kind == x->kind && ev->data.len == x->len && !memcmp(ev->data.data, x->data, x->len),
		   "%s: event %zu has its kind and bytes", mode, i);
	if (x->kind == EVR_EXIT)
		ok(ev->exit_code == 137, "%s: the exit code", mode);
	isol8_buf again = capture(sse, rewrite, ev);
	ok(again.len == n && !memcmp(again.data, text, n), "%s: event %zu written again is the same text", mode, i);
	isol8_buf_free(&again);
}

static void test_round_trip(bool sse)
{
	isol8_buf b = capture(sse, run_scenario, NULL);
	const char *mode = sse ? "sse" : "lines";
	const char *p = (const char *)b.data, *end = p + b.len;
	size_t i = 0, b64 = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		size_t n = (size_t)(nl - p);
		/* the text one event takes: a line, or a frame up to its blank line */
		size_t whole = sse ? n + 2 : n + 1;
		isol8_evread ev;
		bool is_event = sse ? evr_sse_line(p, n, &ev) : (evr_parse_line(p, n + 1, &ev), true);
		if (is_event && i < ARRAY_SIZE(expected)) {
			if (sse)
				ok(nl + 1 < end && nl[1] == '\n', "sse: event %zu ends its frame with a blank line", i);
			b64 += memmem(p, n, "\"encoding\":\"base64\"", 19) != NULL;
			check_event(sse, i, &ev, p, whole);
			evr_free(&ev);
		}
		i += is_event;
		p += is_event ? whole : n + 1;
	}
	ok(i == ARRAY_SIZE(expected), "%s: %zu events read, %zu written", mode, i, ARRAY_SIZE(expected));
	ok(b64 == 2, "%s: only the two events that are not UTF-8 went as base64 (%zu)", mode, b64);
	isol8_buf_free(&b);
}

static void write_fail(isol8_evwriter *w, const void *arg)
{
	isol8_event e = {ISOL8_EV_ERROR, arg, strlen(arg), ISOL8_PHASE_CODE},
		    x = {ISOL8_EV_EXIT, (const unsigned char *)"1", 1, ISOL8_PHASE_CODE};
	evw_one(w, &e);
	evw_one(w, &x);
}

/* isol8-serve ends a stream it cannot finish with these two frames. */
static void test_one(void)
{
	isol8_buf b = capture(true, write_fail, "it \"failed\"");
	is_str((const char *)b.data,
	       "data: {\"type\":\"error\",\"data\":\"it \\\"failed\\\"\",\"phase\":\"code\"}\n\n"
	       "data: {\"type\":\"exit\",\"data\":\"1\",\"phase\":\"code\"}\n\n",
	       "evw_one: an error and an exit frame");
	isol8_buf_free(&b);
	b = capture(false, write_fail, "x");
	is_str((const char *)b.data,
	       "{\"type\":\"error\",\"data\":\"x\",\"phase\":\"code\"}\n{\"type\":\"exit\",\"data\":\"1\",\"phase\":\"code\"}\n",
	       "evw_one: as lines");
	isol8_buf_free(&b);
}

/* Lines no writer here produces but the reader knows. */
static void test_accepted(void)
{
	jv refusal = sessionmsg_error("runtime mismatch: \"node\"");
	char *t = json_dump(refusal, 0);
	jv_free(refusal);
	isol8_evread ev;
	ok(evr_parse_line(t, strlen(t), &ev) == EVR_REFUSAL && !strcmp((char *)ev.data.data, "runtime mismatch: \"node\""),
	   "a session's refusal (sessionmsg_error) is EVR_REFUSAL with its text");
	evr_free(&ev);
	free(t);
	static const struct {
		const char *line;
		evr_kind kind;
		const char *data;
	} good[] = {
		{"{\"type\":\"stdout\",\"data\":\"x\"}", EVR_STDOUT, "x"},
		{"{\"type\":\"stderr\",\"data\":\"\",\"phase\":\"code\",\"extra\":[1]}\r\n", EVR_STDERR, ""},
		{"{\"type\":\"stdout\",\"data\":\"aGk=\",\"encoding\":\"base64\",\"phase\":\"install\"}", EVR_STDOUT, "hi"},
		{"{\"type\":\"error\",\"data\":\"\"}", EVR_ERROR, ""},
		{"{\"type\":\"exit\",\"data\":\"-1\"}", EVR_EXIT, "-1"},
		{"{\"type\":\"result\",\"data\":{}}", EVR_RESULT, NULL},
		{"{\"error\":\"\"}", EVR_REFUSAL, ""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		evr_kind k = evr_parse_line(good[i].line, strlen(good[i].line), &ev);
		ok(k == good[i].kind && ev.kind == k &&
			   (good[i].data ? ev.data.data && !strcmp((char *)ev.data.data, good[i].data)
					 : jv_get_kind(ev.result) == JV_KIND_OBJECT),
		   "accepted: %s", good[i].line);
		evr_free(&ev);
	}
	const char *neg = "{\"type\":\"exit\",\"data\":\"-1\"}";
	ok(evr_parse_line(neg, strlen(neg), &ev) == EVR_EXIT && ev.exit_code == -1, "exit -1 as a number");
	evr_free(&ev);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", "not json", "[1]", "5", "\"stdout\"", "null", "{}", "{\"type\":\"stdout\",\"data\":\"x\"",
		"{\"type\":\"stdout\",\"data\":\"x\"} {\"type\":\"stdout\",\"data\":\"y\"}",
		"{\"type\":5,\"data\":\"x\"}", "{\"type\":null,\"data\":\"x\"}", "{\"type\":\"warning\",\"data\":\"x\"}",
		"{\"type\":\"Stdout\",\"data\":\"x\"}", "{\"type\":\"stdout\\u0000\",\"data\":\"x\"}",
		"{\"type\":\"stdout\"}", "{\"type\":\"stdout\",\"data\":5}", "{\"type\":\"stderr\",\"data\":null}",
		"{\"type\":\"stdout\",\"data\":\"x\",\"phase\":1}",
		"{\"type\":\"stdout\",\"data\":\"!!!!\",\"encoding\":\"base64\"}",
		"{\"type\":\"stdout\",\"data\":\"QQ=A\",\"encoding\":\"base64\"}",
		"{\"type\":\"stdout\",\"data\":\"QQ==\",\"encoding\":\"hex\"}",
		"{\"type\":\"stdout\",\"data\":\"QQ==\",\"encoding\":null}",
		"{\"type\":\"stdout\",\"data\":\"QQ==\",\"encoding\":\"base64\\u0000\"}",
		"{\"type\":\"error\",\"data\":5}", "{\"type\":\"error\"}",
		"{\"type\":\"error\",\"data\":\"QQ==\",\"encoding\":\"base64\"}",
		"{\"type\":\"exit\",\"data\":0}", "{\"type\":\"exit\",\"data\":\"abc\"}", "{\"type\":\"exit\",\"data\":\"\"}",
		"{\"type\":\"exit\",\"data\":\"-\"}", "{\"type\":\"exit\",\"data\":\" 1\"}", "{\"type\":\"exit\",\"data\":\"+1\"}",
		"{\"type\":\"exit\",\"data\":\"1 \"}", "{\"type\":\"exit\",\"data\":\"1\\u00002\"}",
		"{\"type\":\"exit\",\"data\":\"99999999999\"}", "{\"type\":\"exit\",\"data\":\"1.5\"}",
		"{\"type\":\"result\",\"data\":5}", "{\"type\":\"result\",\"data\":\"{}\"}",
		"{\"type\":\"result\",\"data\":[1]}", "{\"type\":\"result\",\"data\":null}", "{\"type\":\"result\"}",
		"{\"type\":\"result\",\"data\":{},\"encoding\":\"base64\"}",
		"{\"error\":5}", "{\"error\":null}", "{\"error\":{\"msg\":\"x\"}}",
		"{\"error\":\"x\",\"type\":\"stdout\",\"data\":\"y\"}", "{\"type\":\"result\",\"data\":{},\"error\":\"x\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		isol8_evread ev;
		evr_kind k = evr_parse_line(bad[i], strlen(bad[i]), &ev);
		isol8_event e;
		ok(k == EVR_MALFORMED && ev.kind == k && !ev.data.data && !jv_is_valid(ev.result) && !evr_event(&ev, &e),
		   "malformed: %s", bad[i]);
		evr_free(&ev);
	}
}

static void test_sse_lines(void)
{
	static const char *const skipped[] = {"", ": keep-alive", "event: stdout", "data:{\"type\":\"exit\",\"data\":\"0\"}",
					      "dat", "id: 1"};
	isol8_evread ev;
	for (size_t i = 0; i < ARRAY_SIZE(skipped); i++)
		ok(!evr_sse_line(skipped[i], strlen(skipped[i]), &ev), "sse: not an event: '%s'", skipped[i]);
	ok(evr_sse_line("data: junk", 10, &ev) && ev.kind == EVR_MALFORMED, "sse: a data line that is no event is malformed");
	evr_free(&ev);
	const char *cr = "data: {\"type\":\"exit\",\"data\":\"0\"}\r";
	ok(evr_sse_line(cr, strlen(cr), &ev) && ev.kind == EVR_EXIT && ev.exit_code == 0,
	   "sse: a frame line ending in CR");
	evr_free(&ev);
}

/* A setup script's events keep their phase through the writer and the reader, and an unfinished
 * UTF-8 character of the setup's output is not carried into the code's phase. */
static void test_phase(void)
{
	int p[2];
	ok(pipe(p) == 0, "pipe");
	isol8_evwriter w = {.fd = p[1]};
	isol8_event s1 = {ISOL8_EV_STDOUT, (const unsigned char *)"set\xc3", 4, ISOL8_PHASE_SETUP};
	isol8_event sx = {ISOL8_EV_EXIT, (const unsigned char *)"0", 1, ISOL8_PHASE_SETUP};
	isol8_event c1 = {ISOL8_EV_STDOUT, (const unsigned char *)"code", 4, ISOL8_PHASE_CODE};
	evw_event(&w, &s1);
	evw_event(&w, &sx);
	evw_event(&w, &c1);
	evw_result(&w, jv_object());
	evw_free(&w);
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[512];
	isol8_phase want[] = {ISOL8_PHASE_SETUP, ISOL8_PHASE_SETUP, ISOL8_PHASE_SETUP, ISOL8_PHASE_CODE};
	size_t n = 0;
	bool phases = true, bytes = true;
	while (fgets(line, sizeof line, f)) {
		isol8_evread ev;
		evr_kind k = evr_parse_line(line, strlen(line), &ev);
		if (k != EVR_RESULT && n < 4)
			phases &= ev.phase == want[n];
		if (n == 0)
			bytes = k == EVR_STDOUT && ev.data.len == 3; /* "set"; the lone 0xc3 follows apart */
		n += k != EVR_RESULT;
		isol8_event back;
		if (evr_event(&ev, &back) && back.phase != ev.phase)
			phases = false;
		evr_free(&ev);
	}
	fclose(f);
	ok(n == 4 && phases, "phases round trip (setup, setup, setup, code: %zu events)", n);
	ok(bytes, "the setup's unfinished character is flushed in its own phase, not the code's");
}

int main(void)
{
	test_phase();
	test_round_trip(false);
	test_round_trip(true);
	test_one();
	test_accepted();
	test_malformed();
	test_sse_lines();
	return done_testing();
}
