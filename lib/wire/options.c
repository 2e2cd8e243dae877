/* options.c — isol8_options: the limits and policy of a run (Isol8Options), from the config's
 * defaults, from JSON (a request's "options", checked against what the operator's config
 * allows), and their own checks. */
#include "wire/options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "net/proxy.h"

const char **options_secret_values(const isol8_options *o)
{
	const char **v = xcalloc(o->nsecrets + 1, sizeof *v);
	for (size_t i = 0; i < o->nsecrets; i++)
		v[i] = o->secrets[i].value;
	return v;
}

void isol8_options_free(isol8_options *o)
{
	kv_free(o->secrets, o->nsecrets);
	strv_clear(&o->net_allow, &o->nallow);
	strv_clear(&o->net_deny, &o->ndeny);
	free(o->image);
	free(o->layer);
	memset(o, 0, sizeof *o);
}

static int size_opt(const char *s, const char *what, uint64_t *out, isol8_err *err)
{
	if (parse_size(s, out) < 0 || *out == 0)
		return isol8_input_error(err, "Invalid %s format: \"%s\". Use e.g. \"512m\", \"1g\".", what, s);
	return 0;
}

/* The network modes' names, both ways (flags, Isol8Options, config, policy messages). */
static const char *const net_names[] = {[ISOL8_NET_NONE] = "none", [ISOL8_NET_HOST] = "host",
					[ISOL8_NET_FILTERED] = "filtered"};

int isol8_net_from_name(const char *name)
{
	for (int i = 0; i < (int)ARRAY_SIZE(net_names); i++)
		if (!strcmp(name, net_names[i]))
			return i;
	return -1;
}

const char *isol8_net_to_name(enum isol8_net net)
{
	return (unsigned)net < ARRAY_SIZE(net_names) ? net_names[net] : "none";
}

int isol8_options_from_config(isol8_options *o, const isol8_config *c, isol8_err *err)
{
	memset(o, 0, sizeof *o);
	int net = isol8_net_from_name(config_str(c, "defaults.network", "none"));
	o->network = net < 0 ? ISOL8_NET_NONE : (enum isol8_net)net; /* isol8_config_load refused other names */
	o->cpu_limit = config_num(c, "defaults.cpuLimit", 1.0);
	o->pids_limit = 64;
	o->max_output = 1048576;
	o->timeout_ms = (long long)config_num(c, "defaults.timeoutMs", 30000);
	o->writable = !config_bool(c, "defaults.readonlyRootFs", 1);
	o->debug = config_bool(c, "debug", 0);
	const char *sc = config_str(c, "security.seccomp", "strict");
	if (!strcmp(sc, "custom"))
		return isol8_input_error(err, "security.seccomp \"custom\" is not supported by the native sandbox; use \"strict\"");
	o->seccomp = !strcmp(sc, "unconfined") ? ISOL8_SECCOMP_UNCONFINED : ISOL8_SECCOMP_STRICT;
	static const char *const lists[2] = {"network.whitelist", "network.blacklist"};
	for (int k = 0; k < 2; k++) {
		jv l = config_get(c, lists[k]);
		jv_array_foreach(l, i, e) {
			(void)i;
			isol8_strv_add(k ? &o->net_deny : &o->net_allow, k ? &o->ndeny : &o->nallow, jv_string_value(e));
			jv_free(e);
		}
		jv_free(l);
	}
	/* the config's load checked the ranges (lib/core/config.c) */
	o->outputs_enabled = config_bool(c, "outputs.enabled", 1);
	o->outputs_max_count = (unsigned)config_num(c, "outputs.maxCount", 10);
	o->outputs_max_pixels = (uint64_t)config_num(c, "outputs.maxPixels", 4000000);
	o->outputs_max_bytes = (uint64_t)config_num(c, "outputs.maxBytes", 8 << 20);
	if (size_opt(config_str(c, "defaults.memoryLimit", "512m"), "memory limit", &o->memory_limit, err) < 0 ||
	    size_opt(config_str(c, "defaults.sandboxSize", "64m"), "sandbox size", &o->sandbox_size, err) < 0 ||
	    size_opt(config_str(c, "defaults.tmpSize", "256m"), "tmp size", &o->tmp_size, err) < 0)
		return -1;
	return 0;
}

