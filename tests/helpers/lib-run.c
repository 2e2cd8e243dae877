/* lib-run — one run through the library (isol8_execute) from a program that leaves SIGPIPE at
 * its default, as an embedding program may: prints "exit N warm W" and the program's stdout.
 * usage: lib-run RUNTIME CODE [STDIN_BYTES]  (STDIN_BYTES of 'x' are written to its stdin) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol8.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: lib-run RUNTIME CODE [STDIN_BYTES]\n", stderr);
		return 2;
	}
	isol8_config cfg;
	isol8_options opt;
	isol8_request req;
	isol8_result res;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0 || isol8_options_from_config(&opt, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	isol8_request_init(&req);
	req.runtime = strdup(argv[1]);
	req.code = strdup(argv[2]);
	if (argc > 3) {
		req.stdin_len = strtoul(argv[3], NULL, 10);
		req.stdin_data = malloc(req.stdin_len + 1);
		memset(req.stdin_data, 'x', req.stdin_len);
		req.has_stdin = true;
	}
	int rc = isol8_request_validate(&req, &opt, &err) < 0 || isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err) < 0;
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
	} else {
		printf("exit %d warm %d\n%.*s", res.exit_code, res.warm, (int)res.out.len, (char *)res.out.data);
		isol8_result_free(&res);
	}
	isol8_request_free(&req);
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	return rc;
}
