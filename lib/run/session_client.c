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
#include "wire/events.h"

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

/* SESSION_OUT_BUFFERED: the result's output once the exec is over */
void result_show_buffered(isol8_result *res)
{
	isol8_buf o = res->out, e = res->err;
	rtrim_buf(&o);
	rtrim_buf(&e);
	if (o.len) {
		(void)write_all(1, o.data, o.len);
		(void)write_all(1, "\n", 1);
	}
	if (e.len) {
		(void)write_all(2, e.data, e.len);
		(void)write_all(2, "\n", 1);
	}
	if (res->truncated)
		fputs("[WARN] Output was truncated\n", stderr);
}

/* The result (borrowed): *code is its exit code; shown as mode says. */
static void show_result(jv data, enum session_output mode, int *code)
{
	isol8_result res;
	isol8_err err = {0};
	if (isol8_result_from_json(jv_copy(data), &res, &err) < 0) {
		*code = 1;
		return;
	}
	*code = res.exit_code;
	if (mode == SESSION_OUT_JSON)
		json_write_line(1, data);
	else if (mode == SESSION_OUT_BUFFERED)
		result_show_buffered(&res); /* the bytes, decoded: output that is not UTF-8 travels as base64 */
	isol8_result_free(&res);
}

/* One reply line, shown as mode says; *code is set by a refusal or the result. Malformed lines
 * are skipped. */
static void show_line(const char *line, size_t n, enum session_output mode, int *code, bool *got_result, jv *result,
		      bool *mid_line)
{
	isol8_evread ev;
	switch (evr_parse_line(line, n, &ev)) {
	case EVR_REFUSAL:
		fflush(stdout);
		fprintf(stderr, "[ERR] %s\n", (const char *)ev.data.data);
		*code = 1;
		break;
	case EVR_STDOUT:
	case EVR_STDERR:
		if (mode == SESSION_OUT_STREAM)
			(void)write_all(ev.kind == EVR_STDOUT ? 1 : 2, ev.data.data, ev.data.len);
		if (mode == SESSION_OUT_STREAM && ev.kind == EVR_STDOUT && ev.data.len)
			*mid_line = ev.data.data[ev.data.len - 1] != '\n';
		break;
	case EVR_ERROR:
		if (mode == SESSION_OUT_STREAM)
			fprintf(stderr, "[ERR] %s\n", (const char *)ev.data.data);
		break;
	case EVR_RESULT:
		*got_result = true;
		if (result) {
			jv_free(*result);
			*result = jv_copy(ev.result);
		}
		show_result(ev.result, mode, code);
		break;
	default:
		break;
	}
	evr_free(&ev);
}

int session_show_exec(FILE *f, enum session_output mode, jv *result, bool *mid_line)
{
	*mid_line = false;
	if (result)
		*result = jv_invalid();
	int code = 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool got_result = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (mode == SESSION_OUT_EVENTS)
			fwrite(line, 1, (size_t)n, stdout);
		show_line(line, (size_t)n, mode, &code, &got_result, result, mid_line);
	}
	free(line);
	return got_result ? code : 1;
}
