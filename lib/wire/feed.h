/* feed.h — the feed: what a supervisor sends down a waiting payload's pipe before it execs.
 * Frames of [type:1][length:8, host order][bytes], in this order:
 *   F  a file to write first: path NUL mode(4 bytes) content   (any number)
 *   A  argv, each string NUL-terminated
 *   E  the environment, each "K=V" NUL-terminated
 *   C  the working directory, NUL-terminated
 *   X  go (empty)
 * Both ends run on this machine: host byte order, and the payload's side trusts the framing
 * only as far as its own memory (a frame may not claim more than FEED_FRAME_MAX bytes). */
#ifndef ISOL8_WIRE_FEED_H
#define ISOL8_WIRE_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#include "wire/request.h"

/* One payload's start: what it runs, with what environment, where, after writing which files. */
typedef struct isol8_exec_spec {
	char **argv;
	char **envp;
	const char *cwd;
	const isol8_file *files;
	size_t nfiles;
} isol8_exec_spec;

#define FEED_FRAME_MAX (1ull << 34)

/* Bytes the feed for spec will take (to decide whether it fits the pipe before it is read). */
size_t feed_size(const isol8_exec_spec *spec);
/* Writes the whole feed. A payload that died while reading (EPIPE) is not an error here: its
 * own error comes on the control socket. */
int feed_write(int fd, const isol8_exec_spec *spec, isol8_err *err);

/* The payload's side: one frame. Returns 1 with type and data (malloc'd, NUL-terminated, len
 * bytes; NULL for X), 0 at EOF before any frame byte (discarded unfed), -1 on a short or
 * oversized frame. */
int feed_next(int fd, char *type, char **data, uint64_t *len);
/* An F frame's parts: path (points into data), mode and content. -1 when malformed. */
int feed_file(const char *data, uint64_t len, const char **path, uint32_t *mode, const char **content,
	      size_t *content_len);
/* A NUL-separated list (A, E frames) as a NULL-terminated array of copies. */
char **feed_list(const char *data, uint64_t len);

#endif
