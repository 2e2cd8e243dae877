#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"

/* Defaults as isol8 v0.20.0 has them, except sandboxSize: 64m, as its command line documents. */
static const char default_config[] =
	"{\"maxConcurrent\":10,"
	"\"defaults\":{\"timeoutMs\":30000,\"memoryLimit\":\"512m\",\"cpuLimit\":1.0,\"network\":\"none\","
	"\"sandboxSize\":\"64m\",\"tmpSize\":\"256m\",\"readonlyRootFs\":true},"
	"\"network\":{\"whitelist\":[],\"blacklist\":[]},"
	"\"cleanup\":{\"autoPrune\":true,\"maxContainerAgeMs\":3600000},"
	"\"poolStrategy\":\"fast\",\"poolSize\":{\"clean\":1,\"dirty\":1},"
	/* isol8-pool's zygotes (docs/zygote.md; not in the reference) */
	"\"zygote\":{\"enabled\":true,\"maxForks\":1000,\"maxAgeMs\":600000},"
	"\"security\":{\"seccomp\":\"strict\"},"
	"\"remoteCode\":{\"enabled\":false,\"allowedSchemes\":[\"https\"],\"allowedHosts\":[],"
	"\"blockedHosts\":[\"^localhost$\",\"^127(?:\\\\.[0-9]{1,3}){3}$\",\"^\\\\[::1\\\\]$\",\"^::1$\","
	"\"^10(?:\\\\.[0-9]{1,3}){3}$\",\"^172\\\\.(?:1[6-9]|2[0-9]|3[0-1])(?:\\\\.[0-9]{1,3}){2}$\","
	"\"^192\\\\.168(?:\\\\.[0-9]{1,3}){2}$\",\"^169\\\\.254(?:\\\\.[0-9]{1,3}){2}$\","
	"\"^metadata\\\\.google\\\\.internal$\",\"^169\\\\.254\\\\.169\\\\.254$\"],"
	"\"maxCodeSize\":10485760,\"fetchTimeoutMs\":30000,\"requireHash\":false,\"enableCache\":true,"
	"\"cacheTtl\":3600},"
	"\"audit\":{\"enabled\":false,\"destination\":\"filesystem\",\"trackResources\":true,"
	"\"retentionDays\":90,\"includeCode\":false,\"includeOutput\":false},"
	"\"auth\":{\"enabled\":false,\"defaultTtlMs\":86400000,\"cleanupIntervalMs\":3600000},"
	"\"prebuiltImages\":[],\"poolImages\":[],\"imageStore\":\"\",\"debug\":false,"
	/* python figures as results (docs/figures.md; not in the reference) */
	"\"outputs\":{\"enabled\":true,\"maxCount\":10,\"maxPixels\":4000000,\"maxBytes\":8388608},"
	/* isol8-serve's bounds on client options and its own limits (not in the reference) */
	"\"serve\":{\"maxMemory\":\"2g\",\"maxCpu\":2,\"maxPids\":256,\"maxTimeoutMs\":300000,"
	"\"maxOutputSize\":16777216,\"maxSandboxSize\":\"1g\",\"maxTmpSize\":\"1g\",\"networks\":[\"none\",\"filtered\"],"
	"\"images\":[],\"maxBodyBytes\":16777216,\"maxQueue\":16,\"queueTimeoutMs\":10000,\"maxSessionsPerKey\":16,"
	"\"headTimeoutMs\":5000,\"bodyTimeoutMs\":10000,\"maxUnauthenticatedPerAddress\":8,\"graceMs\":30000,\"setupScripts\":true},"
	/* isol8-mcp: what a model's calls get (not in the reference); unset limits are defaults.*'s */
	"\"mcp\":{\"languages\":[\"python\",\"node\",\"bun\",\"deno\",\"bash\"],\"maxTimeoutMs\":300000,\"maxSessions\":8,"
	"\"sessionIdleMs\":3600000,\"allowedOrigins\":[]}}";

enum ktype { K_BOOL, K_NUM, K_INT, K_STR, K_STRS, K_OBJ, K_POOL, K_IMAGES, K_TENANTS };