static int num_field(jv v, const char *field, double min, double max, double *out, isol8_err *err)
{
	if (json_expect(v, JV_KIND_NUMBER, field, err) < 0)
		return -1;
	double d = jv_number_value(v);
	if (!(d >= min && d <= max))
		return isol8_input_error(err, "%s must be between %g and %g", field, min, max);
	*out = d;
	return 0;
}

static int opt_network(jv val, isol8_options *o, isol8_err *err)
{
	if (json_expect(val, JV_KIND_STRING, "options.network", err) < 0)
		return -1;
	int net = isol8_net_from_name(jv_string_value(val));
	if (net < 0)
		return isol8_input_error(err, "options.network must be none, host or filtered, not \"%s\"", jv_string_value(val));
	o->network = (enum isol8_net)net;
	return 0;
}

/* json_expect for options.<k>. */
static int expect_option(const char *k, jv val, jv_kind kind, isol8_err *err)
{
	char f[64];
	snprintf(f, sizeof f, "options.%s", k);
	return json_expect(val, kind, f, err);
}

static int opt_size(const char *k, jv val, isol8_options *o, isol8_err *err)
{
	if (expect_option(k, val, JV_KIND_STRING, err) < 0)
		return -1;
	bool mem = !strcmp(k, "memoryLimit");
	return size_opt(jv_string_value(val), mem ? "memory limit" : k,
			mem ? &o->memory_limit : !strcmp(k, "sandboxSize") ? &o->sandbox_size : &o->tmp_size, err);
}

/* cpuLimit, pidsLimit, maxOutputSize, timeoutMs: numbers in range. */
static int opt_number(const char *k, jv val, isol8_options *o, isol8_err *err)
{
	char f[64];
	double d;
	snprintf(f, sizeof f, "options.%s", k);
	if (!strcmp(k, "cpuLimit") && num_field(val, f, 0.01, 1024, &d, err) == 0)
		o->cpu_limit = d;
	else if (!strcmp(k, "pidsLimit") && num_field(val, f, 1, 1 << 22, &d, err) == 0)
		o->pids_limit = (long long)d;
	else if (!strcmp(k, "maxOutputSize") && num_field(val, f, 1, 1ull << 34, &d, err) == 0)
		o->max_output = (uint64_t)d;
	else if (!strcmp(k, "timeoutMs") && num_field(val, f, 1, 86400000, &d, err) == 0)
		o->timeout_ms = (long long)d;
	else
		return -1;
	return 0;
}

static int opt_bool(const char *k, jv val, isol8_options *o, isol8_err *err)
{
	if (expect_option(k, val, JV_KIND_TRUE, err) < 0)
		return -1;
	bool b = jv_get_kind(val) == JV_KIND_TRUE;
	if (!strcmp(k, "readonlyRootFs"))
		o->writable = !b;
	else if (!strcmp(k, "persist"))
		o->persist = b;
	else if (!strcmp(k, "debug"))
		o->debug = b;
	else
		o->log_network = b;
	return 0;
}

/* security.seccomp: "unconfined" only where the operator's config allows it. */
static int opt_security(jv val, isol8_options *o, const isol8_config *c, isol8_err *err)
{
	if (json_expect(val, JV_KIND_OBJECT, "options.security", err) < 0)
		return -1;
	jv s = json_get(val, "seccomp");
	const char *allowed = config_str(c, "security.seccomp", "strict");
	int rc = 0;
	if (jv_get_kind(s) == JV_KIND_STRING) {
		const char *m = jv_string_value(s);
		if (!strcmp(m, "strict"))
			o->seccomp = ISOL8_SECCOMP_STRICT;
		else if (!strcmp(m, "unconfined") && !strcmp(allowed, "unconfined"))
			o->seccomp = ISOL8_SECCOMP_UNCONFINED;
		else
			rc = isol8_input_error(err, "options.security.seccomp \"%s\" is not allowed: the operator's config sets security.seccomp to \"%s\"",
					       m, allowed);
	} else if (jv_is_valid(s) && jv_get_kind(s) != JV_KIND_NULL) {
		rc = isol8_input_error(err, "options.security.seccomp must be a string");
	}
	jv_free(s);
	return rc;
}

