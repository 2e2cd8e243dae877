/* isol8-session — persistent sessions (see isol8-session(1)): the command-line front end.
 *
 * `create` starts a session's supervisor (run/session_daemon.h), which outlives this process;
 * every other command is a client of a supervisor's socket (run/session.h), or with --host of
 * an isol8-serve. The limit flags are the ones isol8 run takes (run/cliopts.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire/events.h"
#include "isol8.h"
#include "core/runtime.h"
#include "core/json.h"
#include "run/session.h"
#include "core/cli.h"
#include "run/client.h"
#include "run/remote.h"
#include "core/util.h"
#include "state/rundir.h"
#include "run/cliopts.h"
#include "run/session_client.h"
#include "wire/sessionmsg.h"
#include "run/session_daemon.h"
#include "run/credentials.h"
#include "run/imageuse.h"
#include "run/setup.h"
#include "state/images.h"

static const char usage[] =
	"Usage: isol8-session <command> [options]\n"
	"\n"
	"  create -r RUNTIME [--id NAME] [limits]   start a session; prints {\"id\":…,\"runtime\":…}\n"
	"  exec ID [-e CODE | --cmd LINE | FILE | code on stdin] [--stdin DATA] [--timeout MS]\n"
	"          [--max-output BYTES] [--setup CMD|FILE]… [--json | --events | --no-stream]\n"
	"          [--figures png|svg|png,svg] [--create -r RUNTIME [limits]]\n"
	"  put ID PATH [SRC|-]                       copy a file into /sandbox or /tmp of the session\n"
	"  get ID PATH                               write a session file to stdout\n"
	"  ls ID [PATH]                              a directory's entries (default /sandbox), one JSON line each\n"
	"  list [--json]                             sessions of this run dir\n"
	"  list|stop [ID] --host URL [--key K] [--json]  the same on an isol8-serve (key: or ISOL8_API_KEY)\n"
	"  show ID                                   the session's meta.json\n"
	"  delete ID                                 stop it and remove everything it owned\n"
	"\n"
	"Limits (create): --memory SIZE --cpu CORES --pids-limit N --sandbox-size SIZE --tmp-size SIZE\n"
	"  --net none|host --secret KEY=VALUE --timeout MS --max-output BYTES --image DIR|NAME --writable\n"
	"  --idle-timeout MS (default: config cleanup.maxContainerAgeMs, 3600000)\n"
	"  --options FILE|-  the limits as an Isol8Options JSON object (secrets stay out of argv)\n";

static void check_id(const char *id)
{
	if (!session_id_valid(id, 64))
		isol8_die("session ids are 1-64 letters, digits, '-', '_' or '.', got \"%s\"", id);
}

/* ---- client side ------------------------------------------------------------------------ */

static bool session_alive(const char *id)
{
	check_id(id);
	char *sock = session_path(id, ISOL8_SESSION_SOCKET);
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		isol8_die("run dir path too long for a socket: %s", sock);
	free(sock);
	return session_listening(id);
}

static FILE *request(const char *id, jv req)
{
	check_id(id);
	int fd = session_send(id, req);
	if (fd < 0 && errno == ENAMETOOLONG)
		isol8_die("run dir path too long for a socket: %s", isol8_run_dir());
	return fd < 0 ? NULL : fdopen(fd, "r");
}

/* One request, one reply line; dies with the server's error. */
static jv call(const char *id, jv req)
{
	FILE *f = request(id, req);
	if (!f)
		isol8_die("no session \"%s\" (see isol8-session list)", id);
	jv v = json_read_line(f);
	fclose(f);
	const char *refusal = sessionmsg_error_of(v);
	if (refusal)
		isol8_die("%s", refusal);
	if (!jv_is_valid(v))
		isol8_die("session %s closed the connection", id);
	return v;
}

/* ---- create ------------------------------------------------------------------------------ */

struct limits {
	const char *runtime, *id;
	char gen_id[16]; /* "s-" + 12 hex when --id is not given; outlives create_session */
	isol8_options opt;
	long long idle_ms;
	const isol8_config *cfg;
};

static void limits_init(struct limits *l, const isol8_config *cfg)
{
	*l = (struct limits){.idle_ms = (long long)config_num(cfg, "cleanup.maxContainerAgeMs", 3600000), .cfg = cfg};
	isol8_err err = {0};
	isol8_options_from_config(&l->opt, cfg, &err);
}