static const struct key {
	const char *path;
	enum ktype type;
	const char *choices; /* "|a|b|" for enumerations */
} keys[] = {
	{"$schema", K_STR, NULL},
	{"debug", K_BOOL, NULL},
	{"maxConcurrent", K_NUM, NULL},
	{"defaults", K_OBJ, NULL},
	{"defaults.timeoutMs", K_NUM, NULL},
	{"defaults.memoryLimit", K_STR, NULL},
	{"defaults.cpuLimit", K_NUM, NULL},
	{"defaults.network", K_STR, "|none|host|filtered|"},
	{"defaults.sandboxSize", K_STR, NULL},
	{"defaults.tmpSize", K_STR, NULL},
	{"defaults.readonlyRootFs", K_BOOL, NULL},
	{"network", K_OBJ, NULL},
	{"network.whitelist", K_STRS, NULL},
	{"network.blacklist", K_STRS, NULL},
	{"cleanup", K_OBJ, NULL},
	{"cleanup.autoPrune", K_BOOL, NULL},
	{"cleanup.maxContainerAgeMs", K_NUM, NULL},
	{"poolStrategy", K_STR, "|fast|secure|"},
	{"poolSize", K_POOL, NULL},
	{"zygote", K_OBJ, NULL},
	{"zygote.enabled", K_BOOL, NULL},
	{"zygote.maxForks", K_INT, NULL},
	{"zygote.maxAgeMs", K_INT, NULL},
	{"security", K_OBJ, NULL},
	{"security.seccomp", K_STR, "|strict|unconfined|custom|"},
	{"security.customProfilePath", K_STR, NULL},
	{"remoteCode", K_OBJ, NULL},
	{"remoteCode.enabled", K_BOOL, NULL},
	{"remoteCode.allowedSchemes", K_STRS, NULL},
	{"remoteCode.allowedHosts", K_STRS, NULL},
	{"remoteCode.blockedHosts", K_STRS, NULL},
	{"remoteCode.maxCodeSize", K_NUM, NULL},
	{"remoteCode.fetchTimeoutMs", K_NUM, NULL},
	{"remoteCode.requireHash", K_BOOL, NULL},
	{"remoteCode.enableCache", K_BOOL, NULL},
	{"remoteCode.cacheTtl", K_NUM, NULL},
	{"audit", K_OBJ, NULL},
	{"audit.enabled", K_BOOL, NULL},
	{"audit.destination", K_STR, "|filesystem|file|stdout|syslog|journald|"},
	{"audit.logDir", K_STR, NULL},
	{"audit.postLogScript", K_STR, NULL},
	{"audit.trackResources", K_BOOL, NULL},
	{"audit.retentionDays", K_NUM, NULL},
	{"audit.includeCode", K_BOOL, NULL},
	{"audit.includeOutput", K_BOOL, NULL},
	{"audit.syslogSocket", K_STR, NULL},
	{"auth", K_OBJ, NULL},
	{"auth.enabled", K_BOOL, NULL},
	{"auth.connectionString", K_STR, NULL},
	{"auth.defaultTtlMs", K_NUM, NULL},
	{"auth.cleanupIntervalMs", K_NUM, NULL},
	{"prebuiltImages", K_IMAGES, NULL},
	{"poolImages", K_STRS, NULL},
	{"imageStore", K_STR, NULL},
	{"outputs", K_OBJ, NULL},
	{"outputs.enabled", K_BOOL, NULL},
	{"outputs.maxCount", K_INT, NULL},
	{"outputs.maxPixels", K_INT, NULL},
	{"outputs.maxBytes", K_INT, NULL},
	{"serve", K_OBJ, NULL},
	{"serve.maxMemory", K_STR, NULL},
	{"serve.maxCpu", K_NUM, NULL},
	{"serve.maxPids", K_NUM, NULL},
	{"serve.maxTimeoutMs", K_NUM, NULL},
	{"serve.maxOutputSize", K_NUM, NULL},
	{"serve.maxSandboxSize", K_STR, NULL},
	{"serve.maxTmpSize", K_STR, NULL},
	{"serve.networks", K_STRS, NULL},
	{"serve.images", K_STRS, NULL},
	{"serve.maxBodyBytes", K_NUM, NULL},
	{"serve.maxQueue", K_NUM, NULL},
	{"serve.queueTimeoutMs", K_NUM, NULL},
	{"serve.maxSessionsPerKey", K_NUM, NULL},
	{"serve.tenants", K_TENANTS, NULL},
	{"serve.headTimeoutMs", K_NUM, NULL},
	{"serve.bodyTimeoutMs", K_NUM, NULL},
	{"serve.maxUnauthenticatedPerAddress", K_NUM, NULL},
	{"serve.maxConcurrentPerKey", K_NUM, NULL},
	{"serve.maxConnectionsPerKey", K_NUM, NULL},
	{"serve.graceMs", K_NUM, NULL},
	{"serve.setupScripts", K_BOOL, NULL},
	{"serve.drainMs", K_NUM, NULL},
	{"cluster", K_OBJ, NULL},
	{"cluster.node", K_STR, NULL},
	{"cluster.address", K_STR, NULL},
	{"cluster.heartbeatMs", K_INT, NULL},
	{"cluster.nodeTimeoutMs", K_INT, NULL},
	{"mcp", K_OBJ, NULL},
	{"mcp.languages", K_STRS, NULL},
	{"mcp.timeoutMs", K_NUM, NULL},
	{"mcp.maxTimeoutMs", K_NUM, NULL},
	{"mcp.memoryLimit", K_STR, NULL},
	{"mcp.cpuLimit", K_NUM, NULL},
	{"mcp.network", K_STR, "|none|host|filtered|"},
	{"mcp.maxOutputSize", K_NUM, NULL},
	{"mcp.maxSessions", K_NUM, NULL},
	{"mcp.sessionIdleMs", K_NUM, NULL},
	{"mcp.allowedOrigins", K_STRS, NULL},
};

