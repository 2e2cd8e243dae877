/* isol8-cleanup — remove what is stale under the run dir (cron-friendly, see isol8-cleanup(1)).
 * Prints {"removed":N,"failed":N,"errors":[…]} on stdout. Exit 0 unless something failed. */
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
	"\n"
	"  -n, --dry-run        report what would be removed, remove nothing\n"
	"      --persisted      also stop sandboxes left running by --persist, and never-idle sessions\n"
	"                       (isol8 run --persistent --persist)\n"
	"      --confirm        list what was found and ask before removing (what `isol8 cleanup` does)\n"
	"      --orphan-age S   remove record-less empty cgroups older than S seconds (default 60)\n"
	"  -h, --help           this text\n";

static void parse_args(int argc, char **argv, isol8_reap_opts *o, bool *confirm)
{
	static const struct option longopts[] = {
		{"dry-run", no_argument, 0, 'n'}, {"persisted", no_argument, 0, 'p'}, {"confirm", no_argument, 0, 'c'},
		{"orphan-age", required_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	long long age;
	int c;
	while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->dry_run = true; break;
		case 'p': o->include_persisted = true; break;
		case 'c': *confirm = true; break;
		case 'a':
			if (parse_ll(optarg, 0, 1 << 30, &age) < 0)
				isol8_die("--orphan-age takes a number of seconds, got \"%s\"", optarg);
			o->orphan_age_s = (unsigned)age;
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

/* The reference's `isol8 cleanup`: list, then ask; anything but y/yes cancels. False when
 * nothing is to be done (said so, and the empty report printed). */
static bool confirmed(const isol8_reap_opts *o)
{
	isol8_reap_opts look = *o;
	look.dry_run = true;
	isol8_reap_report r;
	isol8_err err = {0};
	if (isol8_reap(&look, &r, &err) < 0)
		isol8_die("%s", err.msg);
	if (!r.ncands) {
		fprintf(stderr, "No stale isol8 sandboxes found\n");
		isol8_reap_report none = {0};
		jv out = report_json(o, &none);
		json_write_line(1, out);
		jv_free(out);
		isol8_reap_report_free(&r);
		return false;
	}
	fprintf(stderr, "Found %zu stale isol8 sandbox(es)\n", r.ncands);
	for (size_t i = 0; i < r.ncands; i++)
		fprintf(stderr, "  %s  %s%s\n", r.cands[i].id, r.cands[i].why, r.cands[i].pid ? " (running)" : "");
	isol8_reap_report_free(&r);
	fprintf(stderr, "Remove all these sandboxes? [y/N] ");
	char line[16] = "";
	if (!fgets(line, sizeof line, stdin) ||
	    (strcmp(line, "y\n") && strcmp(line, "yes\n") && strcmp(line, "y") && strcmp(line, "yes"))) {
		fprintf(stderr, "\nCleanup cancelled\n");
		return false;
	}
	return true;
}

/* The image store's retired layers that no sandbox uses any more (a rebuild or a removal left
 * them to a session or a --persist sandbox that has ended since): "layers":N in out when some
 * were removed; a failure is counted in out's failed and errors. */
static jv collect_layers(const char *store, jv out, bool *failed)
{
	size_t removed = 0;
	isol8_err err = {0};
	if (images_collect(store, NULL, &removed, &err) < 0) {
		*failed = true;
		jv f = jv_object_get(jv_copy(out), jv_string("failed"));
		out = jv_object_set(out, jv_string("failed"), jv_number(jv_number_value(f) + 1));
		jv_free(f);
		jv errs = jv_object_get(jv_copy(out), jv_string("errors"));
		out = jv_object_set(out, jv_string("errors"), jv_array_append(errs, jv_string(err.msg)));
	}
	return removed ? jv_object_set(out, jv_string("layers"), jv_number((double)removed)) : out;
}

int main(int argc, char **argv)
{
	isol8_reap_opts o = {.orphan_age_s = 60};
	bool confirm = false;
	parse_args(argc, argv, &o, &confirm);
	if (confirm && !confirmed(&o))
		return 0;
	isol8_err err = {0};
	isol8_config cfg;
	/* an MCP HTTP client unused as long as its sessions may idle is gone; a config that does not
	 * load must not stop a cron job from cleaning: the defaults then */
	bool have_cfg = isol8_config_load(&cfg, &err) == 0;
	if (have_cfg) {
		o.mcp_idle_s = (unsigned)(config_num(&cfg, "mcp.sessionIdleMs", 3600000) / 1000);
	} else {
		fprintf(stderr, "[WARN] %s (MCP clients idle for an hour are ended, the default image store is cleaned)\n",
			err.msg);
		memset(&err, 0, sizeof err);
	}
	char *store = images_store(have_cfg ? &cfg : NULL);
	if (have_cfg)
		isol8_config_free(&cfg);
	isol8_reap_report r;
	if (isol8_reap(&o, &r, &err) < 0)
		isol8_die("%s", err.msg);
	bool failed = r.failed > 0;
	jv out = report_json(&o, &r);
	if (!o.dry_run) /* after the reap: the sandboxes it ended no longer hold their layers */
		out = collect_layers(store, out, &failed);
	json_write_line(1, out);
	jv_free(out);
	isol8_reap_report_free(&r);
	free(store);
	return failed ? 1 : 0;
}
