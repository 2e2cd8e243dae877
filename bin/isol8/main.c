/* isol8 — the thin dispatcher: `isol8 <tool> …` execs isol8-<tool> (git-style), found next to
 * this binary first, then on PATH. `run` is the exception: isol8-run's code is linked in and
 * called directly, because it is every agent's hot path and an exec costs ~2 ms here.
 * Built in too: --version, --help, `config [--json]`, `doctor`, `login`, `logout`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isol8.h"
#include "core/json.h"
#include "core/runtime.h"
#include "sandbox/cgroup.h"
#include "../isol8-run/run.h"
#include "login.h"
#include "sandbox/seccomp_policy.h"
#include "core/util.h"
#include "state/rundir.h"

static const char help[] =
	"Usage: isol8 [--debug] <command> [options]\n"
	"\n"
	"Run untrusted code (python, node, bun, deno, bash) in locked-down sandboxes.\n"
	"\n"
	"Commands:\n"
	"  run [file]        run code in a fresh sandbox (isol8-run)\n"
	"  config [--json]   show the merged configuration\n"
	"  doctor            check what this host supports\n"
	"  cleanup [--force] [--images]\n"
	"                    remove stale and persisted sandboxes and sessions (isol8-cleanup\n"
	"                    --persisted; asks first unless --force); --images: also every built image\n"
	"  build --base RT --install PKG… --tag NAME [--setup CMD|FILE]… [--force]\n"
	"                    build an image of packages (isol8-image build)\n"
	"  list-custom       the built images (isol8-image list)\n"
	"  setup [--force]   check the runtimes, build the config's prebuiltImages\n"
	"  image build|list|rm  the image store (isol8-image)\n"
	"  session list|stop|…  persistent sessions (isol8-session)\n"
	"  login --host URL --key MASTER [--name N] [--ttl MS]\n"
	"                    get a key of your own from a server, kept for its --host commands\n"
	"  logout            forget it (~/.isol8/credentials.json)\n"
	"  proxy [options]   the filtering egress proxy (isol8-proxy)\n"
	"  mask [options]    mask secrets in a stream: stdin to stdout (isol8-mask)\n"
	"  pool status       the warm sandbox pool (isol8-pool)\n"
	"  serve [options]   the HTTP API (isol8-serve)\n"
	"  mcp               a Model Context Protocol server on stdin/stdout (isol8-mcp)\n"
	"  …                 the other tools of the toolkit (isol8-<name>), when installed\n"
	"\n"
	"Options:\n"
	"  -V, --version     print the version\n"
	"  -h, --help        this text\n"
	"  --debug           debug lines from isol8 itself (passed to the command)\n"
	"\n"
	"Examples:\n"
	"  isol8 run -e 'print(2 ** 10)'\n"
	"  isol8 run script.js --timeout 5000 --memory 256m\n"
	"  isol8 run --persistent --persist -e 'x = 42' --runtime python\n"
	"  isol8 run --json -e 'print(1)' | jq .stdout\n";

static const char *const tools[] = {"run", "serve", "session", "cleanup", "pool", "proxy", "mask", "image", "mcp"};

static int exec_tool(const char *name, int argc, char **argv, bool debug)
{
	char path[PATH_MAX + 128], tool[64];
	snprintf(tool, sizeof tool, "isol8-%s", name);
	char **av = xcalloc((size_t)argc + 3, sizeof *av);
	int n = 0;
	av[n++] = tool;
	if (debug && !strcmp(name, "run"))
		av[n++] = "--debug";
	for (int i = 0; i < argc; i++)
		av[n++] = argv[i];
	if (sibling_tool(tool, path, sizeof path))
		execv(path, av);
	execvp(tool, av);
	fprintf(stderr, "[ERR] isol8 %s: %s is not installed next to isol8 or on PATH\n", name, tool);
	return 1;
}

static int cmd_config(int argc, char **argv)
{
	bool as_json = argc > 0 && !strcmp(argv[0], "--json");
	if (argc > (as_json ? 1 : 0)) {
		fprintf(stderr, "[ERR] usage: isol8 config [--json]\n");
		return 1;
	}
	isol8_config c;
	isol8_err err = {0};
	if (isol8_config_load(&c, &err) < 0) {
		fprintf(stderr, "[ERR] %s\n", err.msg);
		return 1;
	}
	char *text = as_json ? json_dump(c.root, JV_PRINT_PRETTY | JV_PRINT_INDENT_FLAGS(2)) : config_describe(&c);
	puts(text);
	free(text);
	isol8_config_free(&c);
	return 0;
}

static int checks_failed;

static void check(bool ok, bool required, const char *what, const char *detail)
{
	printf("%-5s %-26s %s\n", ok ? "ok" : required ? "FAIL" : "warn", what, detail);
	if (!ok && required)
		checks_failed++;
}

/* Runs fn in a child so probes (seccomp, namespaces) never touch this process. */
static bool probe(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn() == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int probe_seccomp(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load_strict() < 0)
		return -1;
	/* the filter is in force: unshare must now be refused */
	return syscall(SYS_unshare, 0x10000000) < 0 && errno == EPERM ? 0 : -1;
}

static int probe_mount_api(void)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -1;
	struct mount_attr a = {0};
	long r = syscall(SYS_mount_setattr, -1, "", 0, &a, sizeof a);
	return r < 0 && errno == ENOSYS ? -1 : 0;
}

static int probe_userns(void)
{
	return syscall(SYS_unshare, 0x10000000 /* CLONE_NEWUSER */) == 0 ? 0 : -1;
}

