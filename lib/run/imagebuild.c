/* imagebuild.c — see imagebuild.h. The packages run inside the build sandbox as the sandbox user;
 * only what they write under /isol8-image becomes the image. A failed or oversized build removes
 * its directory and leaves the tag as it was; builds of one tag take turns (a lock in the store). */
#define _XOPEN_SOURCE 700
#include "run/imagebuild.h"

#include <errno.h>
#include <jv.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/util.h"
#include "run/engine.h"
#include "run/imageapt.h"
#include "run/install.h"
#include "sandbox/sandbox.h"
#include "state/images.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_packages_normalise(char *const *in, size_t n, char ***out, size_t *nout, isol8_err *err)
{
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		char *copy = xstrdup(in[i]), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ' || *t == '\t')
				t++;
			size_t l = strlen(t);
			while (l && (t[l - 1] == ' ' || t[l - 1] == '\t'))
				t[--l] = 0;
			bool dup = false;
			for (size_t k = 0; k < *nout && !dup; k++)
				dup = !strcmp((*out)[k], t);
			if (*t && !dup)
				isol8_strv_add(out, nout, t);
		}
		free(copy);
	}
	if (*nout)
		qsort(*out, *nout, sizeof **out, cmp_str);
	for (size_t i = 0; i < *nout; i++)
		if (validate_package_name((*out)[i], err) < 0)
			return -1;
	return 0;
}

/* The install line, into the layer's directory for the runtime: pip's --target, npm's --prefix,
 * bun's --cwd, deno's cache (DENO_DIR, set in build_env). Names are checked: no shell character
 * can be in them. */
static char *install_cmd(const char *runtime, char *const *pk, size_t n)
{
	isol8_buf b = {0};
	bool deno = !strcmp(runtime, "deno");
	buf_puts(&b, "mkdir -p " ISOL8_BUILD_SCRATCH_DIR "/tmp && ");
	buf_puts(&b, !strcmp(runtime, "python") ? "python3 -m pip install --target " ISOL8_LAYER_DIR "/python --no-cache-dir "
						  "--disable-pip-version-check --retries 0 --timeout 15"
		     : !strcmp(runtime, "node") ? "npm install --prefix " ISOL8_LAYER_DIR "/node --no-audit --no-fund"
		     : !strcmp(runtime, "bun")  ? "mkdir -p " ISOL8_LAYER_DIR "/bun && bun add --cwd " ISOL8_LAYER_DIR "/bun"
						: "deno cache --quiet");
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, deno ? " npm:" : " ");
		buf_puts(&b, pk[i]);
	}
	return (char *)b.data;
}

/* The package managers' environment for a build: caches and temporary files in the build's
 * scratch directory (not the image, not the sandbox's memory), the host's registry, deno's cache
 * in the layer. */
static void build_env(isol8_request *r)
{
	if (r->registry) {
		request_env_default(r, "PIP_INDEX_URL", r->registry);
		request_env_default(r, "NPM_CONFIG_REGISTRY", r->registry);
	}
	request_env_default(r, "NPM_CONFIG_CACHE", ISOL8_BUILD_SCRATCH_DIR "/npm-cache");
	request_env_default(r, "NPM_CONFIG_UPDATE_NOTIFIER", "false");
	request_env_default(r, "BUN_INSTALL_CACHE_DIR", ISOL8_BUILD_SCRATCH_DIR "/bun-cache");
	request_env_default(r, "DENO_DIR", ISOL8_LAYER_DIR "/deno");
}

/* The build's command, files and network: apt for bash, the runtime's package manager (with the
 * network of --install: the host's registry, nothing else) for the others. */
static int prepare(const isol8_build *b, char *const *pk, size_t n, isol8_request *r, isol8_options *o, isol8_err *err)
{
	request_env_default(r, "TMPDIR", ISOL8_BUILD_SCRATCH_DIR "/tmp");
	if (!strcmp(b->runtime, "bash"))
		return apt_build_prepare(r, o, pk, n, err);
	r->cmd = install_cmd(b->runtime, pk, n);
	for (size_t i = 0; i < n; i++)
		isol8_strv_add(&r->install, &r->ninstall, pk[i]);
	int rc = request_prepare_install(r, o, false, err);
	strv_clear(&r->install, &r->ninstall);
	build_env(r);
	return rc;
}

/* The build's scratch directory, before the layer is measured (written by the sandbox user:
 * removed without following a link). */
