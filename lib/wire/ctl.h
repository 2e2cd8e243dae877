/* ctl.h — the control protocol between a sandbox's supervisor and its init (PID 1), one JSON
 * object per line on the ctl socket. This module writes and reads every message of it.
 *
 * init → supervisor
 *   {"ready":1}  or {"ready":1,"listener":true} with the proxy's socket attached (SCM_RIGHTS)
 *   {"exit":N,"pid":P} {"signal":N,"pid":P} {"error":"…","pid":P}  a payload ended / failed;
 *                                       "found":true added when the sandbox's probe path exists
 *   {"error":"…"}                       setup failed, or a request was refused
 *   {"ok":1} {"spawned":P} {"size":N}   replies (a get's or take's N bytes follow its line)
 * supervisor → init
 *   {"get":PATH,"max":N[,"list":true]} {"put":PATH,"size":N,"mode":M} (N bytes follow) {"spawn":true}
 *   (six fds attached) {"killall":true}
 *   {"take":DIR,"max":N,"count":C,"remove":B}  a directory's files (wire/dirtake.h)
 * A line with a "pid" is always a status: replies never carry one, so a status that arrives
 * while the supervisor waits for a reply is told apart and kept for later. */
#ifndef ISOL8_WIRE_CTL_H
#define ISOL8_WIRE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What the init says about a payload, or about the sandbox's setup. */
typedef enum { CTL_EXIT, CTL_SIGNAL, CTL_ERROR, CTL_READY, CTL_REPLY, CTL_BAD } ctl_kind;

typedef struct ctl_msg {
	ctl_kind kind;
	int code;         /* CTL_EXIT: exit status; CTL_SIGNAL: signal number */
	pid_t pid;        /* the payload a status is about (PID-namespace pid); 0: none */
	bool listener;    /* CTL_READY: a socket came with it */
	bool found;       /* CTL_EXIT/CTL_SIGNAL: the sandbox's probe path existed as the payload
	                   * ended (isol8_sandbox_cfg.probe): a hint, the program controls it */
	char *error;      /* CTL_ERROR: the message (malloc'd) */
	char reply[16];   /* CTL_REPLY: its key ("ok", "spawned", "size") */
	long long value;  /* CTL_REPLY: its number */
} ctl_msg;

/* Writers (the init's side). Each writes one whole line; errors are ignored (a supervisor that
 * went away cannot be told anything). */
void ctl_send_ready(int fd, int listener); /* listener: a socket to pass, or -1 */
void ctl_send_exit(int fd, pid_t pid, int wait_status, const char *exec_error, bool found);
void ctl_send_error(int fd, const char *msg);
void ctl_send_reply(int fd, const char *key, long long value);

/* Reader (the supervisor's side): parses one line (without its '\n'). Anything that is not
 * one of the messages above is CTL_BAD. ctl_msg_free frees error. */
void ctl_parse(const char *line, size_t len, ctl_msg *m);
void ctl_msg_free(ctl_msg *m);
/* The exit code a status stands for: N, 128+signal, or 127 for a payload that never started. */
int ctl_exit_code(const ctl_msg *m);

/* Requests (supervisor → init), as one line with its '\n' (malloc'd). */
typedef enum { CTL_REQ_GET, CTL_REQ_PUT, CTL_REQ_SPAWN, CTL_REQ_KILLALL, CTL_REQ_TAKE, CTL_REQ_BAD } ctl_req_kind;
typedef struct ctl_req {
	ctl_req_kind kind;
	char *path;        /* get/put/take (malloc'd) */
	size_t max, size;  /* get: largest file accepted; take: most bytes of content in all;
	                    * put: bytes that follow */
	size_t count;      /* take: most files whose content is read */
	bool remove;       /* take: every entry of the directory is removed afterwards */
	bool list;         /* get: PATH is a directory, its listing is the content (fileops.c) */
	unsigned mode;     /* put */
} ctl_req;
char *ctl_request_line(const ctl_req *r);
void ctl_parse_request(const char *line, size_t len, ctl_req *r);
void ctl_req_free(ctl_req *r);

#endif