static int cmd_doctor(void)
{
	struct utsname u;
	uname(&u);
	char line[PATH_MAX + 64];
	printf("isol8 %s doctor — what this host supports\n", ISOL8_VERSION);
	check(true, false, "kernel", u.release);
	bool root = geteuid() == 0;
	check(root || probe(probe_userns), true, "namespaces",
	      root ? "root: mount, pid, ipc, uts, net, cgroup namespaces; sandbox runs as uid 65534"
		   : "unprivileged: user namespaces available");
	check(probe(probe_mount_api), true, "mount API", "open_tree / move_mount / mount_setattr (kernel >= 5.12)");
	check(probe(probe_seccomp), true, "seccomp", "strict allow-list + deny filter loads and refuses unshare");
	const char *why = NULL;
	int v = cgroup_detect(&why);
	check(v != 0, true, "resource limits", cgroup_describe());
	/* Moving a process into a cgroup by pid waits for an RCU grace period (7-25 ms) unless the
	 * hierarchy is mounted with favordynmods; as root a sandbox joins its cgroup as it starts
	 * instead (lib/sandbox/cgroup.h), which never waits. */
	bool dyn = cgroup_favordynmods();
	if (v && root)
		check(true, false, "cgroup attach",
		      v == 2 ? "each sandbox is cloned into its cgroup (clone3 CLONE_INTO_CGROUP): no wait"
			     : "each sandbox's init joins its cgroup itself (\"0\" to tasks): no wait");
	else if (v)
		check(dyn, false, "cgroup attach",
		      dyn ? "attached by pid; the hierarchy is mounted with favordynmods: no wait"
			  : "attached by pid: each start waits for an RCU grace period (7-25 ms); mounting the cgroup "
			    "hierarchy with favordynmods (mount -o remount,favordynmods) removes the wait");
	snprintf(line, sizeof line, "%s", isol8_run_dir());
	check(mkdir_p(line, 0755) == 0 && access(line, W_OK) == 0, true, "run dir", line);
	const char *rt = runtime_dir();
	static const char *const bins[][2] = {{"python", "/usr/bin/python3"}, {"node", "/usr/bin/node"},
					      {"bun", "bin/bun"}, {"deno", "bin/deno"}, {"bash", "/bin/bash"}};
	for (size_t i = 0; i < ARRAY_SIZE(bins); i++) {
		char p[PATH_MAX];
		if (bins[i][1][0] == '/')
			snprintf(p, sizeof p, "%s", bins[i][1]);
		else
			snprintf(p, sizeof p, "%s/%s", rt, bins[i][1]);
		snprintf(line, sizeof line, "%s%s", p, access(p, X_OK) == 0 ? "" : " missing: run 'make deps'");
		char what[32];
		snprintf(what, sizeof what, "runtime %s", bins[i][0]);
		check(access(p, X_OK) == 0, false, what, line);
	}
	printf("%s\n", checks_failed ? "isol8 cannot run sandboxes here (see FAIL lines)." : "isol8 can run sandboxes here.");
	return checks_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	bool debug = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			puts(ISOL8_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--debug")) {
			debug = true;
			continue;
		}
		fprintf(stderr, "error: unknown option '%s' (see isol8 --help)\n", argv[i]);
		return 1;
	}
	if (i >= argc) {
		fputs(help, stdout);
		return 0;
	}
	const char *cmd = argv[i];
	if (!strcmp(cmd, "config"))
		return cmd_config(argc - i - 1, argv + i + 1);
	if (!strcmp(cmd, "doctor"))
		return cmd_doctor();
	if (!strcmp(cmd, "login"))
		return cmd_login(argc - i, argv + i);
	if (!strcmp(cmd, "logout"))
		return cmd_logout(argc - i, argv + i);
	if (!strcmp(cmd, "run")) {
		/* same argv isol8-run would get: argv[0] then the flags (with --debug passed on) */
		int n = 0;
		char **av = xcalloc((size_t)argc + 2, sizeof *av);
		av[n++] = "isol8-run";
		if (debug)
			av[n++] = "--debug";
		for (int k = i + 1; k < argc; k++)
			av[n++] = argv[k];
		int rc = isol8_run_main(n, av);
		free(av);
		return rc;
	}
	if (!strcmp(cmd, "build") || !strcmp(cmd, "list-custom") || !strcmp(cmd, "setup")) {
		/* the reference's commands, on isol8-image: build, list-custom → list, setup */
		char **av = xcalloc((size_t)argc + 2, sizeof *av);
		int n = 0;
		av[n++] = !strcmp(cmd, "list-custom") ? "list" : (char *)cmd;
		for (int k = i + 1; k < argc; k++)
			av[n++] = argv[k];
		return exec_tool("image", n, av, debug);
	}
	if (!strcmp(cmd, "cleanup")) {
		/* the reference asks before removing; --force skips the question. What --persist and
		 * --persistent --persist leave running is for this command to remove (the cron-run
		 * isol8-cleanup keeps it unless told --persisted). --images goes to isol8-cleanup too:
		 * as the reference, it means "the sandboxes and also the images", in one question. */
		char **av = xcalloc((size_t)argc + 2, sizeof *av);
		int n = 0;
		bool force = false;
		av[n++] = "--persisted";
		for (int k = i + 1; k < argc; k++) {
			if (!strcmp(argv[k], "--force") || !strcmp(argv[k], "-f"))
				force = true;
			else
				av[n++] = argv[k];
		}
		if (!force)
			av[n++] = "--confirm";
		return exec_tool("cleanup", n, av, debug);
	}
	for (size_t t = 0; t < ARRAY_SIZE(tools); t++)
		if (!strcmp(cmd, tools[t]))
			return exec_tool(cmd, argc - i - 1, argv + i + 1, debug);
	fprintf(stderr, "error: unknown command '%s' (see isol8 --help)\n", cmd);
	return 1;
}
