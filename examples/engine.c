/* engine.c — the isol8 engine embedded in a C program, locally and against an isol8-serve.
 *
 *   build/examples/engine                          # local engines only
 *   ISOL8_API_KEY=… build/examples/engine http://127.0.0.1:3000   # and the remote ones
 *
 * The same calls drive both: start, execute, execute_stream, put_file, get_file, stop. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol8.h"

/* Output arrives in chunks as the program writes it (a line may come in two): a run of stdout
 * chunks is printed after one label. */
static void on_event(void *ctx, const isol8_event *ev)
{
	static bool in_stdout;
	const char *tag = ctx;
	if (ev->type == ISOL8_EV_STDOUT) {
		if (!in_stdout)
			printf("%s stream stdout: ", tag);
		printf("%.*s", (int)ev->len, (const char *)ev->data);
		in_stdout = true;
		return;
	}
	in_stdout = false;
	if (ev->type == ISOL8_EV_EXIT)
		printf("%s stream exit: %.*s\n", tag, (int)ev->len, (const char *)ev->data);
}

static int fail(const char *what, const isol8_err *err)
{
	fprintf(stderr, "%s: %s\n", what, err->msg);
	return 1;
}

static void request(isol8_request *r, const char *code)
{
	isol8_request_init(r);
	r->runtime = strdup("python");
	r->code = strdup(code);
}

/* One engine through every call of the interface. */
static int tour(isol8_engine *e, const char *tag)
{
	isol8_err err = {0};
	isol8_request r;
	isol8_result res;
	if (isol8_engine_start(e, &err) < 0)
		return fail("start", &err);
	request(&r, "x = 2 ** 10");
	if (isol8_engine_execute(e, &r, &res, &err) < 0)
		return fail("execute", &err);
	isol8_result_free(&res);
	isol8_request_free(&r);
	request(&r, "print(x + 1)");
	if (isol8_engine_execute_stream(e, &r, on_event, (void *)tag, &res, &err) < 0)
		return fail("execute_stream", &err);
	printf("%s result exitCode=%d status=%s\n", tag, res.exit_code, res.status);
	isol8_result_free(&res);
	isol8_request_free(&r);
	if (isol8_engine_put_file(e, "/sandbox/hello.txt", "from C", 6, &err) < 0)
		return fail("put_file", &err);
	isol8_buf b = {0};
	if (isol8_engine_get_file(e, "/sandbox/hello.txt", &b, &err) < 0)
		return fail("get_file", &err);
	printf("%s get_file: %.*s\n", tag, (int)b.len, (const char *)b.data);
	isol8_buf_free(&b);
	if (isol8_engine_stop(e, &err) < 0)
		return fail("stop", &err);
	return 0;
}

int main(int argc, char **argv)
{
	isol8_config cfg;
	isol8_options opt;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0 || isol8_options_from_config(&opt, &cfg, &err) < 0)
		return fail("config", &err);

	/* an ephemeral local engine: each execute is a fresh sandbox */
	isol8_engine *e = isol8_engine_local(&opt, ISOL8_MODE_EPHEMERAL);
	isol8_request r;
	isol8_result res;
	request(&r, "print(2 ** 10)");
	if (isol8_engine_execute(e, &r, &res, &err) < 0)
		return fail("local execute", &err);
	printf("local ephemeral stdout: %.*s", (int)res.out.len, (const char *)res.out.data);
	isol8_result_free(&res);
	isol8_request_free(&r);
	isol8_engine_free(e);

	e = isol8_engine_local(&opt, ISOL8_MODE_PERSISTENT);
	int rc = tour(e, "local");
	isol8_engine_free(e);

	if (rc == 0 && argc > 1) {
		const char *key = getenv("ISOL8_API_KEY");
		e = isol8_engine_remote(argv[1], key, "example-session", jv_null());
		rc = tour(e, "remote");
		isol8_engine_free(e);
	}
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	return rc;
}
