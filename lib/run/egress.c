/* egress.c — the way out of a --net filtered sandbox: isol8-proxy, started on the listening
 * socket the sandbox's init made inside its own network namespace, and its log of this run. */
#include "run/egress.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

/* Starts isol8-proxy (found via ISOL8_PROXY, next to this executable, or on PATH) on the
 * listening socket the sandbox's init created inside its network namespace. */
pid_t egress_start(int listen_fd, const isol8_options *o, const char *log_path, isol8_err *err)
{
	char path[PATH_MAX + 32] = "";
	const char *env = getenv("ISOL8_PROXY");
	if (env && *env)
		snprintf(path, sizeof path, "%s", env);
	else if (!sibling_tool("isol8-proxy", path, sizeof path))
		path[0] = 0;
	char **av = xcalloc(12 + 2 * (o->nallow + o->ndeny), sizeof *av);
	int n = 0;
	av[n++] = "isol8-proxy";
	av[n++] = "--fd";
	av[n++] = "3";
	av[n++] = "--no-config"; /* the lists below are final (config merged, flags applied) */
	av[n++] = "--log";
	av[n++] = (char *)log_path;
	/* operator-only (the environment of isol8, never a request): let sandboxes reach private
	 * addresses through the proxy, for labs and tests against local servers */
	const char *ap = getenv("ISOL8_PROXY_ALLOW_PRIVATE");
	if (ap && !strcmp(ap, "1"))
		av[n++] = "--allow-private";
	for (size_t i = 0; i < o->nallow; i++) {
		av[n++] = "--allow";
		av[n++] = o->net_allow[i];
	}
	for (size_t i = 0; i < o->ndeny; i++) {
		av[n++] = "--deny";
		av[n++] = o->net_deny[i];
	}
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		free(av);
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "pipe");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* its per-connection children go with it */
		/* A run that dies without stop_proxy (SIGKILL, isol8-serve's watchdog) must not leave
		 * a proxy behind, holding the sandbox's network namespace through its socket. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(listen_fd, 3);
		if (*path && access(path, X_OK) == 0)
			execv(path, av);
		execvp("isol8-proxy", av);
		dprintf(errp[1], "--net filtered needs isol8-proxy next to this program or on PATH");
		_exit(127);
	}
	free(av);
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "fork proxy");
	}
	/* exec succeeded when the CLOEXEC pipe closes with nothing in it */
	char msg[256];
	ssize_t r = read(errp[0], msg, sizeof msg - 1);
	close(errp[0]);
	if (r > 0) {
		msg[r] = 0;
		waitpid(pid, NULL, 0);
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "%s", msg);
	}
	return pid;
}

void egress_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

