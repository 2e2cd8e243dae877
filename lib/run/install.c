/* install.c — --install: the request's packages installed in the sandbox before its code runs,
 * by the runtime's own package manager as the sandbox user, writing only under /sandbox, through
 * the filtering proxy (only the registry the host is configured with is allowed). */
#include "run/install.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "run/command.h"

/* The reference's per-runtime commands, writing only under /sandbox. */
static char **install_argv(const isol8_request *req)
{
	char **v = NULL;
	size_t n = 0;
	static const char *const pip[] = {"python3", "-m", "pip", "install", "--user", "--no-cache-dir",
					  "--break-system-packages", "--disable-pip-version-check", "--retries", "0",
					  "--timeout", "15", NULL};
	static const char *const npm[] = {"npm", "install", "--prefix", "/sandbox", "--no-audit", "--no-fund", NULL};
	static const char *const bun[] = {"bun", "add", "--cwd", "/sandbox", NULL};
	static const char *const deno[] = {"deno", "cache", "--quiet", NULL};
	bool is_deno = !strcmp(req->runtime, "deno");
	const char *const *base = !strcmp(req->runtime, "python") ? pip : !strcmp(req->runtime, "node") ? npm
				  : !strcmp(req->runtime, "bun")      ? bun : deno;
	for (int i = 0; base[i]; i++)
		strv_push(&v, &n, xstrdup(base[i]));
	for (size_t i = 0; i < req->ninstall; i++) /* deno's packages are npm's, named npm:<name> */
		strv_push(&v, &n, is_deno ? xasprintf("npm:%s", req->install[i]) : xstrdup(req->install[i]));
	return v;
}

