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

#include "core/runtime.h"
#include "run/imageuse.h"
#include "run/install.h"
#include "run/client.h"
#include "isol8.h"
#include "run.h"
#include "wire/events.h"
#include "core/json.h"
#include "core/cli.h"
#include "core/config.h"
#include "run/reaper.h"
#include "run/session.h"
#include "run/setup.h"
#include "run/session_client.h"
#include "core/util.h"
#include "sandbox/sandbox.h"
#include "state/images.h"
#include "state/rundir.h"
#include "run/cliopts.h"
#include "run/credentials.h"

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
	"      --setup CMD|FILE    a bash setup script run before the code, as the sandbox user in /sandbox\n"
	"                          (a file's contents when FILE exists; repeatable, joined by newlines)\n"
	"      --image NAME|DIR    a built image (isol8 build; its packages read-only at /isol8-image), or\n"
	"                          DIR as the root filesystem instead of the host's runtime dirs\n"
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
	"      --figures FORMATS   python: matplotlib figures come back as png (default), svg or png,svg\n"
	"      --outputs DIR       write the figures into DIR as figure-1.png, figure-2.svg, … (DIR made if\n"
	"                          missing; an existing file is an error)\n"
	"      --debug             isol8's own debug lines on stderr\n"
	"  -h, --help              this text\n";


enum {
	O_CMD = 256, O_STDIN, O_REQUEST, O_FILES, O_WORKDIR, O_PERSIST, O_NOSTREAM, O_JSON, O_EVENTS,
	O_OUT, O_DEBUG, O_LATER, O_SETUP, O_HOST, O_KEY, O_PERSISTENT, O_SESSION_ID, O_ALLOW, O_DENY, O_LOGNET, O_INSTALL, O_STREAM,
	O_FIGURES, O_OUTPUTS,
};

/* isol8 run's own flags; the limit flags (run/cliopts.h) are appended to them */
static const struct option own_opts[] = {
	{"eval", required_argument, 0, 'e'}, {"runtime", required_argument, 0, 'r'},
	{"cmd", required_argument, 0, O_CMD}, {"stdin", required_argument, 0, O_STDIN},
	{"request", required_argument, 0, O_REQUEST}, {"files", required_argument, 0, O_FILES},
	{"workdir", required_argument, 0, O_WORKDIR},
	{"persist", no_argument, 0, O_PERSIST}, {"no-stream", no_argument, 0, O_NOSTREAM},
	{"stream", no_argument, 0, O_STREAM},
	{"json", no_argument, 0, O_JSON}, {"events", no_argument, 0, O_EVENTS},
	{"out", required_argument, 0, O_OUT}, {"debug", no_argument, 0, O_DEBUG},
	{"figures", required_argument, 0, O_FIGURES}, {"outputs", required_argument, 0, O_OUTPUTS},
	{"help", no_argument, 0, 'h'},
	/* reference flags that belong to other tools of the toolkit (clear error, see later_flag) */
	{"allow", required_argument, 0, O_ALLOW}, {"deny", required_argument, 0, O_DENY},
	{"log-network", no_argument, 0, O_LOGNET}, {"install", required_argument, 0, O_INSTALL},
	{"persistent", no_argument, 0, O_PERSISTENT}, {"session-id", required_argument, 0, O_SESSION_ID},
	{"host", required_argument, 0, O_HOST}, {"key", required_argument, 0, O_KEY},
	{"url", required_argument, 0, O_LATER}, {"github", required_argument, 0, O_LATER},
	{"gist", required_argument, 0, O_LATER}, {"hash", required_argument, 0, O_LATER},
	{"setup", required_argument, 0, O_SETUP}, {"allow-insecure-code-url", no_argument, 0, O_LATER},
	{0, 0, 0, 0},
};

static const char *later_flag(const char *name)
{
	return "is not supported: fetch the code yourself and pass it as a file or -e";
}

/* ---- --files DIR ------------------------------------------------------------------------- */

/* ---- event sinks ------------------------------------------------------------------------- */

struct sink {
	enum mode mode;
	FILE *out_file;
	isol8_evwriter ev; /* --events */
	bool mid_line;     /* the program's output on stdout did not end with a newline (yet) */
};

