/* rootfs.c — the sandbox's filesystem.
 *
 * Theory of operation (bubblewrap's and nsjail's pattern, with the new mount API):
 *   1. Make every mount private, so nothing we do propagates to the host.
 *   2. Mount a small tmpfs on the staging dir: the new root. Only mount points and a few
 *      generated files (/etc/passwd, hosts, resolv.conf) live in it.
 *   3. Bind the host's runtime directories (/usr, merged-/usr symlinks, selected /etc files,
 *      the runtimes dir) — or the entries of an --image directory — read-only, nosuid, nodev.
 *      Binds are made with open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) + mount_setattr(AT_RECURSIVE)
 *      on the *detached* tree, then move_mount: every submount is read-only before it is
 *      attached, with no window in which it is writable (bubblewrap must re-walk mountinfo).
 *      Sources are opened with AT_SYMLINK_NOFOLLOW: a symlink in an image is recreated as a
 *      symlink inside the root, never followed on the host.
 *   4. /sandbox and /tmp are size-capped tmpfs (tmpfs pages are charged to the memory cgroup;
 *      the caps stop a disk-fill from eating host RAM). /tmp is noexec. /.isol8 is a small
 *      noexec tmpfs with isol8's own files for the runtimes (matplotlib's backend and config).
 *   5. /dev is a tmpfs with only null, zero, full, random, urandom, tty bound from the host
 *      (checked to be character devices), then made read-only.
 *   6. A fresh /proc for the sandbox's PID namespace with hidepid (the payload cannot see its
 *      root-owned init), crun's masked paths covered and /proc/sys & co read-only.
 *   7. pivot_root(".", ".") + umount2(".", MNT_DETACH): the host root is gone from the mount
 *      table (never chroot, which can be escaped by a privileged process).
 *   8. The root tmpfs itself is made read-only unless --writable.
 *
 * Steps 2, 3 and 5, with every mount point, are the same for every sandbox of the same options
 * (rootfs_base). A zygote (zygote.h) builds them once, in a mount namespace of its own, as a
 * read-only template at the staging dir (rootfs_template); each sandbox it forks gets its copy
 * with the mount namespace it is cloned with, and builds only its own mounts on it — /sandbox,
 * /tmp, /.isol8, /dev/shm, /proc — before the same pivot. What sandboxes then share is one
 * read-only tmpfs holding mount points, /etc's generated files and the /dev nodes' mount
 * points: nothing one of them can write or another can see change.
 *
 * Host paths stay out of the sandbox's /proc/self/mountinfo (threat: the program learns where
 * the run dir and the image live on the host, e.g. a user's home or a tenant's directory name).
 * mountinfo shows, per mount, the bound directory's path inside its filesystem ("root") and an
 * overlay's options as given. So: every path handed to overlayfs is /proc/self/fd/N/..., and an
 * --image is first mounted as a read-only overlay (its root is "/"), and its entries are bound
 * from that view, so a bind's root is "/bin", never /home/alice/images/x/bin. Host runtime
 * directories are bound at their own path, so their root names nothing the program cannot see. */
#include "sandbox/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/util.h"

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

static int set_attr_fd(int fd, const char *path, uint64_t attrs, bool recursive)
{
	struct mount_attr a = {.attr_set = attrs};
	return mount_setattr(fd, path, (path[0] ? 0 : AT_EMPTY_PATH) | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/* Clone the mount tree at src, set attrs on all of it while detached, attach at dst. */
static int bind_tree(const char *src, const char *dst, uint64_t attrs, isol8_err *err)
{
	int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "open_tree %s", src);
	if (set_attr_fd(fd, "", attrs, true) < 0) {
		int e = errno;
		close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "mount_setattr %s", src);
	}
	if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		int e = errno;
		close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "move_mount %s -> %s", src, dst);
	}
	close(fd);
	return 0;
}

static int make_mountpoint(const char *dst, bool dir, isol8_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = dir ? mkdir(dst, 0755) : mknod(dst, S_IFREG | 0644, 0);
		if (r == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT || attempt)
			break;
		char parent[PATH_MAX]; /* parents missing: create them, then try once more */
		snprintf(parent, sizeof parent, "%s", dst);
		char *slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			break;
		*slash = 0;
		if (mkdir_p(parent, 0755) < 0)
			break;
	}
	return isol8_fail(err, ISOL8_E_SANDBOX, errno, "create mount point %s", dst);
}

