/* isol8-run — run one piece of untrusted code in a fresh sandbox.
 * Input: a file, -e CODE, --cmd LINE, --request JSON, or code on stdin.
 * Output: the program's own stdout/stderr streamed (default), or --no-stream, --json (the
 * ExecutionResult), --events (JSON-lines StreamEvents ending with a result line).
 * Exit: the program's code; 137 on timeout; 1 with one "[ERR] …" line for isol8's own errors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/client.h"
#include "isol8.h"
#include "run.h"
#include "wire/events.h"
#include "core/json.h"
#include "core/cli.h"
#include "state/reaper.h"
#include "run/session.h"
#include "core/util.h"

static const char usage[] =
	"Usage: isol8 run [file] [options]\n"
	"\n"
	"Run code in a sandbox. Input, first match wins: --request, --cmd, -e, file, stdin.\n"
	"Options may come before or after the file; after \"--\" every word is a file name.\n"
	"\n"
	"Input:\n"
	"  -e, --eval CODE         inline code (runtime defaults to python)\n"
	"  -r, --runtime NAME      python, node, bun, deno, bash (else detected from the file)\n"
	"      --cmd LINE          run LINE with bash -c in the runtime's environment\n"
	"      --stdin DATA        data piped to the program's stdin\n"
	"      --request FILE|-    an ExecutionRequest (+ options) as JSON\n"
	"      --files DIR         copy DIR's regular files into /sandbox (recursively)\n"
	"      --workdir PATH      working directory, inside /sandbox (default /sandbox)\n"
	"      --secret KEY=VALUE  env var whose value is masked as *** in output (repeatable)\n"
	"Limits:\n"
	"      --timeout MS        wall-clock limit (default config defaults.timeoutMs, 30000)\n"
	"      --memory SIZE       memory limit, no swap (default 512m)\n"
	"      --cpu CORES         CPU quota in cores (default 1.0)\n"
	"      --pids-limit N      maximum processes (default 64)\n"
	"      --sandbox-size SIZE /sandbox tmpfs size (default 64m)\n"
	"      --tmp-size SIZE     /tmp tmpfs size, noexec (default 256m)\n"
	"      --max-output BYTES  per-stream output cap; the run is stopped past it (default 1048576)\n"
	"Environment:\n"
	"      --net MODE          none (default: loopback only), filtered (only through the proxy), host\n"
	"      --allow REGEX       filtered: allowed hosts (pcre2; repeatable; replaces network.whitelist)\n"
	"      --deny REGEX        filtered: blocked hosts, checked first (replaces network.blacklist)\n"
	"      --log-network       filtered: put this run's requests in the result (networkLogs)\n"
	"      --install PKG       install a package first (pip, npm, bun, deno cache) into /sandbox, through\n"
	"                          --net filtered with the host's configured registry allowed (repeatable)\n"
	"      --image DIR         use DIR as the root filesystem instead of the host's runtime dirs\n"
	"      --writable          writable root filesystem (changes are discarded)\n"
	"      --persist           leave the sandbox running afterwards and print how to enter it\n"
	"      --persistent        keep state (variables, files) between runs: a session keyed by\n"
	"                          runtime and current directory (isol8-session); with --persist the\n"
	"                          session is never idle-reaped and stays until isol8 cleanup\n"
	"      --session-id NAME   the same with a named session\n"
	"Output:\n"
	"      --stream            print output as it comes (the default; asking for it is allowed)\n"
	"      --no-stream         print stdout/stderr after the run (right-trimmed)\n"
	"      --json              print the ExecutionResult as one JSON line\n"
	"      --events            print JSON-lines events, then {\"type\":\"result\",…}\n"
	"      --out FILE          also write the program's stdout to FILE\n"
	"      --debug             isol8's own debug lines on stderr\n"
	"  -h, --help              this text\n";

enum mode { M_STREAM, M_BUFFERED, M_JSON, M_EVENTS };

enum {
	O_CMD = 256, O_STDIN, O_REQUEST, O_FILES, O_WORKDIR, O_SECRET, O_TIMEOUT, O_MEMORY, O_CPU, O_PIDS,
	O_SBSIZE, O_TMPSIZE, O_MAXOUT, O_NET, O_IMAGE, O_WRITABLE, O_PERSIST, O_NOSTREAM, O_JSON, O_EVENTS,
	O_OUT, O_DEBUG, O_LATER, O_HOST, O_KEY, O_PERSISTENT, O_SESSION_ID, O_ALLOW, O_DENY, O_LOGNET, O_INSTALL, O_STREAM,
};

static const struct option longopts[] = {
	{"eval", required_argument, 0, 'e'}, {"runtime", required_argument, 0, 'r'},
	{"cmd", required_argument, 0, O_CMD}, {"stdin", required_argument, 0, O_STDIN},
	{"request", required_argument, 0, O_REQUEST}, {"files", required_argument, 0, O_FILES},
	{"workdir", required_argument, 0, O_WORKDIR}, {"secret", required_argument, 0, O_SECRET},
	{"timeout", required_argument, 0, O_TIMEOUT}, {"memory", required_argument, 0, O_MEMORY},
	{"cpu", required_argument, 0, O_CPU}, {"pids-limit", required_argument, 0, O_PIDS},
	{"sandbox-size", required_argument, 0, O_SBSIZE}, {"tmp-size", required_argument, 0, O_TMPSIZE},
	{"max-output", required_argument, 0, O_MAXOUT}, {"net", required_argument, 0, O_NET},
	{"image", required_argument, 0, O_IMAGE}, {"writable", no_argument, 0, O_WRITABLE},
	{"persist", no_argument, 0, O_PERSIST}, {"no-stream", no_argument, 0, O_NOSTREAM},
	{"stream", no_argument, 0, O_STREAM},
	{"json", no_argument, 0, O_JSON}, {"events", no_argument, 0, O_EVENTS},
	{"out", required_argument, 0, O_OUT}, {"debug", no_argument, 0, O_DEBUG},
	{"help", no_argument, 0, 'h'},
	/* reference flags that belong to other tools of the toolkit (clear error, see later_flag) */
	{"allow", required_argument, 0, O_ALLOW}, {"deny", required_argument, 0, O_DENY},
	{"log-network", no_argument, 0, O_LOGNET}, {"install", required_argument, 0, O_INSTALL},
	{"persistent", no_argument, 0, O_PERSISTENT}, {"session-id", required_argument, 0, O_SESSION_ID},
	{"host", required_argument, 0, O_HOST}, {"key", required_argument, 0, O_KEY},
	{"url", required_argument, 0, O_LATER}, {"github", required_argument, 0, O_LATER},
	{"gist", required_argument, 0, O_LATER}, {"hash", required_argument, 0, O_LATER},
	{"setup", required_argument, 0, O_LATER}, {"allow-insecure-code-url", no_argument, 0, O_LATER},
	{0, 0, 0, 0},
};

