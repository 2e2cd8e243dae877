#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int json_parse(const char *text, size_t len, const char *what, jv *out, isol8_err *err)
{
	if (len > (size_t)0x7fffffff)
		return isol8_input_error(err, "%s: document too large", what);
	jv v = jv_parse_sized(text, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		if (jv_get_kind(msg) == JV_KIND_STRING) {
			/* jq appends "(while parsing '<the whole input>')": keep the position only, so an
			 * error stays one line and never echoes the document (it may hold secrets) */
			const char *m = jv_string_value(msg);
			const char *cut = strstr(m, " (while parsing");
			isol8_input_error(err, "%s: invalid JSON (%.*s)", what, cut ? (int)(cut - m) : (int)strlen(m), m);
		}
		else
			isol8_input_error(err, "%s: invalid JSON", what);
		jv_free(msg);
		return -1;
	}
	*out = v;
	return 0;
}

jv json_get(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_invalid();
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	return v;
}

bool json_get_bool(jv obj, const char *key)
{
	jv v = json_get(obj, key);
	bool r = jv_get_kind(v) == JV_KIND_TRUE;
	jv_free(v);
	return r;
}

char *json_dump(jv v, int flags)
{
	jv s = jv_dump_string(jv_copy(v), flags);
	char *r = xstrdup(jv_string_value(s));
	jv_free(s);
	return r;
}

int json_write_line(int fd, jv v)
{
	jv s = jv_dump_string(jv_copy(v), 0);
	isol8_buf b = {0};
	buf_append(&b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	buf_append(&b, "\n", 1);
	jv_free(s);
	int r = write_all(fd, b.data, b.len);
	isol8_buf_free(&b);
	return r;
}

jv json_bytes(const unsigned char *p, size_t n, bool *is_b64)
{
	if (utf8_valid(p, n)) {
		if (is_b64)
			*is_b64 = false;
		return jv_string_sized((const char *)p, (int)n);
	}
	size_t bl;
	char *b = base64_encode(p, n, &bl);
	jv v = jv_string_sized(b, (int)bl);
	free(b);
	if (is_b64)
		*is_b64 = true;
	return v;
}

const char *json_kind_name(jv_kind k)
{
	switch (k) {
	case JV_KIND_NULL: return "null";
	case JV_KIND_FALSE:
	case JV_KIND_TRUE: return "a boolean";
	case JV_KIND_NUMBER: return "a number";
	case JV_KIND_STRING: return "a string";
	case JV_KIND_ARRAY: return "an array";
	case JV_KIND_OBJECT: return "an object";
	default: return "invalid";
	}
}

jv json_read_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	jv v = n > 0 ? jv_parse_sized(line, (int)n) : jv_invalid();
	free(line);
	return v;
}

int json_expect(jv v, jv_kind k, const char *field, isol8_err *err)
{
	if (jv_get_kind(v) == k || (k == JV_KIND_TRUE && jv_get_kind(v) == JV_KIND_FALSE))
		return 0;
	const char *name = k == JV_KIND_TRUE ? "a boolean" : json_kind_name(k);
	return isol8_input_error(err, "%s must be %s, not %s", field, name, json_kind_name(jv_get_kind(v)));
}


int json_string_map(jv v, const char *field, isol8_kv **out, size_t *n, size_t max, isol8_err *err)
{
	if (json_expect(v, JV_KIND_OBJECT, field, err) < 0) {
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
			isol8_kv_add(out, n, jv_string_value(key), jv_string_value(val));
		jv_free(key);
		jv_free(val);
	}
	jv_free(v); /* jv_object_foreach borrows */
	return rc;
}

bool json_get_str(jv obj, const char *key, char *out, size_t n)
{
	jv v = json_get(obj, key);
	bool ok = jv_get_kind(v) == JV_KIND_STRING && (size_t)jv_string_length_bytes(jv_copy(v)) < n &&
		  !json_string_has_nul(v);
	if (ok)
		snprintf(out, n, "%s", jv_string_value(v));
	jv_free(v);
	return ok;
}

bool json_array_str(jv arr, int i, char *out, size_t n)
{
	jv v = jv_array_get(jv_copy(arr), i);
	bool ok = jv_get_kind(v) == JV_KIND_STRING && (size_t)jv_string_length_bytes(jv_copy(v)) < n &&
		  !json_string_has_nul(v);
	snprintf(out, n, "%s", ok ? jv_string_value(v) : "");
	jv_free(v);
	return ok;
}

bool json_get_num(jv obj, const char *key, double min, double max, double *out)
{
	jv v = json_get(obj, key);
	bool ok = jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= min && jv_number_value(v) <= max;
	if (ok)
		*out = jv_number_value(v);
	jv_free(v);
	return ok;
}

/* Threat: a JSON string may hold "\u0000"; as a C string it ends there, so "/sandbox/a\u0000b"
 * would silently name /sandbox/a (and an id "abc\u0000def" the session "abc"). Names that
 * become paths or ids are refused instead of cut. */
bool json_string_has_nul(jv s)
{
	return jv_get_kind(s) == JV_KIND_STRING &&
	       strlen(jv_string_value(s)) != (size_t)jv_string_length_bytes(jv_copy(s));
}
