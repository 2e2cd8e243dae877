/* images.c — see images.h. Threat: the store is written by root and read for every run that
 * names an image; a tag is refused unless it is a plain name, a manifest that does not parse is
 * refused, and removal never follows a link out of the store. A layer is never removed while a
 * sandbox has it mounted (images_collect: the sandboxes' shared locks), which would pull the
 * packages from under a running session or --persist sandbox. */
#define _XOPEN_SOURCE 700
#include "state/images.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"

char *images_store(const isol8_config *cfg)
{
	const char *e = getenv("ISOL8_IMAGE_DIR");
	const char *config_store = cfg ? config_str(cfg, "imageStore", "") : NULL;
	if (e && *e)
		return xstrdup(e);
	if (config_store && *config_store)
		return xstrdup(config_store);
	if (geteuid() == 0)
		return xstrdup("/var/lib/isol8/images");
	const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
	return x && *x ? xasprintf("%s/isol8/images", x) : xasprintf("%s/.local/share/isol8/images", h && *h ? h : "/tmp");
}

bool image_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	return n >= 1 && n <= 128 && tag[0] != '.' && tag[0] != '-' &&
	       strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == n;
}

void image_hash(const char *runtime, char *const *packages, size_t n, const char *setup, char out[17])
{
	uint64_t h = fnv1a(FNV1A_INIT, runtime, strlen(runtime) + 1);
	for (size_t i = 0; i < n; i++)
		h = fnv1a(h, packages[i], strlen(packages[i]) + 1);
	if (setup)
		h = fnv1a(fnv1a(h, "setup:", 6), setup, strlen(setup));
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

jv image_manifest_json(const isol8_image *im)
{
	jv pk = jv_array();
	for (size_t i = 0; i < im->npackages; i++)
		pk = jv_array_append(pk, jv_string(im->packages[i]));
	jv o = jv_object_set(jv_object(), jv_string("tag"), jv_string(im->tag));
	o = jv_object_set(o, jv_string("runtime"), jv_string(im->runtime));
	o = jv_object_set(o, jv_string("packages"), pk);
	if (im->setup_script)
		o = jv_object_set(o, jv_string("setupScript"), jv_string(im->setup_script));
	if (im->registry)
		o = jv_object_set(o, jv_string("registry"), jv_string(im->registry));
	o = jv_object_set(o, jv_string("hash"), jv_string(im->hash));
	o = jv_object_set(o, jv_string("sizeBytes"), jv_number((double)im->size_bytes));
	return jv_object_set(o, jv_string("created"), jv_string(im->created));
}

int image_manifest_write(const char *path, const isol8_image *im)
{
	jv o = image_manifest_json(im);
	char *text = json_dump(o, 0);
	jv_free(o);
	char *tmp = xasprintf("%s.tmp", path), *line = xasprintf("%s\n", text);
	int rc = write_file(tmp, line, 0644) == 0 && rename(tmp, path) == 0 ? 0 : -1;
	free(line);
	free(tmp);
	free(text);
	return rc;
}

static bool read_packages(jv v, isol8_image *im)
{
	jv l = json_get(v, "packages");
	bool ok = jv_get_kind(l) == JV_KIND_ARRAY;
	for (int i = 0; ok && i < jv_array_length(jv_copy(l)); i++) {
		jv p = jv_array_get(jv_copy(l), i);
		ok = jv_get_kind(p) == JV_KIND_STRING && !json_string_has_nul(p);
		if (ok)
			isol8_strv_add(&im->packages, &im->npackages, jv_string_value(p));
		jv_free(p);
	}
	jv_free(l);
	return ok;
}

/* key absent: true (*out stays NULL); a string without NUL: true, copied; anything else: false. */
static bool optional_string(jv v, const char *key, char **out)
{
	jv s = json_get(v, key);
	bool ok = !jv_is_valid(s) || (jv_get_kind(s) == JV_KIND_STRING && !json_string_has_nul(s));
	if (ok && jv_is_valid(s))
		*out = xstrdup(jv_string_value(s));
	jv_free(s);
	return ok;
}

int image_manifest_read(const char *path, isol8_image *im)
{
	memset(im, 0, sizeof *im);
	isol8_buf b = {0};
	isol8_err e = {0};
	if (read_file(path, 1 << 20, &b, &e) < 0) {
		isol8_buf_free(&b);
		return -1;
	}
	jv v = jv_parse_sized(b.data ? (const char *)b.data : "", (int)b.len);
	isol8_buf_free(&b);
	double size;
	bool ok = jv_get_kind(v) == JV_KIND_OBJECT && json_get_str(v, "tag", im->tag, sizeof im->tag) &&
		  image_tag_valid(im->tag) && json_get_str(v, "runtime", im->runtime, sizeof im->runtime) &&
		  json_get_str(v, "hash", im->hash, sizeof im->hash) && json_get_num(v, "sizeBytes", 0, 1e18, &size) &&
		  json_get_str(v, "created", im->created, sizeof im->created) && read_packages(v, im);
	ok = ok && optional_string(v, "setupScript", &im->setup_script) && optional_string(v, "registry", &im->registry);
	jv_free(v);
	if (!ok) {
		image_free(im);
		return -1;
	}
	im->size_bytes = (unsigned long long)size;
	return 0;
}

void image_free(isol8_image *im)
{
	strv_clear(&im->packages, &im->npackages);
	free(im->setup_script);
	free(im->registry);
	free(im->dir);
	memset(im, 0, sizeof *im);
}

int image_find(const char *store, const char *tag, isol8_image *im)
{
	memset(im, 0, sizeof *im);
	if (!image_tag_valid(tag))
		return -1;
	char *link = xasprintf("%s/%s", store, tag), real[PATH_MAX];
	bool resolved = realpath(link, real) != NULL;
	free(link);
	char *layers = xasprintf("%s/.layers/", store), *manifest = NULL;
	char lreal[PATH_MAX];
	/* the link must name a directory of this store's .layers, nothing else */
	bool inside = resolved && realpath(layers, lreal) && !strncmp(real, lreal, strlen(lreal)) &&
		      real[strlen(lreal)] == '/' && !strchr(real + strlen(lreal) + 1, '/');
	free(layers);
	int rc = -1;
	if (inside) {
		manifest = xasprintf("%s/manifest.json", real);
		if (image_manifest_read(manifest, im) == 0 && !strcmp(im->tag, tag)) {
			im->dir = xstrdup(real);
			rc = 0;
		} else {
			image_free(im);
		}
	}
	free(manifest);
	return rc;
}

char *image_layer(const isol8_image *im)
{
	return xasprintf("%s/layer", im->dir);
}

static int by_tag(const void *a, const void *b)
{
	return strcmp(((const isol8_image *)a)->tag, ((const isol8_image *)b)->tag);
}

int image_list(const char *store, isol8_image **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(store);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		isol8_image im;
		if (e->d_name[0] == '.' || image_find(store, e->d_name, &im) < 0)
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = im;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, by_tag);
	return 0;
}