static int tmpfs(const char *dst, unsigned long flags, const char *opts, isol8_err *err)
{
	if (mount("tmpfs", dst, "tmpfs", flags, opts) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mount tmpfs on %s (%s)", dst, opts);
	return 0;
}

/* Recreate a symlink found at src (an image entry or a merged-/usr link) inside the root. */
static int copy_symlink(const char *src, const char *dst, isol8_err *err)
{
	char target[PATH_MAX];
	ssize_t n = readlink(src, target, sizeof target - 1);
	if (n < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "readlink %s", src);
	target[n] = 0;
	if (symlink(target, dst) < 0 && errno != EEXIST)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "symlink %s", dst);
	return 0;
}

struct writable_ctx {
	bool on;              /* --writable: directories get a throw-away overlay */
	char stage[PATH_MAX]; /* tmpfs holding overlay upper/work dirs and the image's view; "" if none */
	int stage_fd;         /* O_PATH fd of the stage, or -1 */
	int image_fd;         /* O_PATH fd of the --image directory, or -1 */
	int n;
};

/* "/proc/self/fd/N/rest": how a staged path is named to the kernel, so that what mountinfo
 * echoes back says nothing about the host. */
static void fd_path(char *out, size_t size, int fd, const char *rest)
{
	snprintf(out, size, "/proc/self/fd/%d%s%s", fd, rest[0] ? "/" : "", rest);
}

/* A throw-away overlay on dst: lower is the directory as the kernel should name it. */
static int writable_overlay(const char *lower, const char *dst, struct writable_ctx *w, isol8_err *err)
{
	if (strpbrk(lower, ",:\\"))
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "--writable cannot overlay %s (',' ':' or '\\' in the name)", lower);
	char name[32], up[PATH_MAX + 40], wk[PATH_MAX + 40], upfd[80], wkfd[80], opts[PATH_MAX + 192];
	snprintf(name, sizeof name, "u%d", w->n);
	snprintf(up, sizeof up, "%s/%s", w->stage, name);
	fd_path(upfd, sizeof upfd, w->stage_fd, name);
	snprintf(name, sizeof name, "w%d", w->n++);
	snprintf(wk, sizeof wk, "%s/%s", w->stage, name);
	fd_path(wkfd, sizeof wkfd, w->stage_fd, name);
	if (mkdir(up, 0755) < 0 || mkdir(wk, 0755) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mkdir overlay dirs");
	snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upfd, wkfd);
	if (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "overlay on %s", dst);
	return 0;
}

/* A read-only bind of src, or with --writable a throw-away overlay over the directory whose
 * lower layer is named `lower` (src itself for host dirs, an fd path for image entries). */
static int add_entry(const char *src, const char *lower, const char *dst, struct writable_ctx *w, isol8_err *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return errno == ENOENT ? 0 : isol8_fail(err, ISOL8_E_SANDBOX, errno, "stat %s", src);
	if (S_ISLNK(st.st_mode))
		return copy_symlink(src, dst, err);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0; /* sockets, fifos, devices of an image are not carried over */
	if (make_mountpoint(dst, S_ISDIR(st.st_mode), err) < 0)
		return -1;
	if (w->on && S_ISDIR(st.st_mode))
		return writable_overlay(lower, dst, w, err);
	return bind_tree(src, dst, RO_ATTRS, err);
}

/* The host's /etc is not exposed: only what runtimes need to start and to speak TLS. */
static const char *const etc_entries[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives", "ssl/certs",
	"ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "nsswitch.conf", "host.conf", "gai.conf",
	"protocols", "services", "mime.types", "debian_version", "os-release", "python3", "python3.11",
	"python3.12", "python3.13",
	"fonts", "matplotlibrc", /* fontconfig's configuration, and Debian's matplotlib reads its rc here */
};

