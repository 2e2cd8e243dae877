/* command.c — see command.h. */
#include "run/command.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/runtime.h"
#include "run/figures.h"
#include "sandbox/sandbox.h"

void strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void env_set(char ***v, size_t *n, const char *k, const char *val)
{
	size_t kl = strlen(k);
	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*v)[i], k, kl) && (*v)[i][kl] == '=') {
			free((*v)[i]);
			(*v)[i] = xasprintf("%s=%s", k, val);
			return;
		}
	strv_push(v, n, xasprintf("%s=%s", k, val));
}

#define SUPPORT_PYTHON ISOL8_SUPPORT_DIR "/python"

/* Debian's multiarch directory for this build's architecture. */
#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__i386__)
#define MULTIARCH "i386-linux-gnu"
#else
#define MULTIARCH "unknown"
#endif

/* Whether the run's image layer has a directory for runtime (what its build installed). */
static bool layer_has(const isol8_options *o, const char *runtime)
{
	if (!o->layer)
		return false;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", o->layer, runtime);
	return access(p, F_OK) == 0;
}

char **isol8_build_env(const isol8_options *o, const isol8_kv *extra, size_t nextra)
{
	char **v = NULL;
	size_t n = 0;
	/* an image's packages come after what the run installs itself (/sandbox), as the reference's
	 * image layers sit below a run's installs */
	char *path = xasprintf("/sandbox/.local/bin:/sandbox/.npm-global/bin:/sandbox/.bun-global/bin:%s%s/bin:"
			       "/usr/local/bin:/usr/bin:/bin",
			       o->layer ? ISOL8_LAYER_DIR "/python/bin:" ISOL8_LAYER_DIR "/node/node_modules/.bin:" ISOL8_LAYER_DIR
					  "/bun/node_modules/.bin:" ISOL8_LAYER_DIR "/bash/usr/bin:" ISOL8_LAYER_DIR "/bash/bin:"
					: "",
			       runtime_dir());
	env_set(&v, &n, "PATH", path);
	free(path);
	env_set(&v, &n, "HOME", "/sandbox");
	env_set(&v, &n, "USER", "sandbox");
	env_set(&v, &n, "LOGNAME", "sandbox");
	env_set(&v, &n, "LANG", "C.UTF-8");
	env_set(&v, &n, "TMPDIR", "/tmp");
	env_set(&v, &n, "PYTHONUNBUFFERED", "1");
	env_set(&v, &n, "PYTHONUSERBASE", "/sandbox/.local");
	env_set(&v, &n, "NPM_CONFIG_PREFIX", "/sandbox/.npm-global");
	env_set(&v, &n, "NODE_PATH",
		o->layer ? "/usr/local/lib/node_modules:/sandbox/.npm-global/lib/node_modules:/sandbox/node_modules:" ISOL8_LAYER_DIR
			   "/node/node_modules:" ISOL8_LAYER_DIR "/bun/node_modules"
			 : "/usr/local/lib/node_modules:/sandbox/.npm-global/lib/node_modules:/sandbox/node_modules");
	/* isol8's matplotlib backend, and matplotlib's config dir with the font cache (figures.h) */
	env_set(&v, &n, "PYTHONPATH", o->layer ? ISOL8_LAYER_DIR "/python:" SUPPORT_PYTHON : SUPPORT_PYTHON);
	env_set(&v, &n, "MPLCONFIGDIR", ISOL8_SUPPORT_DIR "/mpl");
	/* a deno image is a deno cache (read-only: deno falls back to memory for its own databases);
	 * a bash image is unpacked Debian packages, whose programs find their libraries here */
	env_set(&v, &n, "DENO_DIR", layer_has(o, "deno") ? ISOL8_LAYER_DIR "/deno" : "/sandbox/.deno");
	if (layer_has(o, "bash"))
		env_set(&v, &n, "LD_LIBRARY_PATH", ISOL8_LAYER_DIR "/bash/usr/lib/" MULTIARCH ":" ISOL8_LAYER_DIR
						   "/bash/lib/" MULTIARCH ":" ISOL8_LAYER_DIR "/bash/usr/lib");
	env_set(&v, &n, "DENO_NO_UPDATE_CHECK", "1");
	if (o->network != ISOL8_NET_NONE && !o->image && access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
		/* with a network, trust what the host's system store trusts (a mirror or a TLS-inspecting
		 * gateway's CA lives there); node, bun and deno otherwise use their built-in stores.
		 * Not for --net none: loading the bundle costs node ~40 ms at start-up. */
		env_set(&v, &n, "NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt");
		env_set(&v, &n, "DENO_TLS_CA_STORE", "system");
	}
	if (o->network == ISOL8_NET_FILTERED) {
		/* the proxy listens inside the sandbox's own network namespace */
		static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
		char proxy_url[64];
		snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", ISOL8_PROXY_PORT);
		for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
			env_set(&v, &n, vars[i], proxy_url);
	}
	for (size_t i = 0; i < o->nsecrets; i++)
		env_set(&v, &n, o->secrets[i].key, o->secrets[i].value);
	for (size_t i = 0; i < nextra; i++) {
		/* a PYTHONPATH of the run's keeps the backend findable: without it, matplotlib.pyplot
		 * would not import at all */
		char *joined = !strcmp(extra[i].key, "PYTHONPATH") ? xasprintf("%s:" SUPPORT_PYTHON, extra[i].value) : NULL;
		env_set(&v, &n, extra[i].key, joined ? joined : extra[i].value);
		free(joined);
	}
	return v;
}

