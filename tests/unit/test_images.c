/* test_images.c — the image store: manifests round trip and refuse what they did not write, tags
 * are plain names, a tag is replaced atomically and its old directory removed once no sandbox
 * holds it (nor while a build of its tag is under way), and a link that leads out of the store is
 * neither an image nor followed when retired layers are removed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/rootfs.h"
#include "state/images.h"
#include "tap.h"

static char store[] = "/tmp/isol8-test-images-XXXXXX";

static isol8_image sample(const char *tag, const char *setup)
{
	isol8_image im = {0};
	snprintf(im.tag, sizeof im.tag, "%s", tag);
	snprintf(im.runtime, sizeof im.runtime, "python");
	isol8_strv_add(&im.packages, &im.npackages, "numpy==1.0");
	isol8_strv_add(&im.packages, &im.npackages, "pandas");
	im.setup_script = setup ? xstrdup(setup) : NULL;
	im.registry = xstrdup("http://localhost/");
	image_hash(im.runtime, im.packages, im.npackages, im.setup_script, im.hash);
	im.size_bytes = 12345;
	iso8601_now(im.created);
	return im;
}

/* A build: a fresh directory with a manifest and a marker file, published under tag. */
static char *build(const char *tag, const char *marker)
{
	isol8_err err = {0};
	isol8_image im = sample(tag, NULL);
	char *dir = image_new_dir(store, tag, im.hash, &err);
	char *m = xasprintf("%s/manifest.json", dir), *f = xasprintf("%s/layer/%s", dir, marker);
	ok(dir && image_manifest_write(m, &im) == 0 && write_file(f, "x", 0644) == 0 &&
		   image_publish(store, tag, dir, &err) == 0,
	   "built and published %s (%s)", tag, err.msg);
	free(m);
	free(f);
	image_free(&im);
	return dir;
}

