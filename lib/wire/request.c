#include "wire/request.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "net/proxy.h"
#include "run/runtime.h"
#include "core/util.h"

void request_init(isol8_request *r)
{
	memset(r, 0, sizeof *r);
	r->timeout_ms = -1;
}

static void kv_free(isol8_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void kv_add(isol8_kv **v, size_t *n, const char *key, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].key, key)) { /* last one wins, as in a JS object */
			free((*v)[i].value);
			(*v)[i].value = xstrdup(value);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[*n].key = xstrdup(key);
	(*v)[*n].value = xstrdup(value);
	(*n)++;
}

void strv_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

void strv_clear(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

void request_free(isol8_request *r)
{
	free(r->runtime);
	free(r->code);
	free(r->cmd);
	free(r->file_ext);
	free(r->stdin_data);
	free(r->workdir);
	kv_free(r->env, r->nenv);
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].data);
	}
	free(r->files);
	for (size_t i = 0; i < r->noutput; i++)
		free(r->output_paths[i]);
	free(r->output_paths);
	strv_clear(&r->install, &r->ninstall);
	free(r->registry);
	request_init(r);
}

const char **options_secret_values(const isol8_options *o)
{
	const char **v = xcalloc(o->nsecrets + 1, sizeof *v);
	for (size_t i = 0; i < o->nsecrets; i++)
		v[i] = o->secrets[i].value;
	return v;
}

void options_free(isol8_options *o)
{
	kv_free(o->secrets, o->nsecrets);
	strv_clear(&o->net_allow, &o->nallow);
	strv_clear(&o->net_deny, &o->ndeny);
	free(o->image);
	memset(o, 0, sizeof *o);
}

static int size_opt(const char *s, const char *what, uint64_t *out, isol8_err *err)
{
	if (parse_size(s, out) < 0 || *out == 0)
		return isol8_input_error(err, "Invalid %s format: \"%s\". Use e.g. \"512m\", \"1g\".", what, s);
	return 0;
}

int net_from_name(const char *name)
{
	static const char *const names[] = {[ISOL8_NET_NONE] = "none", [ISOL8_NET_HOST] = "host",
					    [ISOL8_NET_FILTERED] = "filtered"};
	for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

int options_from_config(isol8_options *o, const isol8_config *c, isol8_err *err)
{
	memset(o, 0, sizeof *o);
	int net = net_from_name(config_str(c, "defaults.network", "none"));
	o->network = net < 0 ? ISOL8_NET_NONE : (enum isol8_net)net; /* config_load refused other names */
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
			strv_add(k ? &o->net_deny : &o->net_allow, k ? &o->ndeny : &o->nallow, jv_string_value(e));
			jv_free(e);
		}
		jv_free(l);
	}
	if (size_opt(config_str(c, "defaults.memoryLimit", "512m"), "memory limit", &o->memory_limit, err) < 0 ||
	    size_opt(config_str(c, "defaults.sandboxSize", "64m"), "sandbox size", &o->sandbox_size, err) < 0 ||
	    size_opt(config_str(c, "defaults.tmpSize", "256m"), "tmp size", &o->tmp_size, err) < 0)
		return -1;
	return 0;
}

/* ---- path rules ------------------------------------------------------------------------- */

/* POSIX normalization of an absolute path: collapses //, ., and .. (never above /). */
static char *normalize(const char *abs)
{
	size_t n = strlen(abs);
	char *out = xmalloc(n + 2);
	size_t o = 0;
	const char *p = abs;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, s, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return out;
}

static bool under(const char *path, const char *dir, bool allow_equal)
{
	size_t n = strlen(dir);
	if (strncmp(path, dir, n) != 0)
		return false;
	return path[n] == '/' || (allow_equal && path[n] == 0);
}

