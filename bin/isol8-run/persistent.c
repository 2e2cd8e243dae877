/* persistent.c — isol8 run --persistent (without --host): the run becomes an exec in a session,
 * by exec'ing isol8-session, which creates the session on first use. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/json.h"
#include "core/runtime.h"
#include "core/util.h"
#include "isol8.h"
#include "run.h"
#include "run/cliopts.h"
#include "run/figures.h"
#include "run/reaper.h"
#include "run/session.h"

/* The session --persistent uses: the named one, or one per runtime and directory, so that
 * consecutive runs in a project share state. */
static void persistent_id(const char *session_id, const char *runtime, char id[72])
{
	if (session_id) {
		snprintf(id, 72, "%s", session_id);
		return;
	}
	char cwd[PATH_MAX] = "";
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "/");
	/* this offset basis is a digit short of FNV's, but it names existing sessions: keep it */
	uint64_t h = fnv1a(fnv1a(1469598103934665603ull, runtime, strlen(runtime) + 1), cwd, strlen(cwd));
	snprintf(id, 72, "cli-%s-%012llx", runtime, (unsigned long long)(h & 0xffffffffffffull));
}

/* The idle timeout of the session's live supervisor, 0 when none runs (read from its
 * meta.json: asking the supervisor would wait for an exec it is running). */
static double running_session_idle_ms(const char *id)
{
	jv meta = session_meta_live(id);
	jv idle = json_get(meta, "idleTimeoutMs");
	double ms = !jv_is_valid(meta) ? 0 : jv_get_kind(idle) == JV_KIND_NUMBER ? jv_number_value(idle) : 1;
	jv_free(idle);
	jv_free(meta);
	return ms;
}

/* --persistent --persist: the session must never idle out. One already running with an idle
 * timeout would expire anyway, so say so rather than quietly reuse it. */
static void check_persist_session(const char *id)
{
	double idle = running_session_idle_ms(id);
	if (idle > 0 && idle < (double)ISOL8_SESSION_IDLE_NEVER_MS)
		isol8_die("session %s already runs with an idle timeout: stop it with `isol8 session stop %s`, then run "
			  "again with --persist",
			  id, id);
	fprintf(stderr,
		"[INFO] Session %s stays running after this run (never idle-reaped). Run more code in it with isol8 run "
		"--persistent (same runtime and directory) or isol8-session exec %s; remove it with isol8 cleanup "
		"or isol8 session stop %s\n",
		id, id, id);
}

/* {"secrets":{K:V,…}} in a memfd left open across exec (its fd is the caller's to name). */
static int secrets_memfd(const isol8_options *o)
{
	jv doc = jv_object_set(jv_object(), jv_string("secrets"), options_member(o, "secrets"));
	char *text = json_dump(doc, 0);
	jv_free(doc);
	int fd = memfd_create("isol8-secrets", 0);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		isol8_die("--persistent: cannot pass the secrets to isol8-session: %s", strerror(errno));
	free(text);
	return fd;
}

__attribute__((noreturn)) void run_persistent(const char *session_id, bool persist, const isol8_request *req,
						     enum mode mode, const isol8_kv *ov, size_t nov,
						     const isol8_kv *secrets, size_t nsecrets)
{
	char id[72], never[32];
	persistent_id(session_id, req->runtime, id);
	fprintf(stderr, "[Run] Session ID: %s\n", id);
	if (persist)
		check_persist_session(id);
	char **av = xcalloc(64 + 2 * nov + 2 * nsecrets, sizeof *av);
	int n = 0;
	av[n++] = "isol8-session";
	av[n++] = "exec";
	av[n++] = id;
	av[n++] = "--create";
	av[n++] = "-r";
	av[n++] = req->runtime;
	char secrets_path[64];
	if (nsecrets) {
		/* Threat: every local user can read /proc/PID/cmdline. The secrets go to isol8-session
		 * as an Isol8Options object in a memfd, never in its argv. First, so that the flags
		 * after it (limits) apply on top of it. */
		isol8_options only = {.secrets = (isol8_kv *)secrets, .nsecrets = nsecrets};
		int fd = secrets_memfd(&only);
		snprintf(secrets_path, sizeof secrets_path, "/proc/self/fd/%d", fd);
		av[n++] = "--options";
		av[n++] = secrets_path;
	}
	if (persist) {
		snprintf(never, sizeof never, "%llu", (unsigned long long)ISOL8_SESSION_IDLE_NEVER_MS);
		av[n++] = "--idle-timeout";
		av[n++] = never;
	}
	/* the limit flags as given: isol8-session takes the same ones (run/cliopts.h) and checks them */
	for (size_t i = 0; i < nov; i++)
		if (cliopt_known(ov[i].key)) {
			av[n++] = xasprintf("--%s", ov[i].key);
			if (cliopt_takes_value(ov[i].key))
				av[n++] = ov[i].value;
		}
	if (mode == M_JSON)
		av[n++] = "--json";
	else if (mode == M_EVENTS)
		av[n++] = "--events";
	else if (mode == M_BUFFERED)
		av[n++] = "--no-stream";
	if (req->setup_script) { /* already read: a file's contents, or the line itself */
		av[n++] = "--setup";
		av[n++] = req->setup_script;
	}
	if (req->has_stdin) {
		av[n++] = "--stdin";
		av[n++] = (char *)req->stdin_data;
	}
	if (req->figure_formats) {
		av[n++] = "--figures";
		av[n++] = (char *)figures_formats_text(req->figure_formats);
	}
	av[n++] = req->cmd ? "--cmd" : "-e";
	av[n++] = req->cmd ? req->cmd : req->code;
	char path[PATH_MAX + 32];
	if (sibling_tool("isol8-session", path, sizeof path))
		execv(path, av);
	execvp("isol8-session", av);
	isol8_die("--persistent needs isol8-session next to isol8-run or on PATH");
}