/* An audit line on stdout starts a line of its own: the program's unfinished one is ended. */
static void end_stdout_line(const isol8_config *cfg, struct sink *s)
{
	if (s->mid_line && isol8_audit_on_stdout(cfg))
		(void)write_all(1, "\n", 1);
	s->mid_line = false;
}

static void on_event(void *ctx, const isol8_event *ev)
{
	struct sink *s = ctx;
	if (ev->type == ISOL8_EV_STDOUT && s->out_file)
		fwrite(ev->data, 1, ev->len, s->out_file);
	if (s->mode == M_STREAM) {
		if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR)
			(void)write_all(ev->type == ISOL8_EV_STDOUT ? 1 : 2, ev->data, ev->len);
		if (ev->type == ISOL8_EV_STDOUT && ev->len)
			s->mid_line = ev->data[ev->len - 1] != '\n';
		else if (ev->type == ISOL8_EV_ERROR)
			fprintf(stderr, "[ERR] %.*s\n", (int)ev->len, (const char *)ev->data);
	} else if (s->mode == M_EVENTS) {
		evw_event(&s->ev, ev);
	}
}


/* A remote run's Isol8Options: only what the flags set explicitly (the server's own defaults
 * and bounds apply to the rest). */
static jv remote_options(const isol8_options *op, const isol8_kv *overrides, size_t noverrides, bool allow_given,
			 bool deny_given)
{
	jv o = jv_object();
	for (size_t i = 0; i < noverrides; i++) {
		if (!strcmp(overrides[i].key, "persist"))
			o = jv_object_set(o, jv_string("persist"), jv_true());
		else /* a limit flag's member; nothing for --workdir and --debug */
			o = cliopt_json(o, op, overrides[i].key);
	}
	if (op->nsecrets)
		o = jv_object_set(o, jv_string("secrets"), options_member(op, "secrets"));
	if (allow_given || deny_given) {
		jv f = jv_object();
		if (allow_given)
			f = jv_object_set(f, jv_string("whitelist"), options_member(op, "networkFilter.whitelist"));
		if (deny_given)
			f = jv_object_set(f, jv_string("blacklist"), options_member(op, "networkFilter.blacklist"));
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
		const char *name = overrides[i].key;
		char *v = overrides[i].value;
		isol8_err err = {0};
		if (!strcmp(name, "workdir")) {
			free(rq->workdir);
			rq->workdir = xstrdup(v);
		} else if (!strcmp(name, "persist")) {
			op->persist = true;
		} else if (!strcmp(name, "debug")) {
			op->debug = true;
		} else {
			*net_given |= !strcmp(name, "net");
			if (cliopt_apply(op, name, v, CLIOPT_RUN, &err) < 0)
				isol8_die("%s", err.msg);
			if (!strcmp(name, "timeout"))
				rq->timeout_ms = op->timeout_ms; /* over a --request's own too */
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

/* What the command line says (the strings are argv's). */
struct run_args {
	enum mode mode;
	const char *eval, *runtime, *cmd, *request_file, *files_dir, *out_path, *stdin_data, *session_id, *host,
		*api_key, *file, *outputs_dir;
	unsigned figures;    /* --figures (ISOL8_FIGURE_*), 0 when not given */
	bool persistent, allow_given, deny_given, stream_asked;
	char **installs;
	size_t ninstalls;
	isol8_buf setup;     /* --setup values joined with "\n" */
	isol8_kv *secrets;   /* kept apart: a session gets them in a memfd, never in argv */
	size_t nsecrets;
	isol8_kv *overrides; /* --workdir, --persist, --debug and the limit flags, by name: applied
			      * after --request, so that flags override the JSON */
	size_t noverrides;
};

/* --allow / --deny: given on the command line, a list replaces the config's */
static void add_filter(struct run_args *a, isol8_options *opt, int c, const char *pattern)
{
	bool *given = c == O_ALLOW ? &a->allow_given : &a->deny_given;
	char ***v = c == O_ALLOW ? &opt->net_allow : &opt->net_deny;
	size_t *n = c == O_ALLOW ? &opt->nallow : &opt->ndeny;
	if (!*given)
		strv_clear(v, n);
	*given = true;
	isol8_strv_add(v, n, pattern);
}

static void keep_flag(struct run_args *a, int c, const char *name, char *value)
{
	isol8_err err = {0};
	if (cliopt_is(c) && !strcmp(name, "secret")) {
		if (cliopt_secret(value, &a->secrets, &a->nsecrets, &err) < 0)
			isol8_die("%s", err.msg);
	} else {
		isol8_kv_add(&a->overrides, &a->noverrides, name, value ? value : "");
	}
}

/* The one flag c (long name longopts[li].name); false for --help. */
static bool take_flag(struct run_args *a, isol8_options *opt, int c, const struct option *lo, int li, char **argv)
{
	switch (c) {
	case 1: take_file(&a->file, optarg); break;
	case 'e': a->eval = optarg; break;
	case 'r': a->runtime = optarg; break;
	case O_CMD: a->cmd = optarg; break;
	case O_STDIN: a->stdin_data = optarg; break;
	case O_REQUEST: a->request_file = optarg; break;
	case O_FILES: a->files_dir = optarg; break;
	case O_OUT: a->out_path = optarg; break;
	case O_OUTPUTS: a->outputs_dir = optarg; break;
	case O_FIGURES: {
		isol8_err err = {0};
		if (figure_formats_parse(optarg, &a->figures, &err) < 0)
			isol8_die("%s", err.msg);
		break;
	}
	case O_NOSTREAM: a->mode = M_BUFFERED; break;
	case O_STREAM: a->stream_asked = true; break;
	case O_JSON: a->mode = M_JSON; break;
	case O_EVENTS: a->mode = M_EVENTS; break;
	case O_PERSISTENT: a->persistent = true; break;
	case O_HOST: a->host = optarg; break;
	case O_KEY: a->api_key = optarg; break;
	case O_ALLOW:
	case O_DENY: add_filter(a, opt, c, optarg); break;
	case O_LOGNET: opt->log_network = true; break;
	case O_INSTALL: isol8_strv_add(&a->installs, &a->ninstalls, optarg); break;
	case O_SETUP: {
		isol8_err err = {0};
		if (setup_add(&a->setup, optarg, &err) < 0)
			isol8_die("%s", err.msg);
		break;
	}
	case O_SESSION_ID: a->session_id = optarg; a->persistent = true; break;
	case 'h': return false;
	case O_LATER: isol8_die("--%s %s", lo[li].name, later_flag(lo[li].name));
	case '?':
	case ':': bad_option(c, argv);
	default: keep_flag(a, c, lo[li].name, optarg);
	}
	return true;
}

/* false for --help */
static bool parse_args(int argc, char **argv, struct run_args *a, isol8_options *opt)
{
	/* static: a bad flag ends the process inside the loop (isol8_die), and the array must stay
	 * reachable then, or a sanitizer build reports it as a leak */
	static struct option *longopts;
	longopts = cliopt_longopts(own_opts);
	int c, li = 0;
	bool go_on = true;
	/* "-": words that are not options come back in order as 1, whatever POSIXLY_CORRECT says;
	 * ":": a missing value is told apart from an unknown option */
	opterr = 0;
	while (go_on && (c = getopt_long(argc, argv, "-:e:r:h", longopts, &li)) != -1)
		go_on = take_flag(a, opt, c, longopts, li, argv);
	free(longopts);
	longopts = NULL;
	if (!go_on)
		return false;
	for (; optind < argc; optind++) /* the words after "--" */
		take_file(&a->file, argv[optind]);
	/* --stream asks for the default, so it can only clash with a buffered mode */
	if (a->stream_asked && (a->mode == M_BUFFERED || a->mode == M_JSON))
		isol8_die("--stream cannot be combined with --no-stream or --json");
	return true;
}

static void code_from_file(const struct run_args *a, isol8_request *req)
{
	struct stat st;
	if (stat(a->file, &st) < 0 || !S_ISREG(st.st_mode))
		isol8_die("File not found: %s", a->file);
	const isol8_runtime *rt = a->runtime ? runtime_get(a->runtime) : runtime_detect(a->file);
	if (!rt && !a->runtime)
		isol8_die("Cannot detect runtime for %s. Use --runtime to specify.", a->file);
	req->code = slurp(a->file, a->file);
	req->runtime = xstrdup(a->runtime ? a->runtime : rt->name);
	const char *dot = strrchr(a->file, '.');
	const char *slash = strrchr(a->file, '/');
	if (dot && (!slash || dot > slash))
		req->file_ext = xstrdup(dot);
	req->force_file = true; /* a script runs as a file: __file__, tracebacks, import.meta */
}

/* The request from the input, first match wins: --request, --cmd, -e, a file, stdin. */
static void resolve_input(const struct run_args *a, isol8_request *req, isol8_options *opt, const isol8_config *cfg)
{
	isol8_err err = {0};
	if (a->request_file) {
		if (a->eval || a->cmd || a->file)
			isol8_die("--request cannot be combined with file input, --eval or --cmd.");
		char *text = slurp(a->request_file, "--request");
		jv doc;
		if (json_parse(text, strlen(text), "--request", &doc, &err) < 0 ||
		    isol8_request_from_json(doc, req, opt, cfg, &err) < 0)
			isol8_die("%s", err.msg);
		free(text);
		if (a->runtime) {
			free(req->runtime);
			req->runtime = xstrdup(a->runtime);
		}
	} else if (a->cmd) {
		if (a->file || a->eval)
			isol8_die("--cmd cannot be combined with file input, --eval, --url, --github, or --gist.");
		req->cmd = xstrdup(a->cmd);
		req->runtime = xstrdup(a->runtime ? a->runtime : "bash");
	} else if (a->eval) {
		req->code = xstrdup(a->eval);
		req->runtime = xstrdup(a->runtime ? a->runtime : "python");
	} else if (a->file) {
		code_from_file(a, req);
	} else {
		if (isatty(0))
			isol8_die("no code given: pass a file, -e CODE, --cmd LINE, or pipe code on stdin (see isol8 run --help)");
		req->code = slurp("-", "stdin");
		req->runtime = xstrdup(a->runtime ? a->runtime : "python");
	}
}

static void set_stdin(isol8_request *req, const char *data)
{
	free(req->stdin_data);
	req->stdin_data = (unsigned char *)xstrdup(data);
	req->stdin_len = strlen(data);
	req->has_stdin = true;
}

/* --persistent (without --host): the run becomes an exec in a session, by isol8-session. */
static void hand_over_if_persistent(const struct run_args *a, const isol8_request *req)
{
	if (!a->persistent || a->host)
		return;
	if (a->request_file || a->files_dir || a->out_path || a->outputs_dir)
		isol8_die("--persistent cannot be combined with --request, --files, --out or --outputs (use isol8-session put "
			  "and get, or --json)");
	bool persist = false;
	for (size_t i = 0; i < a->noverrides; i++) {
		if (!strcmp(a->overrides[i].key, "workdir"))
			isol8_die("--persistent cannot be combined with --workdir (a session works in /sandbox)");
		persist |= !strcmp(a->overrides[i].key, "persist");
	}
	if (!runtime_get(req->runtime))
		isol8_die("Unknown runtime: \"%s\". Available: %s", req->runtime, runtime_names());
	if (a->session_id && !*a->session_id)
		isol8_die("--session-id needs a name");
	isol8_request with_setup = *req; /* borrowed: run_persistent execs isol8-session */
	if (a->setup.len)
		with_setup.setup_script = (char *)a->setup.data;
	fflush(NULL);
	run_persistent(a->session_id, persist, &with_setup, a->mode, a->overrides, a->noverrides, a->secrets, a->nsecrets);
}

/* The flags over the request, --files and --install added, and (locally) every check made. */
static void finish_request(struct run_args *a, isol8_request *req, isol8_options *opt, const isol8_config *cfg)
{
	isol8_err err = {0};
	bool net_given = false;
	apply_overrides(req, opt, a->overrides, a->noverrides, &net_given);
	if (a->figures) /* over a --request's figureFormats, as flags override the JSON */
		req->figure_formats = a->figures;
	if (a->files_dir) {
		int dfd = open(a->files_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			isol8_die("--files path is not a directory: %s", a->files_dir);
		uint64_t total = 0;
		files_add_dir(req, dfd, "", &total, opt->sandbox_size);
	}
	for (size_t i = 0; i < a->ninstalls; i++)
		isol8_strv_add(&req->install, &req->ninstall, a->installs[i]);
	if (a->setup.len) { /* over a --request's setupScript, as flags override the JSON */
		free(req->setup_script);
		req->setup_script = (char *)a->setup.data;
		a->setup = (isol8_buf){0};
	}
	strv_clear(&a->installs, &a->ninstalls);
	/* remote: the server resolves images and installs, and validates against its own policy */
	if (!a->host && isol8_request_resolve(req, opt, cfg, net_given || a->request_file, &err) < 0)
		isol8_die("%s", err.msg);
	if (!a->host && isol8_request_validate(req, opt, &err) < 0)
		isol8_die("%s", err.msg);
}

/* --host: the run on an isol8-serve; dies on failure. */
static void run_remote(struct run_args *a, const isol8_request *req, const isol8_options *opt, struct sink *sink,
		       bool want_events, isol8_result *res)
{
	isol8_err err = {0};
	char auto_id[32] = "";
	jv ropts = remote_options(opt, a->overrides, a->noverrides, a->allow_given, a->deny_given);
	char *key = credentials_key_for(a->api_key, a->host);
	if (!key)
		isol8_die("API key required. Use --key, ISOL8_API_KEY env var, or `isol8 login`.");
	if (a->persistent && !a->session_id) {
		/* the reference's throw-away remote session, deleted at exit */
		snprintf(auto_id, sizeof auto_id, "cli-%llu", (unsigned long long)now_real_ms());
		a->session_id = auto_id;
	}
	if (a->persistent)
		fprintf(stderr, "[Run] Session ID: %s\n", a->session_id);
	isol8_engine *remote = isol8_engine_remote(a->host, key, a->persistent ? a->session_id : NULL, ropts);
	/* the stream is the default remotely too; --no-stream and --json use POST /execute */
	int rc = want_events ? isol8_engine_execute_stream(remote, req, on_event, sink, res, &err)
			     : isol8_engine_execute(remote, req, res, &err);
	if (auto_id[0]) {
		isol8_err derr = {0};
		(void)isol8_engine_stop(remote, &derr);
	}
	isol8_engine_free(remote);
	explicit_bzero(key, strlen(key));
	free(key);
	if (a->session_id == auto_id)
		a->session_id = NULL; /* auto_id ends here */
	if (rc < 0)
		isol8_die("%s", err.msg);
}

/* The program's code, or 128 + the signal that told us to stop, as a shell would say. */
static int exit_code(int sfd, const isol8_result *res)
{
	struct signalfd_siginfo si;
	if (sfd >= 0) {
		fcntl(sfd, F_SETFL, O_NONBLOCK);
		if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
			return 128 + (int)si.ssi_signo;
	}
	return res->exit_code;
}

/* What the mode shows once the run is over (the stream modes showed the output already). */
static void print_result(enum mode mode, isol8_result *res, struct sink *sink)
{
	if (mode == M_BUFFERED) {
		result_show_buffered(res);
	} else if (mode == M_JSON || mode == M_EVENTS) {
		jv r = isol8_result_json(res);
		if (mode == M_EVENTS) {
			evw_result(&sink->ev, r);
		} else {
			json_write_line(1, r);
			jv_free(r);
		}
	}
}

static void close_out_file(const struct run_args *a, struct sink *sink)
{
	if (!sink->out_file)
		return;
	if (fclose(sink->out_file) != 0)
		isol8_die("--out %s: %s", a->out_path, strerror(errno));
	if (a->mode == M_BUFFERED)
		printf("[Run] Output written to %s\n", a->out_path);
}

static void tell_persisted(const isol8_result *res)
{
	if (!res->persisted)
		return;
	char *record = rundir_sandbox_record(NULL, res->sandbox_id);
	fprintf(stderr,
		"[INFO] Sandbox %s kept running (init pid %d). Enter it with:\n"
		"  nsenter -t %d -m -u -i -n -p -r -w setpriv --reuid=%d --regid=%d --clear-groups /bin/bash\n"
		"  Stop it with: isol8-cleanup --persisted (record: %s)\n",
		res->sandbox_id, res->sandbox_pid, res->sandbox_pid, ISOL8_SANDBOX_UID, ISOL8_SANDBOX_GID, record);
	free(record);
}

/* A run that was accepted but could not run: its audit line all the same (status failed). */
static void audit_failure(const isol8_config *cfg, const isol8_request *req, const isol8_options *opt,
			  const char *why, uint64_t started, struct sink *sink)
{
	end_stdout_line(cfg, sink);
	isol8_audit_who who = {.source = "cli"};
	isol8_err err = {0};
	if (isol8_audit_failure(cfg, req, opt, why, (now_mono_ns() - started) / 1000000, &who, &err) < 0)
		fprintf(stderr, "[WARN] %s\n", err.msg);
}

int isol8_run_main(int argc, char **argv)
{
	isol8_config cfg;
	isol8_options opt;
	isol8_request req;
	isol8_err err = {0};
	isol8_request_init(&req);
	if (isol8_config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	if (isol8_options_from_config(&opt, &cfg, &err) < 0)
		isol8_die("%s", err.msg);
	struct run_args a = {.mode = M_STREAM};
	if (!parse_args(argc, argv, &a, &opt)) {
		fputs(usage, stdout);
		isol8_options_free(&opt);
		isol8_config_free(&cfg);
		return 0;
	}
	resolve_input(&a, &req, &opt, &cfg);
	for (size_t i = 0; i < a.nsecrets; i++)
		isol8_kv_add(&opt.secrets, &opt.nsecrets, a.secrets[i].key, a.secrets[i].value);
	if (a.stdin_data)
		set_stdin(&req, a.stdin_data);
	if (a.figures)
		req.figure_formats = a.figures; /* --persistent passes it on too */
	if (a.api_key && !a.host)
		isol8_die("--key needs --host (the remote server's URL)");
	hand_over_if_persistent(&a, &req);
	finish_request(&a, &req, &opt, &cfg);

	struct sink sink = {.mode = a.mode, .ev = {.fd = 1}};
	if (a.out_path && !(sink.out_file = fopen(a.out_path, "we")))
		isol8_die("--out %s: %s", a.out_path, strerror(errno));
	int outputs_fd = a.outputs_dir ? outputs_dir_open(a.outputs_dir) : -1; /* before the run: fail early */
	/* SIGINT/SIGTERM/SIGHUP end the run cleanly (sandbox killed, cgroup removed). */
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd_for(SIGINT, SIGTERM, SIGHUP, 0);
	isol8_result res;
	bool want_events = a.mode == M_STREAM || a.mode == M_EVENTS || sink.out_file;
	uint64_t started = now_mono_ns();
	if (a.host) {
		run_remote(&a, &req, &opt, &sink, want_events, &res);
	} else if (isol8_execute(&req, &opt, want_events ? on_event : NULL, &sink, sfd, &res, &err) < 0) {
		audit_failure(&cfg, &req, &opt, err.msg, started, &sink);
		isol8_die("%s", err.msg);
	}

	int code = exit_code(sfd, &res);
	print_result(a.mode, &res, &sink);
	if (!a.host) { /* a remote run is the server's to audit */
		end_stdout_line(&cfg, &sink);
		isol8_audit_who who = {.source = "cli"};
		if (isol8_audit_execution(&cfg, &req, &opt, &res, &who, &err) < 0)
			fprintf(stderr, "[WARN] %s (the run itself is not affected)\n", err.msg);
	}
	close_out_file(&a, &sink);
	if (outputs_fd >= 0) {
		if (res.outputs_note && (a.mode == M_STREAM || a.mode == M_BUFFERED))
			fprintf(stderr, "[WARN] %s\n", res.outputs_note);
		outputs_write(outputs_fd, a.outputs_dir, &res);
	}
	tell_persisted(&res);
	isol8_result_free(&res);
	evw_free(&sink.ev);
	isol8_request_free(&req);
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	kv_free(a.secrets, a.nsecrets);
	kv_free(a.overrides, a.noverrides);
	fflush(stdout);
	return code;
}
