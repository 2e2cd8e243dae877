/* fileops.c — the init's file operations (get, put and take requests on ctl). Each runs in a child
 * as the sandbox user, beneath /sandbox or /tmp, with no symlink followed and only a regular
 * file opened, bounded in time and size: a link, FIFO, device or sparse file planted by the
 * program can make isol8 neither read nor write anything the program could not reach itself,
 * nor block the init (docs/files.md). Only the init writes replies. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/util.h"
#include "sandbox/internal.h"
#include "wire/ctl.h"
#include "wire/dirtake.h"

/* How long the init waits for one file operation. Reading or writing a regular file on the
 * sandbox's tmpfs takes milliseconds; the bound is for a helper that the program stopped or
 * killed (it runs as the sandbox user, so the program may signal it): the init must never wait
 * on it for good, or every later request of the sandbox (exec, put, get, stop) waits too. */
#define FILE_OP_DEADLINE_MS 5000

/* Why a file operation failed, in words (the supervisor adds "cannot read/write PATH: "). */
static void file_error(isol8_buf *msg, int e, size_t max)
{
	char why[160];
	if (e == ELOOP)
		snprintf(why, sizeof why, "a symbolic link is on the way (links are not followed)");
	else if (e == SAFEPATH_NOT_REGULAR)
		snprintf(why, sizeof why, "not a regular file (only regular files are read or written)");
	else if (e == ENOENT)
		snprintf(why, sizeof why, "no such file");
	else if (e == ENOTDIR)
		snprintf(why, sizeof why, "a component of the path is not a directory");
	else if (e == EFBIG)
		snprintf(why, sizeof why, "larger than the %zu MiB limit", max >> 20);
	else if (e == ENOSPC || e == EDQUOT)
		snprintf(why, sizeof why, "no space left in the sandbox (raise --sandbox-size or --tmp-size)");
	else if (e == EACCES || e == EPERM)
		snprintf(why, sizeof why, "permission denied to the sandbox user");
	else
		snprintf(why, sizeof why, "%s", strerror(e));
	isol8_buf_free(msg);
	buf_puts(msg, why);
}

/* Appends fd's content to b: 0, EFBIG past max bytes, or the read's errno. */
static int read_capped(int fd, size_t max, isol8_buf *b)
{
	size_t start = b->len;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : 0;
		if (b->len - start + (size_t)n > max)
			return EFBIG;
		buf_append(b, tmp, (size_t)n);
	}
}

/* One file operation, as the init received it. */
struct file_op {
	ctl_req_kind kind;   /* CTL_REQ_GET, CTL_REQ_PUT or CTL_REQ_TAKE */
	const char *path;
	size_t max;          /* get: largest file; take: most content bytes in all */
	size_t count;        /* take: most files read */
	bool remove;         /* take: empty the directory afterwards */
	bool list;           /* get: path is a directory, its entries (list_dir) are the content */
	unsigned mode;       /* put */
	const unsigned char *data;
	size_t len;
};

static int name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory dfd (not . and ..), sorted, at most DIRTAKE_MAX_ENTRIES. */
static size_t list_names(int dfd, char ***names)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t n = 0;
	*names = NULL;
	struct dirent *e;
	if (d)
		rewinddir(d); /* the duplicate shares dfd's position: an earlier listing left it at the end */
	while (d && n < DIRTAKE_MAX_ENTRIES && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		*names = xrealloc(*names, (n + 1) * sizeof **names);
		(*names)[n++] = xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (n > 1) /* qsort of a NULL array, even of 0 items, is undefined */
		qsort(*names, n, sizeof **names, name_order);
	return n;
}

/* A directory's entries as records "<t>\t<size>\t<name>\0" (t: f file, d directory, l link,
 * o other), sorted by the reader; lstat only (fstatat with AT_SYMLINK_NOFOLLOW), so a planted
 * link or FIFO is named, never opened. 0, EFBIG past max bytes, or errno. */
static int list_dir(int dfd, size_t max, isol8_buf *b)
{
	DIR *d = fdopendir(dfd);
	if (!d)
		return errno;
	struct dirent *e;
	size_t start = b->len;
	int rc = 0;
	while (!rc && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone since readdir */
		char t = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
		char head[48];
		int n = snprintf(head, sizeof head, "%c\t%lld\t", t, (long long)st.st_size);
		if (b->len - start + (size_t)n + strlen(e->d_name) + 1 > max)
			rc = EFBIG;
		else
			buf_append(b, head, (size_t)n), buf_append(b, e->d_name, strlen(e->d_name) + 1);
	}
	if (!rc && errno)
		rc = errno;
	closedir(d);
	return rc;
}

/* One entry of a take. Threat: every entry is the program's. O_NOFOLLOW: a symlink is never
 * followed; O_NONBLOCK: a FIFO opens at once and is then refused as not regular, never read;
 * the size is checked before a byte is read and the read is capped again (the file may grow). */