/* The range of each K_INT key: a whole number from min to max. */
static const struct range {
	const char *path;
	double min, max;
} ranges[] = {
	{"outputs.maxCount", 1, 1000},
	{"outputs.maxPixels", 1, 100000000},
	{"outputs.maxBytes", 1, 64 << 20}, /* what one file operation carries at most */
	{"cluster.heartbeatMs", 100, 60000},
	{"cluster.nodeTimeoutMs", 200, 3600000},
	{"zygote.maxForks", 1, 1000000},
	{"zygote.maxAgeMs", 1000, 86400000},
};

static const struct range *range_of(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
		if (!strcmp(ranges[i].path, path))
			return &ranges[i];
	return &(const struct range){path, 0, 9e15};
}

static const struct key *find_key(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].path, path))
			return &keys[i];
	return NULL;
}

static int type_error(isol8_err *err, const char *what, const char *path, const char *want, jv v)
{
	isol8_input_error(err, "%s: \"%s\" must be %s, not %s", what, path, want, json_kind_name(jv_get_kind(v)));
	jv_free(v);
	return -1;
}

static bool is_bool(jv v)
{
	return jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE;
}

static bool is_str_array(jv v)
{
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return false;
	bool ok = true;
	jv_array_foreach(v, i, e) {
		if (jv_get_kind(e) != JV_KIND_STRING)
			ok = false;
		jv_free(e);
	}
	return ok;
}

/* Validates one value (consumed) against its key. */
static int check_value(const struct key *k, jv v, const char *what, isol8_err *err);

/* A prebuiltImages entry's key that is none of its four: -1 with err naming it, else 0. */
static int image_entry_unknown_key(jv entry, int index, const char *what, isol8_err *err)
{
	static const char *const known[] = {"tag", "runtime", "installPackages", "setupScript"};
	int rc = 0;
	jv_object_foreach(entry, key, val) {
		bool found = false;
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			found |= !strcmp(jv_string_value(key), known[i]);
		if (!found && rc == 0)
			rc = isol8_input_error(err, "%s: prebuiltImages[%d]: unknown key \"%s\" (an entry has tag, runtime, "
						    "installPackages, setupScript)",
					       what, index, jv_string_value(key));
		jv_free(key);
		jv_free(val);
	}
	return rc;
}