/* The flags only sessions take, then the limit flags isol8 run takes too. */
static void limit_flag(struct limits *l, const char *flag, char *v)
{
	isol8_err err = {0};
	long long ms;
	if (!strcmp(flag, "idle-timeout")) {
		if (parse_ll(v, 1, 1ll << 40, &ms) < 0)
			isol8_die("--idle-timeout must be a number of milliseconds, got \"%s\"", v);
		l->idle_ms = ms;
	} else if (!strcmp(flag, "options")) {
		if (cliopt_options_file(&l->opt, v, l->cfg, &err) < 0)
			isol8_die("%s", err.msg);
	} else if (!strcmp(flag, "id")) {
		l->id = v;
	} else if (cliopt_apply(&l->opt, flag, v, CLIOPT_SESSION, &err) < 0) {
		isol8_die("%s", err.msg);
	}
}

/* Starts the supervisor; returns once it listens (or dies saying why it could not). */
static void create_session(struct limits *l)
{
	if (!l->runtime)
		isol8_die("create needs --runtime (python, node, bun, deno, bash)");
	if (!runtime_get(l->runtime))
		isol8_die("Unknown runtime: \"%s\". Available: %s", l->runtime, runtime_names());
	isol8_err err = {0};
	if (isol8_options_validate(&l->opt, &err) < 0)
		isol8_die("%s", err.msg);
	if (!l->id) {
		memcpy(l->gen_id, "s-", 2);
		random_hex(l->gen_id + 2, 6);
		l->id = l->gen_id;
	}
	if (session_alive(l->id))
		isol8_die("session \"%s\" already exists", l->id);
	/* --image NAME: the built image's layer for the session's sandbox; its setup script and
	 * environment go with it (image_apply puts them in a request) */
	isol8_request image;
	isol8_request_init(&image);
	image.runtime = xstrdup(l->runtime);
	char *store = images_store(l->cfg);
	int rc = image_apply(&image, &l->opt, store, &err);
	free(store);
	if (rc < 0)
		isol8_die("%s", err.msg);
	isol8_session_spec spec = {l->id, l->runtime, &l->opt, (uint64_t)l->idle_ms, l->cfg, &image};
	if (session_daemon_start(&spec, &err) < 0)
		isol8_die("%s", err.msg);
	isol8_request_free(&image);
}

static void cmd_create(int argc, char **argv, const isol8_config *cfg)
{
	static const struct option own[] = {
		{"runtime", required_argument, 0, 'r'}, {"id", required_argument, 0, 1},
		{"idle-timeout", required_argument, 0, 1}, {"options", required_argument, 0, 1}, {0, 0, 0, 0},
	};
	struct option *lo = cliopt_longopts(own);
	struct limits l;
	limits_init(&l, cfg);
	int c, li;
	optind = 2;
	while ((c = getopt_long(argc, argv, "r:", lo, &li)) != -1) {
		if (c == 'r')
			l.runtime = optarg;
		else if (c == 1 || cliopt_is(c))
			limit_flag(&l, lo[li].name, optarg);
		else
			isol8_die("unknown option (see isol8-session --help)");
	}
	create_session(&l);
	jv made = jv_object_set(jv_object_set(jv_object(), jv_string("id"), jv_string(l.id)), jv_string("runtime"),
				jv_string(l.runtime));
	fflush(stdout);
	json_write_line(1, made);
	jv_free(made);
	isol8_options_free(&l.opt);
	free(lo);
}

/* ---- exec -------------------------------------------------------------------------------- */

struct exec_args {
	const char *id, *file, *code, *cmd, *runtime, *stdin_data;
	bool create;
	enum session_output mode;
	isol8_options each; /* this exec's --timeout and --max-output (0: the session's own) */
	isol8_buf setup;    /* --setup: this exec's setup script */
	unsigned figures;   /* --figures: this exec's figure formats (0: png) */
	struct limits l;    /* for --create */
};

/* --timeout and --max-output are this exec's; the other limit flags only matter to --create */
static void exec_flag(struct exec_args *a, const char *flag, char *v)
{
	isol8_err err = {0};
	if (strcmp(flag, "timeout") && strcmp(flag, "max-output"))
		limit_flag(&a->l, flag, v);
	else if (cliopt_apply(&a->each, flag, v, CLIOPT_SESSION, &err) < 0)
		isol8_die("%s", err.msg);
}