static void take_entry(int dfd, const char *name, const struct file_op *op, size_t *used, size_t *read_n,
		       bool *spent, isol8_buf *b)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		bool odd = fd >= 0 || errno == ELOOP || errno == ENXIO;
		dirtake_put(b, odd ? DIRTAKE_NOT_REGULAR : DIRTAKE_UNREADABLE, name, 0, NULL);
	} else if (*read_n >= op->count) {
		dirtake_put(b, DIRTAKE_OVER_COUNT, name, (uint64_t)st.st_size, NULL);
	} else if (*spent || (uint64_t)st.st_size > op->max - *used) {
		*spent = true; /* the budget is spent: later files are not read either, in order */
		dirtake_put(b, DIRTAKE_OVER_BYTES, name, (uint64_t)st.st_size, NULL);
	} else {
		isol8_buf c = {0};
		int e = fcntl(fd, F_SETFL, 0) < 0 ? errno : read_capped(fd, op->max - *used, &c);
		if (e == EFBIG)
			*spent = true;
		dirtake_put(b, e == EFBIG ? DIRTAKE_OVER_BYTES : e ? DIRTAKE_UNREADABLE : DIRTAKE_DATA, name,
			    e == EFBIG ? (uint64_t)st.st_size : c.len, c.data);
		if (!e) {
			*used += c.len;
			(*read_n)++;
		}
		isol8_buf_free(&c);
	}
	if (fd >= 0)
		close(fd);
}

/* Empties directory dfd (files, links, FIFOs, empty directories: unlinkat never follows a
 * link), then removes it from its parent. What cannot go stays; the deadline bounds it. */