char *resolve_workdir(const char *w, isol8_err *err)
{
	if (!w || !*w)
		return xstrdup("/sandbox");
	if (strlen(w) > 1024 || memchr(w, '\n', strlen(w))) {
		isol8_input_error(err, "Working directory must be inside /sandbox");
		return NULL;
	}
	char *abs = w[0] == '/' ? xstrdup(w) : xasprintf("/sandbox/%s", w);
	char *n = normalize(abs);
	free(abs);
	if (!under(n, "/sandbox", true)) {
		free(n);
		isol8_input_error(err, "Working directory must be inside /sandbox");
		return NULL;
	}
	return n;
}

char *resolve_sandbox_path(const char *p, isol8_err *err)
{
	if (!p || p[0] != '/' || strlen(p) > 1024) {
		isol8_input_error(err, "File path must be absolute and inside /sandbox or /tmp: \"%s\"", p ? p : "");
		return NULL;
	}
	char *n = normalize(p);
	if (!under(n, "/sandbox", false) && !under(n, "/tmp", false)) {
		isol8_input_error(err, "File path must be inside /sandbox or /tmp: \"%s\"", p);
		free(n);
		return NULL;
	}
	return n;
}

int request_add_file(isol8_request *r, const char *path, const void *data, size_t len, isol8_err *err)
{
	if (r->nfiles >= ISOL8_MAX_FILES)
		return isol8_input_error(err, "too many files (limit %d)", ISOL8_MAX_FILES);
	char *p = resolve_sandbox_path(path, err);
	if (!p)
		return -1;
	r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof *r->files);
	r->files[r->nfiles].path = p;
	r->files[r->nfiles].data = xmalloc(len + 1);
	memcpy(r->files[r->nfiles].data, data, len);
	r->files[r->nfiles].len = len;
	r->files[r->nfiles].mode = 0;
	r->nfiles++;
	return 0;
}

/* ---- JSON ----------------------------------------------------------------------------- */

/* Threat: a JSON string may hold "\u0000"; as a C string it ends there, so "/sandbox/a\u0000b"
 * would silently name /sandbox/a (and an id "abc\u0000def" the session "abc"). Names that
 * become paths or ids are refused instead of cut. */
bool json_string_has_nul(jv s)
{
	return jv_get_kind(s) == JV_KIND_STRING &&
	       strlen(jv_string_value(s)) != (size_t)jv_string_length_bytes(jv_copy(s));
}

static int nul_path_error(const char *field, jv s, isol8_err *err)
{
	return isol8_input_error(err, "%s: the path \"%s…\" contains a NUL byte; remove it", field, jv_string_value(s));
}

static int want(jv v, jv_kind k, const char *field, isol8_err *err)
{
	if (jv_get_kind(v) == k || (k == JV_KIND_TRUE && jv_get_kind(v) == JV_KIND_FALSE))
		return 0;
	const char *name = k == JV_KIND_TRUE ? "a boolean" : json_kind_name(k);
	return isol8_input_error(err, "%s must be %s, not %s", field, name, json_kind_name(jv_get_kind(v)));
}

static int string_map(jv v, const char *field, isol8_kv **out, size_t *n, size_t max, isol8_err *err)
{
	if (want(v, JV_KIND_OBJECT, field, err) < 0) {
		jv_free(v);
		return -1;
	}
	int rc = 0;
	jv_object_foreach(v, key, val) {
		if (rc == 0 && jv_get_kind(val) != JV_KIND_STRING)
			rc = isol8_input_error(err, "%s.%s must be a string", field, jv_string_value(key));
		else if (rc == 0 && *n >= max)
			rc = isol8_input_error(err, "%s has too many entries (limit %zu)", field, max);
		else if (rc == 0)
			kv_add(out, n, jv_string_value(key), jv_string_value(val));
		jv_free(key);
		jv_free(val);
	}
	jv_free(v); /* jv_object_foreach borrows */
	return rc;
}

