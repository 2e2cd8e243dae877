#include "wire/request.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/runtime.h"
#include "core/sbpath.h"
#include "core/util.h"

void isol8_request_init(isol8_request *r)
{
	memset(r, 0, sizeof *r);
	r->timeout_ms = -1;
}

void isol8_request_free(isol8_request *r)
{
	free(r->runtime);
	free(r->code);
	free(r->cmd);
	free(r->file_ext);
	free(r->stdin_data);
	free(r->workdir);
	kv_free(r->env, r->nenv);
	kv_free(r->metadata, r->nmetadata);
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
	free(r->setup_script);
	free(r->image_setup_script);
	isol8_request_init(r);
}

int isol8_request_add_file(isol8_request *r, const char *path, const void *data, size_t len, isol8_err *err)
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


static int nul_path_error(const char *field, jv s, isol8_err *err)
{
	return isol8_input_error(err, "%s: the path \"%s…\" contains a NUL byte; remove it", field, jv_string_value(s));
}


static int parse_string_field(const char *k, jv val, isol8_request *r, isol8_err *err)
{
	char f[64];
	snprintf(f, sizeof f, "request.%s", k);
	if (json_expect(val, JV_KIND_STRING, f, err) < 0)
		return -1;
	char **dst = !strcmp(k, "runtime") ? &r->runtime : !strcmp(k, "code") ? &r->code : !strcmp(k, "cmd") ? &r->cmd
		   : !strcmp(k, "fileExtension") ? &r->file_ext : !strcmp(k, "setupScript") ? &r->setup_script : &r->workdir;
	free(*dst);
	*dst = !strcmp(k, "runtime") ? xstrdup(jv_string_value(val))
				     : xstrndup(jv_string_value(val), (size_t)jv_string_length_bytes(jv_copy(val)));
	return 0;
}

static int parse_stdin(jv val, isol8_request *r, isol8_err *err)
{
	if (json_expect(val, JV_KIND_STRING, "request.stdin", err) < 0)
		return -1;
	size_t n = (size_t)jv_string_length_bytes(jv_copy(val));
	r->stdin_data = xmalloc(n + 1);
	memcpy(r->stdin_data, jv_string_value(val), n);
	r->stdin_len = n;
	r->has_stdin = true;
	return 0;
}

static int parse_timeout(jv val, isol8_request *r, isol8_err *err)
{
	if (json_expect(val, JV_KIND_NUMBER, "request.timeoutMs", err) < 0)
		return -1;
	double d = jv_number_value(val);
	if (!(d >= 1 && d <= 86400000))
		return isol8_input_error(err, "request.timeoutMs must be between 1 and 86400000");
	r->timeout_ms = (long long)d;
	return 0;
}

/* metadata: an object of strings, copied into the audit log's record. */
static int parse_metadata(jv val, isol8_request *r, isol8_err *err)
{
	kv_free(r->metadata, r->nmetadata);
	r->metadata = NULL;
	r->nmetadata = 0;
	return json_string_map(jv_copy(val), "request.metadata", &r->metadata, &r->nmetadata, 256, err);
}

/* One entry of request.files: text, or {"base64": "..."} for binary content. */
static int parse_file(jv fk, jv fv, isol8_request *r, isol8_err *err)
{
	if (json_string_has_nul(fk))
		return nul_path_error("request.files", fk, err);
	if (jv_get_kind(fv) == JV_KIND_STRING)
		return isol8_request_add_file(r, jv_string_value(fk), jv_string_value(fv),
					      (size_t)jv_string_length_bytes(jv_copy(fv)), err);
	if (jv_get_kind(fv) != JV_KIND_OBJECT)
		return isol8_input_error(err, "request.files[\"%s\"] must be a string", jv_string_value(fk));
	jv b = json_get(fv, "base64");
	isol8_buf dec = {0};
	int rc;
	if (jv_get_kind(b) != JV_KIND_STRING ||
	    base64_decode(jv_string_value(b), (size_t)jv_string_length_bytes(jv_copy(b)), &dec) < 0)
		rc = isol8_input_error(err, "request.files[\"%s\"] must be a string or {\"base64\": \"…\"}",
				       jv_string_value(fk));
	else
		rc = isol8_request_add_file(r, jv_string_value(fk), dec.data, dec.len, err);
	isol8_buf_free(&dec);
	jv_free(b);
	return rc;
}

static int parse_files(jv val, isol8_request *r, isol8_err *err)
{
	int rc = json_expect(val, JV_KIND_OBJECT, "request.files", err);
	if (rc < 0)
		return rc;
	jv_object_foreach(val, fk, fv) {
		if (rc == 0)
			rc = parse_file(fk, fv, r, err);
		jv_free(fk);
		jv_free(fv);
	}
	return rc;
}

