/* The limit flags of isol8 run and isol8-session (lib/run/cliopts.c): each parses into its
 * field, refuses a bad value with the message the tools print, and maps to its Isol8Options
 * member; the getopt table keeps abbreviations unambiguous; --options reads a JSON file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "core/json.h"
#include "run/cliopts.h"

static isol8_options opt;
static isol8_err err;

/* the flag applied to a fresh copy of value (cliopt_apply may blank it) */
static int apply(const char *name, const char *value, enum cliopt_scope scope)
{
	char *v = value ? strdup(value) : NULL;
	memset(&err, 0, sizeof err);
	int rc = cliopt_apply(&opt, name, v, scope, &err);
	free(v);
	return rc;
}

static void refused(const char *name, const char *value, enum cliopt_scope scope, const char *msg)
{
	ok(apply(name, value, scope) < 0 && err.kind == ISOL8_E_INPUT, "--%s %s refused", name, value);
	is_str(err.msg, msg, "…with the tools' message");
}

static void values(void)
{
	ok(apply("timeout", "5000", CLIOPT_RUN) == 0 && opt.timeout_ms == 5000, "--timeout");
	ok(apply("memory", "1g", CLIOPT_RUN) == 0 && opt.memory_limit == 1ull << 30, "--memory");
	ok(apply("cpu", "0.5", CLIOPT_RUN) == 0 && opt.cpu_limit == 0.5, "--cpu");
	ok(apply("pids-limit", "32", CLIOPT_RUN) == 0 && opt.pids_limit == 32, "--pids-limit");
	ok(apply("sandbox-size", "64m", CLIOPT_RUN) == 0 && opt.sandbox_size == 64ull << 20, "--sandbox-size");
	ok(apply("tmp-size", "128m", CLIOPT_RUN) == 0 && opt.tmp_size == 128ull << 20, "--tmp-size");
	ok(apply("max-output", "4096", CLIOPT_RUN) == 0 && opt.max_output == 4096, "--max-output");
	ok(apply("net", "filtered", CLIOPT_RUN) == 0 && opt.network == ISOL8_NET_FILTERED, "--net filtered (run)");
	ok(apply("net", "host", CLIOPT_SESSION) == 0 && opt.network == ISOL8_NET_HOST, "--net host (session)");
	ok(apply("image", "/", CLIOPT_RUN) == 0 && opt.image && !strcmp(opt.image, "/"), "--image DIR");
	ok(apply("writable", NULL, CLIOPT_RUN) == 0 && opt.writable, "--writable takes no value");

	char arg[] = "TOKEN=hunter2";
	memset(&err, 0, sizeof err);
	ok(cliopt_apply(&opt, "secret", arg, CLIOPT_SESSION, &err) == 0 && opt.nsecrets == 1 &&
		   !strcmp(opt.secrets[0].key, "TOKEN") && !strcmp(opt.secrets[0].value, "hunter2"),
	   "--secret KEY=VALUE goes to the options' secrets");
	ok(!memcmp(arg, "TOKEN=\0\0\0\0\0\0\0", sizeof arg), "…and its value is blanked in place (argv)");
}

static void messages(void)
{
	refused("timeout", "10s", CLIOPT_RUN, "--timeout must be a number of milliseconds between 1 and 86400000, got \"10s\"");
	refused("timeout", "0", CLIOPT_SESSION, "--timeout must be a number of milliseconds between 1 and 86400000, got \"0\"");
	refused("memory", "lots", CLIOPT_RUN, "Invalid memory limit format: \"lots\". Use e.g. \"512m\", \"1g\".");
	refused("cpu", "-1", CLIOPT_RUN, "--cpu must be a number of cores between 0.01 and 1024, got \"-1\"");
	refused("pids-limit", "0", CLIOPT_RUN, "--pids-limit must be a whole number from 1, got \"0\"");
	refused("sandbox-size", "big", CLIOPT_RUN, "Invalid --sandbox-size \"big\". Use e.g. \"64m\", \"1g\".");
	refused("tmp-size", "-3", CLIOPT_RUN, "Invalid --tmp-size \"-3\". Use e.g. \"256m\".");
	refused("max-output", "1e3", CLIOPT_RUN, "--max-output must be a number of bytes from 1, got \"1e3\"");
	refused("net", "wide", CLIOPT_RUN, "--net must be none, host or filtered, got \"wide\"");
	refused("net", "filtered", CLIOPT_SESSION, "--net must be none or host for sessions, got \"filtered\"");
	refused("net", "wide", CLIOPT_SESSION, "--net must be none or host for sessions, got \"wide\"");
	refused("image", "/nonexistent", CLIOPT_RUN, "--image must name a root filesystem directory or an image: /nonexistent");
	ok(apply("image", "my-image:v1", CLIOPT_RUN) == 0 && !strcmp(opt.image, "my-image:v1"),
	   "--image NAME: an image of the store, resolved with the request");
	refused("secret", "NOEQUALS", CLIOPT_RUN, "--secret must be KEY=VALUE, got \"NOEQUALS\"");
	refused("secret", "=v", CLIOPT_RUN, "--secret must be KEY=VALUE, got \"=v\"");
	ok(apply("eval", "x", CLIOPT_RUN) < 0 && err.kind == ISOL8_E_INTERNAL, "a flag that is not a limit flag: refused");
}

