/* Request parsing and validation: workdir and path rules, JSON errors. */
#include <stdlib.h>

#include "core/runtime.h"
#include "core/sbpath.h"
#include "isol8.h"
#include "tap.h"

static int parse(const char *json, isol8_request *r, isol8_options *o, isol8_config *c, isol8_err *err)
{
	jv doc = jv_parse(json);
	isol8_request_init(r);
	isol8_options_from_config(o, c, err);
	return isol8_request_from_json(doc, r, o, c, err);
}

int main(void)
{
	isol8_err err = {0};
	struct { const char *in, *out; } wd[] = {
		{"subdir", "/sandbox/subdir"}, {"a/b/c", "/sandbox/a/b/c"}, {".", "/sandbox"},
		{"/sandbox/a/../b", "/sandbox/b"}, {"", "/sandbox"}, {"/sandbox//x/./y/", "/sandbox/x/y"},
	};
	for (size_t i = 0; i < sizeof wd / sizeof *wd; i++) {
		char *w = resolve_workdir(wd[i].in, &err);
		is_str(w, wd[i].out, "workdir '%s'", wd[i].in);
		free(w);
	}
	const char *bad[] = {"../../etc", "/etc/passwd", "/", "/sandboxes", "/sandbox/../etc"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *w = resolve_workdir(bad[i], &err);
		ok(!w && strstr(err.msg, "Working directory must be inside /sandbox"), "workdir '%s' refused", bad[i]);
		free(w);
	}
	const char *badp[] = {"/etc/passwd", "relative", "/sandbox/../etc/x", "/sandbox", "/tmp", "/tmpx/a", "/proc/1/root/x"};
	for (size_t i = 0; i < sizeof badp / sizeof *badp; i++) {
		char *p = resolve_sandbox_path(badp[i], &err);
		ok(!p, "file path '%s' refused", badp[i]);
		free(p);
	}
	char *p = resolve_sandbox_path("/tmp/a/../b", &err);
	is_str(p, "/tmp/b", "file paths are normalized");
	free(p);

	isol8_config c;
	isol8_config_load(&c, &err);
	isol8_request r;
	isol8_options o;
	ok(parse("{\"request\":{\"runtime\":\"python\",\"code\":\"print(1)\",\"env\":{\"A\":\"b\"},\"files\":{\"/sandbox/x\":{\"base64\":\"AAE=\"}}},"
		 "\"options\":{\"memoryLimit\":\"256m\",\"timeoutMs\":500}}", &r, &o, &c, &err) == 0 &&
	   isol8_request_validate(&r, &o, &err) == 0 && o.memory_limit == 256u << 20 && o.timeout_ms == 500 &&
	   r.nfiles == 1 && r.files[0].len == 2 && r.files[0].data[1] == 1 && r.nenv == 1,
	   "server-shaped request with options and binary file");
	isol8_request_free(&r);
	isol8_options_free(&o);

	ok(parse("{\"runtime\":\"python\",\"code\":\"x\",\"bogus\":1}", &r, &o, &c, &err) < 0 &&
	   strstr(err.msg, "unknown field request.bogus"), "unknown request fields are errors");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"runtime\":\"python\",\"code\":\"x\",\"files\":{\"/etc/cron.d/x\":\"y\"}}", &r, &o, &c, &err) < 0 &&
	   strstr(err.msg, "inside /sandbox or /tmp"), "files outside /sandbox and /tmp are refused");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"request\":{\"runtime\":\"python\",\"code\":\"x\"},\"options\":{\"security\":{\"seccomp\":\"unconfined\"}}}", &r, &o, &c, &err) < 0 &&
	   strstr(err.msg, "not allowed"), "a request cannot loosen seccomp beyond the config");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"request\":{\"runtime\":\"python\",\"code\":\"x\"},\"options\":{\"memoryLimit\":\"lots\"}}", &r, &o, &c, &err) < 0 &&
	   strstr(err.msg, "Invalid memory limit format"), "bad memory limit");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"request\":{\"runtime\":\"python\",\"code\":\"x\"},\"options\":{\"network\":\"open\"}}", &r, &o, &c, &err) < 0 &&
	   strstr(err.msg, "options.network must be none, host or filtered"), "an unknown network mode");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(isol8_net_from_name("none") == ISOL8_NET_NONE && isol8_net_from_name("host") == ISOL8_NET_HOST &&
	   isol8_net_from_name("filtered") == ISOL8_NET_FILTERED && isol8_net_from_name("Host") < 0 && isol8_net_from_name("") < 0,
	   "network mode names");

	ok(parse("{\"runtime\":\"python\",\"code\":\"x\",\"cmd\":\"y\"}", &r, &o, &c, &err) == 0 &&
	   isol8_request_validate(&r, &o, &err) < 0 && strstr(err.msg, "mutually exclusive"), "code and cmd are exclusive");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"runtime\":\"python\",\"code\":\"   \"}", &r, &o, &c, &err) == 0 &&
	   isol8_request_validate(&r, &o, &err) < 0 && strstr(err.msg, "exactly one of"), "whitespace-only code counts as absent");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"runtime\":\"cobol\",\"code\":\"x\"}", &r, &o, &c, &err) == 0 &&
	   isol8_request_validate(&r, &o, &err) < 0 &&
	   !strcmp(err.msg, "Unknown runtime: \"cobol\". Available: python, node, bun, deno, bash"), "unknown runtime message");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("{\"runtime\":\"python\",\"code\":\"x\",\"fileExtension\":\"./../x\"}", &r, &o, &c, &err) == 0 &&
	   isol8_request_validate(&r, &o, &err) < 0, "a fileExtension cannot carry a path");
	isol8_request_free(&r);
	isol8_options_free(&o);
	ok(parse("[1,2]", &r, &o, &c, &err) < 0 && strstr(err.msg, "must be a JSON object"), "non-object request");
	isol8_request_free(&r);
	isol8_options_free(&o);

	ok(runtime_detect("x.py") == runtime_get("python") && runtime_detect("a.b.mts") == runtime_get("deno") &&
	   runtime_detect("y.cjs") == runtime_get("node") && runtime_detect("t.ts") == runtime_get("bun") &&
	   !runtime_detect("Makefile") && !runtime_detect("x.rb"), "extension map");
	isol8_config_free(&c);
	return done_testing();
}
