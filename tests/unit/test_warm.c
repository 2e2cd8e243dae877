/* warm_fits (when a pre-started interpreter may take a run), the base environment's digest, and
 * the one message warm_send writes. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/engine.h"
#include "tap.h"
#include "run/warm.h"

/* base with extra ("K=V") set: replacing K's entry, or appended (strings are borrowed) */
static char **with(char **base, const char *extra)
{
	size_t n = 0, kl = strcspn(extra, "=") + 1;
	while (base[n])
		n++;
	char **v = calloc(n + 2, sizeof *v);
	bool set = false;
	for (size_t i = 0; i < n; i++) {
		bool same_key = !strncmp(base[i], extra, kl);
		v[i] = same_key ? (char *)extra : base[i];
		set |= same_key;
	}
	if (!set)
		v[n] = (char *)extra;
	return v;
}

int main(void)
{
	char **base = warm_base_env();
	isol8_request r;
	isol8_request_init(&r);
	char *py_c[] = {"python3", "-c", "print(1)", NULL}, *py_f[] = {"python3", "/sandbox/main.py", NULL},
	     *node_e[] = {"node", "-e", "1", NULL}, *node_f[] = {"node", "/sandbox/main.mjs", NULL},
	     *bun[] = {"bun", "-e", "1", NULL}, *py_extra[] = {"python3", "-c", "1", "arg", NULL},
	     *sh_c[] = {"bash", "-c", "echo 1", NULL}, *sh_f[] = {"bash", "/sandbox/main.sh", NULL},
	     *sh_extra[] = {"bash", "-c", "echo $0", "name", NULL};

	ok(warm_fits(&r, py_c, base, base), "python -c with the base environment fits");
	ok(warm_fits(&r, py_f, base, base) && warm_fits(&r, node_e, base, base) && warm_fits(&r, node_f, base, base),
	   "python FILE, node -e and node FILE fit");
	ok(!warm_fits(&r, bun, base, base), "bun has no warm driver");
	ok(warm_fits(&r, sh_c, base, base) && warm_fits(&r, sh_f, base, base), "bash -c and bash FILE fit (bash's zygote)");
	ok(!warm_fits(&r, sh_extra, base, base), "bash -c with a $0 of its own does not fit");
	ok(!warm_fits(&r, py_extra, base, base), "an argv the driver cannot reproduce does not fit");

	char **e = with(base, "FOO=bar");
	ok(warm_fits(&r, py_c, e, base), "a variable of the program's own fits (set by the driver)");
	free(e);
	const char *startup[] = {"PYTHONHASHSEED=0", "LC_ALL=C", "LANG=de_DE.UTF-8", "TZ=UTC", "LD_PRELOAD=/sandbox/x.so",
				 "LD_LIBRARY_PATH=/sandbox", "GLIBC_TUNABLES=glibc.malloc.check=3", "MALLOC_ARENA_MAX=1"};
	for (size_t i = 0; i < sizeof startup / sizeof *startup; i++) {
		e = with(base, startup[i]);
		ok(!warm_fits(&r, py_c, e, base), "%s (read at start-up) does not fit", startup[i]);
		free(e);
	}
	e = with(base, "NODE_OPTIONS=--max-old-space-size=64");
	ok(!warm_fits(&r, node_e, e, base) && warm_fits(&r, py_c, e, base), "NODE_OPTIONS: not for node, fine for python");
	free(e);
	e = with(base, "POSIXLY_CORRECT=1");
	ok(!warm_fits(&r, sh_c, e, base) && warm_fits(&r, py_c, e, base), "POSIXLY_CORRECT: not for bash, fine for python");
	free(e);
	e = with(base, "SSH_CLIENT=10.0.0.1 22 22");
	ok(!warm_fits(&r, sh_c, e, base) && warm_fits(&r, py_c, e, base), "SSH_CLIENT: not for bash, fine for python");
	free(e);
	char *big = malloc(140000);
	memcpy(big, "BIG=", 4);
	memset(big + 4, 'x', 140000 - 5);
	big[140000 - 1] = 0;
	e = with(base, big);
	ok(!warm_fits(&r, py_c, e, base) && !warm_fits(&r, sh_c, e, base), "a variable longer than execve takes (128 KiB) does not fit");
	free(e);
	memset(big + 4, 'x', 100000);
	big[100004] = 0;
	e = with(base, big);
	ok(warm_fits(&r, py_c, e, base), "a variable of 100 kB fits");
	free(e);
	free(big);
	e = with(base, "LD_PRELOAD=/sandbox/x.so");
	ok(!warm_fits(&r, sh_c, e, base) && !warm_fits(&r, node_e, e, base), "LD_PRELOAD: for no runtime");
	free(e);
	e = with(base, "HOME=/elsewhere");
	ok(!warm_fits(&r, py_c, e, base), "one of isol8's own variables with another value does not fit");
	free(e);

	r.cmd = "echo";
	ok(!warm_fits(&r, py_c, base, base), "a --cmd run does not fit");
	r.cmd = NULL;
	r.ninstall = 1;
	ok(!warm_fits(&r, py_c, base, base), "package installs do not fit");
	r.ninstall = 0;
	r.workdir = "/sandbox/sub";
	ok(!warm_fits(&r, py_c, base, base), "another working directory does not fit");
	r.workdir = "/sandbox";
	ok(warm_fits(&r, py_c, base, base), "/sandbox as the working directory fits");
	r.workdir = NULL;
	isol8_file f = {.path = "/sandbox/.local/lib/python3.11/site-packages/x.pth"};
	r.files = &f;
	r.nfiles = 1;
	ok(!warm_fits(&r, py_c, base, base) && warm_fits(&r, node_e, base, base),
	   "python files under /sandbox/.local (site reads them at start-up) do not fit python");
	r.files = NULL;
	r.nfiles = 0;

	e = with(base, "FOO=bar");
	ok(warm_env_digest(base) == warm_env_digest(base) && warm_env_digest(base) != warm_env_digest(e),
	   "the digest is stable and tells environments apart");
	char *ab[] = {"A=bc", NULL}, *abc[] = {"A=b", "c", NULL};
	ok(warm_env_digest(ab) != warm_env_digest(abc), "…including where the strings split");
	free(e);

	int p[2];
	ok(pipe(p) == 0, "pipe");
	isol8_err err = {0};
	char *env[] = {"A=1", "B=2", NULL};
	int chan = p[1];
	ok(warm_send(&chan, py_f, env, &err) == 0 && chan == -1, "warm_send writes and closes the request pipe");
	char buf[256];
	ssize_t n = read(p[0], buf, sizeof buf);
	static const char want[] = "f\0/sandbox/main.py\0A=1\0B=2";
	ok(n == (ssize_t)sizeof want - 1 && !memcmp(buf, want, sizeof want - 1), "…mode, path, then the environment, NUL-separated");
	ok(read(p[0], buf, sizeof buf) == 0, "…then EOF");
	close(p[0]);

	/* the driver's exit report: the program can write on that pipe too, so anything but one
	 * exact report is refused (and the init's status decides) */
	static const struct {
		const char *bytes;
		int want, code;
	} reports[] = {
		{"E0\n", 1, 0},    {"E7\n", 1, 7},     {"E255\n", 1, 255}, {"E256\n", -1, 0}, {"E\n", -1, 0},
		{"E-1\n", -1, 0},  {"E1", -1, 0},      {"X1\n", -1, 0},    {"E1\nE2\n", -1, 0}, {"E12345\n", -1, 0},
		{"E 1\n", -1, 0},  {"", -1, 0},
	};
	for (size_t i = 0; i < sizeof reports / sizeof *reports; i++) {
		ok(pipe(p) == 0, "pipe");
		ssize_t len = (ssize_t)strlen(reports[i].bytes);
		ok(write(p[1], reports[i].bytes, (size_t)len) == len, "write");
		close(p[1]);
		int code = -5, r = warm_read_exit(p[0], &code);
		ok(r == reports[i].want && (r != 1 || code == reports[i].code), "exit report \"%.*s\" (%zd bytes): %d",
		   (int)strcspn(reports[i].bytes, "\n"), reports[i].bytes, len, reports[i].want);
		close(p[0]);
	}
	ok(pipe2(p, O_NONBLOCK) == 0, "pipe");
	int code = -5;
	ok(warm_read_exit(p[0], &code) == 0 && code == -5, "no report yet: 0, nothing taken");
	close(p[0]);
	close(p[1]);
	isol8_free_strv(base);
	return done_testing();
}
