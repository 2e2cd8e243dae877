/* imageuse.c — see imageuse.h. */
#include "run/imageuse.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "run/imagebuild.h"
#include "run/install.h"
#include "state/images.h"

/* The image's layer for the run, and its setup script (run before the request's, as a script of
 * its own). */
static void use(const isol8_image *im, isol8_request *r, isol8_options *o)
{
	free(o->layer);
	o->layer = image_layer(im);
	free(r->image_setup_script);
	r->image_setup_script = im->setup_script ? xstrdup(im->setup_script) : NULL;
	if (!strcmp(im->runtime, "deno") && im->registry) /* deno finds its npm cache by registry */
		request_env_default(r, "NPM_CONFIG_REGISTRY", im->registry);
}

static bool has(const isol8_image *im, const char *pkg)
{
	for (size_t i = 0; i < im->npackages; i++)
		if (!strcmp(im->packages[i], pkg))
			return true;
	return false;
}

/* Whether tag may be used: allowed is NULL (every image of the store) or a JSON array of the
 * names the operator lists. Anything but an array of strings allows nothing (fail closed). */
static bool tag_allowed(jv allowed, const char *tag)
{
	if (!jv_is_valid(allowed))
		return true;
	bool ok = false;
	if (jv_get_kind(allowed) == JV_KIND_ARRAY) {
		jv_array_foreach(allowed, i, e) {
			(void)i;
			ok |= jv_get_kind(e) == JV_KIND_STRING && !strcmp(jv_string_value(e), tag);
			jv_free(e);
		}
	}
	return ok;
}

/* --image NAME: that image (the request's installs still run). */
static int named(isol8_request *r, isol8_options *o, const char *store, jv allowed, isol8_err *err)
{
	isol8_image im;
	if (!tag_allowed(allowed, o->image))
		return isol8_input_error(err, "image \"%s\" is not one of this server's images (config serve.images)", o->image);
	if (!image_tag_valid(o->image) || image_find(store, o->image, &im) < 0)
		return isol8_input_error(err, "--image: \"%s\" is neither a directory nor an image of %s (see isol8 list-custom)",
					 o->image, store);
	int rc = 0;
	if (strcmp(im.runtime, r->runtime))
		rc = isol8_input_error(err, "image \"%s\" is for %s, not %s", im.tag, im.runtime, r->runtime);
	else if (!strcmp(im.runtime, "deno") && r->ninstall)
		/* deno's packages are its cache, which the image holds read-only */
		rc = isol8_input_error(err, "image \"%s\" is a deno image: it takes no packages at run time; build one "
					    "with all of them (isol8 build --base deno --install …)", im.tag);
	else
		use(&im, r, o);
	free(o->image);
	o->image = NULL;
	image_free(&im);
	return rc;
}

/* Packages to install: an image with exactly them, else the last with all of them (among the
 * allowed ones). */
static int by_packages(isol8_request *r, isol8_options *o, const char *store, jv allowed, isol8_err *err)
{
	char **want;
	size_t n;
	if (image_packages_normalise(r->install, r->ninstall, &want, &n, err) < 0) {
		strv_clear(&want, &n);
		return -1;
	}
	isol8_image *all;
	size_t count;
	const isol8_image *pick = NULL;
	if (image_list(store, &all, &count) < 0)
		count = 0, all = NULL;
	for (size_t i = 0; i < count && !(pick && pick->npackages == n); i++) {
		bool covers = !strcmp(all[i].runtime, r->runtime) && all[i].npackages >= n && tag_allowed(allowed, all[i].tag);
		for (size_t k = 0; covers && k < n; k++)
			covers = has(&all[i], want[k]);
		if (covers)
			pick = &all[i];
	}
	if (pick) {
		use(pick, r, o);
		strv_clear(&r->install, &r->ninstall); /* nothing left to install at run time */
	}
	image_list_free(all, count);
	strv_clear(&want, &n);
	return 0;
}

static int apply_among(isol8_request *r, isol8_options *o, const char *store, jv allowed, isol8_err *err)
{
	struct stat st;
	if (o->image && !(stat(o->image, &st) == 0 && S_ISDIR(st.st_mode)))
		return named(r, o, store, allowed, err);
	if (!o->image && r->ninstall)
		return by_packages(r, o, store, allowed, err);
	return 0;
}

int image_apply(isol8_request *r, isol8_options *o, const char *store, isol8_err *err)
{
	return apply_among(r, o, store, jv_invalid(), err);
}

static int resolve_among(isol8_request *r, isol8_options *o, const isol8_config *c, jv allowed, bool network_explicit,
			 isol8_err *err)
{
	if (!r->runtime)
		return isol8_input_error(err, "the request needs a runtime");
	char *store = images_store(c);
	int rc = apply_among(r, o, store, allowed, err);
	free(store);
	return rc < 0 ? -1 : request_prepare_install(r, o, network_explicit, err);
}

int isol8_request_resolve(isol8_request *r, isol8_options *o, const isol8_config *c, bool network_explicit,
			  isol8_err *err)
{
	return resolve_among(r, o, c, jv_invalid(), network_explicit, err);
}

int image_resolve_listed(isol8_request *r, isol8_options *o, const isol8_config *c, const char *list_key,
			 bool network_explicit, isol8_err *err)
{
	/* Threat: a client of the HTTP API names packages, and the resolution would otherwise pick
	 * any image of the store — one the operator keeps for other uses, with its own packages,
	 * environment and setup script. Only the listed images are candidates; with the key
	 * missing or not a list, none is (fail closed). */
	jv allowed = config_get(c, list_key);
	if (jv_get_kind(allowed) != JV_KIND_ARRAY) {
		jv_free(allowed);
		allowed = jv_array();
	}
	int rc = resolve_among(r, o, c, allowed, network_explicit, err);
	jv_free(allowed);
	return rc;
}
