/* lib_bench — N executions of python print(1) in-process through libisol8util (no CLI, no
 * exec of isol8), printing one latency in ms per line. Uses the warm pool when one runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol8.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
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
		req.runtime = strdup("python");
		req.code = strdup("print(1)");
		uint64_t t = now_mono_ns();
		if (request_validate(&req, &opt, &err) < 0 || isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		double ms = (double)(now_mono_ns() - t) / 1e6;
		if (res.exit_code != 0 || res.out.len < 1 || res.out.data[0] != '1')
			return 1;
		printf("%.3f %d\n", ms, res.warm);
		isol8_result_free(&res);
		request_free(&req);
	}
	options_free(&opt);
	config_free(&cfg);
	return 0;
}
