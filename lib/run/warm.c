/* warm.c — the drivers of pre-started interpreters (see warm.h) and the one message each takes.
 * They run as the sandbox user under the payload's seccomp filter before any untrusted code has
 * run; what they must get right is equivalence, not security: the user's code then runs in the
 * same process with the same privileges either way. */
#include "run/warm.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "run/command.h"
#include "core/util.h"

/* The drivers, from lib/run/drivers/warm_python.py and warm_node.js (see there for what each does to
 * look like python3 -c / python3 FILE and node -e / node FILE): warm_python, warm_node. */
#include "warm_drivers.h"

const char *const warm_runtimes[] = {"python", "node", NULL};

const char *const *warm_argv(const char *runtime)
{
	static const char *const python[] = {"python3", "-c", warm_python, NULL};
	static const char *const node[] = {"node", "-e", warm_node, NULL};
	if (!strcmp(runtime, "python"))
		return python;
	if (!strcmp(runtime, "node"))
		return node;
	return NULL;
}

/* Read by the interpreter while it starts, before the driver could apply the run's value. */
static bool read_at_startup(const char *interp, const char *kv)
{
	static const char *const common[] = {"LANG=", "LANGUAGE=", "LC_", "TZ=", NULL};
	static const char *const python[] = {"PYTHON", NULL};
	static const char *const node[] = {"NODE_", "UV_", "OPENSSL_", "SSL_", "ICU_", NULL};
	const char *const *lists[] = {common, !strcmp(interp, "python3") ? python : node};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (const char *const *p = lists[l]; *p; p++)
			if (!strncmp(kv, *p, strlen(*p)))
				return true;
	return false;
}

static bool in_list(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static bool env_fits(const char *interp, char *const *envp, char *const *base)
{
	for (char *const *e = envp; *e; e++) {
		if (in_list(base, *e))
			continue;
		const char *eq = strchr(*e, '=');
		size_t kl = eq ? (size_t)(eq - *e) + 1 : strlen(*e);
		for (char *const *b = base; *b; b++)
			if (!strncmp(*b, *e, kl))
				return false; /* a start-up variable of ours, with another value */
		if (read_at_startup(interp, *e))
			return false;
	}
	return true;
}

bool warm_fits(const isol8_request *r, char *const *argv, char *const *envp, char *const *base)
{
	/* a setup script runs before the code and may change what an interpreter sees at start-up */
	if (r->cmd || r->ninstall || r->setup_script || r->image_setup_script ||
	    (r->workdir && strcmp(r->workdir, "/sandbox")) || !argv[0] || !argv[1])
		return false;
	bool python = !strcmp(argv[0], "python3");
	if (!python && strcmp(argv[0], "node"))
		return false;
	bool inline_code = !strcmp(argv[1], python ? "-c" : "-e") && argv[2] && !argv[3];
	bool file = argv[1][0] == '/' && !argv[2];
	if (!inline_code && !file)
		return false;
	for (size_t i = 0; python && i < r->nfiles; i++)
		if (!strncmp(r->files[i].path, "/sandbox/.local/", 16))
			return false;
	return env_fits(argv[0], envp, base);
}

int warm_send(int *chan, char *const *argv, char *const *envp, isol8_err *err)
{
	isol8_buf b = {0};
	bool file = argv[1][0] == '/';
	buf_puts(&b, file ? "f" : "c");
	buf_append(&b, "", 1);
	buf_puts(&b, file ? argv[1] : argv[2]);
	for (char *const *e = envp; *e; e++) {
		buf_append(&b, "", 1);
		buf_puts(&b, *e);
	}
	int rc = write_all(*chan, b.data, b.len);
	int e = errno;
	isol8_buf_free(&b);
	close(*chan);
	*chan = -1; /* EOF ends the message */
	if (rc < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "sending the run to the warm interpreter");
	return 0;
}

int warm_read_exit(int reply, int *code)
{
	char b[8];
	ssize_t n = read(reply, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* the driver writes it in one write(2) of at most 5 bytes: a pipe delivers that whole */
	if (n < 3 || n > 5 || b[0] != 'E' || b[n - 1] != '\n')
		return -1;
	int v = 0;
	for (ssize_t i = 1; i < n - 1; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		v = v * 10 + (b[i] - '0');
	}
	if (v > 255)
		return -1;
	*code = v;
	return 1;
}

char **warm_base_env(void)
{
	isol8_options none = {.network = ISOL8_NET_NONE}; /* pooled: no network, no secrets */
	return isol8_build_env(&none, NULL, 0);
}

uint64_t warm_env_digest(char *const *env)
{
	uint64_t h = FNV1A_INIT; /* over every "K=V\0" */
	for (; env && *env; env++)
		h = fnv1a(h, *env, strlen(*env) + 1);
	return h;
}