static int host_entries(const char *root, const isol8_rootfs_opts *o, struct writable_ctx *w, isol8_err *err)
{
	static const char *const top[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
	char src[PATH_MAX], dst[PATH_MAX * 2];
	for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
		snprintf(src, sizeof src, "/%s", top[i]);
		snprintf(dst, sizeof dst, "%s/%s", root, top[i]);
		if (add_entry(src, src, dst, w, err) < 0)
			return -1;
	}
	if (o->runtimes_dir && o->runtimes_dir[0] == '/' && access(o->runtimes_dir, F_OK) == 0) {
		snprintf(dst, sizeof dst, "%s%s", root, o->runtimes_dir);
		if (add_entry(o->runtimes_dir, o->runtimes_dir, dst, w, err) < 0)
			return -1;
	}
	snprintf(dst, sizeof dst, "%s/etc", root);
	if (mkdir(dst, 0755) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mkdir %s", dst);
	/* /etc entries are never overlaid: they stay the host's, read-only */
	struct writable_ctx ro = {.stage_fd = -1, .image_fd = -1};
	for (size_t i = 0; i < ARRAY_SIZE(etc_entries); i++) {
		snprintf(src, sizeof src, "/etc/%s", etc_entries[i]);
		snprintf(dst, sizeof dst, "%s/etc/%s", root, etc_entries[i]);
		if (add_entry(src, src, dst, &ro, err) < 0)
			return -1;
	}
	return 0;
}

/* The image as a read-only overlay at <stage>/img: its root is "/" (a bind straight from the
 * image would show the image's host path). Overlayfs needs two lower layers when it has no
 * upper one; the second is an empty directory. */
static int stage_image(const isol8_rootfs_opts *o, struct writable_ctx *w, isol8_err *err)
{
	w->image_fd = open(o->image, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->image_fd < 0)
		return isol8_fail(err, ISOL8_E_INPUT, errno, "--image %s", o->image);
	char view[PATH_MAX + 8], empty[PATH_MAX + 8], top[64], bottom[64], opts[224];
	snprintf(view, sizeof view, "%s/img", w->stage);
	snprintf(empty, sizeof empty, "%s/empty", w->stage);
	if (mkdir(view, 0755) < 0 || mkdir(empty, 0555) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mkdir image stage");
	fd_path(top, sizeof top, w->image_fd, "");
	fd_path(bottom, sizeof bottom, w->stage_fd, "empty");
	/* An image's own overlay xattrs (redirects, metacopy) are not honoured: files are what they are. */
	snprintf(opts, sizeof opts, "lowerdir=%s:%s,redirect_dir=nofollow,metacopy=off", top, bottom);
	if (mount("overlay", view, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "--image %s: read-only overlay", o->image);
	return 0;
}

static int image_entries(const char *root, struct writable_ctx *w, isol8_err *err)
{
	static const char *const skip[] = {".", "..", "dev", "proc", "sys", "sandbox", "tmp", "run", ".isol8"};
	char view[PATH_MAX + 8];
	snprintf(view, sizeof view, "%s/img", w->stage);
	DIR *d = opendir(view);
	if (!d)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "open image view");
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		bool skipped = false;
		for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
			skipped |= !strcmp(e->d_name, skip[i]);
		if (skipped || !strcmp(e->d_name, ".isol8-rw"))
			continue;
		char src[PATH_MAX * 2], lower[PATH_MAX], dst[PATH_MAX * 2];
		snprintf(src, sizeof src, "%s/%s", view, e->d_name);
		fd_path(lower, sizeof lower, w->image_fd, e->d_name);
		snprintf(dst, sizeof dst, "%s/%s", root, e->d_name);
		rc = add_entry(src, lower, dst, w, err);
	}
	closedir(d);
	return rc;
}

static int write_in(const char *root, const char *name, const char *content, isol8_err *err)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/etc/%s", root, name);
	if (access(p, F_OK) == 0)
		return 0; /* an image brings its own */
	if (write_file(p, content, 0644) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "write %s", p);
	return 0;
}

static int generated_etc(const char *root, const isol8_rootfs_opts *o, isol8_err *err)
{
	char passwd[256], group[128];
	snprintf(passwd, sizeof passwd, "root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:%u:%u:sandbox:/sandbox:/bin/bash\n",
		 o->uid, o->gid);
	snprintf(group, sizeof group, "root:x:0:\nsandbox:x:%u:\n", o->gid);
	if (write_in(root, "passwd", passwd, err) < 0 || write_in(root, "group", group, err) < 0 ||
	    write_in(root, "hosts", "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost\n", err) < 0 ||
	    write_in(root, "hostname", "sandbox\n", err) < 0 ||
	    /* No resolver inside: name lookups fail fast instead of leaking DNS. */
	    write_in(root, "resolv.conf", "", err) < 0)
		return -1;
	return 0;
}

