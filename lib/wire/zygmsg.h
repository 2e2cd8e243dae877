/* zygmsg.h — the messages between isol8-pool and a zygote (sandbox/zygote.h), one per
 * SOCK_SEQPACKET datagram on their private socketpair.
 *
 * pool → zygote: {"seccomp":B,"user":B,"support":B,"sandboxSize":N,"tmpSize":N,
 *                 "staging":S[,"runtimes":S][,"probe":S],"cgroup":V,"cgroupFds":N,"session":B}
 *                with the child's fds in SCM_RIGHTS: sync, ctl, stdin, stdout, stderr, driver
 *                requests, driver replies (in that order), then N (0 to 4) cgroup fds of
 *                cgroup_join_open for cgroup version V (1 or 2; 0 with none).
 * zygote → pool: {"pid":N} with the new init's pidfd in SCM_RIGHTS, or {"error":S}.
 * Everything a zygote's fork needs to build the same sandbox the pool would have built itself
 * (isol8_sandbox_cfg's fields for a warm slot); "support" asks for the figures support files,
 * which the zygote loads itself rather than receive megabytes per fork. */
#ifndef ISOL8_WIRE_ZYGMSG_H
#define ISOL8_WIRE_ZYGMSG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZYGMSG_FDS 7
#define ZYGMSG_MAX 8192 /* the longest line either side accepts */

typedef struct zyg_request {
	bool seccomp, user, support;
	bool session; /* the fork runs the session driver, not the one-run driver */
	int cgroup, cgroup_fds;
	uint64_t sandbox_size, tmp_size;
	char staging[PATH_MAX], runtimes[PATH_MAX], probe[256]; /* "" when absent */
} zyg_request;

/* malloc'd line (no newline: one datagram is one message) */
char *zygmsg_request_line(const zyg_request *r);
/* 0, or -1 when the line is not a whole, well-typed request (refused, never guessed) */
int zygmsg_parse_request(const char *line, size_t len, zyg_request *r);
char *zygmsg_reply_line(pid_t pid, const char *error);
/* 1 with *pid, 0 with error (the zygote's words), -1 for anything else */
int zygmsg_parse_reply(const char *line, size_t len, pid_t *pid, char error[256]);

#endif
