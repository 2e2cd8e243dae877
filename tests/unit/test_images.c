/* test_images.c — the image store: manifests round trip and refuse what they did not write, tags
 * are plain names, a tag is replaced atomically and its old directory removed, and a link that
 * leads out of the store is not an image. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
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
	char *second = build("t1", "second");
	struct stat st;
	ok(image_find(store, "t1", &found) == 0 && !strcmp(found.dir, second) && stat(first, &st) < 0,
	   "a rebuild replaces the tag and removes the old directory");
	image_free(&found);
	free(build("t0", "other"));
	isol8_image *all;
	size_t n;
	ok(image_list(store, &all, &n) == 0 && n == 2 && !strcmp(all[0].tag, "t0") && !strcmp(all[1].tag, "t1"),
	   "the list has every tag, sorted");
	image_list_free(all, n);
	isol8_err err = {0};
	ok(image_remove(store, "t1", &err) == 0 && image_find(store, "t1", &found) < 0 && stat(second, &st) < 0,
	   "removed with its directory");
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
