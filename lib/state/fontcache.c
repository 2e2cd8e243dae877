/* fontcache.c — see fontcache.h. */
#include "state/fontcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fontcache_dir(void)
{
	const char *e = getenv("ISOL8_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	if (e && *e)
		return xasprintf("%s/matplotlib", e);
	if (geteuid() == 0)
		return xstrdup("/var/cache/isol8/matplotlib");
	if (x && *x)
		return xasprintf("%s/isol8/matplotlib", x);
	return xasprintf("%s/.cache/isol8/matplotlib", h && *h ? h : "/tmp");
}

bool fontcache_name_ok(const char *name)
{
	size_t n = strlen(name), digits = n > 15 ? n - 15 : 0;
	return n > 15 && !strncmp(name, "fontlist-v", 10) && !strcmp(name + n - 5, ".json") && digits <= 6 &&
	       strspn(name + 10, "0123456789") == digits;
}

/* Owned by us or root, and writable by nobody else. */
static bool trusted(const struct stat *st)
{
	return (st->st_uid == geteuid() || st->st_uid == 0) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The one cache file's name in directory dfd, or false. */
static bool find_name(int dfd, char name[64])
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d)))
		if (fontcache_name_ok(e->d_name) && strlen(e->d_name) < 64) {
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			found = true;
		}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	return found;
}

int fontcache_load(char name[64], isol8_buf *data)
{
	char *dir = fontcache_dir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	struct stat st;
	int fd = -1, found = 0;
	if (dfd >= 0 && fstat(dfd, &st) == 0 && trusted(&st) && find_name(dfd, name))
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && trusted(&st) && st.st_size > 0 &&
	    st.st_size <= FONTCACHE_MAX_BYTES) {
		isol8_err err = {0};
		found = read_fd_all(fd, FONTCACHE_MAX_BYTES, data, &err) == 0 && data->len > 0;
		if (!found)
			isol8_buf_free(data);
	}
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return found;
}

/* Every cache file in dir but keep (a matplotlib upgrade changes the name). */
static void remove_others(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (fontcache_name_ok(e->d_name) && strcmp(e->d_name, keep)) {
			char *p = xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
	if (d)
		closedir(d);
}

int fontcache_store(const char *name, const void *data, size_t len, isol8_err *err)
{
	if (!fontcache_name_ok(name) || !len || len > FONTCACHE_MAX_BYTES)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "not a font cache: %s (%zu bytes)", name, len);
	char *dir = fontcache_dir(), *tmp = xasprintf("%s/.%s.tmp", dir, name), *path = xasprintf("%s/%s", dir, name);
	int rc = 0;
	if (mkdir_p(dir, 0755) < 0) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create %s (set ISOL8_CACHE_DIR)", dir);
	} else {
		unlink(tmp);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		bool written = fd >= 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
		int e = errno;
		if ((fd >= 0 && close(fd) < 0) || !written || rename(tmp, path) < 0)
			rc = isol8_fail(err, ISOL8_E_SANDBOX, written ? errno : e, "cannot write %s", path);
		if (rc < 0)
			unlink(tmp);
		else
			remove_others(dir, name);
	}
	free(dir);
	free(tmp);
	free(path);
	return rc;
}