static int parse_request_fields(jv req, isol8_request *r, isol8_err *err)
{
	int rc = 0;
	jv_object_foreach(req, key, val) {
		const char *k = jv_string_value(key);
		jv_kind kind = jv_get_kind(val);
		if (rc < 0) {
		} else if (kind == JV_KIND_NULL) {
			/* null means "not given", as JSON clients often send */
		} else if (!strcmp(k, "runtime")) {
			if ((rc = want(val, JV_KIND_STRING, "request.runtime", err)) == 0)
				r->runtime = xstrdup(jv_string_value(val));
		} else if (!strcmp(k, "code") || !strcmp(k, "cmd") || !strcmp(k, "fileExtension") ||
			   !strcmp(k, "workdir")) {
			char f[64];
			snprintf(f, sizeof f, "request.%s", k);
			if ((rc = want(val, JV_KIND_STRING, f, err)) == 0) {
				char **dst = !strcmp(k, "code") ? &r->code : !strcmp(k, "cmd") ? &r->cmd
					   : !strcmp(k, "fileExtension") ? &r->file_ext : &r->workdir;
				free(*dst);
				*dst = xstrndup(jv_string_value(val), (size_t)jv_string_length_bytes(jv_copy(val)));
			}
		} else if (!strcmp(k, "stdin")) {
			if ((rc = want(val, JV_KIND_STRING, "request.stdin", err)) == 0) {
				size_t n = (size_t)jv_string_length_bytes(jv_copy(val));
				r->stdin_data = xmalloc(n + 1);
				memcpy(r->stdin_data, jv_string_value(val), n);
				r->stdin_len = n;
				r->has_stdin = true;
			}
		} else if (!strcmp(k, "timeoutMs")) {
			if ((rc = want(val, JV_KIND_NUMBER, "request.timeoutMs", err)) == 0) {
				double d = jv_number_value(val);
				if (!(d >= 1 && d <= 86400000))
					rc = isol8_input_error(err, "request.timeoutMs must be between 1 and 86400000");
				else
					r->timeout_ms = (long long)d;
			}
		} else if (!strcmp(k, "env")) {
			rc = string_map(jv_copy(val), "request.env", &r->env, &r->nenv, ISOL8_MAX_ENV, err);
		} else if (!strcmp(k, "metadata")) {
			isol8_kv *m = NULL;
			size_t n = 0;
			rc = string_map(jv_copy(val), "request.metadata", &m, &n, 256, err);
			for (size_t i = 0; i < n; i++) {
				free(m[i].key);
				free(m[i].value);
			}
			free(m);
		} else if (!strcmp(k, "files")) {
			if ((rc = want(val, JV_KIND_OBJECT, "request.files", err)) == 0) {
				jv_object_foreach(val, fk, fv) {
					if (rc == 0 && json_string_has_nul(fk))
						rc = nul_path_error("request.files", fk, err);
					if (rc == 0) {
						if (jv_get_kind(fv) == JV_KIND_STRING) {
							rc = request_add_file(r, jv_string_value(fk), jv_string_value(fv),
									      (size_t)jv_string_length_bytes(jv_copy(fv)), err);
						} else if (jv_get_kind(fv) == JV_KIND_OBJECT) {
							/* {"base64": "..."} carries binary content through JSON */
							jv b = json_get(fv, "base64");
							isol8_buf dec = {0};
							if (jv_get_kind(b) != JV_KIND_STRING ||
							    base64_decode(jv_string_value(b), (size_t)jv_string_length_bytes(jv_copy(b)), &dec) < 0)
								rc = isol8_input_error(err, "request.files[\"%s\"] must be a string or {\"base64\": \"…\"}",
										       jv_string_value(fk));
							else
								rc = request_add_file(r, jv_string_value(fk), dec.data, dec.len, err);
							buf_free(&dec);
							jv_free(b);
						} else {
							rc = isol8_input_error(err, "request.files[\"%s\"] must be a string", jv_string_value(fk));
						}
					}
					jv_free(fk);
					jv_free(fv);
				}
			}
		} else if (!strcmp(k, "outputPaths")) {
			if ((rc = want(val, JV_KIND_ARRAY, "request.outputPaths", err)) == 0) {
				jv_array_foreach(val, i, e) {
					(void)i;
					if (rc == 0) {
						char *p = NULL;
						if (jv_get_kind(e) != JV_KIND_STRING)
							rc = isol8_input_error(err, "request.outputPaths entries must be strings");
						else if (r->noutput >= ISOL8_MAX_FILES)
							rc = isol8_input_error(err, "too many outputPaths (limit %d)", ISOL8_MAX_FILES);
						else if (json_string_has_nul(e))
							rc = nul_path_error("request.outputPaths", e, err);
						else if (!(p = resolve_sandbox_path(jv_string_value(e), err)))
							rc = -1;
						if (p) {
							r->output_paths = xrealloc(r->output_paths, (r->noutput + 1) * sizeof(char *));
							r->output_paths[r->noutput++] = p;
						}
					}
					jv_free(e);
				}
			}
		} else if (!strcmp(k, "installPackages")) {
			if ((rc = want(val, JV_KIND_ARRAY, "request.installPackages", err)) == 0) {
				jv_array_foreach(val, i, e) {
					(void)i;
					if (rc == 0 && jv_get_kind(e) != JV_KIND_STRING)
						rc = isol8_input_error(err, "request.installPackages entries must be strings");
					else if (rc == 0)
						strv_add(&r->install, &r->ninstall, jv_string_value(e));
					jv_free(e);
				}
			}
		} else if (!strcmp(k, "codeUrl") || !strcmp(k, "codeHash") || !strcmp(k, "allowInsecureCodeUrl")) {
			rc = isol8_input_error(err, "request.%s: fetching code from a URL is not supported; send the code itself", k);
		} else if (!strcmp(k, "setupScript") || !strcmp(k, "agentFlags")) {
			rc = isol8_input_error(err, "request.%s is not supported by this isol8", k);
		} else {
			rc = isol8_input_error(err, "unknown field request.%s", k);
		}
		jv_free(key);
		jv_free(val);
	}
	jv_free(req);
	return rc;
}

