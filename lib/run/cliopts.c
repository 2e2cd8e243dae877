/* cliopts.c — see cliopts.h. */
#include "run/cliopts.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "state/images.h"

/* ---- one function per flag: parse, check the range, say what is wrong ------------------- */

static int apply_timeout(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	long long ms;
	if (parse_ll(v, 1, 86400000, &ms) < 0)
		return isol8_input_error(err, "--timeout must be a number of milliseconds between 1 and 86400000, got \"%s\"",
					 v);
	o->timeout_ms = ms;
	return 0;
}

static int apply_memory(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	if (parse_size(v, &o->memory_limit) < 0)
		return isol8_input_error(err, "Invalid memory limit format: \"%s\". Use e.g. \"512m\", \"1g\".", v);
	return 0;
}

static int apply_cpu(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	double cores;
	if (parse_double(v, 0.01, 1024, &cores) < 0)
		return isol8_input_error(err, "--cpu must be a number of cores between 0.01 and 1024, got \"%s\"", v);
	o->cpu_limit = cores;
	return 0;
}

static int apply_pids(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	long long n;
	if (parse_ll(v, 1, 1 << 22, &n) < 0)
		return isol8_input_error(err, "--pids-limit must be a whole number from 1, got \"%s\"", v);
	o->pids_limit = n;
	return 0;
}

static int apply_sandbox_size(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	if (parse_size(v, &o->sandbox_size) < 0)
		return isol8_input_error(err, "Invalid --sandbox-size \"%s\". Use e.g. \"64m\", \"1g\".", v);
	return 0;
}

static int apply_tmp_size(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	if (parse_size(v, &o->tmp_size) < 0)
		return isol8_input_error(err, "Invalid --tmp-size \"%s\". Use e.g. \"256m\".", v);
	return 0;
}

static int apply_max_output(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	long long n;
	if (parse_ll(v, 1, 1ll << 34, &n) < 0)
		return isol8_input_error(err, "--max-output must be a number of bytes from 1, got \"%s\"", v);
	o->max_output = (uint64_t)n;
	return 0;
}

static int apply_net(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	int net = isol8_net_from_name(v);
	if (scope == CLIOPT_SESSION && (net < 0 || net == ISOL8_NET_FILTERED))
		return isol8_input_error(err, "--net must be none or host for sessions, got \"%s\"", v);
	if (net < 0)
		return isol8_input_error(err, "--net must be none, host or filtered, got \"%s\"", v);
	o->network = (enum isol8_net)net;
	return 0;
}

static int apply_image(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	struct stat st;
	char real[PATH_MAX];
	free(o->image);
	o->image = NULL;
	if (stat(v, &st) == 0 && S_ISDIR(st.st_mode)) { /* a root filesystem directory */
		o->image = xstrdup(realpath(v, real) ? real : v);
		return 0;
	}
	if (!image_tag_valid(v))
		return isol8_input_error(err, "--image must name a root filesystem directory or an image: %s", v);
	o->image = xstrdup(v); /* an image of the store: resolved with the request (run/imageuse.h) */
	return 0;
}

static int apply_writable(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	o->writable = true;
	return 0;
}

static int apply_secret(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err)
{
	return cliopt_secret(v, &o->secrets, &o->nsecrets, err);
}

static const struct limit_flag {
	const char *name;
	bool takes_value;
	int (*apply)(isol8_options *o, char *v, enum cliopt_scope scope, isol8_err *err);
	const char *json_key; /* its Isol8Options member (wire/options.h writes it) */
} flags[] = {
	{"timeout", true, apply_timeout, "timeoutMs"},
	{"memory", true, apply_memory, "memoryLimit"},
	{"cpu", true, apply_cpu, "cpuLimit"},
	{"pids-limit", true, apply_pids, "pidsLimit"},
	{"sandbox-size", true, apply_sandbox_size, "sandboxSize"},
	{"tmp-size", true, apply_tmp_size, "tmpSize"},
	{"max-output", true, apply_max_output, "maxOutputSize"},
	{"net", true, apply_net, "network"},
	{"image", true, apply_image, "image"},
	{"writable", false, apply_writable, "readonlyRootFs"},
	{"secret", true, apply_secret, "secrets"},
};