static int setup_dev(const char *root, isol8_err *err)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	char dev[PATH_MAX + 8], p[PATH_MAX + 32], src[64];
	snprintf(dev, sizeof dev, "%s/dev", root);
	if (make_mountpoint(dev, true, err) < 0 ||
	    tmpfs(dev, MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64", err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		snprintf(p, sizeof p, "%s/%s", dev, nodes[i]);
		struct stat st;
		/* Only the real character devices are bound (runc CVE-2025-31133 class). */
		if (stat(src, &st) < 0 || !S_ISCHR(st.st_mode))
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "host %s is not a character device", src);
		if (make_mountpoint(p, false, err) < 0 || bind_tree(src, p, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err) < 0)
			return -1;
	}
	static const char *const links[][2] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(p, sizeof p, "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], p) < 0)
			return isol8_fail(err, ISOL8_E_SANDBOX, errno, "symlink %s", p);
	}
	snprintf(p, sizeof p, "%s/shm", dev);
	if (make_mountpoint(p, true, err) < 0)
		return -1;
	if (set_attr_fd(AT_FDCWD, dev, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "read-only /dev");
	return 0;
}

/* The sandbox's own /dev/shm, on the mount point setup_dev made. */
static int setup_shm(const char *root, const isol8_rootfs_opts *o, isol8_err *err)
{
	char p[PATH_MAX + 16], opts[96];
	snprintf(p, sizeof p, "%s/dev/shm", root);
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)(o->tmp_size < (64u << 20) ? o->tmp_size : 64u << 20));
	return tmpfs(p, MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err);
}

