/* isol8-serve's HTTP request parser: what it accepts, and each refusal with its status. */
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "tap.h"

static int parse(const char *s, http_request *r)
{
	return http_parse_request(s, strlen(s), r);
}

static int status_of(const char *s)
{
	http_request r;
	return parse(s, &r) == -1 ? r.error : 0;
}

int main(void)
{
	http_request r;
	ok(parse("POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 12\r\n\r\n{\"a\":1}", &r) == 1,
	   "a POST head parses");
	is_str(r.method, "POST", "method");
	is_str(r.path, "/execute", "path");
	is_str(r.auth, "Bearer k1", "Authorization value");
	ok(r.has_length && r.content_length == 12, "Content-Length");
	ok(r.head_len == strlen("POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 12\r\n\r\n"),
	   "head length ends after CRLFCRLF");
	ok(parse("GET /file?sessionId=a%2Fb&path=%2Fsandbox%2Fx+y HTTP/1.1\r\n\r\n", &r) == 1, "query target parses");
	char v[64];
	ok(http_query_param(r.query, "sessionId", v, sizeof v) == 1, "sessionId found");
	is_str(v, "a/b", "query values are percent-decoded");
	ok(http_query_param(r.query, "path", v, sizeof v) == 1 && !strcmp(v, "/sandbox/x y"), "'+' is a space");
	ok(http_query_param(r.query, "nope", v, sizeof v) == 0, "absent parameter");
	static const char bad_q[] = "path=%zz", nul_q[] = "sessionId=abc%00def";
	ok(http_query_param(bad_q, "path", v, sizeof v) == HTTP_PCT_BAD, "malformed escape refused");
	ok(http_query_param(nul_q, "sessionId", v, sizeof v) == HTTP_PCT_NUL,
	   "decoded NUL refused as such (never cut to \"abc\")");
	ok(http_query_param("path=abcdef", "path", v, 4) == HTTP_PCT_LONG, "too long for the buffer is an error, not a truncation");
	ok(parse("GET /health HTTP/1.1\r\nHost: x\r\n", &r) == 0, "incomplete head: need more");
	ok(parse("GET /health HTTP/1.0\r\n\r\n", &r) == 1 && r.close, "HTTP/1.0 closes");
	ok(parse("GET /a%2e%2e HTTP/1.1\r\n\r\n", &r) == 1 && !strcmp(r.path, "/a.."), "path decoded (routes compare exactly)");

	ok(status_of("GET /x HTTP/1.1\nHost: y\r\n\r\n") == 400, "bare LF: 400");
	ok(status_of("GET /x HTTP/1.1\r\nHost: y\n") == 400, "bare LF in an unfinished head: 400 at once");
	{
		/* a body read together with its head is the route's: a JSON body may end in "\n" */
		static const char h[] = "POST /execute HTTP/1.1\r\nContent-Length: 9\r\n\r\n";
		static const char m[] = "POST /execute HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\":\n1}\n";
		ok(parse(m, &r) == 1 && r.head_len == sizeof h - 1, "LF in the body after the head: parsed, head ends at CRLFCRLF");
		char nul[sizeof m];
		memcpy(nul, m, sizeof m);
		nul[sizeof h] = 0;
		ok(http_parse_request(nul, sizeof m - 1, &r) == 1, "…and a NUL in the body is the route's to refuse");
	}
	static const char nul_path[] = "DELETE /session/abc%00def HTTP/1.1\r\n\r\n", pct00[] = "%00";
	ok(parse(nul_path, &r) == -1 && r.error == 400 && r.reason && strstr(r.reason, pct00),
	   "a NUL escape in the path: 400 that says so (never cut to /session/abc)");
	ok(status_of("GET x HTTP/1.1\r\n\r\n") == 400, "target not starting with /: 400");
	ok(status_of("GET http://h/x HTTP/1.1\r\n\r\n") == 400, "absolute-form (a proxy request): 400");
	ok(status_of("get /x HTTP/1.1\r\n\r\n") == 400, "lower-case method: 400");
	ok(status_of("GET /x HTTP/2.0\r\n\r\n") == 400, "HTTP/2 on this port: 400");
	ok(status_of("GET /x HTTP/1.2\r\n\r\n") == 505, "HTTP/1.2: 505");
	ok(status_of("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") == 400,
	   "conflicting Content-Length: 400");
	ok(parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &r) == 1, "repeated equal lengths are fine");
	ok(status_of("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400, "negative length: 400");
	ok(status_of("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") == 400, "huge length: 400");
	ok(status_of("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 501, "chunked request body: 501");
	ok(status_of("GET /x HTTP/1.1\r\n folded: yes\r\n\r\n") == 400, "obs-fold: 400");
	ok(status_of("GET /x HTTP/1.1\r\nBad Header: 1\r\n\r\n") == 400, "space in a header name: 400");
	ok(status_of("GET /x HTTP/1.1\r\nX: a\x01b\r\n\r\n") == 400, "control character in a value: 400");
	ok(status_of("GET /x HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n") == 400, "two Authorization headers: 400");
	ok(status_of("GET /x HTTP/1.1\r\nExpect: something\r\n\r\n") == 417, "unknown Expect: 417");
	ok(status_of("GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n") == 400, "GET with a body: 400");

	char *big = malloc(HTTP_MAX_HEAD + 64);
	strcpy(big, "GET /x HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'a', HTTP_MAX_HEAD);
	big[HTTP_MAX_HEAD + 20] = 0;
	ok(status_of(big) == 431, "a head over the limit without an end: 431");
	strcpy(big, "GET /");
	memset(big + 5, 'a', HTTP_MAX_TARGET + 1);
	strcpy(big + 5 + HTTP_MAX_TARGET + 1, " HTTP/1.1\r\n\r\n");
	ok(status_of(big) == 414, "a target over the limit: 414");
	{
		char h[8192] = "GET /x HTTP/1.1\r\n";
		for (int i = 0; i < HTTP_MAX_HEADERS + 2; i++)
			strcat(h, "A: b\r\n");
		strcat(h, "\r\n");
		ok(status_of(h) == 431, "too many header lines: 431");
	}
	free(big);
	char auth[2048] = "GET /x HTTP/1.1\r\nAuthorization: ";
	memset(auth + strlen(auth), 'k', 1100);
	strcat(auth, "\r\n\r\n");
	ok(status_of(auth) == 400, "an oversized Authorization is refused, not truncated");
	return done_testing();
}
