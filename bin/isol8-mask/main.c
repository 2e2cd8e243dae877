/* isol8-mask — the streaming secret masker as a filter: stdin to stdout, every secret (and its
 * URL, hex and base64 encodings) replaced by ***, with the masker isol8 run uses on a program's
 * output (lib/run/mask.h). See isol8-mask(1).
 *
 * Threat: the secrets themselves. /proc/PID/cmdline is readable by every local user, so values
 * come from the environment (--secret-env NAME) or a file (--secret-file FILE), never from argv.
 * A filter given no secret refuses to run rather than pass its input through unmasked. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "run/mask.h"
#include "core/util.h"

static const char usage[] =
	"Usage: isol8-mask --secret-env NAME | --secret-file FILE ...\n"
	"\n"
	"Copy standard input to standard output with every secret, and its URL, hex and base64\n"
	"encodings, replaced by ***, as isol8 run masks a program's output. Output streams: only the\n"
	"bytes that could still begin a secret are held back.\n"
	"\n"
	"      --secret-env NAME   the value of the environment variable NAME is a secret (repeatable)\n"
	"      --secret-file FILE  every non-empty line of FILE is a secret (repeatable)\n"
	"  -h, --help              this text\n";

#define MAX_SECRET_FILE (1u << 20)

struct secrets {
	char **v;
	size_t n;
};

static void add_secret(struct secrets *s, const char *value, size_t len)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n++] = xstrndup(value, len);
}

static void secrets_from_env(struct secrets *s, const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		isol8_die("--secret-env %s: the variable is not set or empty", name);
	add_secret(s, v, strlen(v));
}

/* One secret a line (CR LF or LF); a NUL byte is refused, since no secret could be matched
 * past it. */
static void secrets_from_file(struct secrets *s, const char *path)
{
	isol8_buf b = {0};
	isol8_err err = {0};
	/* a regular file only: a FIFO named here would hold the filter before it read a byte */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		isol8_die("--secret-file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		isol8_die("--secret-file %s: not a regular file", path);
	if (read_fd_all(fd, MAX_SECRET_FILE, &b, &err) < 0)
		isol8_die("--secret-file %s: %s", path, err.msg);
	close(fd);
	if (b.len && memchr(b.data, 0, b.len))
		isol8_die("--secret-file %s: holds a NUL byte; give one secret a line, as text", path);
	size_t before = s->n;
	for (size_t i = 0; i < b.len;) {
		const char *line = (const char *)b.data + i;
		const char *nl = memchr(line, '\n', b.len - i);
		size_t len = nl ? (size_t)(nl - line) : b.len - i;
		i += len + (nl ? 1 : 0);
		if (len && line[len - 1] == '\r')
			len--;
		if (len)
			add_secret(s, line, len);
	}
	isol8_buf_free(&b);
	if (s->n == before)
		isol8_die("--secret-file %s: holds no secret (one a line)", path);
}

static void write_out(isol8_buf *out)
{
	if (out->len && write_all(1, out->data, out->len) < 0)
		isol8_die("cannot write the output: %s", strerror(errno));
	out->len = 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"secret-env", required_argument, 0, 'e'}, {"secret-file", required_argument, 0, 'f'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	struct secrets s = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'e': secrets_from_env(&s, optarg); break;
		case 'f': secrets_from_file(&s, optarg); break;
		case 'h': fputs(usage, stdout); return 0;
		default: isol8_die("unknown option or missing value: %s (see isol8-mask --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		isol8_die("isol8-mask takes no arguments, got \"%s\": secrets come from --secret-env or --secret-file",
			  argv[optind]);
	if (!s.n)
		isol8_die("isol8-mask needs a secret: --secret-env NAME or --secret-file FILE");
	isol8_masker m;
	masker_init(&m, (const char *const *)s.v, s.n);
	isol8_buf out = {0};
	unsigned char in[65536];
	for (;;) {
		ssize_t n = read(0, in, sizeof in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			isol8_die("cannot read the input: %s", strerror(errno));
		if (n == 0)
			break;
		masker_feed(&m, in, (size_t)n, &out);
		write_out(&out);
	}
	masker_flush(&m, &out);
	write_out(&out);
	masker_free(&m);
	isol8_buf_free(&out);
	for (size_t i = 0; i < s.n; i++) {
		explicit_bzero(s.v[i], strlen(s.v[i]));
		free(s.v[i]);
	}
	free(s.v);
	return 0;
}
