#include "core/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_symlink(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Opens each directory component of rel (all but the last when want_last_dir is false). */
static int walk(int basefd, char *path, bool create_dirs, bool want_last_dir, char **last)
{
	int dfd = dup(basefd);
	char *p = path;
	if (dfd < 0)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		char *slash = strchr(p, '/');
		if (!slash && !want_last_dir) {
			*last = p;
			return dfd;
		}
		if (slash)
			*slash = 0;
		if (!*p || !strcmp(p, ".") || !strcmp(p, "..")) {
			close(dfd);
			errno = EINVAL;
			return -1;
		}
		int next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create_dirs) {
			if (mkdirat(dfd, p, 0755) < 0 && errno != EEXIST) {
				close(dfd);
				return -1;
			}
			next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		if (next < 0 && e == ENOTDIR)
			e = is_symlink(dfd, p) ? ELOOP : ENOTDIR; /* O_NOFOLLOW|O_DIRECTORY says ENOTDIR for both */
		close(dfd);
		if (next < 0) {
			errno = e;
			return -1;
		}
		dfd = next;
		if (!slash) {
			*last = NULL;
			return dfd;
		}
		p = slash + 1;
	}
}

int open_beneath(int basefd, const char *rel, bool create, int mode)
{
	char buf[PATH_MAX];
	char *last = NULL;
	if (strlen(rel) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	int dfd = walk(basefd, buf, create, false, &last);
	if (dfd < 0)
		return -1;
	if (!last || !*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		close(dfd);
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK: a FIFO opens at once (or fails with ENXIO) instead of waiting for a peer;
	 * no O_TRUNC before we know it is a regular file (truncation is done below). */
	int flags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (create ? O_WRONLY | O_CREAT : O_RDONLY);
	int fd = openat(dfd, last, flags, mode);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		/* ENXIO: a socket, or a FIFO with no reader; EISDIR: a directory opened for writing */
		errno = e == ENXIO || e == EISDIR ? SAFEPATH_NOT_REGULAR : e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = SAFEPATH_NOT_REGULAR; /* only regular files are read or written */
		return -1;
	}
	if ((create && ftruncate(fd, 0) < 0) || fcntl(fd, F_SETFL, 0) < 0 /* blocking again: a regular file never waits */) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int open_dir_beneath(int basefd, const char *rel)
{
	char buf[PATH_MAX];
	char *last;
	if (!*rel)
		return fcntl(basefd, F_DUPFD_CLOEXEC, 0);
	if (strlen(rel) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	return walk(basefd, buf, false, true, &last);
}

int mkdir_beneath(int basefd, const char *rel)
{
	char buf[PATH_MAX];
	char *last;
	if (!*rel) 
		return 0;
	if (strlen(rel) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, rel);
	int fd = walk(basefd, buf, true, true, &last);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