static void parse_exec(int argc, char **argv, struct exec_args *a)
{
	static const struct option own[] = {
		{"eval", required_argument, 0, 'e'}, {"runtime", required_argument, 0, 'r'},
		{"cmd", required_argument, 0, 'c'}, {"stdin", required_argument, 0, 'i'},
		{"json", no_argument, 0, 'j'}, {"events", no_argument, 0, 'v'}, {"no-stream", no_argument, 0, 'n'},
		{"create", no_argument, 0, 'C'}, {"idle-timeout", required_argument, 0, 1},
		{"options", required_argument, 0, 1}, {"setup", required_argument, 0, 's'},
		{"figures", required_argument, 0, 'f'}, {0, 0, 0, 0},
	};
	static struct option *lo; /* static: reachable when a bad flag ends the process in the loop */
	lo = cliopt_longopts(own);
	int c, li;
	isol8_err err = {0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:r:", lo, &li)) != -1) {
		switch (c) {
		case 'e': a->code = optarg; break;
		case 'r': a->runtime = a->l.runtime = optarg; break;
		case 'c': a->cmd = optarg; break;
		case 'i': a->stdin_data = optarg; break;
		case 'j': a->mode = SESSION_OUT_JSON; break;
		case 'v': a->mode = SESSION_OUT_EVENTS; break;
		case 'n': a->mode = SESSION_OUT_BUFFERED; break;
		case 'C': a->create = true; break;
		case 'f':
			if (figure_formats_parse(optarg, &a->figures, &err) < 0)
				isol8_die("%s", err.msg);
			break;
		case 's':
			if (setup_add(&a->setup, optarg, &err) < 0)
				isol8_die("%s", err.msg);
			break;
		case 1: limit_flag(&a->l, lo[li].name, optarg); break;
		default:
			if (!cliopt_is(c))
				isol8_die("unknown option (see isol8-session --help)");
			exec_flag(a, lo[li].name, optarg);
		}
	}
	free(lo);
	if (optind >= argc)
		isol8_die("exec needs a session id (see isol8-session --help)");
	a->id = argv[optind++];
	a->file = optind < argc ? argv[optind] : NULL;
	if (a->cmd && (a->code || a->file))
		isol8_die("--cmd cannot be combined with file input or --eval.");
}

static char *slurp_fd(int fd, const char *what)
{
	isol8_buf b = {0};
	isol8_err err = {0};
	if (read_fd_all(fd, ISOL8_MAX_REQUEST_BYTES, &b, &err) < 0)
		isol8_die("%s: %s", what, err.msg);
	buf_append(&b, "", 0);
	return (char *)b.data;
}