static int num_field(jv v, const char *field, double min, double max, double *out, isol8_err *err)
{
	if (want(v, JV_KIND_NUMBER, field, err) < 0)
		return -1;
	double d = jv_number_value(v);
	if (!(d >= min && d <= max))
		return isol8_input_error(err, "%s must be between %g and %g", field, min, max);
	*out = d;
	return 0;
}

static int parse_option_fields(jv opts, isol8_options *o, const isol8_config *c, isol8_err *err)
{
	int rc = 0;
	double d;
	jv_object_foreach(opts, key, val) {
		const char *k = jv_string_value(key);
		jv_kind kind = jv_get_kind(val);
		if (rc < 0 || kind == JV_KIND_NULL) {
		} else if (!strcmp(k, "network")) {
			if ((rc = want(val, JV_KIND_STRING, "options.network", err)) == 0) {
				const char *n = jv_string_value(val);
				int net = net_from_name(n);
				if (net >= 0)
					o->network = (enum isol8_net)net;
				else
					rc = isol8_input_error(err, "options.network must be none, host or filtered, not \"%s\"", n);
			}
		} else if (!strcmp(k, "memoryLimit") || !strcmp(k, "sandboxSize") || !strcmp(k, "tmpSize")) {
			char f[64];
			snprintf(f, sizeof f, "options.%s", k);
			if ((rc = want(val, JV_KIND_STRING, f, err)) == 0)
				rc = size_opt(jv_string_value(val), !strcmp(k, "memoryLimit") ? "memory limit" : k,
					      !strcmp(k, "memoryLimit") ? &o->memory_limit
					      : !strcmp(k, "sandboxSize") ? &o->sandbox_size : &o->tmp_size, err);
		} else if (!strcmp(k, "cpuLimit")) {
			if ((rc = num_field(val, "options.cpuLimit", 0.01, 1024, &d, err)) == 0)
				o->cpu_limit = d;
		} else if (!strcmp(k, "pidsLimit")) {
			if ((rc = num_field(val, "options.pidsLimit", 1, 1 << 22, &d, err)) == 0)
				o->pids_limit = (long long)d;
		} else if (!strcmp(k, "maxOutputSize")) {
			if ((rc = num_field(val, "options.maxOutputSize", 1, 1ull << 34, &d, err)) == 0)
				o->max_output = (uint64_t)d;
		} else if (!strcmp(k, "timeoutMs")) {
			if ((rc = num_field(val, "options.timeoutMs", 1, 86400000, &d, err)) == 0)
				o->timeout_ms = (long long)d;
		} else if (!strcmp(k, "secrets")) {
			rc = string_map(jv_copy(val), "options.secrets", &o->secrets, &o->nsecrets, ISOL8_MAX_ENV, err);
		} else if (!strcmp(k, "image")) {
			if ((rc = want(val, JV_KIND_STRING, "options.image", err)) == 0) {
				free(o->image);
				o->image = xstrdup(jv_string_value(val));
			}
		} else if (!strcmp(k, "readonlyRootFs") || !strcmp(k, "persist") || !strcmp(k, "debug") ||
			   !strcmp(k, "logNetwork")) {
			char f[64];
			snprintf(f, sizeof f, "options.%s", k);
			if ((rc = want(val, JV_KIND_TRUE, f, err)) == 0) {
				bool b = kind == JV_KIND_TRUE;
				if (!strcmp(k, "readonlyRootFs"))
					o->writable = !b;
				else if (!strcmp(k, "persist"))
					o->persist = b;
				else if (!strcmp(k, "debug"))
					o->debug = b;
				else if (!strcmp(k, "logNetwork"))
					o->log_network = b;
			}
		} else if (!strcmp(k, "mode")) {
			if ((rc = want(val, JV_KIND_STRING, "options.mode", err)) == 0 && strcmp(jv_string_value(val), "ephemeral"))
				rc = isol8_input_error(err, "options.mode \"%s\" is not supported here: isol8-run runs ephemeral executions",
						       jv_string_value(val));
		} else if (!strcmp(k, "security")) {
			if ((rc = want(val, JV_KIND_OBJECT, "options.security", err)) == 0) {
				jv s = json_get(val, "seccomp");
				const char *allowed = config_str(c, "security.seccomp", "strict");
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
			}
		} else if (!strcmp(k, "networkFilter")) {
			/* {whitelist, blacklist}: each list given replaces the config's */
			if ((rc = want(val, JV_KIND_OBJECT, "options.networkFilter", err)) == 0) {
				static const char *const names[2] = {"whitelist", "blacklist"};
				for (int n = 0; n < 2 && rc == 0; n++) {
					jv l = json_get(val, names[n]);
					if (jv_get_kind(l) == JV_KIND_ARRAY) {
						strv_clear(n ? &o->net_deny : &o->net_allow, n ? &o->ndeny : &o->nallow);
						jv_array_foreach(l, i, e) {
							(void)i;
							if (jv_get_kind(e) != JV_KIND_STRING)
								rc = isol8_input_error(err, "options.networkFilter.%s must be an array of strings", names[n]);
							else
								strv_add(n ? &o->net_deny : &o->net_allow, n ? &o->ndeny : &o->nallow,
									 jv_string_value(e));
							jv_free(e);
						}
					} else if (jv_is_valid(l) && jv_get_kind(l) != JV_KIND_NULL) {
						rc = isol8_input_error(err, "options.networkFilter.%s must be an array of strings", names[n]);
					}
					jv_free(l);
				}
			}
		} else if (!strcmp(k, "poolStrategy") || !strcmp(k, "poolSize") || !strcmp(k, "audit") ||
			   !strcmp(k, "remoteCode")) {
			/* operator-side settings: a client cannot change them, and they do not change this run */
		} else {
			rc = isol8_input_error(err, "unknown field options.%s", k);
		}
		jv_free(key);
		jv_free(val);
	}
	jv_free(opts);
	return rc;
}