int main(void)
{
	ok(mkdtemp(store) != NULL, "a store");
	char *path = xasprintf("%s/m.json", store);
	isol8_image in = sample("py-data", "echo hi\n"), out;
	ok(image_manifest_write(path, &in) == 0 && image_manifest_read(path, &out) == 0, "manifest written and read");
	ok(!strcmp(out.tag, "py-data") && !strcmp(out.runtime, "python") && out.npackages == 2 &&
		   !strcmp(out.packages[1], "pandas") && !strcmp(out.setup_script, "echo hi\n") &&
		   !strcmp(out.registry, "http://localhost/") &&
		   !strcmp(out.hash, in.hash) && out.size_bytes == 12345 && !strcmp(out.created, in.created),
	   "every field round trips");
	image_free(&out);
	char h2[17];
	image_hash("python", in.packages, in.npackages, NULL, h2);
	ok(strcmp(h2, in.hash) != 0, "the setup script is part of the hash");
	static const char *const bad[] = {"", "{}", "{\"tag\":\"../x\",\"runtime\":\"python\",\"packages\":[],\"hash\":\"h\","
						  "\"sizeBytes\":1,\"created\":\"c\"}",
					  "{\"tag\":\"t\",\"runtime\":\"python\",\"packages\":[1],\"hash\":\"h\",\"sizeBytes\":1,"
					  "\"created\":\"c\"}",
					  "{\"tag\":\"t\",\"runtime\":\"python\",\"packages\":[],\"hash\":\"h\",\"sizeBytes\":1,"
					  "\"created\":\"c\",\"setupScript\":7}",
					  "{\"tag\":\"t\",\"runtime\":\"deno\",\"packages\":[],\"hash\":\"h\",\"sizeBytes\":1,"
					  "\"created\":\"c\",\"registry\":[]}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(path, bad[i], 0644);
		ok(image_manifest_read(path, &out) < 0, "malformed manifest refused: %.40s", bad[i]);
	}
	ok(image_tag_valid("py-data:v1.2") && !image_tag_valid("") && !image_tag_valid("../etc") &&
		   !image_tag_valid("a/b") && !image_tag_valid(".hidden") && !image_tag_valid("-x") &&
		   !image_tag_valid("sp ace"),
	   "tags are plain names");

	char *first = build("t1", "first");
	isol8_image found;
	ok(image_find(store, "t1", &found) == 0 && !strcmp(found.dir, first), "found under its tag");
	char *layer = image_layer(&found), *marker = xasprintf("%s/first", layer);
	ok(access(marker, F_OK) == 0, "its layer holds what the build wrote");
	free(marker);
	free(layer);
	image_free(&found);
	/* a sandbox holds the layer it mounts (rootfs_hold_layer): a rebuild must not remove it */
	isol8_err err = {0};
	char *first_layer = xasprintf("%s/layer", first);
	int hold = rootfs_hold_layer(first_layer, &err);
	ok(hold >= 0, "a sandbox's hold on its layer (%s)", err.msg);
	char *second = build("t1", "second");
	struct stat st;
	size_t removed = 9;
	ok(image_find(store, "t1", &found) == 0 && !strcmp(found.dir, second), "a rebuild replaces the tag");
	image_free(&found);
	ok(images_collect(store, NULL, &removed, &err) == 0 && removed == 0 && stat(first, &st) == 0,
	   "…and the retired directory stays while a sandbox holds it");
	close(hold);
	ok(images_collect(store, NULL, &removed, &err) == 0 && removed == 1 && stat(first, &st) < 0,
	   "…and goes once nothing holds it");
	ok(rootfs_hold_layer(first_layer, &err) < 0 && strstr(err.msg, "is gone"),
	   "a run that resolved it before is refused, with what to do (%s)", err.msg);
	free(first_layer);

	/* a build under way: its directory is named by no tag yet, and is not taken for a retired one */
	int lock = image_lock_tag(store, "t2", &err);
	char *half = image_new_dir(store, "t2", "0123456789abcdef", &err);
	ok(lock >= 0 && half && images_collect(store, NULL, &removed, &err) == 0 && removed == 0 && stat(half, &st) == 0,
	   "a build's directory is kept while the build holds its tag");
	char *lockfile = xasprintf("%s/.lock-t2", store);
	image_unlock_tag(store, "t2", lock);
	ok(stat(lockfile, &st) < 0, "a tag that names no image leaves no lock file");
	ok(images_collect(store, NULL, &removed, &err) == 0 && removed == 1 && stat(half, &st) < 0,
	   "…and what a build left behind (it ended without publishing) is removed after");
	free(lockfile);
	free(half);

	/* attack: an entry of .layers that is a link to a directory elsewhere is removed as a link,
	 * never followed */
	char *victim = xasprintf("%s/victim", store), *vfile = xasprintf("%s/victim/layer/keep", store);
	char *trap = xasprintf("%s/.layers/t3-0123456789abcdef-0123456789abcdef", store);
	char *vlayer = xasprintf("%s/layer", victim);
	ok(mkdir(victim, 0755) == 0 && mkdir(vlayer, 0755) == 0 && write_file(vfile, "x", 0644) == 0 && symlink(victim, trap) == 0,
	   "a retired-looking link to a directory outside .layers");
	ok(images_collect(store, NULL, &removed, &err) == 0 && lstat(trap, &st) < 0 && stat(vfile, &st) == 0,
	   "…the link is removed, what it points to is not touched");
	/* attack: a build's scratch directory is written by the sandbox user (a package's install
	 * script); links in it, or the directory itself being a link, must not make the host remove
	 * what they point to */
	char *scratch = xasprintf("%s/scratch", store), *inner = xasprintf("%s/scratch/to-victim", store);
	char *top = xasprintf("%s/top-link", store);
	ok(mkdir(scratch, 0755) == 0 && symlink(victim, inner) == 0 && symlink(vlayer, top) == 0 &&
		   image_remove_dir(scratch) == 0 && image_remove_dir(top) == 0,
	   "a tree holding a link, and a link itself, removed");
	ok(lstat(scratch, &st) < 0 && lstat(top, &st) < 0 && stat(vfile, &st) == 0, "…what the links point to is not touched");
	free(scratch);
	free(inner);
	free(top);
	free(victim);
	free(vfile);
	free(trap);
	free(vlayer);
	free(build("t0", "other"));
	isol8_image *all;
	size_t n;
	ok(image_list(store, &all, &n) == 0 && n == 2 && !strcmp(all[0].tag, "t0") && !strcmp(all[1].tag, "t1"),
	   "the list has every tag, sorted");
	image_list_free(all, n);
	char *t1lock = xasprintf("%s/.lock-t1", store);
	ok(image_remove(store, "t1", &err) == 0 && image_find(store, "t1", &found) < 0 && stat(second, &st) < 0 &&
		   stat(t1lock, &st) < 0,
	   "removed with its directory and its lock file");
	free(t1lock);
	ok(image_remove(store, "t1", &err) < 0 && strstr(err.msg, "no image"), "removing it again says so");

	/* a tag whose link leads out of the store is not an image */
	char *evil = xasprintf("%s/evil", store), *outside = xasprintf("%s/.layers/../m.json", store);
	ok(symlink("/etc", evil) == 0 && image_find(store, "evil", &found) < 0, "a link out of the store is not an image");
	free(evil);
	free(outside);
	ok(image_find(store, "../etc", &found) < 0, "nor is a path");

	image_free(&in);
	free(path);
	free(first);
	free(second);
	char *cmd = xasprintf("rm -rf %s", store);
	(void)!system(cmd);
	free(cmd);
	return done_testing();
}