/* networkFilter {whitelist, blacklist}: each list given replaces the config's. */
static int opt_filter_list(jv val, int n, isol8_options *o, isol8_err *err)
{
	static const char *const names[2] = {"whitelist", "blacklist"};
	jv l = json_get(val, names[n]);
	int rc = 0;
	if (jv_get_kind(l) == JV_KIND_ARRAY) {
		strv_clear(n ? &o->net_deny : &o->net_allow, n ? &o->ndeny : &o->nallow);
		jv_array_foreach(l, i, e) {
			(void)i;
			if (jv_get_kind(e) != JV_KIND_STRING)
				rc = isol8_input_error(err, "options.networkFilter.%s must be an array of strings", names[n]);
			else
				isol8_strv_add(n ? &o->net_deny : &o->net_allow, n ? &o->ndeny : &o->nallow, jv_string_value(e));
			jv_free(e);
		}
	} else if (jv_is_valid(l) && jv_get_kind(l) != JV_KIND_NULL) {
		rc = isol8_input_error(err, "options.networkFilter.%s must be an array of strings", names[n]);
	}
	jv_free(l);
	return rc;
}

static int opt_filter(jv val, isol8_options *o, isol8_err *err)
{
	if (json_expect(val, JV_KIND_OBJECT, "options.networkFilter", err) < 0)
		return -1;
	return opt_filter_list(val, 0, o, err) < 0 ? -1 : opt_filter_list(val, 1, o, err);
}

static bool one_of(const char *k, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(k, *names))
			return true;
	return false;
}

static int options_field(const char *k, jv val, isol8_options *o, const isol8_config *c, isol8_err *err)
{
	static const char *const sizes[] = {"memoryLimit", "sandboxSize", "tmpSize", NULL};
	static const char *const numbers[] = {"cpuLimit", "pidsLimit", "maxOutputSize", "timeoutMs", NULL};
	static const char *const bools[] = {"readonlyRootFs", "persist", "debug", "logNetwork", NULL};
	static const char *const others[] = {"network", "secrets", "image", "mode", "security", "networkFilter", NULL};
	/* the operator's settings: a request that names one is told so, never silently ignored */
	static const char *const operator_side[] = {"poolStrategy", "poolSize", "audit", "remoteCode", "outputs", NULL};
	if (one_of(k, operator_side))
		return isol8_input_error(err, "options.%s is the operator's setting (isol8.config.json), not a request's",
					 k);
	if (!one_of(k, sizes) && !one_of(k, numbers) && !one_of(k, bools) && !one_of(k, others))
		return isol8_input_error(err, "unknown field options.%s", k);
	if (jv_get_kind(val) == JV_KIND_NULL)
		return 0; /* a known member set to null: not given, as JSON clients often send */
	if (!strcmp(k, "network"))
		return opt_network(val, o, err);
	if (one_of(k, sizes))
		return opt_size(k, val, o, err);
	if (one_of(k, numbers))
		return opt_number(k, val, o, err);
	if (one_of(k, bools))
		return opt_bool(k, val, o, err);
	if (!strcmp(k, "secrets"))
		return json_string_map(jv_copy(val), "options.secrets", &o->secrets, &o->nsecrets, ISOL8_MAX_ENV, err);
	if (!strcmp(k, "image")) {
		if (json_expect(val, JV_KIND_STRING, "options.image", err) < 0)
			return -1;
		free(o->image);
		o->image = xstrdup(jv_string_value(val));
		return 0;
	}
	if (!strcmp(k, "mode")) {
		if (json_expect(val, JV_KIND_STRING, "options.mode", err) < 0)
			return -1;
		if (strcmp(jv_string_value(val), "ephemeral"))
			return isol8_input_error(err, "options.mode \"%s\" is not supported here: isol8-run runs ephemeral executions",
						 jv_string_value(val));
		return 0;
	}
	if (!strcmp(k, "security"))
		return opt_security(val, o, c, err);
	if (!strcmp(k, "networkFilter"))
		return opt_filter(val, o, err);
	return isol8_input_error(err, "unknown field options.%s", k);
}

int options_from_json(jv opts, isol8_options *o, const isol8_config *c, isol8_err *err)
{
	int rc = 0;
	jv_object_foreach(opts, key, val) {
		if (rc == 0)
			rc = options_field(jv_string_value(key), val, o, c, err);
		jv_free(key);
		jv_free(val);
	}
	jv_free(opts);
	return rc;
}


