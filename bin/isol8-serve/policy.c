/* policy.c — what a client may ask of this server. A client's options could otherwise ask for
 * anything the toolkit can do (network "host", unconfined seccomp, unlimited memory, persist, an
 * image path on the server's disk). Here each option is bounded by the operator's config
 * (serve.*) and a request that asks for more is refused with a 400 naming the bound, so a client
 * learns the limit instead of silently getting less than it asked for. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "core/util.h"

static uint64_t cfg_size(const isol8_config *cfg, const char *path, const char *fallback)
{
	uint64_t v = 0;
	if (parse_size(config_str(cfg, path, fallback), &v) < 0)
		(void)parse_size(fallback, &v);
	return v;
}

static bool network_allowed(const isol8_config *cfg, enum isol8_net n)
{
	jv l = config_get(cfg, "serve.networks");
	bool ok = false;
	if (jv_get_kind(l) != JV_KIND_ARRAY) {
		ok = n != ISOL8_NET_HOST;
	} else {
		jv_array_foreach(l, i, e) {
			(void)i;
			if (jv_get_kind(e) == JV_KIND_STRING && !strcmp(jv_string_value(e), isol8_net_to_name(n)))
				ok = true;
			jv_free(e);
		}
	}
	jv_free(l);
	return ok;
}

/* An image is a directory on the server's disk: only the operator's list (serve.images). */
static bool image_allowed(const isol8_config *cfg, const char *image)
{
	char want[PATH_MAX];
	bool dir = realpath(image, want) != NULL;
	jv l = config_get(cfg, "serve.images");
	bool ok = false;
	if (jv_get_kind(l) == JV_KIND_ARRAY) {
		jv_array_foreach(l, i, e) {
			(void)i;
			char have[PATH_MAX];
			/* a directory by its real path; an image of the store by its tag, as listed */
			if (jv_get_kind(e) == JV_KIND_STRING &&
			    (dir ? realpath(jv_string_value(e), have) && !strcmp(have, want) : !strcmp(jv_string_value(e), image)))
				ok = true;
			jv_free(e);
		}
	}
	jv_free(l);
	return ok;
}

static int over(isol8_err *err, const char *what, const char *max)
{
	return isol8_input_error(err, "%s exceeds this server's maximum of %s (config serve.*)", what, max);
}

static int check_bounds(const isol8_config *cfg, const isol8_options *o, long long req_timeout, isol8_err *err)
{
	char max[64];
	uint64_t mem = cfg_size(cfg, "serve.maxMemory", "2g"), sb = cfg_size(cfg, "serve.maxSandboxSize", "1g"),
		 tmp = cfg_size(cfg, "serve.maxTmpSize", "1g");
	double cpu = config_num(cfg, "serve.maxCpu", 2), pids = config_num(cfg, "serve.maxPids", 256),
	       tmo = config_num(cfg, "serve.maxTimeoutMs", 300000), out = config_num(cfg, "serve.maxOutputSize", 16 << 20);
	if (o->memory_limit > mem)
		return over(err, "memoryLimit", config_str(cfg, "serve.maxMemory", "2g"));
	if (o->sandbox_size > sb)
		return over(err, "sandboxSize", config_str(cfg, "serve.maxSandboxSize", "1g"));
	if (o->tmp_size > tmp)
		return over(err, "tmpSize", config_str(cfg, "serve.maxTmpSize", "1g"));
	snprintf(max, sizeof max, "%g", cpu);
	if (o->cpu_limit > cpu)
		return over(err, "cpuLimit", max);
	snprintf(max, sizeof max, "%g", pids);
	if ((double)o->pids_limit > pids)
		return over(err, "pidsLimit", max);
	snprintf(max, sizeof max, "%g ms", tmo);
	if ((double)o->timeout_ms > tmo || (double)req_timeout > tmo)
		return over(err, "timeoutMs", max);
	snprintf(max, sizeof max, "%g bytes", out);
	if ((double)o->max_output > out)
		return over(err, "maxOutputSize", max);
	if (!network_allowed(cfg, o->network))
		return isol8_input_error(err, "network \"%s\" is not allowed by this server (config serve.networks)",
					 isol8_net_to_name(o->network));
	return 0;
}

int policy_check(const isol8_config *cfg, const isol8_request *r, const isol8_options *o, isol8_err *err)
{
	if (o->persist)
		return isol8_input_error(err, "options.persist is not allowed over HTTP: a sandbox must not outlive its request (use a sessionId)");
	if (o->image && !image_allowed(cfg, o->image))
		return isol8_input_error(err, "options.image is not one of this server's images (config serve.images)");
	if (r && r->setup_script && !config_bool(cfg, "serve.setupScripts", 1))
		return isol8_input_error(err, "request.setupScript is turned off on this server (config serve.setupScripts)");
	return check_bounds(cfg, o, r ? r->timeout_ms : -1, err);
}

int policy_check_defaults(const isol8_config *cfg, isol8_err *err)
{
	isol8_options o;
	if (isol8_options_from_config(&o, cfg, err) < 0)
		return -1;
	int rc = check_bounds(cfg, &o, -1, err);
	isol8_options_free(&o);
	if (rc < 0) {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", err->msg);
		return isol8_input_error(err, "the config's defaults do not fit its own serve bounds: %s", msg);
	}
	return 0;
}
