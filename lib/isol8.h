/* isol8.h — the public C API of libisol8util: run untrusted code in a sandbox from any C
 * program, on this machine or on an isol8-serve. This is the one installed header, and every name
 * in it carries the isol8_ prefix; in the installed archive every other symbol is local, so the
 * library's helpers can never collide with an embedding program's own (docs/ARCHITECTURE.md).
 *
 *   isol8_config cfg;  isol8_options opt;  isol8_request req;  isol8_result res;  isol8_err err;
 *   isol8_config_load(&cfg, &err);  isol8_options_from_config(&opt, &cfg, &err);
 *   isol8_request_init(&req);  req.runtime = strdup("python");  req.code = strdup("print(2 ** 10)");
 *   isol8_request_resolve(&req, &opt, &cfg, false, &err);        // built images, --install's network
 *   isol8_request_validate(&req, &opt, &err);
 *   isol8_execute(&req, &opt, on_event, ctx, -1, &res, &err);   // events as they happen
 *   jv j = isol8_result_json(&res);                              // the ExecutionResult
 *
 * Or through an engine, the same calls for this machine and for a server:
 *
 *   isol8_engine *e = isol8_engine_local(&opt, ISOL8_MODE_EPHEMERAL);
 *   isol8_engine *e = isol8_engine_remote("http://127.0.0.1:3000", key, NULL, jv_null());
 *   isol8_engine_start(e, &err);
 *   isol8_engine_execute_stream(e, &req, on_event, ctx, &res, &err);
 *   isol8_engine_stop(e, &err);  isol8_engine_free(e);
 *
 * A persistent engine keeps one sandbox (local: an in-process session; remote: a server session
 * named session_id) whose interpreter state and files survive between executes; put_file and
 * get_file need one. The remote engine loads libcurl on first use (dlopen), so programs that only
 * run locally never pay its start-up.
 *
 * Errors: functions return a negative value and describe the failure in an isol8_err; only a
 * program's main() prints and exits. Link with -lisol8util -ljq -lseccomp -lpcre2-8 -lm. */
#ifndef ISOL8_H
#define ISOL8_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ISOL8_VERSION "0.1.0"

/* ---- errors ---------------------------------------------------------------------------- */

/* kind keeps isol8's own faults apart from bad input. */
enum isol8_err_kind {
	ISOL8_E_NONE = 0,
	ISOL8_E_INPUT,    /* the caller's request or flags are wrong: fix the input */
	ISOL8_E_SANDBOX,  /* isol8 could not build or run the sandbox: a host/setup problem */
	ISOL8_E_INTERNAL, /* anything else (out of memory, I/O on our own pipes) */
};

typedef struct isol8_err {
	enum isol8_err_kind kind;
	int sys_errno;
	char msg[1024];
} isol8_err;


/* ---- buffers and lists ------------------------------------------------------------------ */

/* A growable byte buffer; data is always NUL-terminated for convenience (len excludes it). */
typedef struct isol8_buf {
	unsigned char *data;
	size_t len, cap;
} isol8_buf;
void isol8_buf_free(isol8_buf *b);

typedef struct isol8_kv {
	char *key, *value;
} isol8_kv;
/* Appends copies of key and value to the list *v of *n entries. */
void isol8_kv_add(isol8_kv **v, size_t *n, const char *key, const char *value);
/* Appends a copy of s to the string list *v of *n entries. */
void isol8_strv_add(char ***v, size_t *n, const char *s);

/* ---- configuration: ./isol8.config.json, else ~/.isol8/config.json, else defaults --------- */

typedef struct isol8_config {
	jv root;      /* the merged configuration */
	char *source; /* absolute path of the file loaded, or NULL for defaults */
} isol8_config;
/* Loads from cwd/HOME as above. ISOL8_CONFIG=path overrides the search (for tests, services). */
int isol8_config_load(isol8_config *c, isol8_err *err);
/* Validates and merges one JSON text over the defaults (what isol8_config_load does with a file). */
int isol8_config_from_text(isol8_config *c, const char *text, size_t len, const char *what, isol8_err *err);
void isol8_config_free(isol8_config *c);


/* ---- options: a run's limits and policy (Isol8Options) ---------------------------------- */