static void table(void)
{
	static const struct option own[] = {{"eval", required_argument, 0, 'e'}, {"id", required_argument, 0, 1}, {0, 0, 0, 0}};
	struct option *lo = cliopt_longopts(own);
	size_t n = 0;
	bool distinct = true;
	while (lo[n].name)
		n++;
	for (size_t i = 2; i < n; i++)
		distinct &= cliopt_is(lo[i].val) && lo[i].val == CLIOPT_FIRST + (int)(i - 2);
	ok(n == 13 && !strcmp(lo[0].name, "eval") && !strcmp(lo[1].name, "id") && distinct,
	   "the tool's own flags, then the 11 limit flags with a code each");
	ok(!cliopt_is('e') && !cliopt_is(1) && !cliopt_is(CLIOPT_FIRST + 11), "the tool's own codes are not limit codes");
	ok(cliopt_known("pids-limit") && !cliopt_known("idle-timeout") && cliopt_takes_value("net") &&
		   !cliopt_takes_value("writable"),
	   "cliopt_known, cliopt_takes_value");

	char *argv[] = {"t", "--m", "1g", "--pids", "7", NULL};
	int li = -1;
	opterr = 0;
	optind = 1;
	int c = getopt_long(5, argv, "e:", lo, &li);
	ok(c == '?', "--m is ambiguous (memory, max-output), not the first of them");
	c = getopt_long(5, argv, "e:", lo, &li);
	ok(cliopt_is(c) && !strcmp(lo[li].name, "pids-limit") && !strcmp(optarg, "7"), "--pids abbreviates pids-limit");
	free(lo);
}

static void json(void)
{
	isol8_kv sec = {"A", "b"};
	isol8_options o = {.timeout_ms = 700, .cpu_limit = 2, .network = ISOL8_NET_HOST, .image = "/img",
			   .memory_limit = 1ull << 30, .writable = true, .secrets = &sec, .nsecrets = 1};
	jv j = jv_object();
	j = cliopt_json(j, &o, "timeout");
	j = cliopt_json(j, &o, "memory");
	j = cliopt_json(j, &o, "cpu");
	j = cliopt_json(j, &o, "net");
	j = cliopt_json(j, &o, "image");
	j = cliopt_json(j, &o, "writable");
	j = cliopt_json(j, &o, "secret");
	j = cliopt_json(j, &o, "workdir");
	char *s = json_dump(j, 0);
	is_str(s, "{\"timeoutMs\":700,\"memoryLimit\":\"1073741824\",\"cpuLimit\":2,\"network\":\"host\",\"image\":\"/img\","
		  "\"readonlyRootFs\":false,\"secrets\":{\"A\":\"b\"}}",
	       "each flag's Isol8Options member, from the options; nothing for a flag that is not a limit");
	free(s);
	jv_free(j);
	is_str(isol8_net_to_name(ISOL8_NET_FILTERED), "filtered", "isol8_net_to_name reads the same table as isol8_net_from_name");
	ok(isol8_net_from_name(isol8_net_to_name(ISOL8_NET_NONE)) == ISOL8_NET_NONE &&
		   isol8_net_from_name(isol8_net_to_name(ISOL8_NET_HOST)) == ISOL8_NET_HOST,
	   "…both ways");
}

static void options_file(void)
{
	isol8_config cfg;
	isol8_config_load(&cfg, &err);
	char path[] = "/tmp/isol8-test-cliopts-XXXXXX";
	int fd = mkstemp(path);
	const char *doc = "{\"memoryLimit\":\"256m\",\"secrets\":{\"K\":\"v\"}}";
	ok(fd >= 0 && write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc), "an options file");
	close(fd);
	isol8_options o;
	isol8_options_from_config(&o, &cfg, &err);
	memset(&err, 0, sizeof err);
	ok(cliopt_options_file(&o, path, &cfg, &err) == 0 && o.memory_limit == 256u << 20 && o.nsecrets == 1,
	   "--options FILE applies its members");
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(write(fd, "{\"memoryLimit\":", 15) == 15, "…cut short");
	close(fd);
	ok(cliopt_options_file(&o, path, &cfg, &err) < 0 && !strncmp(err.msg, "--options: invalid JSON", 23),
	   "…refused: %s", err.msg);
	unlink(path);
	ok(cliopt_options_file(&o, path, &cfg, &err) < 0 && !strncmp(err.msg, "--options: cannot open", 22),
	   "a missing file: %s", err.msg);
	isol8_options_free(&o);
	isol8_config_free(&cfg);
}

int main(void)
{
	values();
	messages();
	isol8_options_free(&opt);
	table();
	json();
	options_file();
	return done_testing();
}