static int parse_output_path(jv e, isol8_request *r, isol8_err *err)
{
	if (jv_get_kind(e) != JV_KIND_STRING)
		return isol8_input_error(err, "request.outputPaths entries must be strings");
	if (r->noutput >= ISOL8_MAX_FILES)
		return isol8_input_error(err, "too many outputPaths (limit %d)", ISOL8_MAX_FILES);
	if (json_string_has_nul(e))
		return nul_path_error("request.outputPaths", e, err);
	char *p = resolve_sandbox_path(jv_string_value(e), err);
	if (!p)
		return -1;
	r->output_paths = xrealloc(r->output_paths, (r->noutput + 1) * sizeof(char *));
	r->output_paths[r->noutput++] = p;
	return 0;
}

/* outputPaths and installPackages: arrays of strings. */
static int parse_list(const char *k, jv val, isol8_request *r, isol8_err *err)
{
	bool outputs = !strcmp(k, "outputPaths");
	int rc = json_expect(val, JV_KIND_ARRAY, outputs ? "request.outputPaths" : "request.installPackages", err);
	if (rc < 0)
		return rc;
	jv_array_foreach(val, i, e) {
		(void)i;
		if (rc == 0 && outputs)
			rc = parse_output_path(e, r, err);
		else if (rc == 0 && jv_get_kind(e) != JV_KIND_STRING)
			rc = isol8_input_error(err, "request.installPackages entries must be strings");
		else if (rc == 0)
			isol8_strv_add(&r->install, &r->ninstall, jv_string_value(e));
		jv_free(e);
	}
	return rc;
}

/* figureFormats: ["png"], ["svg"] or both, each at most once (what a python run's figures come
 * back as). Anything else is refused: a format silently dropped would be a figure lost. */
static int parse_figure_formats(jv val, isol8_request *r, isol8_err *err)
{
	static const char msg[] = "request.figureFormats must be a non-empty array of \"png\" and/or \"svg\"";
	if (jv_get_kind(val) != JV_KIND_ARRAY || jv_array_length(jv_copy(val)) == 0)
		return isol8_input_error(err, "%s", msg);
	unsigned f = 0;
	int rc = 0;
	jv_array_foreach(val, i, e) {
		(void)i;
		unsigned one = jv_get_kind(e) != JV_KIND_STRING     ? 0
			       : !strcmp(jv_string_value(e), "png") ? ISOL8_FIGURE_PNG
			       : !strcmp(jv_string_value(e), "svg") ? ISOL8_FIGURE_SVG
								    : 0;
		if (rc == 0 && (!one || (f & one) || json_string_has_nul(e)))
			rc = isol8_input_error(err, "%s, each once", msg);
		f |= one;
		jv_free(e);
	}
	if (rc == 0)
		r->figure_formats = f;
	return rc;
}

int figure_formats_parse(const char *text, unsigned *out, isol8_err *err)
{
	unsigned f = !strcmp(text, "png")       ? ISOL8_FIGURE_PNG
		     : !strcmp(text, "svg")     ? ISOL8_FIGURE_SVG
		     : !strcmp(text, "png,svg") || !strcmp(text, "svg,png") ? ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG
						: 0;
	if (!f)
		return isol8_input_error(err, "--figures must be png, svg or png,svg, not \"%s\"", text);
	*out = f;
	return 0;
}

jv figure_formats_json(unsigned formats)
{
	jv l = jv_array();
	if (!formats || (formats & ISOL8_FIGURE_PNG))
		l = jv_array_append(l, jv_string("png"));
	if (formats & ISOL8_FIGURE_SVG)
		l = jv_array_append(l, jv_string("svg"));
	return l;
}

/* Fields of the reference this isol8 refuses rather than ignores. */
static int refused_field(const char *k, isol8_err *err)
{
	if (!strcmp(k, "codeUrl") || !strcmp(k, "codeHash") || !strcmp(k, "allowInsecureCodeUrl"))
		return isol8_input_error(err, "request.%s: fetching code from a URL is not supported; send the code itself", k);
	if (!strcmp(k, "agentFlags"))
		return isol8_input_error(err, "request.%s is not supported by this isol8", k);
	return isol8_input_error(err, "unknown field request.%s", k);
}