static int remove_scratch(const char *layer, isol8_err *err)
{
	char *scratch = xasprintf("%s/" ISOL8_BUILD_SCRATCH, layer);
	int rc = image_remove_dir(scratch) < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "removing %s", scratch) : 0;
	free(scratch);
	return rc;
}

static uint64_t layer_bytes;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_F)
		layer_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

/* Runs the install in a build sandbox with the layer writable; *registry: the one it used. */
static int install_into(const isol8_build *b, char *const *pk, size_t n, const char *layer, const isol8_options *base,
			char **registry, isol8_event_fn fn, void *ctx, isol8_err *err)
{
	isol8_request r;
	isol8_request_init(&r);
	r.runtime = xstrdup(b->runtime);
	r.timeout_ms = b->timeout_ms;
	isol8_options o = *base;
	o.secrets = NULL, o.nsecrets = 0, o.net_allow = o.net_deny = NULL, o.nallow = o.ndeny = 0;
	o.image = NULL, o.persist = false, o.writable = false, o.log_network = false;
	o.layer = xstrdup(layer), o.layer_writable = true;
	/* a build's space is the image's (--max-size), not only what the config gives a run's
	 * /sandbox and /tmp (64m): what the package managers fetch goes to the scratch directory on
	 * disk, and whatever one still writes to /sandbox or /tmp may be as large */
	o.sandbox_size = b->max_bytes > o.sandbox_size ? b->max_bytes : o.sandbox_size;
	o.tmp_size = b->max_bytes > o.tmp_size ? b->max_bytes : o.tmp_size;
	int rc = prepare(b, pk, n, &r, &o, err);
	isol8_result res = {0};
	if (rc == 0 && (rc = isol8_request_validate(&r, &o, err)) == 0 && (rc = isol8_execute(&r, &o, fn, ctx, -1, &res, err)) == 0) {
		if (res.exit_code != 0) {
			rtrim_buf(&res.err);
			const char *tail = res.err.len > 2000 ? (char *)res.err.data + res.err.len - 2000 : (char *)(res.err.data ? res.err.data : (unsigned char *)"");
			rc = isol8_input_error(err, "Build failed (exit code %d): %s", res.exit_code, tail);
		}
		isol8_result_free(&res);
	}
	*registry = r.registry ? xstrdup(r.registry) : NULL;
	isol8_request_free(&r);
	free(o.layer);
	strv_clear(&o.net_allow, &o.nallow);
	return rc;
}

static int publish(const isol8_build *b, char **pk, size_t n, const char *hash, char *registry, char *dir,
		   isol8_err *err)
{
	isol8_image im = {.packages = pk, .npackages = n, .setup_script = (char *)b->setup, .registry = registry};
	snprintf(im.tag, sizeof im.tag, "%s", b->tag);
	snprintf(im.runtime, sizeof im.runtime, "%s", b->runtime);
	snprintf(im.hash, sizeof im.hash, "%s", hash);
	char *layer = xasprintf("%s/layer", dir), *man = xasprintf("%s/manifest.json", dir);
	layer_bytes = 0;
	nftw(layer, add_size, 32, FTW_PHYS);
	im.size_bytes = layer_bytes;
	iso8601_now(im.created);
	int rc = im.size_bytes > b->max_bytes
			 ? isol8_input_error(err, "Build failed: the image's packages take %llu bytes, over the %llu-byte cap",
					     (unsigned long long)im.size_bytes, (unsigned long long)b->max_bytes)
		 : image_manifest_write(man, &im) < 0 ? isol8_fail(err, ISOL8_E_SANDBOX, errno, "writing the manifest")
							 : image_publish(b->store, b->tag, dir, err);
	free(layer);
	free(man);
	return rc;
}

/* The layer the tag named before, and any other retired one nothing uses now. A failure here is
 * a warning: the image is built, and isol8-cleanup tries again. */
static void collect_retired(const char *store, const char *tag)
{
	size_t removed;
	isol8_err e = {0};
	if (images_collect(store, tag, &removed, &e) < 0)
		fprintf(stderr, "[WARN] %s (isol8-cleanup removes them later)\n", e.msg);
}