static const struct limit_flag *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strcmp(flags[i].name, name))
			return &flags[i];
	return NULL;
}

/* ---- the interface ------------------------------------------------------------------------ */

struct option *cliopt_longopts(const struct option *own)
{
	size_t n = 0;
	while (own[n].name)
		n++;
	struct option *all = xcalloc(n + ARRAY_SIZE(flags) + 1, sizeof *all);
	memcpy(all, own, n * sizeof *own);
	for (size_t k = 0; k < ARRAY_SIZE(flags); k++)
		all[n + k] = (struct option){flags[k].name, flags[k].takes_value ? required_argument : no_argument, NULL,
					     CLIOPT_FIRST + (int)k};
	return all;
}

bool cliopt_is(int c)
{
	return c >= CLIOPT_FIRST && c < CLIOPT_FIRST + (int)ARRAY_SIZE(flags);
}

bool cliopt_known(const char *name)
{
	return find(name) != NULL;
}

bool cliopt_takes_value(const char *name)
{
	const struct limit_flag *f = find(name);
	return f && f->takes_value;
}

int cliopt_apply(isol8_options *opt, const char *name, char *value, enum cliopt_scope scope, isol8_err *err)
{
	const struct limit_flag *f = find(name);
	if (!f)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "--%s is not a limit flag", name);
	return f->apply(opt, value ? value : "", scope, err);
}

int cliopt_secret(char *arg, isol8_kv **kv, size_t *n, isol8_err *err)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return isol8_input_error(err, "--secret must be KEY=VALUE, got \"%s\"", arg);
	char *key = xstrndup(arg, (size_t)(eq - arg));
	isol8_kv_add(kv, n, key, eq + 1);
	free(key);
	memset(eq + 1, 0, strlen(eq + 1));
	return 0;
}

jv cliopt_json(jv o, const isol8_options *opt, const char *name)
{
	const struct limit_flag *f = find(name);
	return f ? jv_object_set(o, jv_string(f->json_key), options_member(opt, f->json_key)) : o;
}

/* The inherited descriptor a path such as /proc/self/fd/7 names, or -1. */
static int inherited_fd(const char *path)
{
	int fd, end = 0;
	if ((sscanf(path, "/proc/self/fd/%d%n", &fd, &end) == 1 || sscanf(path, "/dev/fd/%d%n", &fd, &end) == 1) &&
	    path[end] == 0 && fd > 2)
		return fd;
	return -1;
}

int cliopt_options_file(isol8_options *opt, const char *path, const isol8_config *cfg, isol8_err *err)
{
	isol8_buf b = {0};
	isol8_err rerr = {0};
	int rc = !strcmp(path, "-") ? read_fd_all(0, 1 << 20, &b, &rerr) : read_file(path, 1 << 20, &b, &rerr);
	if (rc < 0) {
		isol8_buf_free(&b);
		return isol8_fail(err, rerr.kind, 0, "--options: %s", rerr.msg);
	}
	/* An inherited descriptor (isol8 run --persistent passes its secrets in a memfd) is closed
	 * once read: a session supervisor forked next, and every process it starts, would keep it
	 * open for the session's life — a readable copy of the secrets. */
	int fd = inherited_fd(path);
	if (fd >= 0)
		close(fd);
	jv o;
	rc = json_parse(b.data ? (const char *)b.data : "", b.len, "--options", &o, err);
	isol8_buf_free(&b);
	if (rc < 0)
		return -1;
	isol8_request scratch;
	isol8_request_init(&scratch);
	jv doc = jv_object_set(jv_object_set(jv_object(), jv_string("request"), jv_object()), jv_string("options"), o);
	rc = isol8_request_from_json(doc, &scratch, opt, cfg, err);
	isol8_request_free(&scratch);
	return rc;
}