static int check_object(jv obj, const char *prefix, const char *what, isol8_err *err)
{
	int rc = 0;
	jv_object_foreach(obj, key, val) {
		char path[256];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", jv_string_value(key));
		const struct key *k = find_key(path);
		jv_free(key);
		if (rc < 0) {
			jv_free(val);
			continue;
		}
		if (!k) {
			isol8_input_error(err, "%s: unknown key \"%s\"", what, path);
			jv_free(val);
			rc = -1;
			continue;
		}
		if (check_value(k, val, what, err) < 0)
			rc = -1;
	}
	jv_free(obj);
	return rc;
}

static int check_value(const struct key *k, jv v, const char *what, isol8_err *err)
{
	switch (k->type) {
	case K_BOOL:
		if (!is_bool(v))
			return type_error(err, what, k->path, "true or false", v);
		break;
	case K_NUM:
		if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < 0)
			return type_error(err, what, k->path, "a non-negative number", v);
		break;
	case K_INT: {
		const struct range *r = range_of(k->path);
		if (jv_get_kind(v) != JV_KIND_NUMBER || !(jv_number_value(v) >= r->min && jv_number_value(v) <= r->max) ||
		    jv_number_value(v) != (double)(long long)jv_number_value(v)) {
			char want[96];
			snprintf(want, sizeof want, "a whole number from %.0f to %.0f", r->min, r->max);
			if (jv_get_kind(v) != JV_KIND_NUMBER)
				return type_error(err, what, k->path, want, v);
			isol8_input_error(err, "%s: \"%s\" must be %s, not %g", what, k->path, want, jv_number_value(v));
			jv_free(v);
			return -1;
		}
		break;
	}
	case K_STR:
		if (jv_get_kind(v) != JV_KIND_STRING)
			return type_error(err, what, k->path, "a string", v);
		if (k->choices) {
			char needle[64];
			snprintf(needle, sizeof needle, "|%s|", jv_string_value(v));
			if (!strstr(k->choices, needle)) {
				isol8_input_error(err, "%s: \"%s\" must be one of %s, not \"%s\"", what, k->path, k->choices,
						  jv_string_value(v));
				jv_free(v);
				return -1;
			}
		}
		break;
	case K_STRS:
		if (!is_str_array(v))
			return type_error(err, what, k->path, "an array of strings", v);
		break;
	case K_OBJ:
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			return type_error(err, what, k->path, "an object", v);
		return check_object(v, k->path, what, err);
	case K_POOL:
		if (jv_get_kind(v) == JV_KIND_NUMBER)
			break;
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			return type_error(err, what, k->path, "a number or {\"clean\":n,\"dirty\":n}", v);
		jv_object_foreach(v, key, val) {
			bool ok = (!strcmp(jv_string_value(key), "clean") || !strcmp(jv_string_value(key), "dirty")) &&
				  jv_get_kind(val) == JV_KIND_NUMBER;
			jv_free(key);
			jv_free(val);
			if (!ok) {
				jv_free(v);
				return isol8_input_error(err, "%s: \"poolSize\" must be a number or {\"clean\":n,\"dirty\":n}", what);
			}
		}
		break;
	case K_TENANTS: /* {"<tenant>": {"maxConcurrent": n, "maxSessions": n}} */
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			return type_error(err, what, k->path, "an object of tenants", v);
		jv_object_foreach(v, tenant, lim) {
			bool ok = jv_get_kind(lim) == JV_KIND_OBJECT;
			if (ok) {
				jv_object_foreach(lim, name, n) {
					ok &= (!strcmp(jv_string_value(name), "maxConcurrent") ||
					       !strcmp(jv_string_value(name), "maxSessions")) &&
					      jv_get_kind(n) == JV_KIND_NUMBER && jv_number_value(n) >= 1 &&
					      jv_number_value(n) <= 100000 && jv_number_value(n) == (int)jv_number_value(n);
					jv_free(name);
					jv_free(n);
				}
			}
			if (!ok) {
				isol8_input_error(err, "%s: serve.tenants.%s must be {\"maxConcurrent\": n, \"maxSessions\": n} "
						  "(whole numbers from 1)", what, jv_string_value(tenant));
				jv_free(tenant);
				jv_free(lim);
				jv_free(v);
				return -1;
			}
			jv_free(tenant);
			jv_free(lim);
		}
		break;
	case K_IMAGES:
		if (jv_get_kind(v) != JV_KIND_ARRAY)
			return type_error(err, what, k->path, "an array", v);
		jv_array_foreach(v, i, e) {
			bool ok = jv_get_kind(e) == JV_KIND_OBJECT;
			/* a typo in an entry (setup for setupScript) is refused as one at the top is */
			if (ok && image_entry_unknown_key(e, i, what, err) < 0) {
				jv_free(e);
				jv_free(v);
				return -1;
			}
			if (ok) {
				jv tag = json_get(e, "tag"), rt = json_get(e, "runtime"), pk = json_get(e, "installPackages"),
				   su = json_get(e, "setupScript");
				ok = jv_get_kind(tag) == JV_KIND_STRING && jv_get_kind(rt) == JV_KIND_STRING &&
				     (!jv_is_valid(pk) || jv_get_kind(pk) == JV_KIND_ARRAY) &&
				     (!jv_is_valid(su) || jv_get_kind(su) == JV_KIND_STRING);
				if (jv_get_kind(pk) == JV_KIND_ARRAY) {
					jv_array_foreach(pk, pi, p) {
						(void)pi;
						ok &= jv_get_kind(p) == JV_KIND_STRING;
						jv_free(p);
					}
				}
				jv_free(tag);
				jv_free(rt);
				jv_free(pk);
				jv_free(su);
			}
			jv_free(e);
			if (!ok) {
				jv_free(v);
				return isol8_input_error(err, "%s: prebuiltImages[%d] needs string \"tag\" and \"runtime\", and "
							 "\"installPackages\" (strings) and \"setupScript\" (a string) if given",
							 what, i);
			}
		}
		break;
	}
	jv_free(v);
	return 0;
}

