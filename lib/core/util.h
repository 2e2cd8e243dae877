/* util.h — small helpers shared by every tool: growable byte buffers, whole-fd I/O,
 * size and number parsing, clocks, ids, base64. */
#ifndef ISOL8_UTIL_H
#define ISOL8_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void buf_append(isol8_buf *b, const void *p, size_t n);
void buf_puts(isol8_buf *b, const char *s);

/* Whole-fd I/O that retries on EINTR and short transfers. write_all returns -1 on error. */
int write_all(int fd, const void *p, size_t n);
/* Reads fd to EOF; fails with E2BIG-style input error beyond max bytes. */
int read_fd_all(int fd, size_t max, isol8_buf *out, isol8_err *err);
int read_file(const char *path, size_t max, isol8_buf *out, isol8_err *err);
int write_file(const char *path, const char *s, int mode);
/* Runs argv (PATH searched; stdin and stderr /dev/null) and keeps up to max bytes of its stdout
 * in out: 0 when it exited 0, -1 otherwise. */
int command_stdout(char *const argv[], size_t max, isol8_buf *out);

/* "512m", "1g", "256k", "1024", "512mb" → bytes (powers of 1024, as the reference).
 * Returns -1 on anything else (negative, overflow, junk). */
int parse_size(const char *s, uint64_t *out);
/* Strict decimal integer / float parsing: the whole string must be a number in range. */
int parse_ll(const char *s, long long min, long long max, long long *out);
int parse_double(const char *s, double min, double max, double *out);

uint64_t now_mono_ns(void);
uint64_t now_real_ms(void);
void iso8601_now(char out[32]);     /* 2026-11-22T14:01:02.123Z */
void iso8601_at(uint64_t ms, char out[32]); /* the same for a time in ms since the epoch */
void random_hex(char *out, size_t nbytes); /* writes 2*nbytes hex chars + NUL */
void uuid_v4(char out[37]);

/* FNV-1a, 64 bits, continued from h (start with FNV1A_INIT): a cheap fingerprint, not a
 * defence against anyone choosing the input. */
#define FNV1A_INIT 14695981039346656037ull
uint64_t fnv1a(uint64_t h, const void *p, size_t n);

char *base64_encode(const unsigned char *p, size_t n, size_t *outlen);
int base64_decode(const char *s, size_t n, isol8_buf *out); /* -1 on invalid input */

bool utf8_valid(const unsigned char *p, size_t n);
/* Length of the longest prefix of p that does not end inside a UTF-8 sequence. */
size_t utf8_complete_prefix(const unsigned char *p, size_t n);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), 0 if there is no such
 * process or it has exited (a zombie). */
unsigned long long proc_start_time(pid_t pid);
/* Whether the process (pid, start time) is still the one it was: a recycled pid has another
 * start time. False for pid 0 or start 0. */
bool proc_alive(pid_t pid, unsigned long long start);
/* The kernel's boot id (36 chars), "" if unreadable. */
void boot_id(char out[64]);

/* Blocks the listed signals (0-terminated) and returns a close-on-exec signalfd that reports
 * them, -1 on error: how every loop here waits for signals alongside its other fds. */
int signalfd_for(int sig, ...);

/* Unix stream sockets on a path: a close-on-exec connected socket, or one listening with
 * owner-only permissions (whoever can connect controls what is behind it). -1 with errno
 * set (ENAMETOOLONG for a path that does not fit sun_path). */
int unix_connect(const char *path);
int unix_listen(const char *path);

/* mkdir -p with mode; existing dirs are fine. */
int mkdir_p(const char *path, int mode);
/* "<directory of this executable>/tool" into out when that file is executable: how the tools
 * find each other (installed side by side, or in the build tree). False otherwise, and the
 * caller falls back to PATH. */
bool sibling_tool(const char *tool, char *out, size_t n);

/* True for NULL, "" and ASCII whitespace only. */
bool str_blank(const char *s);

/* Key/value lists and NULL-terminated string vectors, grown one entry at a time. */

void strv_clear(char ***v, size_t *n);
void kv_free(isol8_kv *v, size_t n);

#endif
