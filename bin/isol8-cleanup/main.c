/* isol8-cleanup — remove what is stale under the run dir (cron-friendly, see isol8-cleanup(1)).
 * Prints {"removed":N,"failed":N,"errors":[…]} on stdout. Exit 0 unless something failed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isol8.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/json.h"
#include "run/reaper.h"
#include "core/util.h"
#include "state/images.h"

static const char usage[] =
	"Usage: isol8-cleanup [options]\n"
	"\n"
	"Remove stale sandboxes: those whose isol8 run was killed, --persist ones (with --persisted),\n"
	"records from a previous boot, and empty cgroups a crash left behind. Live runs are never touched.\n"
	"Then the image store's retired layers that no sandbox uses any more.\n"
	"\n"
	"  -n, --dry-run        report what would be removed, remove nothing\n"
	"      --persisted      also stop sandboxes left running by --persist, and never-idle sessions\n"
	"                       (isol8 run --persistent --persist)\n"
	"      --images         also remove every image of the image store (isol8-image)\n"
	"      --confirm        list what was found and ask before removing (what `isol8 cleanup` does)\n"
	"      --orphan-age S   remove record-less empty cgroups older than S seconds (default 60)\n"
	"  -h, --help           this text\n";

struct args {
	isol8_reap_opts reap;
	bool confirm, images;
};

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"dry-run", no_argument, 0, 'n'}, {"persisted", no_argument, 0, 'p'}, {"confirm", no_argument, 0, 'c'},
		{"images", no_argument, 0, 'i'}, {"orphan-age", required_argument, 0, 'a'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	long long age;
	int c;
	while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': a->reap.dry_run = true; break;
		case 'p': a->reap.include_persisted = true; break;
		case 'c': a->confirm = true; break;
		case 'i': a->images = true; break;
		case 'a':
			if (parse_ll(optarg, 0, 1 << 30, &age) < 0)
				isol8_die("--orphan-age takes a number of seconds, got \"%s\"", optarg);
			a->reap.orphan_age_s = (unsigned)age;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: isol8_die("unknown option (see isol8-cleanup --help)");
		}
	}
	if (optind < argc)
		isol8_die("unexpected argument \"%s\" (see isol8-cleanup --help)", argv[optind]);
}

/* {"removed","failed","errors"} (+ "dryRun" and "sandboxes" for a dry run), consumed from r. */
static jv report_json(const isol8_reap_opts *o, const isol8_reap_report *r)
{
	jv out = jv_object();
	out = jv_object_set(out, jv_string("removed"), jv_number(o->dry_run ? (double)r->ncands : r->removed));
	out = jv_object_set(out, jv_string("failed"), jv_number(r->failed));
	jv errs = jv_array();
	for (size_t i = 0; i < r->nerrors; i++)
		errs = jv_array_append(errs, jv_string(r->errors[i]));
	out = jv_object_set(out, jv_string("errors"), errs);
	if (o->dry_run) {
		jv list = jv_array();
		for (size_t i = 0; i < r->ncands; i++)
			list = jv_array_append(list, jv_object_set(jv_object_set(jv_object(), jv_string("id"), jv_string(r->cands[i].id)),
								   jv_string("reason"), jv_string(r->cands[i].why)));
		out = jv_object_set(jv_object_set(out, jv_string("dryRun"), jv_true()), jv_string("sandboxes"), list);
	}
	return out;
}

enum answer { PROCEED, NOTHING_FOUND, CANCELLED };

/* The reference's `isol8 cleanup [--images]`: list, then ask; anything but y/yes cancels. */
static enum answer confirmed(const struct args *a, const isol8_image *images, size_t nimages)
{
	isol8_reap_opts look = a->reap;
	look.dry_run = true;
	isol8_reap_report r;
	isol8_err err = {0};
	if (isol8_reap(&look, &r, &err) < 0)
		isol8_die("%s", err.msg);
	if (!r.ncands && !nimages) {
		fprintf(stderr, a->images ? "No stale isol8 sandboxes or images found\n" : "No stale isol8 sandboxes found\n");
		isol8_reap_report_free(&r);
		return NOTHING_FOUND;
	}
	fprintf(stderr, "Found %zu stale isol8 sandbox(es)", r.ncands);
	if (a->images)
		fprintf(stderr, " and %zu image(s)", nimages);
	fprintf(stderr, "\n");
	for (size_t i = 0; i < r.ncands; i++)
		fprintf(stderr, "  %s  %s%s\n", r.cands[i].id, r.cands[i].why, r.cands[i].pid ? " (running)" : "");
	for (size_t i = 0; i < nimages; i++)
		fprintf(stderr, "  image %s  %s\n", images[i].tag, images[i].runtime);
	isol8_reap_report_free(&r);
	fprintf(stderr, a->images ? "Remove all these sandboxes and images? [y/N] " : "Remove all these sandboxes? [y/N] ");
	char line[16] = "";
	if (!fgets(line, sizeof line, stdin) ||
	    (strcmp(line, "y\n") && strcmp(line, "yes\n") && strcmp(line, "y") && strcmp(line, "yes"))) {
		fprintf(stderr, "\nCleanup cancelled\n");
		return CANCELLED;
	}
	return PROCEED;
}

