/* lib_bench — executions in-process through libisol8util (no CLI, no exec of isol8), one per
 * line of standard input, so that bench/warm.py can interleave them with its other rows:
 *   in:  RUNTIME <TAB> CODE <TAB> EXPECTED-STDOUT-PREFIX
 *   out: MS WARM            (the latency in ms, and 1 when the run took a pooled sandbox)
 * Uses the warm pool when one runs. Exits 1 on a failed or wrong run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isol8.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs one line's request; returns its latency in ms, or -1. */
static double run_one(const isol8_options *opt, char *line, bool *warm)
{
	char *runtime = strtok(line, "\t\n"), *code = strtok(NULL, "\t\n"), *expected = strtok(NULL, "\t\n");
	if (!runtime || !code || !expected)
		return -1;
	isol8_request req;
	isol8_result res;
	isol8_err err = {0};
	isol8_request_init(&req);
	req.runtime = strdup(runtime);
	req.code = strdup(code);
	uint64_t t = now_ns();
	if (isol8_request_validate(&req, opt, &err) < 0 || isol8_execute(&req, opt, NULL, NULL, -1, &res, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		isol8_request_free(&req);
		return -1;
	}
	double ms = (double)(now_ns() - t) / 1e6;
	bool right = res.exit_code == 0 && res.out.len >= strlen(expected) &&
		     !memcmp(res.out.data, expected, strlen(expected));
	*warm = res.warm;
	isol8_result_free(&res);
	isol8_request_free(&req);
	return right ? ms : -1;
}

int main(void)
{
	isol8_config cfg;
	isol8_options opt;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0 || isol8_options_from_config(&opt, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	char line[4096];
	int rc = 0;
	while (fgets(line, sizeof line, stdin)) {
		bool warm = false;
		double ms = run_one(&opt, line, &warm);
		if (ms < 0) {
			rc = 1;
			break;
		}
		printf("%.3f %d\n", ms, warm);
		fflush(stdout);
	}
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	return rc;
}