static const char *later_flag(const char *name)
{
	if (!strcmp(name, "setup"))
		return "is not supported: put setup commands in --cmd or the code itself";
	return "is not supported: fetch the code yourself and pass it as a file or -e";
}

/* ---- --files DIR ------------------------------------------------------------------------- */

static bool skip_dir(const char *n)
{
	static const char *const skip[] = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"};
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (!strcmp(n, skip[i]))
			return true;
	return false;
}

/* Walks with openat + O_NOFOLLOW: symlinks in DIR are skipped, never followed. */
static void add_dir(isol8_request *r, int dfd, const char *rel, uint64_t *total, uint64_t limit)
{
	DIR *d = fdopendir(dfd);
	if (!d)
		isol8_die("--files: %s", strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char *sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (S_ISDIR(st.st_mode) && !skip_dir(e->d_name)) {
			int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd >= 0)
				add_dir(r, sfd, sub, total, limit);
		} else if (S_ISREG(st.st_mode)) {
			/* O_NONBLOCK and a second look at what was opened: a FIFO put in the file's place
			 * after fstatat must not block the run */
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			struct stat ost;
			isol8_buf b = {0};
			isol8_err err = {0};
			if (fd < 0 || fstat(fd, &ost) < 0 || !S_ISREG(ost.st_mode) || read_fd_all(fd, limit, &b, &err) < 0)
				isol8_die("--files: cannot read %s (only regular files are copied)", sub);
			close(fd);
			*total += b.len;
			if (*total > limit)
				isol8_die("--files: the directory holds more than --sandbox-size (%llu bytes)", (unsigned long long)limit);
			char *path = xasprintf("/sandbox/%s", sub);
			if (request_add_file(r, path, b.data ? b.data : (unsigned char *)"", b.len, &err) < 0)
				isol8_die("%s", err.msg);
			r->files[r->nfiles - 1].mode = st.st_mode & 0755; /* keeps scripts executable */
			free(path);
			buf_free(&b);
		} else if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "[WARN] --files: %s not copied: only regular files and directories are (not links, "
					"FIFOs, sockets or devices)\n", sub);
		}
		free(sub);
	}
	closedir(d);
}

