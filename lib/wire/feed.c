/* feed.c — see feed.h. */
#include "wire/feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

static int frame(int fd, char type, const void *a, size_t alen, const void *b, size_t blen)
{
	uint64_t len = alen + blen;
	if (write_all(fd, &type, 1) < 0 || write_all(fd, &len, 8) < 0 || (alen && write_all(fd, a, alen) < 0) ||
	    (blen && write_all(fd, b, blen) < 0))
		return -1;
	return 0;
}

static int list_frame(int fd, char type, char **v)
{
	isol8_buf b = {0};
	for (; *v; v++)
		buf_append(&b, *v, strlen(*v) + 1);
	int r = frame(fd, type, b.data, b.len, NULL, 0);
	isol8_buf_free(&b);
	return r;
}

size_t feed_size(const isol8_exec_spec *spec)
{
	size_t n = 4 * 9 + strlen(spec->cwd) + 1;
	for (size_t i = 0; i < spec->nfiles; i++)
		n += 9 + strlen(spec->files[i].path) + 5 + spec->files[i].len;
	for (char **v = spec->argv; *v; v++)
		n += strlen(*v) + 1;
	for (char **v = spec->envp; *v; v++)
		n += strlen(*v) + 1;
	return n;
}

int feed_write(int fd, const isol8_exec_spec *spec, isol8_err *err)
{
	for (size_t i = 0; i < spec->nfiles; i++) {
		isol8_buf hdr = {0};
		uint32_t mode = spec->files[i].mode ? spec->files[i].mode & 0755 : 0644;
		buf_append(&hdr, spec->files[i].path, strlen(spec->files[i].path) + 1);
		buf_append(&hdr, &mode, 4);
		int r = frame(fd, 'F', hdr.data, hdr.len, spec->files[i].data, spec->files[i].len);
		isol8_buf_free(&hdr);
		if (r < 0)
			goto broken;
	}
	if (list_frame(fd, 'A', spec->argv) < 0 || list_frame(fd, 'E', spec->envp) < 0 ||
	    frame(fd, 'C', spec->cwd, strlen(spec->cwd) + 1, NULL, 0) < 0 || frame(fd, 'X', NULL, 0, NULL, 0) < 0)
		goto broken;
	return 0;
broken:
	if (errno == EPIPE)
		return 0;
	return isol8_fail(err, ISOL8_E_SANDBOX, errno, "feeding the sandbox");
}

/* 0 when all n bytes were read, 1 at EOF before the first, -1 otherwise. */
static int read_exact(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	size_t want = n;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && n == want ? 1 : -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int feed_next(int fd, char *type, char **data, uint64_t *len)
{
	*data = NULL;
	int r = read_exact(fd, type, 1);
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (read_exact(fd, len, 8) != 0 || *len > FEED_FRAME_MAX)
		return -1;
	if (*type == 'X')
		return 1;
	char *d = malloc(*len + 1);
	if (!d || (*len && read_exact(fd, d, *len) != 0)) {
		free(d);
		return -1;
	}
	d[*len] = 0;
	*data = d;
	return 1;
}

int feed_file(const char *data, uint64_t len, const char **path, uint32_t *mode, const char **content,
	      size_t *content_len)
{
	size_t pl = strnlen(data, len);
	if (pl + 5 > len)
		return -1;
	*path = data;
	memcpy(mode, data + pl + 1, 4);
	*content = data + pl + 5;
	*content_len = len - pl - 5;
	return 0;
}

char **feed_list(const char *data, uint64_t len)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		count += data[i] == 0;
	char **v = xcalloc(count + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < len && k < count; k++) {
		v[k] = xstrdup(data + i);
		i += strlen(data + i) + 1;
	}
	return v;
}