/* Limits on what one request may carry (bad input must not exhaust isol8 itself). */
#define ISOL8_MAX_REQUEST_BYTES (64u << 20)
#define ISOL8_MAX_FILES 4096
#define ISOL8_MAX_ENV 1024


enum isol8_net { ISOL8_NET_NONE, ISOL8_NET_HOST, ISOL8_NET_FILTERED };
/* "none", "host" or "filtered" as its enum isol8_net, or -1 for anything else. */
int isol8_net_from_name(const char *name);
/* The reverse, from the same table. */
const char *isol8_net_to_name(enum isol8_net net);
enum isol8_seccomp { ISOL8_SECCOMP_STRICT, ISOL8_SECCOMP_UNCONFINED };

typedef struct isol8_options {
	enum isol8_net network;
	uint64_t memory_limit;   /* bytes */
	double cpu_limit;        /* cores */
	long long pids_limit;
	uint64_t sandbox_size, tmp_size;
	uint64_t max_output;     /* bytes per stream */
	long long timeout_ms;
	isol8_kv *secrets;
	size_t nsecrets;
	char *image;             /* root filesystem directory, or NULL for the host's runtime dirs */
	bool writable;           /* root filesystem writable (changes discarded) */
	bool persist;            /* leave the sandbox alive after the run */
	bool debug;
	enum isol8_seccomp seccomp;
	char **net_allow, **net_deny; /* --net filtered: host patterns (pcre2) */
	size_t nallow, ndeny;
	bool log_network;             /* put this run's proxy log in the result (networkLogs) */
	char *layer;                  /* a built image's packages (host dir), mounted at /isol8-image */
	bool layer_writable;          /* …writable: the build of that image */
	/* figures of python runs as results (config outputs.*, docs/figures.md); a cap of 0 is
	 * its default */
	bool outputs_enabled;         /* outputs.enabled (isol8_options_from_config: true) */
	unsigned outputs_max_count;   /* figures per run (10) */
	uint64_t outputs_max_pixels;  /* width * height of one image (4000000) */
	uint64_t outputs_max_bytes;   /* raw bytes of all outputs of one run (8 MiB) */
} isol8_options;
/* Options from the merged config's defaults (timeout, memory, cpu, sizes, network, rootfs, seccomp). */
int isol8_options_from_config(isol8_options *o, const isol8_config *c, isol8_err *err);
void isol8_options_free(isol8_options *o);
/* The options' own checks (secret names, filter patterns, minimum sizes), which
 * isol8_request_validate ends with; for tools that build a sandbox without a request. */
int isol8_options_validate(const isol8_options *o, isol8_err *err);


/* ---- requests: what to run (ExecutionRequest) --------------------------------------------- */

typedef struct isol8_file {
	char *path;          /* absolute, normalized, inside /sandbox or /tmp */
	unsigned char *data;
	size_t len;
	unsigned mode;        /* permission bits; 0 means 0644 */
} isol8_file;

/* The formats a python run's figures come back in (request "figureFormats"). */
#define ISOL8_FIGURE_PNG 1u
#define ISOL8_FIGURE_SVG 2u

typedef struct isol8_request {
	char *runtime;
	char *code;            /* exactly one of code / cmd */
	char *cmd;
	char *file_ext;        /* ".py"; used when code is written to /sandbox/main<ext> */
	bool force_file;       /* always materialize code as a file (warm drivers, large code) */
	unsigned char *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	char *workdir;         /* resolved absolute path under /sandbox */
	isol8_kv *env;
	size_t nenv;
	isol8_file *files;
	size_t nfiles;
	char **output_paths;
	size_t noutput;
	long long timeout_ms;  /* -1: use options */
	char **install;        /* packages installed before the code runs (through the proxy) */
	size_t ninstall;
	char *registry;        /* the host's configured registry URL for them, or NULL */
	char *setup_script;    /* bash, run before the code as the sandbox user in /sandbox, or NULL */
	char *image_setup_script; /* the built image's own (set by isol8_request_resolve), run before
	                           * setup_script as a script of its own, or NULL */
	isol8_kv *metadata;    /* copied into the audit log's record (metadata.userId: its userId) */
	size_t nmetadata;
	unsigned figure_formats; /* ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG; 0: PNG */
} isol8_request;