int isol8_options_validate(const isol8_options *o, isol8_err *err)
{
	for (size_t i = 0; i < o->nsecrets; i++)
		if (!*o->secrets[i].key || strchr(o->secrets[i].key, '='))
			return isol8_input_error(err, "secret names must be non-empty and contain no '='");
	if (o->network == ISOL8_NET_FILTERED) {
		/* compile the patterns now: a bad one must stop the run, never leave it unfiltered */
		isol8_proxy_rules rules = {0};
		int bad = 0;
		for (size_t i = 0; i < o->nallow && !bad; i++)
			bad = proxy_rules_add(&rules, false, o->net_allow[i], err) < 0;
		for (size_t i = 0; i < o->ndeny && !bad; i++)
			bad = proxy_rules_add(&rules, true, o->net_deny[i], err) < 0;
		proxy_rules_free(&rules);
		if (bad)
			return -1;
	}
	if (o->sandbox_size < 1 << 20 || o->tmp_size < 1 << 20)
		return isol8_input_error(err, "--sandbox-size and --tmp-size must be at least 1m");
	if (o->memory_limit < 8 << 20)
		return isol8_input_error(err, "--memory must be at least 8m");
	return 0;
}


/* ---- writing: the Isol8Options JSON that options_from_json reads ---- */

static jv size_json(uint64_t bytes)
{
	char b[32];
	snprintf(b, sizeof b, "%llu", (unsigned long long)bytes); /* parse_size takes plain bytes */
	return jv_string(b);
}

static jv strv_json(char *const *v, size_t n)
{
	jv l = jv_array();
	for (size_t i = 0; i < n; i++)
		l = jv_array_append(l, jv_string(v[i]));
	return l;
}

jv options_member(const isol8_options *o, const char *key)
{
	if (!strcmp(key, "network"))
		return jv_string(isol8_net_to_name(o->network));
	if (!strcmp(key, "memoryLimit"))
		return size_json(o->memory_limit);
	if (!strcmp(key, "sandboxSize"))
		return size_json(o->sandbox_size);
	if (!strcmp(key, "tmpSize"))
		return size_json(o->tmp_size);
	if (!strcmp(key, "cpuLimit"))
		return jv_number(o->cpu_limit);
	if (!strcmp(key, "pidsLimit"))
		return jv_number((double)o->pids_limit);
	if (!strcmp(key, "maxOutputSize"))
		return jv_number((double)o->max_output);
	if (!strcmp(key, "timeoutMs"))
		return jv_number((double)o->timeout_ms);
	if (!strcmp(key, "image"))
		return o->image ? jv_string(o->image) : jv_null();
	if (!strcmp(key, "readonlyRootFs"))
		return jv_bool(!o->writable);
	if (!strcmp(key, "persist"))
		return jv_bool(o->persist);
	if (!strcmp(key, "debug"))
		return jv_bool(o->debug);
	if (!strcmp(key, "logNetwork"))
		return jv_bool(o->log_network);
	if (!strcmp(key, "security"))
		return jv_object_set(jv_object(), jv_string("seccomp"),
				     jv_string(o->seccomp == ISOL8_SECCOMP_STRICT ? "strict" : "unconfined"));
	if (!strcmp(key, "secrets")) {
		jv m = jv_object();
		for (size_t i = 0; i < o->nsecrets; i++)
			m = jv_object_set(m, jv_string(o->secrets[i].key), jv_string(o->secrets[i].value));
		return m;
	}
	if (!strcmp(key, "networkFilter.whitelist"))
		return strv_json(o->net_allow, o->nallow);
	if (!strcmp(key, "networkFilter.blacklist"))
		return strv_json(o->net_deny, o->ndeny);
	if (!strcmp(key, "networkFilter"))
		return jv_object_set(jv_object_set(jv_object(), jv_string("whitelist"), options_member(o, "networkFilter.whitelist")),
				     jv_string("blacklist"), options_member(o, "networkFilter.blacklist"));
	return jv_invalid();
}

jv options_json(const isol8_options *o)
{
	static const char *const keys[] = {"network", "memoryLimit", "cpuLimit", "pidsLimit", "sandboxSize", "tmpSize",
					   "maxOutputSize", "timeoutMs", "secrets", "image", "readonlyRootFs", "persist",
					   "debug", "logNetwork", "security", "networkFilter", NULL};
	jv j = jv_object();
	for (const char *const *k = keys; *k; k++)
		j = jv_object_set(j, jv_string(*k), options_member(o, *k));
	return j;
}