/* The code from FILE or stdin when neither -e nor --cmd gave it: malloc'd, else NULL. */
static char *read_code(struct exec_args *a)
{
	char *text = NULL;
	if (a->file && !a->code && !a->cmd) {
		int fd = open(a->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			isol8_die("File not found: %s", a->file);
		text = slurp_fd(fd, a->file);
		close(fd);
		a->code = text;
	} else if (!a->code && !a->cmd) {
		if (isatty(0))
			isol8_die("no code given: -e CODE, --cmd LINE, a file, or code on stdin");
		text = slurp_fd(0, "stdin");
		a->code = text;
	}
	return text;
}

static jv exec_request(const struct exec_args *a)
{
	/* borrowed strings: the request is only written out */
	isol8_request r;
	isol8_request_init(&r);
	r.runtime = (char *)a->runtime;
	r.cmd = (char *)a->cmd;
	r.code = a->cmd ? NULL : (char *)a->code;
	r.setup_script = (char *)a->setup.data;
	r.figure_formats = a->figures;
	if (a->stdin_data) {
		r.stdin_data = (unsigned char *)a->stdin_data;
		r.stdin_len = strlen(a->stdin_data);
		r.has_stdin = true;
	}
	jv req = isol8_request_json(&r);
	jv opts = jv_object();
	if (a->each.timeout_ms)
		opts = cliopt_json(opts, &a->each, "timeout");
	if (a->each.max_output)
		opts = cliopt_json(opts, &a->each, "max-output");
	return sessionmsg_exec(jv_object_set(jv_object_set(jv_object(), jv_string("request"), req), jv_string("options"), opts));
}

/* The exec's audit record, when the config keeps one (consumes result). An exec that ended
 * without a result (the session died, or refused it) is recorded too, as failed. */
static void audit_exec(const isol8_config *cfg, const struct exec_args *a, jv result, uint64_t started)
{
	isol8_result res;
	isol8_err err = {0};
	if (!config_bool(cfg, "audit.enabled", 0)) {
		jv_free(result);
		return;
	}
	bool ran = jv_is_valid(result);
	if (ran && isol8_result_from_json(result, &res, &err) < 0)
		return;
	if (!ran)
		jv_free(result);
	isol8_request r;
	isol8_request_init(&r);
	r.runtime = (char *)(a->runtime ? a->runtime : ran ? res.runtime : ""); /* borrowed */
	r.cmd = (char *)a->cmd;
	r.code = a->cmd ? NULL : (char *)a->code;
	isol8_audit_who who = {.source = "session"};
	int rc = ran ? isol8_audit_execution(cfg, &r, &a->l.opt, &res, &who, &err)
		     : isol8_audit_failure(cfg, &r, &a->l.opt, "no result from the session: it refused the exec or ended during it",
					   (now_mono_ns() - started) / 1000000, &who, &err);
	if (rc < 0)
		fprintf(stderr, "[WARN] %s (the exec itself is not affected)\n", err.msg);
	if (ran)
		isol8_result_free(&res);
}

static int cmd_exec(int argc, char **argv, const isol8_config *cfg)
{
	struct exec_args a = {.mode = SESSION_OUT_STREAM};
	limits_init(&a.l, cfg);
	parse_exec(argc, argv, &a);
	char *text = read_code(&a);
	if (a.create && !session_alive(a.id)) {
		a.l.id = a.id;
		if (a.each.timeout_ms) /* the session's own limit too, for the execs that follow */
			a.l.opt.timeout_ms = a.each.timeout_ms;
		create_session(&a.l);
	}
	uint64_t started = now_mono_ns();
	FILE *f = request(a.id, exec_request(&a));
	if (!f)
		isol8_die("no session \"%s\" (create it with isol8-session create, or pass --create -r RUNTIME)", a.id);
	signal(SIGPIPE, SIG_IGN);
	jv result;
	bool mid_line;
	int rc = session_show_exec(f, a.mode, &result, &mid_line); /* the same modes as isol8 run */
	fclose(f);
	if (mid_line && isol8_audit_on_stdout(cfg)) /* the audit line starts a line of its own */
		(void)write_all(1, "\n", 1);
	audit_exec(cfg, &a, result, started);
	free(text);
	isol8_buf_free(&a.setup);
	isol8_options_free(&a.l.opt);
	return rc;
}

/* ---- stop, list ---------------------------------------------------------------------------- */

/* Stops the session (see session_stop_supervisor); an id that names no session is not an
 * error (deleting is idempotent). */
static void stop_session(const char *id)
{
	check_id(id);
	int r = session_stop_supervisor(id);
	if (r == -2)
		isol8_die("session \"%s\" has no running supervisor; run isol8-cleanup to remove it", id);
	if (r < 0)
		isol8_die("session \"%s\" did not stop within 10 s; run isol8-cleanup", id);
}

static void cmd_stop(const char *id)
{
	stop_session(id);
	printf("[OK] Session \"%s\" destroyed.\n", id);
}

/* The reference's session list (consumes all): --json as is, else "[INFO] No active sessions."
 * or a header and one line per session. */
static void print_sessions(jv all, bool as_json, void (*line)(jv s))
{
	if (as_json) {
		json_write_line(1, all);
	} else if (jv_array_length(jv_copy(all)) == 0) {
		puts("[INFO] No active sessions.");
	} else {
		printf("\n  %d active session(s):\n\n", jv_array_length(jv_copy(all)));
		jv_array_foreach(all, i, v) {
			(void)i;
			line(v);
			jv_free(v);
		}
	}
	jv_free(all);
}

static const char *str_or(jv v, const char *fallback)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : fallback;
}

/* the reference's line, plus the runtime at the end */
static void local_line(jv v)
{
	jv id = json_get(v, "id"), rt = json_get(v, "runtime"), last = json_get(v, "lastUsed");
	printf("  %s  [%s]  last accessed: %s  (%s)\n", str_or(id, "?"),
	       json_get_bool(v, "alive") ? "idle" : "gone: run isol8-cleanup", str_or(last, "?"), str_or(rt, "?"));
	jv_free(id);
	jv_free(rt);
	jv_free(last);
}

static void remote_line(jv v)
{
	jv id = json_get(v, "id"), last = json_get(v, "lastAccessedAt");
	printf("  %s  [%s]  last accessed: %s\n", str_or(id, "?"), json_get_bool(v, "isActive") ? "running" : "idle",
	       str_or(last, "?"));
	jv_free(id);
	jv_free(last);
}