/* ---- event sinks ------------------------------------------------------------------------- */

struct sink {
	enum mode mode;
	FILE *out_file;
	isol8_evwriter ev; /* --events */
};

static void on_event(void *ctx, const isol8_event *ev)
{
	struct sink *s = ctx;
	if (ev->type == ISOL8_EV_STDOUT && s->out_file)
		fwrite(ev->data, 1, ev->len, s->out_file);
	if (s->mode == M_STREAM) {
		if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR)
			(void)write_all(ev->type == ISOL8_EV_STDOUT ? 1 : 2, ev->data, ev->len);
		else if (ev->type == ISOL8_EV_ERROR)
			fprintf(stderr, "[ERR] %.*s\n", (int)ev->len, (const char *)ev->data);
	} else if (s->mode == M_EVENTS) {
		evw_event(&s->ev, ev);
	}
}

/* ---- --persistent: hand over to isol8-session ---------------------------------------------- */

/* The flags a session takes at creation (limits) or per exec, by option code. */
static const struct {
	int code;
	const char *flag;
} session_flags[] = {
	{O_TIMEOUT, "--timeout"}, {O_MEMORY, "--memory"}, {O_CPU, "--cpu"}, {O_PIDS, "--pids-limit"},
	{O_SBSIZE, "--sandbox-size"}, {O_TMPSIZE, "--tmp-size"}, {O_MAXOUT, "--max-output"}, {O_NET, "--net"},
	{O_IMAGE, "--image"}, {O_WRITABLE, "--writable"}, {O_DEBUG, NULL},
};

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
	uint64_t h = 1469598103934665603ull;
	for (const char *p = runtime; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0) * 1099511628211ull;
	for (const char *p = cwd; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
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
static int secrets_memfd(const isol8_kv *secrets, size_t nsecrets)
{
	jv sec = jv_object();
	for (size_t i = 0; i < nsecrets; i++)
		sec = jv_object_set(sec, jv_string(secrets[i].key), jv_string(secrets[i].value));
	jv doc = jv_dump_string(jv_object_set(jv_object(), jv_string("secrets"), sec), 0);
	int fd = memfd_create("isol8-secrets", 0);
	if (fd < 0 || write_all(fd, jv_string_value(doc), (size_t)jv_string_length_bytes(jv_copy(doc))) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0)
		isol8_die("--persistent: cannot pass the secrets to isol8-session: %s", strerror(errno));
	jv_free(doc);
	return fd;
}

static __attribute__((noreturn)) void run_persistent(const char *session_id, bool persist, const isol8_request *req,
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
		int fd = secrets_memfd(secrets, nsecrets);
		snprintf(secrets_path, sizeof secrets_path, "/proc/self/fd/%d", fd);
		av[n++] = "--options";
		av[n++] = secrets_path;
	}
	if (persist) {
		snprintf(never, sizeof never, "%llu", (unsigned long long)ISOL8_SESSION_IDLE_NEVER_MS);
		av[n++] = "--idle-timeout";
		av[n++] = never;
	}
	for (size_t i = 0; i < nov; i++)
		for (size_t k = 0; k < ARRAY_SIZE(session_flags); k++)
			if (atoi(ov[i].key) == session_flags[k].code && session_flags[k].flag) {
				av[n++] = (char *)session_flags[k].flag;
				if (session_flags[k].code != O_WRITABLE)
					av[n++] = ov[i].value;
			}
	if (mode == M_JSON)
		av[n++] = "--json";
	else if (mode == M_EVENTS)
		av[n++] = "--events";
	else if (mode == M_BUFFERED)
		av[n++] = "--no-stream";
	if (req->has_stdin) {
		av[n++] = "--stdin";
		av[n++] = (char *)req->stdin_data;
	}
	av[n++] = req->cmd ? "--cmd" : "-e";
	av[n++] = req->cmd ? req->cmd : req->code;
	char path[PATH_MAX + 32];
	if (sibling_tool("isol8-session", path, sizeof path))
		execv(path, av);
	execvp("isol8-session", av);
	isol8_die("--persistent needs isol8-session next to isol8-run or on PATH");
}