int validate_package_name(const char *name, isol8_err *err)
{
	bool ok = *name && strlen(name) <= 214;
	for (const char *p = name; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr("@_./-=", *p);
	if (!ok || name[0] == '-')
		return isol8_input_error(err, "Invalid package name: \"%s\". Only alphanumeric, -, _, ., /, @, and = are allowed.", name);
	return 0;
}

char *url_host_pattern(const char *url)
{
	const char *h = strstr(url, "://");
	if (!h)
		return NULL;
	h += 3;
	size_t n = strcspn(h, ":/?#");
	if (!n || n > 253)
		return NULL;
	isol8_buf b = {0};
	buf_puts(&b, "^");
	for (size_t i = 0; i < n; i++) {
		if (strchr(".+*?()[]{}|^$\\", h[i]))
			buf_append(&b, "\\", 1);
		buf_append(&b, &h[i], 1);
	}
	buf_puts(&b, "$");
	return (char *)b.data;
}

/* First line a command prints (for `npm config get registry` and friends), or NULL. */
static char *first_line_of(char *const argv[])
{
	isol8_buf b = {0};
	char *line = NULL;
	if (command_stdout(argv, 4096, &b) == 0 && b.len) {
		size_t n = strcspn((char *)b.data, "\r\n");
		if (n && strncmp((char *)b.data, "undefined", 9) && strncmp((char *)b.data, "null", 4))
			line = xstrndup((char *)b.data, n);
	}
	isol8_buf_free(&b);
	return line;
}

/* The registry a package manager on this host is configured with: nothing is hard-coded, so
 * a private mirror is what gets opened. */
static char *registry_url(const char *runtime)
{
	if (!strcmp(runtime, "node") || !strcmp(runtime, "bun") || !strcmp(runtime, "deno")) {
		const char *env = getenv("NPM_CONFIG_REGISTRY") ? getenv("NPM_CONFIG_REGISTRY") : getenv("npm_config_registry");
		if (env && *env)
			return xstrdup(env);
		char *argv[] = {"npm", "config", "get", "registry", NULL};
		return first_line_of(argv);
	}
	if (!strcmp(runtime, "python")) {
		const char *env = getenv("PIP_INDEX_URL");
		if (env && *env)
			return xstrdup(env);
		char *argv[] = {"/usr/bin/python3", "-m", "pip", "config", "get", "global.index-url", NULL};
		return first_line_of(argv);
	}
	return NULL;
}

int request_prepare_install(isol8_request *r, isol8_options *o, bool network_explicit, isol8_err *err)
{
	if (!r->ninstall)
		return 0;
	for (size_t i = 0; i < r->ninstall; i++)
		if (validate_package_name(r->install[i], err) < 0)
			return -1;
	if (!strcmp(r->runtime, "bash"))
		return isol8_input_error(err, "--install is not available for bash at run time (the root filesystem is read-only): build an image with them, isol8 build --base bash --install PKG --tag NAME");
	if (!network_explicit)
		o->network = ISOL8_NET_FILTERED;
	if (o->network != ISOL8_NET_FILTERED)
		return 0;
	char *url = registry_url(r->runtime);
	char *pat = url ? url_host_pattern(url) : NULL;
	bool dup = false;
	for (size_t i = 0; pat && i < o->nallow; i++)
		dup |= !strcmp(o->net_allow[i], pat);
	if (pat && !dup)
		isol8_strv_add(&o->net_allow, &o->nallow, pat);
	if (!pat && !o->nallow)
		/* no registry configured on this host and no --allow: open nothing rather than
		 * everything (an empty whitelist means "all public hosts") */
		isol8_strv_add(&o->net_allow, &o->nallow, "^$");
	free(pat);
	r->registry = url; /* handed to the package manager inside, so a mirror is honoured */
	if (url && !strcmp(r->runtime, "deno"))
		request_env_default(r, "NPM_CONFIG_REGISTRY", url);
	return 0;
}

void request_env_default(isol8_request *r, const char *key, const char *value)
{
	for (size_t i = 0; i < r->nenv; i++)
		if (!strcmp(r->env[i].key, key))
			return;
	isol8_kv_add(&r->env, &r->nenv, key, value);
}

/* The package managers' environment: caches under /sandbox, no update checks, no retries, and
 * the host's registry when it has one. */
static char **install_env(const isol8_request *req, const isol8_options *o)
{
	isol8_kv *extra = NULL;
	size_t nextra = 0;
	isol8_kv_add(&extra, &nextra, "NPM_CONFIG_CACHE", "/sandbox/.npm-cache");
	isol8_kv_add(&extra, &nextra, "NPM_CONFIG_UPDATE_NOTIFIER", "false");
	isol8_kv_add(&extra, &nextra, "NPM_CONFIG_FETCH_RETRIES", "0");
	isol8_kv_add(&extra, &nextra, "BUN_INSTALL_CACHE_DIR", "/sandbox/.bun-cache");
	if (req->registry) {
		isol8_kv_add(&extra, &nextra, "NPM_CONFIG_REGISTRY", req->registry);
		isol8_kv_add(&extra, &nextra, "PIP_INDEX_URL", req->registry);
	}
	char **envp = isol8_build_env(o, extra, nextra);
	kv_free(extra, nextra);
	return envp;
}

int install_run(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, uint64_t deadline,
		       isol8_err *err)
{
	isol8_proc p;
	if (sandbox_spawn(sb, &p, err) < 0)
		return -1;
	char **argv = install_argv(req), **envp = install_env(req, o);
	isol8_exec_spec spec = {argv, envp, "/sandbox", NULL, 0};
	int rc = sandbox_feed_proc(sb, &p, &spec, err);
	isol8_free_strv(argv);
	isol8_free_strv(envp);
	close(p.stdin_w);
	p.stdin_w = -1;
	isol8_buf errout = {0};
	int code = -1;
	fcntl(sb->ctl, F_SETFL, O_NONBLOCK);
	bool out_open = true, err_open = true;
	while (rc == 0 && code < 0) {
		uint64_t now = now_mono_ns();
		if (now >= deadline) {
			isol8_err e2 = {0};
			sandbox_killall(sb, &e2);
			rc = isol8_fail(err, ISOL8_E_INPUT, 0, "Package install failed (exit code 137): timed out");
			break;
		}
		struct pollfd f[3] = {{out_open ? p.stdout_r : -1, POLLIN, 0}, {err_open ? p.stderr_r : -1, POLLIN, 0},
				      {sb->ctl, POLLIN, 0}};
		bool status_buffered = sandbox_status_buffered(sb);
		poll(f, 3, status_buffered ? 0 : (int)((deadline - now) / 1000000) + 1);
		if (status_buffered)
			f[2].revents |= POLLIN;
		char tmp[8192];
		if (f[0].revents && read(p.stdout_r, tmp, sizeof tmp) <= 0)
			out_open = false; /* progress noise: read and dropped */
		if (f[1].revents) {
			ssize_t n = read(p.stderr_r, tmp, sizeof tmp);
			if (n <= 0)
				err_open = false;
			else if (errout.len < 65536)
				buf_append(&errout, tmp, (size_t)n);
		}
		if (f[2].revents) {
			ctl_msg m;
			int r;
			while ((r = sandbox_read_status(sb, &m)) == 1) {
				if (m.pid == p.pid)
					code = ctl_exit_code(&m);
				ctl_msg_free(&m);
			}
			if (r < 0 && code < 0)
				rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "the sandbox went away during --install");
		}
	}
	if (rc == 0 && code != 0) {
		rtrim_buf(&errout);
		for (size_t i = 0; i < errout.len; i++) /* one line: the package manager's lines joined */
			if (errout.data[i] == '\n' || errout.data[i] == '\r')
				errout.data[i] = i + 1 < errout.len && errout.data[i + 1] != '\n' ? '|' : ' ';
		/* the reference's message; the stderr tail says why */
		const char *tail = errout.len > 2000 ? (char *)errout.data + errout.len - 2000 : (char *)(errout.data ? errout.data : (unsigned char *)"");
		rc = isol8_fail(err, ISOL8_E_INPUT, 0, "Package install failed (exit code %d): %s", code, tail);
	}
	isol8_buf_free(&errout);
	sandbox_proc_close(&p);
	return rc;
}