void isol8_free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void command_build(const isol8_request *r, const isol8_options *o, isol8_command *c)
{
	const isol8_runtime *rt = runtime_get(r->runtime);
	size_t na = 0;
	memset(c, 0, sizeof *c);
	if (r->cmd) {
		strv_push(&c->argv, &na, xstrdup("bash"));
		strv_push(&c->argv, &na, xstrdup("-c"));
		strv_push(&c->argv, &na, xstrdup(r->cmd));
	} else if (rt->inline_argv[0] && !r->force_file && strlen(r->code) < 64 * 1024) {
		for (int i = 0; rt->inline_argv[i]; i++)
			strv_push(&c->argv, &na, xstrdup(rt->inline_argv[i]));
		strv_push(&c->argv, &na, xstrdup(r->code));
	} else {
		/* Large code (argv strings are capped at 128 KiB), files, and runtimes without an
		 * inline mode run from /sandbox/main<ext>, as `python3 /sandbox/main.py` would. */
		c->code_path = xasprintf("/sandbox/main%s", r->file_ext ? r->file_ext : rt->default_ext);
		for (int i = 0; rt->file_argv[i]; i++)
			strv_push(&c->argv, &na, xstrdup(rt->file_argv[i]));
		strv_push(&c->argv, &na, xstrdup(c->code_path));
	}
	c->envp = isol8_build_env(o, r->env, r->nenv);
	figures_env(&c->envp, r, o);
	c->nfiles = r->nfiles + (c->code_path ? 1 : 0);
	c->files = xcalloc(c->nfiles, sizeof *c->files);
	for (size_t i = 0; i < r->nfiles; i++)
		c->files[i] = r->files[i]; /* borrowed */
	if (c->code_path) {
		c->files[r->nfiles].path = c->code_path;
		c->files[r->nfiles].data = (unsigned char *)r->code;
		c->files[r->nfiles].len = strlen(r->code);
	}
}

void command_free(isol8_command *c)
{
	isol8_free_strv(c->argv);
	isol8_free_strv(c->envp);
	free(c->files);
	free(c->code_path);
}


void command_sandbox_support(isol8_sandbox_cfg *cfg)
{
	cfg->rootfs.support = figures_support(&cfg->rootfs.nsupport);
	cfg->probe = FIGURES_DIR; /* the init tells whether figures were saved (engine.c) */
}

isol8_sandbox_cfg command_sandbox_cfg(const isol8_options *o)
{
	isol8_sandbox_cfg cfg = {
		.share_net = o->network == ISOL8_NET_HOST,
		.seccomp = o->seccomp == ISOL8_SECCOMP_STRICT,
		.persist = o->persist,
		.proxy_listener = o->network == ISOL8_NET_FILTERED,
		.limits = {.memory = o->memory_limit, .pids = o->pids_limit, .cpus = o->cpu_limit},
		.rootfs = {.image = o->image, .writable = o->writable, .sandbox_size = o->sandbox_size,
			   .tmp_size = o->tmp_size, .layer = o->layer, .layer_writable = o->layer_writable},
	};
	command_sandbox_support(&cfg);
	return cfg;
}