/* A remote run's Isol8Options: only what the flags set explicitly (the server's own defaults
 * and bounds apply to the rest). */
static jv remote_options(const isol8_options *op, const isol8_kv *overrides, size_t noverrides, bool allow_given,
			 bool deny_given)
{
	jv o = jv_object();
	for (size_t i = 0; i < noverrides; i++) {
		const char *v = overrides[i].value;
		switch (atoi(overrides[i].key)) {
		case O_TIMEOUT: o = jv_object_set(o, jv_string("timeoutMs"), jv_number((double)op->timeout_ms)); break;
		case O_MEMORY: o = jv_object_set(o, jv_string("memoryLimit"), jv_string(v)); break;
		case O_SBSIZE: o = jv_object_set(o, jv_string("sandboxSize"), jv_string(v)); break;
		case O_TMPSIZE: o = jv_object_set(o, jv_string("tmpSize"), jv_string(v)); break;
		case O_CPU: o = jv_object_set(o, jv_string("cpuLimit"), jv_number(op->cpu_limit)); break;
		case O_PIDS: o = jv_object_set(o, jv_string("pidsLimit"), jv_number((double)op->pids_limit)); break;
		case O_MAXOUT: o = jv_object_set(o, jv_string("maxOutputSize"), jv_number((double)op->max_output)); break;
		case O_NET: o = jv_object_set(o, jv_string("network"), jv_string(v)); break;
		case O_IMAGE: o = jv_object_set(o, jv_string("image"), jv_string(op->image)); break;
		case O_WRITABLE: o = jv_object_set(o, jv_string("readonlyRootFs"), jv_false()); break;
		case O_PERSIST: o = jv_object_set(o, jv_string("persist"), jv_true()); break;
		}
	}
	if (op->nsecrets) {
		jv sec = jv_object();
		for (size_t i = 0; i < op->nsecrets; i++)
			sec = jv_object_set(sec, jv_string(op->secrets[i].key), jv_string(op->secrets[i].value));
		o = jv_object_set(o, jv_string("secrets"), sec);
	}
	if (allow_given || deny_given) {
		jv f = jv_object();
		for (int d = 0; d < 2; d++) {
			if (!(d ? deny_given : allow_given))
				continue;
			jv l = jv_array();
			for (size_t i = 0; i < (d ? op->ndeny : op->nallow); i++)
				l = jv_array_append(l, jv_string(d ? op->net_deny[i] : op->net_allow[i]));
			f = jv_object_set(f, jv_string(d ? "blacklist" : "whitelist"), l);
		}
		o = jv_object_set(o, jv_string("networkFilter"), f);
	}
	if (op->log_network)
		o = jv_object_set(o, jv_string("logNetwork"), jv_true());
	return o;
}

