/* session_client.c — see session_client.h. */
#include "run/session_client.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "run/session.h"
#include "state/meta.h"
#include "state/rundir.h"

bool session_listening(const char *id)
{
	if (!session_id_valid(id, 64))
		return false;
	char *sock = session_path(id, ISOL8_SESSION_SOCKET);
	int fd = unix_connect(sock);
	free(sock);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

jv session_list(void)
{
	char *dir = rundir_sessions(NULL);
	DIR *d = opendir(dir);
	jv all = jv_array();
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !session_id_valid(e->d_name, 64))
			continue;
		char *path = session_path(e->d_name, ISOL8_SESSION_META);
		isol8_session_meta m;
		if (session_meta_read(path, &m, NULL) == 0)
			all = jv_array_append(all, jv_object_set(session_meta_json(&m), jv_string("alive"),
								 jv_bool(session_listening(e->d_name))));
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
	return all;
}

/* ---- an exec's reply --------------------------------------------------------------------- */

static void show_output(const char *type, jv data, jv enc)
{
	isol8_buf b = {0};
	if (jv_get_kind(enc) == JV_KIND_STRING)
		base64_decode(jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)), &b);
	else
		buf_append(&b, jv_string_value(data), (size_t)jv_string_length_bytes(jv_copy(data)));
	(void)write_all(!strcmp(type, "stdout") ? 1 : 2, b.data, b.len);
	isol8_buf_free(&b);
}

/* SESSION_OUT_BUFFERED: the result's output once the exec is over */
static void show_buffered(jv data)
{
	jv o = json_get(data, "stdout"), er = json_get(data, "stderr"), tr = json_get(data, "truncated");
	if (jv_string_length_bytes(jv_copy(o)))
		printf("%s\n", jv_string_value(o));
	fflush(stdout);
	if (jv_string_length_bytes(jv_copy(er)))
		fprintf(stderr, "%s\n", jv_string_value(er));
	if (jv_get_kind(tr) == JV_KIND_TRUE)
		fputs("[WARN] Output was truncated\n", stderr);
	jv_free(o);
	jv_free(er);
	jv_free(tr);
}

/* One reply line (borrowed), shown as mode says; *code is set by an error or the result. */
static void show_line(jv v, enum session_output mode, int *code, bool *got_result)
{
	jv type = json_get(v, "type"), data = json_get(v, "data"), enc = json_get(v, "encoding"), e = json_get(v, "error");
	const char *t = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "";
	if (jv_get_kind(e) == JV_KIND_STRING) {
		fflush(stdout);
		fprintf(stderr, "[ERR] %s\n", jv_string_value(e));
		*code = 1;
	} else if (mode == SESSION_OUT_STREAM && (!strcmp(t, "stdout") || !strcmp(t, "stderr"))) {
		show_output(t, data, enc);
	} else if (mode == SESSION_OUT_STREAM && !strcmp(t, "error")) {
		fprintf(stderr, "[ERR] %s\n", jv_string_value(data));
	} else if (!strcmp(t, "result")) {
		*got_result = true;
		jv ec = json_get(data, "exitCode");
		*code = jv_get_kind(ec) == JV_KIND_NUMBER ? (int)jv_number_value(ec) : 1;
		jv_free(ec);
		if (mode == SESSION_OUT_JSON)
			json_write_line(1, data);
		else if (mode == SESSION_OUT_BUFFERED)
			show_buffered(data);
	}
	jv_free(type);
	jv_free(data);
	jv_free(enc);
	jv_free(e);
}

int session_show_exec(FILE *f, enum session_output mode)
{
	int code = 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool got_result = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (mode == SESSION_OUT_EVENTS)
			fwrite(line, 1, (size_t)n, stdout);
		jv v = jv_parse_sized(line, (int)n);
		show_line(v, mode, &code, &got_result);
		jv_free(v);
	}
	free(line);
	return got_result ? code : 1;
}
