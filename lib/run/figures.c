/* figures.c — see figures.h. */
#include "run/figures.h"

#include <jv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imagehdr.h"
#include "core/json.h"
#include "core/util.h"
#include "run/command.h"
#include "run/engine.h"
#include "state/fontcache.h"
#include "wire/dirtake.h"

/* mpl_backend: lib/run/drivers/mpl_backend.py, embedded at build time (tools/embed.sh). */
#include "mpl_drivers.h"

/* ---- what the sandbox gets ------------------------------------------------------------------ */

static isol8_support_file support[3];
static size_t nsupport;
static pthread_once_t support_once = PTHREAD_ONCE_INIT;

/* Loaded once: the pool and a long-lived library caller pick up a new cache when restarted. */
static void load_support(void)
{
	static char cache_name[64], cache_path[80];
	static isol8_buf cache;
	support[nsupport++] = (isol8_support_file){"python/isol8_mpl.py", mpl_backend, strlen(mpl_backend), 0644, false};
	/* MPLCONFIGDIR: matplotlib wants it writable, or it warns and makes a temporary one */
	support[nsupport++] = (isol8_support_file){"mpl", NULL, 0, 0700, true};
	if (fontcache_load(cache_name, &cache) == 1) {
		snprintf(cache_path, sizeof cache_path, "mpl/%s", cache_name);
		/* the sandbox user's: matplotlib rewrites it when a font it lists has gone */
		support[nsupport++] = (isol8_support_file){cache_path, cache.data, cache.len, 0644, true};
	}
}

const isol8_support_file *figures_support(size_t *n)
{
	pthread_once(&support_once, load_support);
	*n = nsupport;
	return support;
}

bool figures_wanted(const isol8_request *r, const isol8_options *o)
{
	return o->outputs_enabled && r->runtime && !strcmp(r->runtime, "python");
}

const char *figures_formats_text(unsigned formats)
{
	formats &= ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG;
	return formats == ISOL8_FIGURE_SVG ? "svg" : formats == (ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG) ? "png,svg" : "png";
}

void figures_env(char ***envp, const isol8_request *r, const isol8_options *o)
{
	if (!figures_wanted(r, o))
		return;
	size_t n = 0;
	while ((*envp)[n])
		n++;
	bool own_backend = false; /* the program's choice wins (and then it gets no figures) */
	for (size_t i = 0; i < r->nenv; i++)
		own_backend |= !strcmp(r->env[i].key, "MPLBACKEND");
	if (!own_backend)
		strv_push(envp, &n, xstrdup("MPLBACKEND=module://isol8_mpl"));
	strv_push(envp, &n, xasprintf("ISOL8_FIGURES=%s", figures_formats_text(r->figure_formats)));
}

/* ---- what comes back -------------------------------------------------------------------------- */

struct caps {
	size_t count;
	uint64_t pixels, bytes;
};

static struct caps caps_of(const isol8_options *o)
{
	return (struct caps){o->outputs_max_count ? o->outputs_max_count : FIGURES_MAX_COUNT,
			     o->outputs_max_pixels ? o->outputs_max_pixels : FIGURES_MAX_PIXELS,
			     o->outputs_max_bytes ? o->outputs_max_bytes : FIGURES_MAX_BYTES};
}

/* One file of the directory, named as the backend names them. */
struct item {
	unsigned num;    /* the figure's number (its file name) */
	unsigned format; /* ISOL8_FIGURE_PNG or ISOL8_FIGURE_SVG */
	int dpi;         /* SVG: the dpi its name states, for its size in pixels */
	dirtake_rec rec;
};

enum drop { DROP_COUNT, DROP_PIXELS, DROP_BYTES, DROP_INVALID, NDROP };

/* Dropped figures by reason, each figure counted once per reason (items come sorted). */
struct drops {
	size_t n[NDROP];
	unsigned last[NDROP];
	bool any[NDROP];
};

static void drop(struct drops *d, enum drop why, unsigned num)
{
	if (!d->any[why] || d->last[why] != num)
		d->n[why]++;
	d->any[why] = true;
	d->last[why] = num;
}

/* "000001.png" or "000001-100.svg" (figure 1 at 100 dpi): false for any other name. */
static bool parse_name(const char *s, struct item *it)
{
	if (strspn(s, "0123456789") != 6)
		return false;
	it->num = (unsigned)strtoul(s, NULL, 10);
	if (!strcmp(s + 6, ".png")) {
		it->format = ISOL8_FIGURE_PNG;
		return true;
	}
	size_t k = s[6] == '-' ? strspn(s + 7, "0123456789") : 0;
	if (k < 1 || k > 4 || strcmp(s + 7 + k, ".svg"))
		return false;
	it->format = ISOL8_FIGURE_SVG;
	it->dpi = atoi(s + 7);
	return it->dpi >= 1;
}