/* Sections of the reference's config this version does not act on. Their disabled form is
 * accepted (a config written for the reference loads); turning one on is refused with one line,
 * never accepted and ignored: an operator who enables a feature must not believe they have it. */
static int refuse_unbuilt(jv root, const char *what, isol8_err *err)
{
	static const struct {
		const char *key, *why;
	} on[] = {
		{"remoteCode.enabled", "fetching code from a URL is not supported (send the code itself)"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		jv v = config_get(&(isol8_config){.root = root}, on[i].key);
		bool enabled = jv_get_kind(v) == JV_KIND_TRUE;
		jv_free(v);
		if (enabled)
			return isol8_input_error(err, "%s: \"%s\" is true, but %s; set it to false or remove it", what,
						 on[i].key, on[i].why);
	}
	return 0;
}

/* With the audit log on, audit.postLogScript must be something execv can start: an executable
 * regular file by its absolute path (no shell, no PATH lookup). Said at start, not discovered
 * after each line when it silently does nothing. */
static int check_post_log_script(jv root, const char *what, isol8_err *err)
{
	isol8_config c = {.root = root};
	const char *script = config_str(&c, "audit.postLogScript", "");
	if (!config_bool(&c, "audit.enabled", 0) || !*script)
		return 0;
	struct stat st;
	const char *why = script[0] != '/' ? "it must be an absolute path"
			  : stat(script, &st) < 0 ? strerror(errno)
			  : !S_ISREG(st.st_mode) ? "not a regular file"
			  : access(script, X_OK) < 0 ? strerror(errno)
			  : NULL;
	if (why)
		return isol8_input_error(err, "%s: \"audit.postLogScript\" %s cannot be run: %s (it is started without a "
					 "shell, with the log file's path: give an executable file by its absolute path, or remove it)",
					 what, script, why);
	return 0;
}

int isol8_config_from_text(isol8_config *c, const char *text, size_t len, const char *what, isol8_err *err)
{
	jv file;
	if (json_parse(text, len, what, &file, err) < 0)
		return -1;
	if (jv_get_kind(file) != JV_KIND_OBJECT) {
		jv_free(file);
		return isol8_input_error(err, "%s: the configuration must be a JSON object", what);
	}
	if (check_object(jv_copy(file), "", what, err) < 0) {
		jv_free(file);
		return -1;
	}
	jv root = jv_parse(default_config);
	jv_object_foreach(file, key, val) {
		if (!strcmp(jv_string_value(key), "$schema")) {
			jv_free(key);
			jv_free(val);
			continue;
		}
		jv def = jv_object_get(jv_copy(root), jv_copy(key));
		if (jv_get_kind(def) == JV_KIND_OBJECT && jv_get_kind(val) == JV_KIND_OBJECT &&
		    strcmp(jv_string_value(key), "poolSize") != 0)
			val = jv_object_merge(def, val); /* shallow: section keys over defaults */
		else
			jv_free(def);
		root = jv_object_set(root, key, val);
	}
	jv_free(file);
	if (refuse_unbuilt(root, what, err) < 0 || check_post_log_script(root, what, err) < 0) {
		jv_free(root);
		return -1;
	}
	c->root = root; /* set only on success: c may be uninitialised before */
	c->source = NULL;
	return 0;
}

int isol8_config_load(isol8_config *c, isol8_err *err)
{
	c->root = jv_parse(default_config);
	c->source = NULL;
	char path[PATH_MAX];
	const char *env = getenv("ISOL8_CONFIG");
	const char *home = getenv("HOME");
	const char *cands[3] = {0};
	char homecfg[PATH_MAX] = "";
	if (env && *env) {
		cands[0] = env;
	} else {
		cands[0] = "isol8.config.json";
		if (home && *home) {
			snprintf(homecfg, sizeof homecfg, "%s/.isol8/config.json", home);
			cands[1] = homecfg;
		}
	}
	for (int i = 0; cands[i]; i++) {
		if (access(cands[i], F_OK) != 0) {
			if (env && *env)
				return isol8_input_error(err, "ISOL8_CONFIG names %s, which does not exist", env);
			continue;
		}
		isol8_buf b = {0};
		if (read_file(cands[i], 4 << 20, &b, err) < 0) {
			isol8_buf_free(&b);
			return -1;
		}
		if (!realpath(cands[i], path))
			snprintf(path, sizeof path, "%s", cands[i]);
		char what[PATH_MAX + 16];
		snprintf(what, sizeof what, "config %s", path);
		isol8_config loaded;
		int r = isol8_config_from_text(&loaded, (const char *)b.data, b.len, what, err);
		isol8_buf_free(&b);
		if (r < 0)
			return -1;
		jv_free(c->root);
		c->root = loaded.root;
		c->source = xstrdup(path);
		break;
	}
	return 0;
}

void isol8_config_free(isol8_config *c)
{
	jv_free(c->root);
	c->root = jv_invalid();
	free(c->source);
	c->source = NULL;
}

jv config_get(const isol8_config *c, const char *path)
{
	jv cur = jv_copy(c->root);
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		jv next = json_get(cur, tok);
		jv_free(cur);
		cur = next;
	}
	return cur;
}

