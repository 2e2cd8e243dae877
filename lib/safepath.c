#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		close(dfd);
		if (next < 0) {
			errno = e == ENOTDIR ? ELOOP : e; /* a symlink where a directory should be */
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
	int flags = O_NOFOLLOW | O_CLOEXEC | (create ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY);
	int fd = openat(dfd, last, flags, mode);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL; /* only regular files are read or written (no fifos, devices) */
		return -1;
	}
	return fd;
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
