/* safepath.h — open a path strictly beneath a directory fd.
 * Threat: a program plants symlinks or ".." tricks so that a later write or read by isol8
 * lands somewhere else. Every component is opened with O_NOFOLLOW relative to the previous
 * one (isolate's walktree idea), so no symlink is ever followed and nothing above the base
 * directory is reachable. isol8 only calls this inside the sandbox, as the sandbox user. */
#ifndef ISOL8_SAFEPATH_H
#define ISOL8_SAFEPATH_H

#include <errno.h>
#include <stdbool.h>

/* rel: relative path without "." / ".." components (already normalized). With create,
 * missing parent directories are made (mode 0755) and the file is created/truncated with mode.
 * Only a regular file is ever opened: a FIFO, socket, device or directory is refused without
 * blocking (a FIFO opened the ordinary way waits for its other end forever).
 * Returns an fd or -1 with errno set: ELOOP for a symlink anywhere on the way, ENOTDIR for a
 * non-directory where a directory should be, SAFEPATH_NOT_REGULAR for the last component not
 * being a regular file. */
#define SAFEPATH_NOT_REGULAR ENXIO
int open_beneath(int basefd, const char *rel, bool create, int mode);
/* The directory rel beneath basefd ("" is basefd itself), every component opened O_NOFOLLOW:
 * an fd (O_RDONLY|O_DIRECTORY) or -1 with errno (ELOOP: a symlink on the way). */
int open_dir_beneath(int basefd, const char *rel);
/* mkdir -p beneath basefd, no symlinks followed. Returns 0 or -1 with errno. */
int mkdir_beneath(int basefd, const char *rel);

#endif