int request_from_json(jv doc, isol8_request *r, isol8_options *o, const isol8_config *c, isol8_err *err)
{
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		jv_free(doc);
		return isol8_input_error(err, "the request must be a JSON object");
	}
	jv req = json_get(doc, "request");
	jv opts = json_get(doc, "options");
	int rc = 0;
	if (jv_is_valid(req)) {
		/* server shape {request, options, sessionId} */
		jv_object_foreach(doc, key, val) {
			const char *k = jv_string_value(key);
			if (rc == 0 && strcmp(k, "request") && strcmp(k, "options") && strcmp(k, "sessionId"))
				rc = isol8_input_error(err, "unknown field \"%s\" (expected request, options)", k);
			if (rc == 0 && !strcmp(k, "sessionId") && jv_get_kind(val) != JV_KIND_NULL)
				rc = isol8_input_error(err, "sessionId needs persistent sessions (isol8-session), not isol8-run");
			jv_free(key);
			jv_free(val);
		}
		if (rc == 0 && jv_get_kind(req) != JV_KIND_OBJECT)
			rc = isol8_input_error(err, "request must be an object");
		if (rc == 0)
			rc = parse_request_fields(jv_copy(req), r, err);
		if (rc == 0 && jv_is_valid(opts) && jv_get_kind(opts) != JV_KIND_NULL) {
			if (jv_get_kind(opts) != JV_KIND_OBJECT)
				rc = isol8_input_error(err, "options must be an object");
			else
				rc = parse_option_fields(jv_copy(opts), o, c, err);
		}
	} else {
		rc = parse_request_fields(jv_copy(doc), r, err);
	}
	jv_free(req);
	jv_free(opts);
	jv_free(doc);
	return rc;
}