double config_num(const isol8_config *c, const char *path, double fallback)
{
	jv v = config_get(c, path);
	double r = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : fallback;
	jv_free(v);
	return r;
}

const char *config_str(const isol8_config *c, const char *path, const char *fallback)
{
	/* The string lives in c->root, which outlives the returned pointer's use. */
	jv v = config_get(c, path);
	const char *r = fallback;
	if (jv_get_kind(v) == JV_KIND_STRING)
		r = jv_string_value(v);
	jv_free(v);
	return r;
}

int config_bool(const isol8_config *c, const char *path, int fallback)
{
	jv v = config_get(c, path);
	int r = jv_get_kind(v) == JV_KIND_TRUE ? 1 : jv_get_kind(v) == JV_KIND_FALSE ? 0 : fallback;
	jv_free(v);
	return r;
}

static void describe_list(isol8_buf *b, const char *label, jv arr)
{
	buf_puts(b, label);
	if (jv_get_kind(arr) != JV_KIND_ARRAY || jv_array_length(jv_copy(arr)) == 0) {
		buf_puts(b, "(none)\n");
	} else {
		int first = 1;
		jv_array_foreach(arr, i, e) {
			(void)i;
			if (!first)
				buf_puts(b, ", ");
			buf_puts(b, jv_string_value(e));
			first = 0;
			jv_free(e);
		}
		buf_puts(b, "\n");
	}
	jv_free(arr);
}