static int setup_proc(const char *root, isol8_err *err)
{
	static const char *const masked_files[] = {"kcore", "keys", "latency_stats", "timer_list", "timer_stats",
						   "sched_debug", "kallsyms", "kpagecount", "kpageflags", "kpagecgroup"};
	static const char *const masked_dirs[] = {"acpi", "asound", "scsi", "firmware", "driver"};
	static const char *const readonly[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};
	char proc[PATH_MAX + 8], p[PATH_MAX + 32], devnull[PATH_MAX + 16];
	snprintf(proc, sizeof proc, "%s/proc", root);
	snprintf(devnull, sizeof devnull, "%s/dev/null", root);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0 &&
	    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mount /proc");
	for (size_t i = 0; i < ARRAY_SIZE(masked_files); i++) {
		snprintf(p, sizeof p, "%s/%s", proc, masked_files[i]);
		if (access(p, F_OK) == 0 && bind_tree(devnull, p, RO_ATTRS | MOUNT_ATTR_NOEXEC, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(masked_dirs); i++) {
		snprintf(p, sizeof p, "%s/%s", proc, masked_dirs[i]);
		if (access(p, F_OK) == 0 &&
		    tmpfs(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly); i++) {
		snprintf(p, sizeof p, "%s/%s", proc, readonly[i]);
		if (access(p, F_OK) == 0 && bind_tree(p, p, RO_ATTRS | MOUNT_ATTR_NOEXEC, err) < 0)
			return -1;
	}
	return 0;
}

/* One support file or directory at p, its parents made first. */
static int support_entry(const char *p, const isol8_support_file *f, const isol8_rootfs_opts *o, isol8_err *err)
{
	char parent[PATH_MAX + 300];
	snprintf(parent, sizeof parent, "%s", p);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	if (mkdir_p(parent, 0755) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "mkdir %s", parent);
	int rc = 0;
	if (f->data) {
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
		rc = fd < 0 || write_all(fd, f->data, f->len) < 0 ? -1 : 0;
		if (fd >= 0 && close(fd) < 0)
			rc = -1;
	} else if (mkdir(p, f->mode) < 0 && errno != EEXIST) {
		rc = -1;
	}
	if (rc == 0 && f->sandbox_owned && chown(p, o->uid, o->gid) < 0)
		rc = -1;
	return rc < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "write %s", p) : 0;
}

/* Step 4c: ISOL8_SUPPORT_DIR, a tmpfs sized for its files plus a little room (a cache the
 * runtime rewrites), noexec: nothing in it is run but as a script by an interpreter. */
static int support_dir(const char *root, const isol8_rootfs_opts *o, isol8_err *err)
{
	if (!o->nsupport)
		return 0;
	char dir[PATH_MAX + 16], p[PATH_MAX + 300], opts[96];
	size_t total = 1u << 20;
	for (size_t i = 0; i < o->nsupport; i++)
		total += o->support[i].len;
	snprintf(dir, sizeof dir, "%s" ISOL8_SUPPORT_DIR, root);
	snprintf(opts, sizeof opts, "mode=0755,size=%zu,nr_inodes=256", total);
	if (tmpfs(dir, MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err) < 0) /* on rootfs_base's mount point */
		return -1;
	for (size_t i = 0; i < o->nsupport; i++) {
		if (strstr(o->support[i].path, ".."))
			return isol8_fail(err, ISOL8_E_SANDBOX, 0, "bad support path %s", o->support[i].path);
		snprintf(p, sizeof p, "%s/%s", dir, o->support[i].path);
		if (support_entry(p, &o->support[i], o, err) < 0)
			return -1;
	}
	return 0;
}

/* A tmpfs at <root>/.isol8-rw for overlay upper/work dirs (--writable) and the image's view. */
static int open_stage(const char *root, const isol8_rootfs_opts *o, struct writable_ctx *w, isol8_err *err)
{
	char opts[96];
	snprintf(w->stage, sizeof w->stage, "%s/.isol8-rw", root);
	snprintf(opts, sizeof opts, "mode=0755,size=%llu", (unsigned long long)(o->writable ? o->sandbox_size : 64u << 10));
	if (make_mountpoint(w->stage, true, err) < 0 || tmpfs(w->stage, MS_NOSUID | MS_NODEV, opts, err) < 0)
		return -1;
	w->stage_fd = open(w->stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->stage_fd < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "open %s", w->stage);
	return 0;
}

/* Step 3: the image's entries or the host's runtime dirs. The stage goes afterwards: overlays
 * and binds hold their own references to what they use. */
static int runtime_dirs(const char *root, const isol8_rootfs_opts *o, isol8_err *err)
{
	struct writable_ctx w = {.on = o->writable, .stage_fd = -1, .image_fd = -1};
	int rc = 0;
	if (o->writable || o->image)
		rc = open_stage(root, o, &w, err);
	if (rc == 0 && o->image)
		rc = stage_image(o, &w, err);
	if (rc == 0)
		rc = o->image ? image_entries(root, &w, err) : host_entries(root, o, &w, err);
	if (w.stage_fd >= 0)
		close(w.stage_fd);
	if (w.image_fd >= 0)
		close(w.image_fd);
	if (rc == 0 && w.stage[0] && (umount2(w.stage, MNT_DETACH) < 0 || rmdir(w.stage) < 0))
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "remove staging dir");
	return rc;
}

int rootfs_hold_layer(const char *path, isol8_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat held, now;
	if (fd < 0 && errno == ENOENT)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0,
				  "the image's layer %s is gone (its image was rebuilt or removed meanwhile): run again", path);
	if (fd < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot open the image's layer %s", path);
	if (flock(fd, LOCK_SH) < 0 || fstat(fd, &held) < 0) {
		int e = errno;
		close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "cannot hold the image's layer %s", path);
	}
	if (stat(path, &now) < 0 || now.st_dev != held.st_dev || now.st_ino != held.st_ino) {
		close(fd);
		return isol8_fail(err, ISOL8_E_SANDBOX, 0,
				  "the image's layer %s is gone (its image was rebuilt or removed meanwhile): run again", path);
	}
	return fd;
}

/* Steps 2, 3 and 5 and every mount point of the other steps: the part of the root that is the
 * same for every sandbox of these options (sizes, the support files' contents and the layer
 * are the sandbox's own). Nothing of it is written after this. */
