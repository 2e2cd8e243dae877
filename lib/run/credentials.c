/* credentials.c — see credentials.h. */
#include "run/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"

char *credentials_path(void)
{
	const char *home = getenv("HOME");
	return xasprintf("%s/.isol8/credentials.json", home && *home ? home : "/root");
}

int credentials_save(const char *host, const char *token, const char *expires_at, const char *key_id, isol8_err *err)
{
	char *path = credentials_path(), *dir = xstrdup(path);
	*strrchr(dir, '/') = 0;
	jv o = jv_object_set(jv_object(), jv_string("host"), jv_string(host));
	o = jv_object_set(o, jv_string("token"), jv_string(token));
	o = jv_object_set(o, jv_string("expiresAt"), jv_string(expires_at));
	o = jv_object_set(o, jv_string("keyId"), jv_string(key_id));
	char *text = json_dump(o, JV_PRINT_PRETTY | JV_PRINT_SPACE2), *tmp = xasprintf("%s.tmp", path);
	jv_free(o);
	int rc = 0;
	if (mkdir_p(dir, 0700) < 0) {
		rc = isol8_fail(err, ISOL8_E_INPUT, errno, "cannot create %s", dir);
	} else {
		/* created 0600: the token is never readable by others, not even for a moment */
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write_all(fd, text, strlen(text)) == 0 &&
			  write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
		if (fd >= 0 && close(fd) < 0)
			ok = false;
		if (!ok || rename(tmp, path) < 0) {
			rc = isol8_fail(err, ISOL8_E_INPUT, errno, "cannot write %s", path);
			unlink(tmp);
		}
	}
	explicit_bzero(text, strlen(text));
	free(text);
	free(tmp);
	free(dir);
	free(path);
	return rc;
}

int credentials_remove(isol8_err *err)
{
	char *path = credentials_path();
	int rc = unlink(path) == 0 ? 1 : errno == ENOENT ? 0 : isol8_fail(err, ISOL8_E_INPUT, errno, "cannot remove %s", path);
	free(path);
	return rc;
}

static size_t host_len(const char *h)
{
	size_t n = strlen(h);
	return n && h[n - 1] == '/' ? n - 1 : n;
}

char *credentials_key_for(const char *flag, const char *host)
{
	if (flag && *flag)
		return xstrdup(flag);
	const char *env = getenv("ISOL8_API_KEY");
	if (env && *env)
		return xstrdup(env);
	char *path = credentials_path(), *key = NULL;
	isol8_buf b = {0};
	isol8_err e = {0};
	if (host && read_file(path, 65536, &b, &e) == 0 && b.len) {
		jv v = jv_parse_sized((const char *)b.data, (int)b.len);
		char h[2048], tok[512], exp[64], now[32];
		iso8601_now(now);
		if (json_get_str(v, "host", h, sizeof h) && json_get_str(v, "token", tok, sizeof tok) &&
		    json_get_str(v, "expiresAt", exp, sizeof exp) && host_len(h) == host_len(host) &&
		    !strncmp(h, host, host_len(h))) {
			if (strcmp(exp, now) > 0)
				key = xstrdup(tok);
			else
				fprintf(stderr, "[WARN] Stored credentials have expired. Run `isol8 login` to re-authenticate.\n");
		}
		explicit_bzero(tok, sizeof tok);
		jv_free(v);
	}
	if (b.data)
		explicit_bzero(b.data, b.len);
	isol8_buf_free(&b);
	free(path);
	return key;
}