void isol8_request_init(isol8_request *r);
void isol8_request_free(isol8_request *r);
/* Parses {"request":{…},"options":{…}} or a bare ExecutionRequest object (consumes doc).
 * Options are applied over *o; the operator's config bounds what options may loosen
 * (seccomp 'unconfined' only where config security.seccomp allows it). */
int isol8_request_from_json(jv doc, isol8_request *r, isol8_options *o, const isol8_config *c, isol8_err *err);
/* The JSON an ExecutionRequest travels as (what isol8_request_from_json reads). */
jv isol8_request_json(const isol8_request *r);
/* What isol8 run does between reading a request and running it: the built image (opt->image
 * naming an image of the store — c's imageStore, ISOL8_IMAGE_DIR or the default; or, with packages
 * to install, the image that has them all, and then nothing is installed), whose layer, setup
 * script and environment go into o and r; then the network the remaining installs need
 * (filtered to the host's registry unless network_explicit). c may be NULL. A persistent engine's
 * sandbox takes the layer of the options it is created with. */
int isol8_request_resolve(isol8_request *r, isol8_options *o, const isol8_config *c, bool network_explicit,
			  isol8_err *err);
/* Final checks (runtime known, exactly one of code/cmd, paths) — run for every entry point. */
int isol8_request_validate(isol8_request *r, const isol8_options *o, isol8_err *err);
/* Adds a file written into the sandbox before the code runs (path beneath /sandbox or /tmp). */
int isol8_request_add_file(isol8_request *r, const char *path, const void *data, size_t len, isol8_err *err);


/* ---- results: what it did (ExecutionResult) ------------------------------------------------ */

/* What a run emits as it goes: output (masked, within the cap), then its exit or an error. */
typedef enum { ISOL8_EV_STDOUT, ISOL8_EV_STDERR, ISOL8_EV_EXIT, ISOL8_EV_ERROR } isol8_event_type;

/* Which part of a run an event belongs to: the request's setup script, or its code. */
typedef enum { ISOL8_PHASE_CODE = 0, ISOL8_PHASE_SETUP } isol8_phase;
typedef struct isol8_event {
	isol8_event_type type;
	const unsigned char *data; /* stdout/stderr bytes (masked, within the output cap), or text */
	size_t len;
	isol8_phase phase;
} isol8_event;

typedef void (*isol8_event_fn)(void *ctx, const isol8_event *ev);

/* What a sandbox used, from its cgroup. */
typedef struct isol8_cg_stats {
	uint64_t cpu_ns;
	uint64_t peak_memory;
	uint64_t oom_kills;
	uint64_t pids_max_hits;
} isol8_cg_stats;

typedef struct isol8_out_file {
	char *path;
	isol8_buf data;
} isol8_out_file;

/* A figure a python run produced (matplotlib), as isol8 read and checked it. */
typedef struct isol8_output {
	char *type;          /* "image/png" or "image/svg+xml" */
	unsigned char *data; /* the raw bytes (base64 only in JSON) */
	size_t len;
	int width, height;   /* pixels */
} isol8_output;

typedef struct isol8_result {
	isol8_buf out, err;         /* masked; capped; markers appended; not yet trimmed */
	int exit_code;
	const char *status;         /* ok error timeout oom signal output_limit */
	int signal;                 /* 0 or the terminating signal */
	bool truncated;
	uint64_t duration_ms;
	char execution_id[37];
	char runtime[16];
	char timestamp[32];
	char sandbox_id[33];
	pid_t sandbox_pid;          /* for --persist: the init's host pid */
	bool persisted;
	bool warm;                  /* the sandbox came prepared from isol8-pool */
	isol8_cg_stats stats;
	isol8_out_file *files;
	size_t nfiles;
	jv *network_logs;           /* --log-network: this run's proxy log entries, or NULL */
	jv *security_events;        /* filtered network: the requests the proxy blocked (for the audit
	                             * log; not part of the result JSON), or NULL */
	isol8_output *outputs;      /* figures, in the order the program created them */
	size_t noutputs;
	char *outputs_note;         /* why some were dropped, or NULL */
} isol8_result;