static int cmd_list(bool as_json)
{
	print_sessions(session_list(), as_json, local_line);
	return 0;
}

/* `list|stop --host URL [--key K] [--json]`: the same commands against an isol8-serve. */
static int remote_cmd(int argc, char **argv)
{
	const char *host = NULL, *flag_key = NULL, *id = NULL;
	bool as_json = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--host") && i + 1 < argc)
			host = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			flag_key = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			isol8_die("unknown option \"%s\" (see isol8-session --help)", argv[i]);
	}
	char *key = credentials_key_for(flag_key, host);
	if (!key)
		isol8_die("API key required. Use --key, ISOL8_API_KEY env var, or `isol8 login`.");
	isol8_err err = {0};
	if (strcmp(argv[1], "list")) {
		if (!id)
			isol8_die("%s needs a session id", argv[1]);
		int rc = isol8_remote_delete_session(host, key, id, &err);
		free(key);
		if (rc < 0)
			isol8_die("%s", err.msg);
		printf("[OK] Session \"%s\" destroyed.\n", id);
		return 0;
	}
	jv all;
	int rc = isol8_remote_sessions(host, key, &all, &err);
	free(key);
	if (rc < 0)
		isol8_die("%s", err.msg);
	print_sessions(all, as_json, remote_line);
	return 0;
}

static bool has_host_flag(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--host"))
			return true;
	return false;
}

/* ---- put, get, show ------------------------------------------------------------------------ */

static void cmd_put(const char *id, const char *path, const char *src)
{
	int fd = src && strcmp(src, "-") ? open(src, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		isol8_die("cannot read %s: %s", src, strerror(errno));
	isol8_buf b = {0};
	isol8_err err = {0};
	if (read_fd_all(fd, 64u << 20, &b, &err) < 0)
		isol8_die("%s", err.msg);
	char *b64 = base64_encode(b.data ? b.data : (unsigned char *)"", b.len, NULL);
	jv r = call(id, sessionmsg_put(path, b64));
	jv_free(r);
	free(b64);
	isol8_buf_free(&b);
}

static void cmd_get(const char *id, const char *path)
{
	jv r = call(id, sessionmsg_get(path));
	isol8_buf b = {0};
	if (sessionmsg_content_of(r, &b) < 0)
		isol8_die("bad reply from session %s", id);
	(void)write_all(1, b.data, b.len);
	isol8_buf_free(&b);
	jv_free(r);
}

static void cmd_ls(const char *id, const char *path)
{
	jv r = call(id, sessionmsg_list(path));
	jv e = json_get(r, "entries");
	if (jv_get_kind(e) != JV_KIND_ARRAY)
		isol8_die("bad reply from session %s", id);
	jv_array_foreach(e, i, x)
	{
		json_write_line(1, x);
		jv_free(x);
	}
	jv_free(e);
	jv_free(r);
}

static void cmd_show(const char *id)
{
	jv r = call(id, sessionmsg_op(SESSION_OP_SHOW));
	json_write_line(1, r);
	jv_free(r);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	isol8_config cfg;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0)
		isol8_die("%s", err.msg);
	const char *cmd = argv[1];
	if ((!strcmp(cmd, "list") || !strcmp(cmd, "stop") || !strcmp(cmd, "delete")) && has_host_flag(argc, argv)) {
		isol8_config_free(&cfg);
		return remote_cmd(argc, argv);
	}
	int rc = 0;
	if (!strcmp(cmd, "create"))
		cmd_create(argc, argv, &cfg);
	else if (!strcmp(cmd, "exec"))
		rc = cmd_exec(argc - 1, argv + 1, &cfg);
	else if (!strcmp(cmd, "put") && (argc == 4 || argc == 5))
		cmd_put(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	else if (!strcmp(cmd, "get") && argc == 4)
		cmd_get(argv[2], argv[3]);
	else if (!strcmp(cmd, "ls") && (argc == 3 || argc == 4))
		cmd_ls(argv[2], argc == 4 ? argv[3] : "/sandbox");
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(argc > 2 && !strcmp(argv[2], "--json"));
	else if (!strcmp(cmd, "show") && argc == 3)
		cmd_show(argv[2]);
	else if ((!strcmp(cmd, "delete") || !strcmp(cmd, "stop")) && argc == 3)
		cmd_stop(argv[2]);
	else
		isol8_die("unknown or incomplete command \"%s\" (see isol8-session --help)", cmd);
	isol8_config_free(&cfg);
	return rc;
}