int image_build(const isol8_build *b, const isol8_options *opts, isol8_event_fn fn, void *ctx, isol8_err *err)
{
	if (strcmp(b->runtime, "python") && strcmp(b->runtime, "node") && strcmp(b->runtime, "bun") &&
	    strcmp(b->runtime, "deno") && strcmp(b->runtime, "bash"))
		return isol8_input_error(err, "Unknown runtime: %s", b->runtime);
	if (!image_tag_valid(b->tag))
		return isol8_input_error(err, "invalid tag \"%s\": 1-128 letters, digits, _ . : -, not starting with . or -", b->tag);
	char **pk;
	size_t n;
	if (image_packages_normalise(b->packages, b->npackages, &pk, &n, err) < 0) {
		strv_clear(&pk, &n);
		return -1;
	}
	int rc = -1, lock = -1;
	char hash[17], *dir = NULL;
	if (!n && !b->setup) {
		isol8_input_error(err, "No packages or setup script specified. Use --install <package> or --setup <command>.");
	} else if ((lock = image_lock_tag(b->store, b->tag, err)) >= 0) {
		image_hash(b->runtime, pk, n, b->setup, hash);
		isol8_image old;
		bool same = image_find(b->store, b->tag, &old) == 0 && !strcmp(old.hash, hash);
		if (same)
			image_free(&old);
		if (same && !b->force) {
			rc = 1;
		} else if ((dir = image_new_dir(b->store, b->tag, hash, err))) {
			char *layer = xasprintf("%s/layer", dir), *registry = NULL;
			/* the sandbox user writes the layer (as root; a user namespace maps the caller) */
			if (geteuid() == 0 && chown(layer, ISOL8_SANDBOX_UID, ISOL8_SANDBOX_GID) < 0)
				rc = isol8_fail(err, ISOL8_E_SANDBOX, errno, "chown %s", layer);
			else
				rc = n ? install_into(b, pk, n, layer, opts, &registry, fn, ctx, err) : 0;
			if (rc == 0)
				rc = remove_scratch(layer, err);
			if (rc == 0)
				rc = publish(b, pk, n, hash, registry, dir, err);
			free(registry);
			if (rc < 0)
				image_remove_dir(dir);
			else
				collect_retired(b->store, b->tag);
			free(layer);
		}
	}
	image_unlock_tag(b->store, b->tag, lock);
	free(dir);
	strv_clear(&pk, &n);
	return rc;
}

/* One prebuiltImages entry (borrowed) as a build. */
static void entry_build(jv e, const char *store, bool force, isol8_build *b, char *tag, char *rt, char **setup)
{
	jv t = jv_object_get(jv_copy(e), jv_string("tag")), r = jv_object_get(jv_copy(e), jv_string("runtime"));
	jv pk = jv_object_get(jv_copy(e), jv_string("installPackages")), su = jv_object_get(jv_copy(e), jv_string("setupScript"));
	snprintf(tag, 129, "%s", jv_string_value(t));
	snprintf(rt, 16, "%s", jv_string_value(r));
	*b = (isol8_build){.store = store, .tag = tag, .runtime = rt, .force = force, .timeout_ms = 300000,
			   .max_bytes = 2ull << 30};
	if (jv_get_kind(pk) == JV_KIND_ARRAY) {
		jv_array_foreach(pk, i, p) {
			(void)i;
			isol8_strv_add(&b->packages, &b->npackages, jv_string_value(p));
			jv_free(p);
		}
	}
	*setup = jv_get_kind(su) == JV_KIND_STRING ? xstrdup(jv_string_value(su)) : NULL;
	b->setup = *setup;
	jv_free(t);
	jv_free(r);
	jv_free(pk);
	jv_free(su);
}

int images_setup(const char *store, jv prebuilt, const isol8_options *opts, bool force, isol8_event_fn fn, void *ctx,
		 isol8_err *err)
{
	int rc = 0;
	for (int i = 0; rc == 0 && jv_get_kind(prebuilt) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(prebuilt)); i++) {
		jv e = jv_array_get(jv_copy(prebuilt), i);
		isol8_build b;
		char tag[129], rt[16], *setup;
		entry_build(e, store, force, &b, tag, rt, &setup);
		isol8_image old;
		if (!force && image_find(store, tag, &old) == 0) {
			image_free(&old);
			fprintf(stderr, "[OK] %s (already exists)\n", tag);
		} else if ((rc = image_build(&b, opts, fn, ctx, err)) >= 0) {
			fprintf(stderr, "[OK] %s (%s: ", tag, rt);
			for (size_t k = 0; k < b.npackages; k++)
				fprintf(stderr, "%s%s", k ? ", " : "", b.packages[k]);
			fprintf(stderr, ")\n");
			rc = 0;
		}
		strv_clear(&b.packages, &b.npackages);
		free(setup);
		jv_free(e);
	}
	return rc;
}