int validate_package_name(const char *name, isol8_err *err)
{
	bool ok = *name && strlen(name) <= 214;
	for (const char *p = name; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr("@_./-=", *p);
	if (!ok || name[0] == '-')
		return isol8_input_error(err, "Invalid package name: \"%s\". Only alphanumeric, -, _, ., /, @, and = are allowed.", name);
	return 0;
}

/* The host part of a URL, as an anchored, escaped pattern ("^registry\\.npmjs\\.org$"). */
static char *host_pattern(const char *url)
{
	const char *h = strstr(url, "://");
	if (!h)
		return NULL;
	h += 3;
	size_t n = strcspn(h, ":/?#");
	if (!n || n > 253)
		return NULL;
	isol8_buf b = {0};
	buf_puts(&b, "^");
	for (size_t i = 0; i < n; i++) {
		if (strchr(".+*?()[]{}|^$\\", h[i]))
			buf_append(&b, "\\", 1);
		buf_append(&b, &h[i], 1);
	}
	buf_puts(&b, "$");
	return (char *)b.data;
}

/* First line a command prints (for `npm config get registry` and friends), or NULL. */
static char *first_line_of(char *const argv[])
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	isol8_buf b = {0};
	isol8_err e = {0};
	if (pid > 0)
		read_fd_all(p[0], 4096, &b, &e);
	close(p[0]);
	int st = 1;
	if (pid > 0)
		waitpid(pid, &st, 0);
	char *line = NULL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && b.len) {
		size_t n = strcspn((char *)b.data, "\r\n");
		if (n && strncmp((char *)b.data, "undefined", 9) && strncmp((char *)b.data, "null", 4))
			line = xstrndup((char *)b.data, n);
	}
	buf_free(&b);
	return line;
}

/* The registry a package manager on this host is configured with: nothing is hard-coded, so
 * a private mirror is what gets opened. */