/* Adds n to out's number at key (failed). */
static jv add_count(jv out, const char *key, double n)
{
	jv v = jv_object_get(jv_copy(out), jv_string(key));
	double have = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
	jv_free(v);
	return jv_object_set(out, jv_string(key), jv_number(have + n));
}

static jv add_error(jv out, const char *msg)
{
	jv errs = jv_object_get(jv_copy(out), jv_string("errors"));
	return add_count(jv_object_set(out, jv_string("errors"), jv_array_append(errs, jv_string(msg))), "failed", 1);
}

/* --images: every image of the list (their layers go once no sandbox uses them). "images":N in
 * out; each failure in out's failed and errors. */
static jv remove_images(const char *store, const isol8_image *images, size_t n, jv out, bool dry_run)
{
	size_t removed = 0;
	for (size_t i = 0; i < n; i++) {
		isol8_err err = {0};
		if (dry_run || image_remove(store, images[i].tag, &err) == 0)
			removed++;
		else
			out = add_error(out, err.msg);
	}
	if (!dry_run && n)
		fprintf(stderr, "Removed %zu image(s)\n", removed);
	return jv_object_set(out, jv_string("images"), jv_number((double)removed));
}

/* The image store's retired layers that no sandbox uses any more (a rebuild or a removal left
 * them to a session or a --persist sandbox that has ended since): "layers":N in out when some
 * were removed; a failure is counted in out's failed and errors. */
static jv collect_layers(const char *store, jv out)
{
	size_t removed = 0;
	isol8_err err = {0};
	if (images_collect(store, NULL, &removed, &err) < 0)
		out = add_error(out, err.msg);
	return removed ? jv_object_set(out, jv_string("layers"), jv_number((double)removed)) : out;
}

/* The image store of the config; a config that does not load must not stop a cron job from
 * cleaning: the defaults then. */
static char *load_config(isol8_reap_opts *o)
{
	isol8_err err = {0};
	isol8_config cfg;
	bool have = isol8_config_load(&cfg, &err) == 0;
	if (have) /* an MCP HTTP client unused as long as its sessions may idle is gone */
		o->mcp_idle_s = (unsigned)(config_num(&cfg, "mcp.sessionIdleMs", 3600000) / 1000);
	else
		fprintf(stderr, "[WARN] %s (MCP clients idle for an hour are ended; the default image store is used)\n", err.msg);
	char *store = images_store(have ? &cfg : NULL);
	if (have)
		isol8_config_free(&cfg);
	return store;
}

int main(int argc, char **argv)
{
	struct args a = {.reap = {.orphan_age_s = 60}};
	parse_args(argc, argv, &a);
	char *store = load_config(&a.reap);
	isol8_image *images = NULL;
	size_t nimages = 0;
	if (a.images && image_list(store, &images, &nimages) < 0)
		isol8_die("cannot read the image store %s: %s", store, strerror(errno));
	enum answer ans = a.confirm ? confirmed(&a, images, nimages) : PROCEED;
	if (ans == CANCELLED) {
		image_list_free(images, nimages);
		free(store);
		return 0;
	}
	isol8_err err = {0};
	isol8_reap_report r = {0};
	/* nothing was listed: nothing is removed that the question did not name */
	if (ans == PROCEED && isol8_reap(&a.reap, &r, &err) < 0)
		isol8_die("%s", err.msg);
	jv out = report_json(&a.reap, &r);
	if (a.images) /* none when nothing was found */
		out = remove_images(store, images, nimages, out, a.reap.dry_run);
	if (!a.reap.dry_run) /* after the reap: the sandboxes it ended no longer hold their layers */
		out = collect_layers(store, out);
	jv f = jv_object_get(jv_copy(out), jv_string("failed"));
	int rc = jv_number_value(f) > 0 ? 1 : 0;
	jv_free(f);
	json_write_line(1, out);
	jv_free(out);
	isol8_reap_report_free(&r);
	image_list_free(images, nimages);
	free(store);
	return rc;
}