char *config_describe(const isol8_config *c)
{
	isol8_buf b = {0};
	char line[512];
#define L(...) (snprintf(line, sizeof line, __VA_ARGS__), buf_puts(&b, line))
	L("Isol8 Configuration\n");
	if (c->source)
		L("  Source: %s\n", c->source);
	else
		L("  Source: defaults (no config file found)\n");
	L("\n── General ──\n  Max concurrent:  %g\n", config_num(c, "maxConcurrent", 10));
	L("\n── Defaults ──\n  Timeout:         %gms\n", config_num(c, "defaults.timeoutMs", 30000));
	L("  Memory limit:    %s\n", config_str(c, "defaults.memoryLimit", "512m"));
	L("  CPU limit:       %g\n", config_num(c, "defaults.cpuLimit", 1));
	L("  Network:         %s\n", config_str(c, "defaults.network", "none"));
	L("  Sandbox size:    %s\n", config_str(c, "defaults.sandboxSize", "64m"));
	L("  Tmp size:        %s\n", config_str(c, "defaults.tmpSize", "256m"));
	L("  Read-only root:  %s\n", config_bool(c, "defaults.readonlyRootFs", 1) ? "yes" : "no");
	L("\n── Network Filter ──\n");
	describe_list(&b, "  Whitelist:       ", config_get(c, "network.whitelist"));
	describe_list(&b, "  Blacklist:       ", config_get(c, "network.blacklist"));
	L("\n── Security ──\n  Seccomp:         %s\n", config_str(c, "security.seccomp", "strict"));
	L("\n── Remote Code ──\n  Enabled:         %s\n", config_bool(c, "remoteCode.enabled", 0) ? "yes" : "no");
	describe_list(&b, "  Schemes:         ", config_get(c, "remoteCode.allowedSchemes"));
	L("  Max code size:   %g bytes\n", config_num(c, "remoteCode.maxCodeSize", 0));
	L("  Fetch timeout:   %gms\n", config_num(c, "remoteCode.fetchTimeoutMs", 0));
	L("  Require hash:    %s\n", config_bool(c, "remoteCode.requireHash", 0) ? "yes" : "no");
	double age = config_num(c, "cleanup.maxContainerAgeMs", 3600000);
	L("\n── Cleanup ──\n  Auto-prune:      %s\n", config_bool(c, "cleanup.autoPrune", 1) ? "yes" : "no");
	L("  Max idle time:   %gms (%gmin)\n", age, age / 60000);
	jv ps = config_get(c, "poolSize");
	L("\n── Pool Defaults (Serve) ──\n  Strategy:        %s\n", config_str(c, "poolStrategy", "fast"));
	if (jv_get_kind(ps) == JV_KIND_NUMBER)
		L("  Size:            %g\n", jv_number_value(ps));
	else {
		jv cl = json_get(ps, "clean"), di = json_get(ps, "dirty");
		L("  Size:            %g,%g\n", jv_get_kind(cl) == JV_KIND_NUMBER ? jv_number_value(cl) : 1,
		  jv_get_kind(di) == JV_KIND_NUMBER ? jv_number_value(di) : 1);
		jv_free(cl);
		jv_free(di);
	}
	jv_free(ps);
	L("\n── Figures (python) ──\n  Enabled:         %s\n", config_bool(c, "outputs.enabled", 1) ? "yes" : "no");
	L("  Max figures:     %.0f\n  Max pixels:      %.0f per image\n  Max bytes:       %.0f per run\n",
	  config_num(c, "outputs.maxCount", 10), config_num(c, "outputs.maxPixels", 4000000),
	  config_num(c, "outputs.maxBytes", 8388608));
#undef L
	return (char *)b.data;
}