static int parse_request_field(const char *k, jv val, isol8_request *r, isol8_err *err)
{
	if (jv_get_kind(val) == JV_KIND_NULL)
		return 0; /* null means "not given", as JSON clients often send */
	if (!strcmp(k, "runtime") || !strcmp(k, "code") || !strcmp(k, "cmd") || !strcmp(k, "fileExtension") ||
	    !strcmp(k, "workdir") || !strcmp(k, "setupScript"))
		return parse_string_field(k, val, r, err);
	if (!strcmp(k, "stdin"))
		return parse_stdin(val, r, err);
	if (!strcmp(k, "timeoutMs"))
		return parse_timeout(val, r, err);
	if (!strcmp(k, "env"))
		return json_string_map(jv_copy(val), "request.env", &r->env, &r->nenv, ISOL8_MAX_ENV, err);
	if (!strcmp(k, "metadata"))
		return parse_metadata(val, r, err);
	if (!strcmp(k, "files"))
		return parse_files(val, r, err);
	if (!strcmp(k, "outputPaths") || !strcmp(k, "installPackages"))
		return parse_list(k, val, r, err);
	if (!strcmp(k, "figureFormats"))
		return parse_figure_formats(val, r, err);
	return refused_field(k, err);
}

static int parse_request_fields(jv req, isol8_request *r, isol8_err *err)
{
	int rc = 0;
	jv_object_foreach(req, key, val) {
		if (rc == 0)
			rc = parse_request_field(jv_string_value(key), val, r, err);
		jv_free(key);
		jv_free(val);
	}
	jv_free(req);
	return rc;
}

jv isol8_request_json(const isol8_request *r)
{
	jv o = jv_object();
	if (r->runtime)
		o = jv_object_set(o, jv_string("runtime"), jv_string(r->runtime));
	if (r->code)
		o = jv_object_set(o, jv_string("code"), jv_string(r->code));
	if (r->cmd)
		o = jv_object_set(o, jv_string("cmd"), jv_string(r->cmd));
	if (r->file_ext)
		o = jv_object_set(o, jv_string("fileExtension"), jv_string(r->file_ext));
	if (r->workdir)
		o = jv_object_set(o, jv_string("workdir"), jv_string(r->workdir));
	if (r->has_stdin)
		o = jv_object_set(o, jv_string("stdin"), jv_string_sized((const char *)r->stdin_data, (int)r->stdin_len));
	if (r->timeout_ms > 0)
		o = jv_object_set(o, jv_string("timeoutMs"), jv_number((double)r->timeout_ms));
	if (r->nenv) {
		jv env = jv_object();
		for (size_t i = 0; i < r->nenv; i++)
			env = jv_object_set(env, jv_string(r->env[i].key), jv_string(r->env[i].value));
		o = jv_object_set(o, jv_string("env"), env);
	}
	if (r->nfiles) {
		jv files = jv_object();
		for (size_t i = 0; i < r->nfiles; i++) {
			size_t bl;
			char *b = base64_encode(r->files[i].data ? r->files[i].data : (unsigned char *)"", r->files[i].len, &bl);
			files = jv_object_set(files, jv_string(r->files[i].path),
					      jv_object_set(jv_object(), jv_string("base64"), jv_string_sized(b, (int)bl)));
			free(b);
		}
		o = jv_object_set(o, jv_string("files"), files);
	}
	if (r->noutput) {
		jv l = jv_array();
		for (size_t i = 0; i < r->noutput; i++)
			l = jv_array_append(l, jv_string(r->output_paths[i]));
		o = jv_object_set(o, jv_string("outputPaths"), l);
	}
	if (r->ninstall) {
		jv l = jv_array();
		for (size_t i = 0; i < r->ninstall; i++)
			l = jv_array_append(l, jv_string(r->install[i]));
		o = jv_object_set(o, jv_string("installPackages"), l);
	}
	if (r->setup_script)
		o = jv_object_set(o, jv_string("setupScript"), jv_string(r->setup_script));
	if (r->nmetadata) {
		jv m = jv_object();
		for (size_t i = 0; i < r->nmetadata; i++)
			m = jv_object_set(m, jv_string(r->metadata[i].key), jv_string(r->metadata[i].value));
		o = jv_object_set(o, jv_string("metadata"), m);
	}
	if (r->figure_formats)
		o = jv_object_set(o, jv_string("figureFormats"), figure_formats_json(r->figure_formats));
	return o;
}

int isol8_request_from_json(jv doc, isol8_request *r, isol8_options *o, const isol8_config *c, isol8_err *err)
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
				rc = options_from_json(jv_copy(opts), o, c, err);
		}
	} else {
		rc = parse_request_fields(jv_copy(doc), r, err);
	}
	jv_free(req);
	jv_free(opts);
	jv_free(doc);
	return rc;
}

int isol8_request_validate(isol8_request *r, const isol8_options *o, isol8_err *err)
{
	if (!r->runtime || !*r->runtime)
		return isol8_input_error(err, "ExecutionRequest.runtime is required");
	if (!runtime_get(r->runtime))
		return isol8_input_error(err, "Unknown runtime: \"%s\". Available: %s", r->runtime, runtime_names());
	int given = !str_blank(r->code) + !str_blank(r->cmd);
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
	return isol8_options_validate(o, err);
}