static void empty_dir(int base, const char *rel, int dfd)
{
	for (int pass = 0; pass < 64; pass++) {
		char **names;
		size_t n = list_names(dfd, &names);
		for (size_t i = 0; i < n; i++) {
			if (unlinkat(dfd, names[i], 0) < 0 && errno == EISDIR)
				(void)unlinkat(dfd, names[i], AT_REMOVEDIR);
			free(names[i]);
		}
		free(names);
		if (n < DIRTAKE_MAX_ENTRIES)
			break;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", rel);
	char *slash = strrchr(parent, '/');
	const char *last = slash ? slash + 1 : parent;
	if (slash)
		*slash = 0;
	int pfd = open_dir_beneath(base, slash ? parent : "");
	if (pfd >= 0) {
		(void)unlinkat(pfd, last, AT_REMOVEDIR);
		close(pfd);
	}
}

/* A take: the records of wire/dirtake.h for every entry of the directory, in name order; a
 * missing directory has none. 0 or an errno. */
static int take_dir(int base, const char *rel, const struct file_op *op, isol8_buf *b)
{
	int dfd = open_dir_beneath(base, rel);
	if (dfd < 0)
		return errno == ENOENT ? 0 : errno;
	char **names;
	size_t n = list_names(dfd, &names), used = 0, read_n = 0;
	bool spent = false;
	for (size_t i = 0; i < n; i++) {
		take_entry(dfd, names[i], op, &used, &read_n, &spent, b);
		free(names[i]);
	}
	free(names);
	if (op->remove)
		empty_dir(base, rel, dfd);
	close(dfd);
	return 0;
}

/* The child's side of a file operation: as the sandbox user, beneath /sandbox or /tmp, with no
 * symlink followed and only a regular file opened, so that a link or a FIFO planted by the
 * program can make isol8 neither read nor write anything the program could not reach itself,
 * nor block. Reports to the init on rep: 'D' + the file's bytes (get) or the take's records,
 * 'K' (put), or 'E' + a message. Never returns. */
static __attribute__((noreturn)) void file_op_child(int rep, const isol8_sandbox_cfg *cfg, const struct file_op *op)
{
	isol8_err err = {0};
	isol8_buf b = {0};
	if (drop_privileges(cfg->rootfs.uid, cfg->rootfs.gid, &err) < 0) {
		buf_puts(&b, "E");
		buf_puts(&b, err.msg);
		(void)write_all(rep, b.data, b.len);
		_exit(1);
	}
	prctl(PR_SET_DUMPABLE, 0); /* the program (same uid) may not read or write our fds or memory */
	const char *rel;
	int base = split_area(op->path, &rel);
	bool put = op->kind == CTL_REQ_PUT;
	int fd = -1, e = errno;
	struct stat st;
	if (base >= 0 && op->kind == CTL_REQ_TAKE) {
		buf_puts(&b, "D");
		e = take_dir(base, rel, op, &b);
	} else if (base >= 0 && op->list) {
		int dfd = open_dir_beneath(base, rel);
		buf_puts(&b, "D");
		e = dfd < 0 ? errno : list_dir(dfd, op->max, &b);
		fd = -2; /* not a file: the checks below are done */
	} else if (base >= 0 && (fd = open_beneath(base, rel, put, (int)(op->mode & 0755))) < 0) {
		e = errno;
	} else if (fd >= 0 && !put && fstat(fd, &st) == 0 && (size_t)st.st_size > op->max) {
		e = EFBIG; /* a huge (e.g. sparse) file is refused before any byte is read */
	} else if (fd >= 0 && !put) {
		buf_puts(&b, "D");
		e = read_capped(fd, op->max, &b); /* the file may grow while it is read */
	} else if (fd >= 0) {
		e = write_all(fd, op->data, op->len) < 0 || close(fd) < 0 ? errno : 0;
		buf_puts(&b, "K");
	}
	if (base < 0 || (fd == -1 && op->kind != CTL_REQ_TAKE) || e) {
		isol8_buf m = {0};
		file_error(&m, e ? e : EIO, op->max);
		isol8_buf_free(&b);
		buf_puts(&b, "E");
		buf_append(&b, m.data, m.len);
	}
	_exit(write_all(rep, b.data, b.len) < 0 ? 1 : b.data[0] == 'E');
}

/* Runs one file operation in a child and collects its report, within FILE_OP_DEADLINE_MS.
 * Returns true with the report in *out, or false with an error message in *out. */
static bool run_file_op(const isol8_sandbox_cfg *cfg, const struct file_op *op, isol8_buf *out)
{
	/* the most a report may hold: the content, and a take's record headers */
	size_t allowance = op->max + (op->kind == CTL_REQ_TAKE ? DIRTAKE_MAX_ENTRIES * DIRTAKE_HEADER_MAX : 8192);
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		buf_puts(out, "pipe for a file operation failed");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(rep[0]);
		file_op_child(rep[1], cfg, op);
	}
	close(rep[1]);
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	uint64_t deadline = now_mono_ns() + FILE_OP_DEADLINE_MS * 1000000ull;
	bool eof = false, exited = false, over = false;
	int status = 0;
	while (pid > 0 && pidfd >= 0 && !(eof && exited)) {
		uint64_t now = now_mono_ns();
		if (now >= deadline)
			break;
		struct pollfd p[2] = {{eof ? -1 : rep[0], POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}};
		if (poll(p, 2, (int)((deadline - now) / 1000000ull) + 1) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			char tmp[65536];
			ssize_t n = read(rep[0], tmp, sizeof tmp);
			if (n > 0 && out->len + (size_t)n <= allowance)
				buf_append(out, tmp, (size_t)n);
			else if (n > 0)
				over = true;
			else if (n == 0 || errno != EINTR)
				eof = true;
		}
		if (p[1].revents && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(rep[0]);
	if (pid > 0 && !exited) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (pidfd >= 0)
		close(pidfd);
	bool done = eof && exited && !over && out->len > 0;
	/* a killed child may have written part of its report: only a clean exit counts */
	bool clean = done && WIFEXITED(status) && WEXITSTATUS(status) == (((char *)out->data)[0] == 'E');
	if (clean)
		return true;
	isol8_buf_free(out);
	if (pid < 0 || pidfd < 0)
		buf_puts(out, "could not start the file operation (the sandbox may be out of processes)");
	else if (!exited)
		buf_puts(out, "it did not finish in time (a process of the sandbox may have stopped it); try again");
	else
		buf_puts(out, "it was interrupted (a process of the sandbox may have killed it); try again");
	return false;
}

static void reply_file_error(int ctl, isol8_buf *msg)
{
	buf_append(msg, "", 1);
	ctl_send_error(ctl, (const char *)msg->data);
}

/* Answers a file operation that could not run, or that its helper reported as failed ("E…"),
 * with its error line: true when it did so. */
static bool reply_failed_op(int ctl, bool ran, isol8_buf *r)
{
	if (!ran) {
		reply_file_error(ctl, r);
		return true;
	}
	if (((char *)r->data)[0] != 'E')
		return false;
	isol8_buf m = {0};
	buf_append(&m, r->data + 1, r->len - 1);
	reply_file_error(ctl, &m);
	isol8_buf_free(&m);
	return true;
}

/* get and take: their content follows the "size" reply. */
static void reply_content(int ctl, const isol8_sandbox_cfg *cfg, const struct file_op *op)
{
	isol8_buf r = {0};
	if (!reply_failed_op(ctl, run_file_op(cfg, op, &r), &r)) {
		ctl_send_reply(ctl, "size", (long long)(r.len - 1));
		(void)write_all(ctl, r.data + 1, r.len - 1);
	}
	isol8_buf_free(&r);
}

void fileop_get(int ctl, const isol8_sandbox_cfg *cfg, const char *path, size_t max, bool list)
{
	struct file_op op = {.kind = CTL_REQ_GET, .path = path, .max = max, .list = list};
	reply_content(ctl, cfg, &op);
}

void fileop_take(int ctl, const isol8_sandbox_cfg *cfg, const ctl_req *req)
{
	struct file_op op = {.kind = CTL_REQ_TAKE, .path = req->path, .max = req->max, .count = req->count,
			     .remove = req->remove};
	reply_content(ctl, cfg, &op);
}

void fileop_put(int ctl, const isol8_sandbox_cfg *cfg, const char *path, unsigned mode, const unsigned char *data,
		size_t len)
{
	isol8_buf r = {0};
	struct file_op op = {.kind = CTL_REQ_PUT, .path = path, .mode = mode, .data = data, .len = len};
	if (!reply_failed_op(ctl, run_file_op(cfg, &op, &r), &r))
		ctl_send_reply(ctl, "ok", 1);
	isol8_buf_free(&r);
}