/* The limit flags, checked and applied to req/opt (after --request, so flags override it). */
static void apply_overrides(isol8_request *rq, isol8_options *op, const isol8_kv *overrides, size_t noverrides,
			    bool *net_given)
{
	for (size_t i = 0; i < noverrides; i++) {
		int o = atoi(overrides[i].key);
		const char *v = overrides[i].value;
		long long ll;
		double d;
		switch (o) {
		case O_WORKDIR: free(rq->workdir); rq->workdir = xstrdup(v); break;
		case O_TIMEOUT:
			if (parse_ll(v, 1, 86400000, &ll) < 0)
				isol8_die("--timeout must be a number of milliseconds between 1 and 86400000, got \"%s\"", v);
			rq->timeout_ms = ll;
			op->timeout_ms = ll;
			break;
		case O_MEMORY:
			if (parse_size(v, &op->memory_limit) < 0)
				isol8_die("Invalid memory limit format: \"%s\". Use e.g. \"512m\", \"1g\".", v);
			break;
		case O_SBSIZE:
			if (parse_size(v, &op->sandbox_size) < 0)
				isol8_die("Invalid --sandbox-size \"%s\". Use e.g. \"64m\", \"1g\".", v);
			break;
		case O_TMPSIZE:
			if (parse_size(v, &op->tmp_size) < 0)
				isol8_die("Invalid --tmp-size \"%s\". Use e.g. \"256m\".", v);
			break;
		case O_CPU:
			if (parse_double(v, 0.01, 1024, &d) < 0)
				isol8_die("--cpu must be a number of cores between 0.01 and 1024, got \"%s\"", v);
			op->cpu_limit = d;
			break;
		case O_PIDS:
			if (parse_ll(v, 1, 1 << 22, &ll) < 0)
				isol8_die("--pids-limit must be a whole number from 1, got \"%s\"", v);
			op->pids_limit = ll;
			break;
		case O_MAXOUT:
			if (parse_ll(v, 1, 1ll << 34, &ll) < 0)
				isol8_die("--max-output must be a number of bytes from 1, got \"%s\"", v);
			op->max_output = (uint64_t)ll;
			break;
		case O_NET: {
			int net = net_from_name(v);
			*net_given = true;
			if (net < 0)
				isol8_die("--net must be none, host or filtered, got \"%s\"", v);
			op->network = (enum isol8_net)net;
			break;
		}
		case O_IMAGE: {
			struct stat st;
			if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
				isol8_die("--image must name a root filesystem directory: %s", v);
			char real[PATH_MAX];
			free(op->image);
			op->image = xstrdup(realpath(v, real) ? real : v);
			break;
		}
		case O_WRITABLE: op->writable = true; break;
		case O_PERSIST: op->persist = true; break;
		case O_DEBUG: op->debug = true; break;
		}
	}
}

/* ---- main -------------------------------------------------------------------------------- */

/* The one file argument: options may come before and after it (the documented command lines
 * put them after), so every non-option word is collected here. */
static void take_file(const char **file, const char *word)
{
	if (*file)
		isol8_die("only one file may be given (got \"%s\" too)", word);
	*file = word;
}

/* getopt's own messages are off: the offending word, named in one [ERR] line. */
static __attribute__((noreturn)) void bad_option(int c, char **argv)
{
	char shortname[3] = {'-', (char)optopt, 0};
	const char *last = argv[optind - 1];
	const char *word = !strncmp(last, "--", 2) || !optopt ? last : shortname;
	if (c == ':')
		isol8_die("option \"%s\" needs a value (see isol8 run --help)", word);
	isol8_die("unknown option \"%s\" (see isol8 run --help)", word);
}

static char *slurp(const char *path, const char *what)
{
	isol8_buf b = {0};
	isol8_err err = {0};
	int r = !strcmp(path, "-") ? read_fd_all(0, ISOL8_MAX_REQUEST_BYTES, &b, &err)
				   : read_file(path, ISOL8_MAX_REQUEST_BYTES, &b, &err);
	if (r < 0)
		isol8_die("%s: %s", what, err.msg);
	buf_append(&b, "", 0);
	return (char *)b.data;
}