static int item_order(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return x->num != y->num ? (x->num < y->num ? -1 : 1) : (int)x->format - (int)y->format;
}

/* The records of a take, as items; a name the backend never writes is an invalid figure (the
 * backend's own hidden temporary files are not). */
static size_t read_items(const isol8_buf *b, struct item **items, struct drops *d)
{
	size_t off = 0, n = 0;
	dirtake_rec rec;
	*items = NULL;
	while (dirtake_next(b->data, b->len, &off, &rec) == 1) {
		struct item it = {.rec = rec};
		if (rec.name[0] == '.')
			continue;
		if (!parse_name(rec.name, &it)) {
			d->n[DROP_INVALID]++;
			continue;
		}
		*items = xrealloc(*items, (n + 1) * sizeof **items);
		(*items)[n++] = it;
	}
	if (n > 1) /* qsort of a NULL array, even of 0 items, is undefined */
		qsort(*items, n, sizeof **items, item_order);
	return n;
}

/* Whether isol8 reads data as an image of the item's format, and its size. */
static bool image_ok(const struct item *it, const unsigned char *data, size_t len, int *w, int *h)
{
	if (it->format == ISOL8_FIGURE_PNG)
		return png_size(data, len, w, h) == 0;
	return svg_size(data, len, it->dpi, w, h) == 0;
}

static void add_output(isol8_result *res, unsigned format, isol8_buf *data, int w, int h)
{
	res->outputs = xrealloc(res->outputs, (res->noutputs + 1) * sizeof *res->outputs);
	isol8_output *out = &res->outputs[res->noutputs++];
	out->type = xstrdup(format == ISOL8_FIGURE_PNG ? "image/png" : "image/svg+xml");
	out->data = data->data ? data->data : xcalloc(1, 1);
	out->len = data->len;
	out->width = w;
	out->height = h;
	*data = (isol8_buf){0}; /* taken */
}

/* One item's fate: kept (into res) or dropped for one reason. */
static void judge(const struct item *it, unsigned ordinal, unsigned formats, const struct caps *c, const isol8_options *o,
		  uint64_t *total, struct drops *d, isol8_result *res)
{
	const dirtake_rec *r = &it->rec;
	enum drop why = NDROP;
	if (!(formats & it->format) || r->kind == DIRTAKE_NOT_REGULAR || r->kind == DIRTAKE_UNREADABLE)
		why = DROP_INVALID; /* a format not asked for is the program's forgery */
	else if (ordinal > c->count || r->kind == DIRTAKE_OVER_COUNT)
		why = DROP_COUNT;
	else if (r->kind != DIRTAKE_DATA || *total + r->size > c->bytes)
		why = DROP_BYTES;
	if (why != NDROP) {
		drop(d, why, it->num);
		return;
	}
	isol8_buf data = {0};
	buf_append(&data, r->data, (size_t)r->size);
	if (it->format == ISOL8_FIGURE_SVG)
		isol8_mask_file(o, &data); /* text, like stdout; a PNG's pixels cannot be masked */
	int w = 0, h = 0;
	if (!image_ok(it, data.data, data.len, &w, &h))
		drop(d, DROP_INVALID, it->num);
	else if ((uint64_t)w * (uint64_t)h > c->pixels)
		drop(d, DROP_PIXELS, it->num);
	else if (*total + data.len > c->bytes)
		drop(d, DROP_BYTES, it->num);
	else {
		*total += data.len;
		add_output(res, it->format, &data, w, h);
	}
	isol8_buf_free(&data);
}

/* "2 figures dropped: over outputs.maxCount (10); 1 figure dropped: not a valid PNG or SVG". */
static char *drop_note(const struct drops *d, const struct caps *c)
{
	char why[NDROP][64];
	snprintf(why[DROP_COUNT], sizeof why[0], "over outputs.maxCount (%zu)", c->count);
	snprintf(why[DROP_PIXELS], sizeof why[0], "over outputs.maxPixels (%llu)", (unsigned long long)c->pixels);
	snprintf(why[DROP_BYTES], sizeof why[0], "over outputs.maxBytes (%llu)", (unsigned long long)c->bytes);
	snprintf(why[DROP_INVALID], sizeof why[0], "not a valid PNG or SVG figure");
	isol8_buf b = {0};
	for (int k = 0; k < NDROP; k++) {
		if (!d->n[k])
			continue;
		char line[320];
		snprintf(line, sizeof line, "%s%zu figure%s dropped: %s", b.len ? "; " : "", d->n[k], d->n[k] == 1 ? "" : "s",
			 why[k]);
		buf_puts(&b, line);
	}
	return (char *)b.data;
}

static void set_note(isol8_result *res, char *note)
{
	if (!note)
		return;
	if (res->outputs_note) {
		char *both = xasprintf("%s; %s", res->outputs_note, note);
		free(res->outputs_note);
		free(note);
		note = both;
	}
	res->outputs_note = note;
}