static char *registry_url(const char *runtime)
{
	if (!strcmp(runtime, "node") || !strcmp(runtime, "bun")) {
		const char *env = getenv("NPM_CONFIG_REGISTRY") ? getenv("NPM_CONFIG_REGISTRY") : getenv("npm_config_registry");
		if (env && *env)
			return xstrdup(env);
		char *argv[] = {"npm", "config", "get", "registry", NULL};
		return first_line_of(argv);
	}
	if (!strcmp(runtime, "python")) {
		const char *env = getenv("PIP_INDEX_URL");
		if (env && *env)
			return xstrdup(env);
		char *argv[] = {"/usr/bin/python3", "-m", "pip", "config", "get", "global.index-url", NULL};
		return first_line_of(argv);
	}
	return NULL;
}

int request_prepare_install(isol8_request *r, isol8_options *o, bool network_explicit, isol8_err *err)
{
	if (!r->ninstall)
		return 0;
	for (size_t i = 0; i < r->ninstall; i++)
		if (validate_package_name(r->install[i], err) < 0)
			return -1;
	if (!strcmp(r->runtime, "bash"))
		return isol8_input_error(err, "--install is not available for bash: the sandbox's root filesystem is read-only and has no package manager to write to /sandbox");
	if (!network_explicit)
		o->network = ISOL8_NET_FILTERED;
	if (o->network != ISOL8_NET_FILTERED)
		return 0;
	if (!strcmp(r->runtime, "deno")) {
		/* deno caches URLs: open exactly the hosts named */
		for (size_t i = 0; i < r->ninstall; i++) {
			char *pat = host_pattern(r->install[i]);
			if (!pat)
				return isol8_input_error(err, "--install for deno takes module URLs (https://…), got \"%s\"", r->install[i]);
			strv_add(&o->net_allow, &o->nallow, pat);
			free(pat);
		}
		return 0;
	}
	char *url = registry_url(r->runtime);
	char *pat = url ? host_pattern(url) : NULL;
	bool dup = false;
	for (size_t i = 0; pat && i < o->nallow; i++)
		dup |= !strcmp(o->net_allow[i], pat);
	if (pat && !dup)
		strv_add(&o->net_allow, &o->nallow, pat);
	if (!pat && !o->nallow)
		/* no registry configured on this host and no --allow: open nothing rather than
		 * everything (an empty whitelist means "all public hosts") */
		strv_add(&o->net_allow, &o->nallow, "^$");
	free(pat);
	r->registry = url; /* handed to the package manager inside, so a mirror is honoured */
	return 0;
}

static bool blank(const char *s)
{
	if (!s)
		return true;
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\v' && *s != '\f')
			return false;
	return true;
}

int options_validate(const isol8_options *o, isol8_err *err)
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

int request_validate(isol8_request *r, const isol8_options *o, isol8_err *err)
{
	if (!r->runtime || !*r->runtime)
		return isol8_input_error(err, "ExecutionRequest.runtime is required");
	if (!runtime_get(r->runtime))
		return isol8_input_error(err, "Unknown runtime: \"%s\". Available: %s", r->runtime, runtime_names());
	int given = !blank(r->code) + !blank(r->cmd);
	if (given > 1)
		return isol8_input_error(err, "ExecutionRequest.code, ExecutionRequest.codeUrl, and ExecutionRequest.cmd are mutually exclusive — provide exactly one.");
	if (given == 0)
		return isol8_input_error(err, "ExecutionRequest must include exactly one of: code, codeUrl, or cmd.");
	char *w = resolve_workdir(r->workdir, err);
	if (!w)
		return -1;
	free(r->workdir);
	r->workdir = w;
	if (r->file_ext) {
		const char *e = r->file_ext;
		bool ok = e[0] == '.' && strlen(e) <= 16 && e[1];
		for (const char *p = e + 1; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
		if (!ok)
			return isol8_input_error(err, "fileExtension must look like \".py\" (a dot and letters/digits)");
	}
	for (size_t i = 0; i < r->nenv; i++)
		if (!*r->env[i].key || strchr(r->env[i].key, '='))
			return isol8_input_error(err, "env names must be non-empty and contain no '=': \"%s\"", r->env[i].key);
	return options_validate(o, err);
}