void image_list_free(isol8_image *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		image_free(&v[i]);
	free(v);
}

char *image_new_dir(const char *store, const char *tag, const char *hash, isol8_err *err)
{
	char rnd[17];
	random_hex(rnd, 8);
	char *layers = xasprintf("%s/.layers", store);
	char *dir = xasprintf("%s/%s-%s-%s", layers, tag, hash, rnd), *layer = xasprintf("%s/layer", dir);
	int rc = mkdir_p(layers, 0700) == 0 && mkdir(dir, 0755) == 0 && mkdir(layer, 0755) == 0 ? 0 : -1;
	int e = errno;
	if (rc < 0)
		rmdir(dir); /* made before its layer could not be: nothing half made stays */
	free(layers);
	free(layer);
	if (rc < 0) {
		free(dir);
		isol8_fail(err, ISOL8_E_SANDBOX, e, "cannot create a build directory in the image store %s", store);
		return NULL;
	}
	return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int image_remove_dir(const char *dir)
{
	/* FTW_PHYS: a link inside a layer is removed, never followed */
	return nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT ? -1 : 0;
}

/* Opens and locks path (made if missing) for a build or a removal of its tag. A remover unlinks
 * the file while holding it, so a waiter that got the lock on an unlinked file tries again:
 * only a lock on the file now at path counts. */
int image_lock_tag(const char *store, const char *tag, isol8_err *err)
{
	if (mkdir_p(store, 0700) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot create the image store %s", store);
	char *p = xasprintf("%s/.lock-%s", store, tag);
	int fd = -1;
	for (;;) {
		fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0) {
			isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot lock image %s", tag);
			if (fd >= 0)
				close(fd);
			fd = -1;
			break;
		}
		struct stat held, now;
		if (fstat(fd, &held) == 0 && stat(p, &now) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			break;
		close(fd);
	}
	free(p);
	return fd;
}

static bool tag_named(const char *store, const char *tag)
{
	char *link = xasprintf("%s/%s", store, tag);
	struct stat st;
	bool named = lstat(link, &st) == 0;
	free(link);
	return named;
}

void image_unlock_tag(const char *store, const char *tag, int fd)
{
	if (fd < 0)
		return;
	if (!tag_named(store, tag)) { /* nothing under the tag: no lock file is left behind */
		char *p = xasprintf("%s/.lock-%s", store, tag);
		unlink(p);
		free(p);
	}
	close(fd);
}

/* The tag's lock without waiting, for the collector: 1 held (*fd: release with close), 0 when a
 * build or removal of the tag is under way, 1 with *fd -1 when there is no lock file (nothing is
 * under way: a build makes it before its directory). */
static int try_lock_tag(const char *store, const char *tag, int *fd)
{
	char *p = xasprintf("%s/.lock-%s", store, tag);
	*fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 1;
	struct stat held, now;
	if (*fd < 0) {
		rc = errno == ENOENT ? 1 : 0;
	} else if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		rc = 0;
	} else if (fstat(*fd, &held) < 0 || stat(p, &now) < 0 || held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
		rc = 0; /* replaced meanwhile: someone may hold the new one; next time */
	}
	if (rc == 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	free(p);
	return rc;
}

/* A .layers entry <tag>-<16 hex>-<16 hex> (image_new_dir): its tag in tag, else false (not ours:
 * left alone). */
static bool layer_dir_tag(const char *name, char tag[129])
{
	size_t n = strlen(name);
	if (n < 35 || n - 34 > 128 || name[n - 34] != '-' || name[n - 17] != '-')
		return false;
	for (size_t i = n - 33; i < n; i++)
		if (i != n - 17 && !strchr("0123456789abcdef", name[i]))
			return false;
	memcpy(tag, name, n - 34);
	tag[n - 34] = 0;
	return image_tag_valid(tag);
}

static bool links_to(const char *store, const char *tag, const char *name)
{
	char *link = xasprintf("%s/%s", store, tag), *want = xasprintf(".layers/%s", name), got[PATH_MAX];
	ssize_t l = readlink(link, got, sizeof got - 1);
	bool same = l > 0 && (got[l] = 0, !strcmp(got, want));
	free(link);
	free(want);
	return same;
}

/* Removes .layers/name unless a sandbox holds its layer (a shared lock: rootfs.h). Under the
 * exclusive lock it is first renamed out of the way, so that a run that resolved it before it was
 * retired finds nothing rather than half a layer. 1 removed, 0 in use, -1 failed. */
static int remove_unheld(const char *layers, const char *name)
{
	char *dir = xasprintf("%s/%s", layers, name), *layer = xasprintf("%s/layer", dir), gone[PATH_MAX];
	int fd = open(layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 1;
	bool interrupted = !strncmp(name, ".removing-", 10); /* already out of the way */
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = 0;
	} else if (fd < 0 && errno != ENOENT) {
		rc = -1; /* cannot tell whether it is in use: kept */
	} else {
		char rnd[17];
		random_hex(rnd, 8);
		snprintf(gone, sizeof gone, "%s/.removing-%s", layers, rnd);
		if (interrupted)
			snprintf(gone, sizeof gone, "%s", dir);
		if (!interrupted && rename(dir, gone) < 0)
			rc = errno == ENOENT ? 0 : -1; /* another collector took it first */
		else if (image_remove_dir(gone) < 0)
			rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	free(layer);
	return rc;
}

/* One .layers entry: removed when no tag names it and nothing holds it. */
static int collect_one(const char *store, const char *layers, const char *name, const char *held_tag)
{
	char tag[129];
	if (!strncmp(name, ".removing-", 10)) /* a removal that was interrupted */
		return remove_unheld(layers, name);
	if (!layer_dir_tag(name, tag))
		return 0;
	int lock = -1;
	bool mine = held_tag && !strcmp(held_tag, tag);
	if (!mine && try_lock_tag(store, tag, &lock) == 0)
		return 0; /* a build of the tag is under way: its directory is not named yet */
	int rc = links_to(store, tag, name) ? 0 : remove_unheld(layers, name);
	if (lock >= 0)
		close(lock);
	return rc;
}

int images_collect(const char *store, const char *held_tag, size_t *removed, isol8_err *err)
{
	*removed = 0;
	char *layers = xasprintf("%s/.layers", store);
	DIR *d = opendir(layers);
	if (!d) {
		int e = errno;
		free(layers);
		return e == ENOENT ? 0 : isol8_fail(err, ISOL8_E_SANDBOX, e, "cannot read %s/.layers", store);
	}
	char **names = NULL;
	size_t n = 0, failed = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			isol8_strv_add(&names, &n, e->d_name);
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		int rc = collect_one(store, layers, names[i], held_tag);
		if (rc > 0)
			(*removed)++;
		else if (rc < 0)
			failed++;
	}
	strv_clear(&names, &n);
	free(layers);
	return failed ? isol8_fail(err, ISOL8_E_SANDBOX, 0, "%zu retired layer(s) in %s/.layers could not be removed", failed, store)
		      : 0;
}

int image_publish(const char *store, const char *tag, const char *dir, isol8_err *err)
{
	char *link = xasprintf("%s/%s", store, tag), *tmp = xasprintf("%s/.%s.link", store, tag);
	const char *rel = strstr(dir, "/.layers/");
	unlink(tmp);
	int rc = rel && symlink(rel + 1, tmp) == 0 && rename(tmp, link) == 0 ? 0 : -1;
	if (rc < 0)
		isol8_fail(err, ISOL8_E_SANDBOX, errno, "cannot publish image %s in %s", tag, store);
	unlink(tmp);
	free(link);
	free(tmp);
	return rc;
}

int image_remove(const char *store, const char *tag, isol8_err *err)
{
	isol8_image im;
	if (image_find(store, tag, &im) < 0) /* before the lock, which would make the store */
		return isol8_input_error(err, "no image \"%s\" in %s", tag, store);
	image_free(&im);
	int lock = image_lock_tag(store, tag, err); /* no build of it may publish meanwhile */
	if (lock < 0)
		return -1;
	int rc = 0;
	if (image_find(store, tag, &im) < 0) {
		rc = isol8_input_error(err, "no image \"%s\" in %s", tag, store);
	} else {
		char *link = xasprintf("%s/%s", store, tag);
		size_t removed;
		/* its layer goes now, or once no sandbox has it mounted (images_collect) */
		if (unlink(link) < 0)
			rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "removing %s", tag);
		else
			rc = images_collect(store, tag, &removed, err);
		free(link);
		image_free(&im);
	}
	image_unlock_tag(store, tag, lock);
	return rc;
}
