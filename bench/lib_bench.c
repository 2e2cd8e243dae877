/* lib_bench — N executions in-process through libisol8util (no CLI, no exec of isol8), printing
 * one latency in ms and the warm flag per line, 150 ms apart. Uses the warm pool when one runs.
 * usage: bench-lib [N [RUNTIME CODE EXPECTED]]  (default: python print(1) 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isol8.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	const char *runtime = argc > 4 ? argv[2] : "python", *code = argc > 4 ? argv[3] : "print(1)",
		   *expected = argc > 4 ? argv[4] : "1";
	isol8_config cfg;
	isol8_options opt;
	isol8_err err = {0};
	if (config_load(&cfg, &err) < 0 || options_from_config(&opt, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		isol8_request req;
		isol8_result res;
		request_init(&req);
		req.runtime = strdup(runtime);
		req.code = strdup(code);
		uint64_t t = now_mono_ns();
		if (request_validate(&req, &opt, &err) < 0 || isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		double ms = (double)(now_mono_ns() - t) / 1e6;
		if (res.exit_code != 0 || res.out.len < strlen(expected) || memcmp(res.out.data, expected, strlen(expected)))
			return 1;
		printf("%.3f %d\n", ms, res.warm);
		isol8_result_free(&res);
		request_free(&req);
		usleep(150000); /* paced as bench/warm.py's other rows: the pool replenishes meanwhile */
	}
	options_free(&opt);
	config_free(&cfg);
	return 0;
}
