/* files.c — isol8 run --files DIR: a directory copied into /sandbox, as the request's files.
 * Threat: DIR may hold links, FIFOs or devices (planted, or just there); none is followed or
 * opened, and a FIFO swapped in after the look is caught by a second look at what was opened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/util.h"
#include "run.h"

static bool skip_dir(const char *n)
{
	static const char *const skip[] = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"};
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (!strcmp(n, skip[i]))
			return true;
	return false;
}

/* Walks with openat + O_NOFOLLOW: symlinks in DIR are skipped, never followed. */
void files_add_dir(isol8_request *r, int dfd, const char *rel, uint64_t *total, uint64_t limit)
{
	DIR *d = fdopendir(dfd);
	if (!d)
		isol8_die("--files: %s", strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char *sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (S_ISDIR(st.st_mode) && !skip_dir(e->d_name)) {
			int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd >= 0)
				files_add_dir(r, sfd, sub, total, limit);
		} else if (S_ISREG(st.st_mode)) {
			/* O_NONBLOCK and a second look at what was opened: a FIFO put in the file's place
			 * after fstatat must not block the run */
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			struct stat ost;
			isol8_buf b = {0};
			isol8_err err = {0};
			if (fd < 0 || fstat(fd, &ost) < 0 || !S_ISREG(ost.st_mode) || read_fd_all(fd, limit, &b, &err) < 0)
				isol8_die("--files: cannot read %s (only regular files are copied)", sub);
			close(fd);
			*total += b.len;
			if (*total > limit)
				isol8_die("--files: the directory holds more than --sandbox-size (%llu bytes)", (unsigned long long)limit);
			char *path = xasprintf("/sandbox/%s", sub);
			if (isol8_request_add_file(r, path, b.data ? b.data : (unsigned char *)"", b.len, &err) < 0)
				isol8_die("%s", err.msg);
			r->files[r->nfiles - 1].mode = st.st_mode & 0755; /* keeps scripts executable */
			free(path);
			isol8_buf_free(&b);
		} else if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "[WARN] --files: %s not copied: only regular files and directories are (not links, "
					"FIFOs, sockets or devices)\n", sub);
		}
		free(sub);
	}
	closedir(d);
}

