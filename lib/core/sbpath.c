/* sbpath.c — paths inside the sandbox, as strings: normalized, and refused when they escape
 * /sandbox (a workdir) or /sandbox and /tmp (files, output paths). Only the text is judged here;
 * what is on the way (links, FIFOs) is judged when the path is opened (safepath.h). */
#include "core/sbpath.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

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


char *resolve_sandbox_dir(const char *p, isol8_err *err)
{
	if (p && p[0] == '/' && strlen(p) <= 1024) {
		char *n = normalize(p);
		if (!strcmp(n, "/sandbox") || !strcmp(n, "/tmp")) {
			char *root = xasprintf("%s/", n);
			free(n);
			return root;
		}
		free(n);
	}
	return resolve_sandbox_path(p, err);
}