static int rootfs_base(const isol8_rootfs_opts *o, isol8_err *err)
{
	const char *root = o->staging;
	char p[PATH_MAX + 32], opts[128];
	/* 2. the new root: small unless writable (then it holds what the program writes) */
	/* writable: the sandbox user (not root) may create new paths at the top, like /tmp */
	snprintf(opts, sizeof opts, "mode=%s,size=%llu", o->writable ? "1777" : "0755",
		 (unsigned long long)(o->writable ? o->sandbox_size : 4u << 20));
	if (tmpfs(root, MS_NOSUID | MS_NODEV, opts, err) < 0)
		return -1;
	/* 3. runtime directories */
	if (runtime_dirs(root, o, err) < 0)
		return -1;
	/* An image brings its own /etc (read-only); the host's gets a passwd naming the sandbox
	 * user, loopback-only hosts, and an empty resolv.conf. */
	if (!o->image && generated_etc(root, o, err) < 0)
		return -1;
	const char *points[] = {"/sandbox", "/tmp", "/proc", o->nsupport ? ISOL8_SUPPORT_DIR : NULL,
				o->layer ? ISOL8_LAYER_DIR : NULL};
	for (size_t i = 0; i < ARRAY_SIZE(points); i++) {
		snprintf(p, sizeof p, "%s%s", root, points[i] ? points[i] : "");
		if (points[i] && make_mountpoint(p, true, err) < 0)
			return -1;
	}
	/* 5. devices */
	return setup_dev(root, err);
}

int rootfs_template(const isol8_rootfs_opts *o, isol8_err *err)
{
	if (o->image || o->writable || o->layer)
		return isol8_fail(err, ISOL8_E_INTERNAL, 0, "a root template holds the host's runtime dirs only");
	if (rootfs_base(o, err) < 0) {
		umount2(o->staging, MNT_DETACH);
		return -1;
	}
	if (set_attr_fd(AT_FDCWD, o->staging, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) < 0) {
		int e = errno;
		umount2(o->staging, MNT_DETACH);
		return isol8_fail(err, ISOL8_E_SANDBOX, e, "read-only root template");
	}
	return 0;
}

int rootfs_build(const isol8_rootfs_opts *o, isol8_err *err)
{
	const char *root = o->staging;
	char p[PATH_MAX + 32], opts[128];
	/* 1. nothing propagates back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "make / private");
	/* 2, 3, 5: made here, or already at root (the copy of a zygote's template that this mount
	 * namespace was cloned with) */
	if (!o->on_template && rootfs_base(o, err) < 0)
		return -1;
	/* 4. writable, size-capped work areas */
	snprintf(p, sizeof p, "%s/sandbox", root);
	snprintf(opts, sizeof opts, "mode=0755,uid=%u,gid=%u,size=%llu,nr_inodes=%llu", o->uid, o->gid,
		 (unsigned long long)o->sandbox_size, (unsigned long long)(o->sandbox_size / 1024 + 1024));
	if (tmpfs(p, MS_NOSUID | MS_NODEV, opts, err) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/tmp", root);
	snprintf(opts, sizeof opts, "mode=1777,size=%llu,nr_inodes=%llu", (unsigned long long)o->tmp_size,
		 (unsigned long long)(o->tmp_size / 1024 + 1024));
	if (tmpfs(p, MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err) < 0)
		return -1;
	if (support_dir(root, o, err) < 0)
		return -1;
	/* 4b. an image's layer: its packages, read-only at run time (writable only for its build) */
	snprintf(p, sizeof p, "%s" ISOL8_LAYER_DIR, root);
	if (o->layer && bind_tree(o->layer, p, (o->layer_writable ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				  err) < 0)
		return -1;
	/* 5–6. the sandbox's shared memory and procfs */
	if (setup_shm(root, o, err) < 0 || setup_proc(root, err) < 0)
		return -1;
	/* 7. switch roots; the old root is detached and unreachable */
	if (chdir(root) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "chdir new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "detach old root");
	if (chdir("/") < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "chdir /");
	/* 8. read-only root */
	if (!o->writable && set_attr_fd(AT_FDCWD, "/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "read-only root");
	/* 9. the init keeps the layer from being removed while the sandbox lives, past its
	 * supervisor (--persist, a pool's hand-over). Opened through the sandbox's own mount, so the
	 * fd reaches nothing the sandbox cannot see (never a host directory fd inside). Kept open
	 * (close-on-exec) until the init exits. */
	if (o->layer && rootfs_hold_layer(ISOL8_LAYER_DIR, err) < 0)
		return -1;
	return 0;
}