/* Runs req under opts. fn (may be NULL) receives events as they happen; cancel_fd (or -1)
 * becoming readable aborts the run (e.g. a signalfd for SIGINT/SIGTERM).
 * Returns 0 with *res filled whenever the program ran (whatever its outcome), -1 when isol8
 * could not run it (err says why; err->kind tells input from sandbox faults). */
int isol8_execute(const isol8_request *req, const isol8_options *opts, isol8_event_fn fn, void *ctx,
		  int cancel_fd, isol8_result *res, isol8_err *err);
/* The ExecutionResult as JSON; stdout/stderr right-trimmed as the reference does. */
jv isol8_result_json(const isol8_result *res);
/* Reads one back (consumes j): unknown statuses become "error", absent fields their zero. */
int isol8_result_from_json(jv j, isol8_result *res, isol8_err *err);
void isol8_result_free(isol8_result *res);

/* ---- the audit log (config audit.*) ---------------------------------------------------------- */

/* Who asked for an execution, for its audit record (every field may be NULL). */
typedef struct isol8_audit_who {
	const char *source;   /* "cli", "session", "http", "http-session", "mcp"; NULL: "library" */
	const char *tenant;   /* a database key's tenant */
	const char *key_id;   /* …and the key's id */
	const char *client;   /* the client's address */
} isol8_audit_who;

/* When c's audit.enabled: one JSON line for an execution that ran — req, the options it ran with,
 * its result — to audit.destination (a file under audit.logDir, stdout, or syslog), code and
 * output included as audit.includeCode / includeOutput say, secrets masked. 0 when written (or
 * auditing is off), -1 with err: count it, and never fail the execution for it. The tools call
 * this for every execution; a program using isol8_execute calls it itself. */
int isol8_audit_execution(const isol8_config *c, const isol8_request *req, const isol8_options *o,
			  const isol8_result *res, const isol8_audit_who *who, isol8_err *err);
/* The same for an execution that was accepted but gave no result (isol8_execute returned -1, a
 * session ended during it): a line with status "failed", exitCode null and why (masked) in
 * "error", so the log holds every execution asked for, not only those that ran. duration_ms:
 * from the request to the failure. */
int isol8_audit_failure(const isol8_config *c, const isol8_request *req, const isol8_options *o, const char *why,
			uint64_t duration_ms, const isol8_audit_who *who, isol8_err *err);
/* Whether c's audit lines go to stdout (audit.destination "stdout"). A program whose stdout also
 * carries other output ends its last line before each audit call, so every record is a line of
 * its own; one whose stdout is a protocol must not write them there at all. */
bool isol8_audit_on_stdout(const isol8_config *c);

/* ---- engines: local and remote behind one interface ---------------------------------------- */

typedef struct isol8_engine isol8_engine;
typedef enum { ISOL8_MODE_EPHEMERAL, ISOL8_MODE_PERSISTENT } isol8_mode;

/* opts is copied. */
isol8_engine *isol8_engine_local(const isol8_options *opts, isol8_mode mode);
/* host: "http(s)://host:port" (one trailing '/' ignored). session_id NULL: ephemeral
 * executions. options: the Isol8Options JSON sent with every execute (consumed; jv_null() for
 * the server's defaults). */
isol8_engine *isol8_engine_remote(const char *host, const char *api_key, const char *session_id, jv options);

/* Local: nothing to do. Remote: GET /health ("Remote server health check failed: <status>"). */
int isol8_engine_start(isol8_engine *e, isol8_err *err);
/* Buffered: *res is filled (free with isol8_result_free). */
int isol8_engine_execute(isol8_engine *e, const isol8_request *req, isol8_result *res, isol8_err *err);
/* fn receives stdout/stderr/error/exit events as they happen; *res is filled at the end. */
int isol8_engine_execute_stream(isol8_engine *e, const isol8_request *req, isol8_event_fn fn, void *ctx,
				isol8_result *res, isol8_err *err);
int isol8_engine_put_file(isol8_engine *e, const char *path, const void *data, size_t len, isol8_err *err);
int isol8_engine_get_file(isol8_engine *e, const char *path, isol8_buf *out, isol8_err *err);
/* Ends a persistent engine's sandbox (remote: DELETE /session/<id>). Idempotent. */
int isol8_engine_stop(isol8_engine *e, isol8_err *err);
void isol8_engine_free(isol8_engine *e);


#endif