void figures_collect(isol8_sandbox *sb, const isol8_request *r, const isol8_options *o, bool remove,
		     isol8_result *res)
{
	struct caps c = caps_of(o);
	unsigned formats = r->figure_formats & (ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG);
	formats = formats ? formats : ISOL8_FIGURE_PNG;
	size_t per_figure = formats == (ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG) ? 2 : 1;
	isol8_buf b = {0};
	isol8_err e = {0};
	int got = sandbox_take_dir(sb, FIGURES_DIR, (size_t)c.bytes, c.count * per_figure, remove, &b, &e);
	if (got != 1) {
		if (got == 0)
			set_note(res, xasprintf("figures were not collected: %s", e.msg));
		isol8_buf_free(&b);
		return;
	}
	struct drops d = {0};
	struct item *items;
	size_t n = read_items(&b, &items, &d);
	uint64_t total = 0;
	unsigned ordinal = 0;
	for (size_t i = 0; i < n; i++) {
		ordinal += i == 0 || items[i].num != items[i - 1].num;
		judge(&items[i], ordinal, formats, &c, o, &total, &d, res);
	}
	free(items);
	isol8_buf_free(&b);
	set_note(res, drop_note(&d, &c));
}

/* ---- the font cache ------------------------------------------------------------------------ */

/* Runs in a fresh sandbox with a config dir of its own, so matplotlib scans the fonts the
 * sandbox sees (host paths outside it never enter the cache). */
static const char font_cache_code[] =
	"import os, sys\n"
	"try:\n"
	"    import matplotlib.font_manager\n"
	"except ImportError:\n"
	"    print('none'); sys.exit(0)\n"
	"d = os.environ['MPLCONFIGDIR']\n"
	"n = sorted(f for f in os.listdir(d) if f.startswith('fontlist-v') and f.endswith('.json'))\n"
	"if not n:\n"
	"    sys.exit('matplotlib wrote no font cache in ' + d)\n"
	"os.replace(os.path.join(d, n[-1]), '/tmp/fontlist.json')\n"
	"print(n[-1])\n";

/* The cache the run made, checked: a JSON object under a cache file's name. */
static int store_built(const isol8_result *res, char *msg, size_t cap, isol8_err *err)
{
	isol8_buf name = {0};
	buf_append(&name, res->out.data, res->out.len);
	rtrim_buf(&name);
	const char *nm = name.data ? (const char *)name.data : "";
	int rc = 0;
	if (!strcmp(nm, "none")) {
		snprintf(msg, cap, "python has no matplotlib: no font cache built");
	} else if (!fontcache_name_ok(nm) || res->nfiles != 1) {
		rc = isol8_fail(err, ISOL8_E_SANDBOX, 0, "the font cache run did not give a cache (%s)", nm);
	} else {
		jv j = jv_parse_sized((const char *)res->files[0].data.data, (int)res->files[0].data.len);
		bool object = jv_get_kind(j) == JV_KIND_OBJECT;
		jv_free(j);
		rc = !object ? isol8_fail(err, ISOL8_E_SANDBOX, 0, "the font cache is not a JSON object")
			     : fontcache_store(nm, res->files[0].data.data, res->files[0].data.len, err);
		char *dir = fontcache_dir();
		if (rc == 0)
			snprintf(msg, cap, "matplotlib font cache %s/%s (%zu KiB)", dir, nm, res->files[0].data.len >> 10);
		free(dir);
		rc = rc == 0 ? 1 : -1;
	}
	isol8_buf_free(&name);
	return rc;
}

int figures_build_font_cache(const isol8_options *base, char *msg, size_t cap, isol8_err *err)
{
	isol8_options o = *base; /* borrowed members: not freed here */
	o.outputs_enabled = false;
	o.persist = false;
	o.network = ISOL8_NET_NONE;
	o.timeout_ms = 120000;
	isol8_request r;
	isol8_request_init(&r);
	r.runtime = xstrdup("python");
	r.code = xstrdup(font_cache_code);
	isol8_kv_add(&r.env, &r.nenv, "MPLCONFIGDIR", "/tmp/.isol8-fontcache");
	isol8_strv_add(&r.output_paths, &r.noutput, "/tmp/fontlist.json");
	isol8_result res;
	bool ran = isol8_execute(&r, &o, NULL, NULL, -1, &res, err) == 0;
	int rc = -1;
	if (ran && res.exit_code != 0) {
		rtrim_buf(&res.err);
		isol8_fail(err, ISOL8_E_SANDBOX, 0, "building the font cache failed (%s): %s", res.status,
			   res.err.data ? (const char *)res.err.data : "");
	} else if (ran) {
		rc = store_built(&res, msg, cap, err);
	}
	if (ran)
		isol8_result_free(&res);
	isol8_request_free(&r);
	return rc;
}