int isol8_run_main(int argc, char **argv)
{
	isol8_config cfg;
	isol8_options opt;
	isol8_request req;
	isol8_err err = {0};
	request_init(&req);
	if (config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	if (options_from_config(&opt, &cfg, &err) < 0)
		isol8_die("%s", err.msg);

	enum mode mode = M_STREAM;
	const char *eval = NULL, *runtime = NULL, *cmd = NULL, *request_file = NULL, *files_dir = NULL,
		   *out_path = NULL;
	const char *stdin_data = NULL, *session_id = NULL, *host = NULL, *api_key = NULL;
	const char *file = NULL;
	bool persistent = false, allow_given = false, deny_given = false, net_given = false, stream_asked = false;
	char **installs = NULL;
	size_t ninstalls = 0;
	isol8_kv *secrets = NULL, *overrides = NULL;
	size_t nsecrets = 0, noverrides = 0;
	int c, li = 0;
	/* "-": words that are not options come back in order as 1, whatever POSIXLY_CORRECT says;
	 * ":": a missing value is told apart from an unknown option */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:e:r:h", longopts, &li)) != -1) {
		switch (c) {
		case 1: take_file(&file, optarg); break;
		case 'e': eval = optarg; break;
		case 'r': runtime = optarg; break;
		case O_CMD: cmd = optarg; break;
		case O_STDIN: stdin_data = optarg; break;
		case O_REQUEST: request_file = optarg; break;
		case O_FILES: files_dir = optarg; break;
		case O_OUT: out_path = optarg; break;
		case O_NOSTREAM: mode = M_BUFFERED; break;
		case O_STREAM: stream_asked = true; break;
		case O_JSON: mode = M_JSON; break;
		case O_EVENTS: mode = M_EVENTS; break;
		case O_PERSISTENT: persistent = true; break;
		case O_HOST: host = optarg; break;
		case O_KEY: api_key = optarg; break;
		case O_ALLOW:
		case O_DENY: {
			/* given on the command line, a list replaces the config's */
			bool *given = c == O_ALLOW ? &allow_given : &deny_given;
			char ***v = c == O_ALLOW ? &opt.net_allow : &opt.net_deny;
			size_t *n = c == O_ALLOW ? &opt.nallow : &opt.ndeny;
			if (!*given)
				strv_clear(v, n);
			*given = true;
			strv_add(v, n, optarg);
			break;
		}
		case O_LOGNET: opt.log_network = true; break;
		case O_INSTALL: strv_add(&installs, &ninstalls, optarg); break;
		case O_SESSION_ID: session_id = optarg; persistent = true; break;
		case O_SECRET: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				isol8_die("--secret must be KEY=VALUE, got \"%s\"", optarg);
			char *k = xstrndup(optarg, (size_t)(eq - optarg));
			kv_add(&secrets, &nsecrets, k, eq + 1);
			free(k);
			/* Threat: /proc/PID/cmdline is readable by every local user for the whole run;
			 * the value is blanked in place once copied (optarg points into argv). */
			memset((char *)eq + 1, 0, strlen(eq + 1));
			break;
		}
		case 'h':
			fputs(usage, stdout);
			options_free(&opt);
			config_free(&cfg);
			return 0;
		case O_LATER:
			isol8_die("--%s %s", longopts[li].name, later_flag(longopts[li].name));
		case '?':
		case ':':
			bad_option(c, argv);
		default: {
			/* options applied after --request, so flags override the JSON */
			char key[8];
			snprintf(key, sizeof key, "%d", c);
			kv_add(&overrides, &noverrides, key, optarg ? optarg : "");
		}
		}
	}
	for (; optind < argc; optind++) /* the words after "--" */
		take_file(&file, argv[optind]);
	/* --stream asks for the default, so it can only clash with a buffered mode */
	if (stream_asked && (mode == M_BUFFERED || mode == M_JSON))
		isol8_die("--stream cannot be combined with --no-stream or --json");

	/* input resolution */
	if (request_file) {
		if (eval || cmd || file)
			isol8_die("--request cannot be combined with file input, --eval or --cmd.");
		char *text = slurp(request_file, "--request");
		jv doc;
		if (json_parse(text, strlen(text), "--request", &doc, &err) < 0 ||
		    request_from_json(doc, &req, &opt, &cfg, &err) < 0)
			isol8_die("%s", err.msg);
		free(text);
	} else if (cmd) {
		if (file || eval)
			isol8_die("--cmd cannot be combined with file input, --eval, --url, --github, or --gist.");
		req.cmd = xstrdup(cmd);
		req.runtime = xstrdup(runtime ? runtime : "bash");
	} else if (eval) {
		req.code = xstrdup(eval);
		req.runtime = xstrdup(runtime ? runtime : "python");
	} else if (file) {
		struct stat st;
		if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
			isol8_die("File not found: %s", file);
		const isol8_runtime *rt = runtime ? runtime_get(runtime) : runtime_detect(file);
		if (!rt && !runtime)
			isol8_die("Cannot detect runtime for %s. Use --runtime to specify.", file);
		req.code = slurp(file, file);
		req.runtime = xstrdup(runtime ? runtime : rt->name);
		const char *dot = strrchr(file, '.');
		const char *slash = strrchr(file, '/');
		if (dot && (!slash || dot > slash))
			req.file_ext = xstrdup(dot);
		req.force_file = true; /* a script runs as a file: __file__, tracebacks, import.meta */
	} else {
		if (isatty(0))
			isol8_die("no code given: pass a file, -e CODE, --cmd LINE, or pipe code on stdin (see isol8 run --help)");
		req.code = slurp("-", "stdin");
		req.runtime = xstrdup(runtime ? runtime : "python");
	}
	if (request_file && runtime) {
		free(req.runtime);
		req.runtime = xstrdup(runtime);
	}
	for (size_t i = 0; i < nsecrets; i++)
		kv_add(&opt.secrets, &opt.nsecrets, secrets[i].key, secrets[i].value);
	if (stdin_data) {
		free(req.stdin_data);
		req.stdin_data = (unsigned char *)xstrdup(stdin_data);
		req.stdin_len = strlen(stdin_data);
		req.has_stdin = true;
	}

	if (api_key && !host)
		isol8_die("--key needs --host (the remote server's URL)");
	if (persistent && !host) {
		if (request_file || files_dir || out_path)
			isol8_die("--persistent cannot be combined with --request, --files or --out (use isol8-session put)");
		bool persist = false;
		for (size_t i = 0; i < noverrides; i++) {
			if (atoi(overrides[i].key) == O_WORKDIR)
				isol8_die("--persistent cannot be combined with --workdir (a session works in /sandbox)");
			persist |= atoi(overrides[i].key) == O_PERSIST;
		}
		if (!runtime_get(req.runtime))
			isol8_die("Unknown runtime: \"%s\". Available: %s", req.runtime, runtime_names());
		if (session_id && !*session_id)
			isol8_die("--session-id needs a name");
		fflush(NULL);
		run_persistent(session_id, persist, &req, mode, overrides, noverrides, secrets, nsecrets);
	}
	apply_overrides(&req, &opt, overrides, noverrides, &net_given);
	if (files_dir) {
		int dfd = open(files_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			isol8_die("--files path is not a directory: %s", files_dir);
		uint64_t total = 0;
		add_dir(&req, dfd, "", &total, opt.sandbox_size);
	}
	for (size_t i = 0; i < ninstalls; i++)
		strv_add(&req.install, &req.ninstall, installs[i]);
	strv_clear(&installs, &ninstalls);
	/* remote: the server resolves installs and validates against its own policy */
	if (!host && request_prepare_install(&req, &opt, net_given || request_file, &err) < 0)
		isol8_die("%s", err.msg);
	if (!host && request_validate(&req, &opt, &err) < 0)
		isol8_die("%s", err.msg);

	struct sink sink = {.mode = mode, .ev = {.fd = 1}};
	if (out_path && !(sink.out_file = fopen(out_path, "we")))
		isol8_die("--out %s: %s", out_path, strerror(errno));

	/* SIGINT/SIGTERM/SIGHUP end the run cleanly (sandbox killed, cgroup removed). */
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd_for(SIGINT, SIGTERM, SIGHUP, 0);

	isol8_result res;
	bool want_events = mode == M_STREAM || mode == M_EVENTS || sink.out_file;
	char auto_id[32] = "";
	isol8_engine *remote = NULL;
	if (host) {
		jv ropts = remote_options(&opt, overrides, noverrides, allow_given, deny_given);
		const char *key = api_key ? api_key : getenv("ISOL8_API_KEY");
		if (!key || !*key)
			isol8_die("API key required. Use --key or ISOL8_API_KEY env var.");
		if (persistent && !session_id) {
			/* the reference's throw-away remote session, deleted at exit */
			snprintf(auto_id, sizeof auto_id, "cli-%llu", (unsigned long long)now_real_ms());
			session_id = auto_id;
		}
		if (persistent)
			fprintf(stderr, "[Run] Session ID: %s\n", session_id);
		remote = isol8_engine_remote(host, key, persistent ? session_id : NULL, ropts);
		/* the stream is the default remotely too; --no-stream and --json use POST /execute */
		int rc = want_events ? isol8_engine_execute_stream(remote, &req, on_event, &sink, &res, &err)
				     : isol8_engine_execute(remote, &req, &res, &err);
		if (auto_id[0]) {
			isol8_err derr = {0};
			(void)isol8_engine_stop(remote, &derr);
		}
		isol8_engine_free(remote);
		if (rc < 0)
			isol8_die("%s", err.msg);
	} else if (isol8_execute(&req, &opt, want_events ? on_event : NULL, &sink, sfd, &res, &err) < 0) {
		isol8_die("%s", err.msg);
	}

	int code = res.exit_code;
	struct signalfd_siginfo si;
	if (sfd >= 0) {
		fcntl(sfd, F_SETFL, O_NONBLOCK);
		if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
			code = 128 + (int)si.ssi_signo; /* we were told to stop: say so, as a shell would */
	}
	if (mode == M_BUFFERED) {
		isol8_buf o = res.out, e = res.err;
		rtrim_buf(&o);
		rtrim_buf(&e);
		if (o.len) {
			(void)write_all(1, o.data, o.len);
			(void)write_all(1, "\n", 1);
		}
		if (e.len) {
			(void)write_all(2, e.data, e.len);
			(void)write_all(2, "\n", 1);
		}
		if (res.truncated)
			fputs("[WARN] Output was truncated\n", stderr);
	} else if (mode == M_JSON || mode == M_EVENTS) {
		jv r = isol8_result_json(&res);
		if (mode == M_EVENTS) {
			evw_result(&sink.ev, r);
		} else {
			json_write_line(1, r);
			jv_free(r);
		}
	}
	if (sink.out_file) {
		if (fclose(sink.out_file) != 0)
			isol8_die("--out %s: %s", out_path, strerror(errno));
		if (mode == M_BUFFERED)
			printf("[Run] Output written to %s\n", out_path);
	}
	if (res.persisted)
		fprintf(stderr,
			"[INFO] Sandbox %s kept running (init pid %d). Enter it with:\n"
			"  nsenter -t %d -m -u -i -n -p -r -w setpriv --reuid=65534 --regid=65534 --clear-groups /bin/bash\n"
			"  Stop it with: isol8-cleanup --persisted (record: %s/sandboxes/%s.json)\n",
			res.sandbox_id, res.sandbox_pid, res.sandbox_pid, isol8_run_dir(), res.sandbox_id);
	isol8_result_free(&res);
	evw_free(&sink.ev);
	request_free(&req);
	options_free(&opt);
	config_free(&cfg);
	for (size_t i = 0; i < nsecrets; i++) {
		free(secrets[i].key);
		free(secrets[i].value);
	}
	free(secrets);
	for (size_t i = 0; i < noverrides; i++) {
		free(overrides[i].key);
		free(overrides[i].value);
	}
	free(overrides);
	fflush(stdout);
	return code;
}
