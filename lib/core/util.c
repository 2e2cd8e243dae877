#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	static const char m[] = "[ERR] out of memory\n";
	(void)!write(2, m, sizeof m - 1);
	_exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

void buf_append(isol8_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf_puts(isol8_buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void isol8_buf_free(isol8_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int read_fd_all(int fd, size_t max, isol8_buf *out, isol8_err *err)
{
	unsigned char tmp[65536];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return isol8_fail(err, ISOL8_E_INTERNAL, errno, "read");
		}
		if (r == 0)
			return 0;
		if (out->len + (size_t)r > max)
			return isol8_input_error(err, "input is larger than the %zu-byte limit", max);
		buf_append(out, tmp, (size_t)r);
	}
}

int read_file(const char *path, size_t max, isol8_buf *out, isol8_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_INPUT, errno, "cannot open %s", path);
	int r = read_fd_all(fd, max, out, err);
	close(fd);
	return r;
}

int write_file(const char *path, const char *s, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	int r = write_all(fd, s, strlen(s));
	if (close(fd) < 0)
		r = -1;
	return r;
}

int parse_size(const char *s, uint64_t *out)
{
	/* ^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$ case-insensitive, powers of 1024, floored. */
	const char *p = s;
	if (!*p || !(*p >= '0' && *p <= '9'))
		return -1;
	long double v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -1;
		long double f = 0.1L;
		while (*p >= '0' && *p <= '9') {
			v += f * (*p++ - '0');
			f /= 10;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	long double mul = 1;
	switch (*p | 0x20) {
	case 'k': mul = 1024.0L; p++; break;
	case 'm': mul = 1024.0L * 1024; p++; break;
	case 'g': mul = 1024.0L * 1024 * 1024; p++; break;
	case 't': mul = 1024.0L * 1024 * 1024 * 1024; p++; break;
	default: break;
	}
	if ((*p | 0x20) == 'b')
		p++;
	if (*p)
		return -1;
	v *= mul;
	if (v > (long double)UINT64_MAX / 2)
		return -1;
	*out = (uint64_t)floorl(v);
	return 0;
}

int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	if (!s || !*s)
		return -1;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	if (!s || !*s)
		return -1;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

uint64_t now_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

void iso8601_at(uint64_t ms, char out[32])
{
	struct tm tm = {0};
	time_t s = (time_t)(ms / 1000);
	if (!gmtime_r(&s, &tm)) /* not strftime: it reads /etc/localtime on every call */
		memset(&tm, 0, sizeof tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)(ms % 1000));
}

void iso8601_now(char out[32])
{
	iso8601_at(now_real_ms(), out);
}

void random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof raw)
		nbytes = sizeof raw;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t r = getrandom(raw + got, nbytes - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			abort(); /* no entropy: never hand out predictable ids */
		got += (size_t)r;
	}
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
}

void uuid_v4(char out[37])
{
	char h[33];
	random_hex(h, 16);
	h[12] = '4';
	h[16] = "89ab"[(h[16] >= 'a' ? h[16] - 'a' + 10 : h[16] - '0') & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const unsigned char *p, size_t n, size_t *outlen)
{
	size_t olen = (n + 2) / 3 * 4;
	char *o = xmalloc(olen + 1), *q = o;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*q++ = b64[v >> 18];
		*q++ = b64[(v >> 12) & 63];
		*q++ = b64[(v >> 6) & 63];
		*q++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*q++ = b64[v >> 18];
		*q++ = b64[(v >> 12) & 63];
		*q++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*q++ = '=';
	}
	*q = 0;
	if (outlen)
		*outlen = olen;
	return o;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int base64_decode(const char *s, size_t n, isol8_buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '\n' || c == '\r' || c == ' ')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			unsigned char byte = (unsigned char)(acc >> bits);
			buf_append(out, &byte, 1);
		}
	}
	if (pad > 2)
		return -1;
	if (!out->data)
		buf_append(out, "", 0);
	return 0;
}

/* Returns the length of a valid UTF-8 sequence at p (1..4), 0 if invalid, -k if truncated after k bytes. */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	int len;
	unsigned min;
	if (c < 0x80)
		return 1;
	else if ((c & 0xe0) == 0xc0) { len = 2; min = 0x80; c &= 0x1f; }
	else if ((c & 0xf0) == 0xe0) { len = 3; min = 0x800; c &= 0x0f; }
	else if ((c & 0xf8) == 0xf0) { len = 4; min = 0x10000; c &= 0x07; }
	else
		return 0;
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -i;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		int l = utf8_seq(p + i, n - i);
		if (l <= 0)
			return false;
		i += (size_t)l;
	}
	return true;
}

size_t utf8_complete_prefix(const unsigned char *p, size_t n)
{
	/* Only the last 3 bytes can start an unfinished sequence. */
	size_t start = n > 3 ? n - 3 : 0;
	for (size_t i = start; i < n; i++) {
		if ((p[i] & 0xc0) == 0x80)
			continue;
		int l = utf8_seq(p + i, n - i);
		if (l < 0)
			return i;
	}
	return n;
}

int mkdir_p(const char *path, int mode)
{
	char tmp[PATH_MAX];
	if (strlen(path) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(tmp, path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

unsigned long long proc_start_time(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *s = strrchr(buf, ')'); /* the command name may contain spaces and ')' */
	if (s && (s[2] == 'Z' || s[2] == 'X'))
		return 0; /* exited, not yet reaped: dead for every purpose of ours */
	unsigned long long v = 0;
	for (int field = 2; s && *s; s++)
		if (*s == ' ' && ++field == 22) {
			v = strtoull(s + 1, NULL, 10);
			break;
		}
	return v;
}

void boot_id(char out[64])
{
	out[0] = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, 63);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = 0;
}

int signalfd_for(int sig, ...)
{
	sigset_t set;
	sigemptyset(&set);
	va_list ap;
	va_start(ap, sig);
	for (; sig; sig = va_arg(ap, int))
		sigaddset(&set, sig);
	va_end(ap);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int unix_socket_at(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a->sun_path, path);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int unix_connect(const char *path)
{
	struct sockaddr_un a;
	int fd = unix_socket_at(path, &a);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int unix_listen(const char *path)
{
	struct sockaddr_un a;
	int fd = unix_socket_at(path, &a);
	if (fd < 0)
		return -1;
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool sibling_tool(const char *tool, char *out, size_t n)
{
	char self[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
	if (l <= 0)
		return false;
	self[l] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = 0;
	int w = snprintf(out, n, "%s/%s", self, tool);
	return w > 0 && (size_t)w < n && access(out, X_OK) == 0;
}

bool proc_alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && proc_start_time(pid) == start;
}

uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}

/* ---- key/value lists and string vectors ---- */

void kv_free(isol8_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void isol8_kv_add(isol8_kv **v, size_t *n, const char *key, const char *value)
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

void isol8_strv_add(char ***v, size_t *n, const char *s)
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


bool str_blank(const char *s)
{
	if (!s)
		return true;
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\v' && *s != '\f')
			return false;
	return true;
}

int command_stdout(char *const argv[], size_t max, isol8_buf *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
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
	isol8_err e = {0};
	if (pid > 0)
		read_fd_all(p[0], max, out, &e);
	close(p[0]);
	int st = 1;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
