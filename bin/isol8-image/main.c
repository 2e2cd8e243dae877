/* isol8-image — the image store from the command line (isol8-image(1)): build an image of
 * packages for a runtime, list the store, remove images. `isol8 build`, `isol8 list-custom` and
 * `isol8 cleanup --images` come here. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/json.h"
#include "core/runtime.h"
#include "core/util.h"
#include "isol8.h"
#include "run/imagebuild.h"
#include "run/figures.h"
#include "run/setup.h"
#include "state/images.h"
#include "wire/events.h"

static const char usage[] =
	"usage: isol8-image build --base RUNTIME --install PKG... [--setup CMD|FILE]... --tag NAME [--force]\n"
	"                         [--timeout MS] [--max-size SIZE]\n"
	"       isol8-image list [--json]\n"
	"       isol8-image rm TAG... | --all [--force]\n"
	"       isol8-image setup [--force]\n"
	"\n"
	"  build   install PKG (pip for python, npm for node, bun for bun, deno cache for deno, apt for bash:\n"
	"          Debian packages from the host's sources; each value may list several, comma-separated)\n"
	"          in a build sandbox into a new image TAG; --setup adds a setup script that runs before\n"
	"          the code of every run on it. Skipped when nothing changed (--force rebuilds). A failed\n"
	"          build leaves the image as it was.\n"
	"  list    every image of the store: tag, runtime, packages, size, created\n"
	"  rm      remove images; --all asks first unless --force\n"
	"  setup   check the runtimes, build matplotlib's font cache (when python has matplotlib) and the\n"
	"          config's prebuiltImages (missing ones, or all: --force)\n"
	"\n"
	"The store: ISOL8_IMAGE_DIR, else the config's imageStore, else /var/lib/isol8/images (root).\n"
	"Run code on an image with isol8 run --image TAG.\n";

/* --help (or -h) among the arguments of a command that takes no option value (list, rm, setup;
 * build's getopt has its own): the usage on stdout, exit 0, as every other tool's --help. */
static void help_if_asked(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			exit(0);
		}
}

static char *store_dir(isol8_config *cfg)
{
	isol8_err err = {0};
	if (isol8_config_load(cfg, &err) < 0)
		isol8_die("%s", err.msg);
	return images_store(cfg);
}

/* Build output (the package manager's) goes to stderr as it comes. */
static void on_event(void *ctx, const isol8_event *ev)
{
	if (ev->type == ISOL8_EV_STDOUT || ev->type == ISOL8_EV_STDERR)
		(void)write_all(2, ev->data, ev->len);
}

static int cmd_build(int argc, char **argv)
{
	static const struct option lo[] = {
		{"base", required_argument, 0, 'b'}, {"install", required_argument, 0, 'i'}, {"setup", required_argument, 0, 's'},
		{"tag", required_argument, 0, 't'}, {"force", no_argument, 0, 'f'}, {"timeout", required_argument, 0, 'T'},
		{"max-size", required_argument, 0, 'm'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	isol8_build b = {.timeout_ms = 300000, .max_bytes = 2ull << 30};
	isol8_buf setup = {0};
	isol8_err err = {0};
	long long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return 0;
		case 'b': b.runtime = optarg; break;
		case 'i': isol8_strv_add(&b.packages, &b.npackages, optarg); break;
		case 's':
			if (setup_add(&setup, optarg, &err) < 0)
				isol8_die("%s", err.msg);
			break;
		case 't': b.tag = optarg; break;
		case 'f': b.force = true; break;
		case 'T':
			if (parse_ll(optarg, 1000, 86400000, &v) < 0)
				isol8_die("--timeout takes milliseconds (1000-86400000), got \"%s\"", optarg);
			b.timeout_ms = v;
			break;
		case 'm':
			if (parse_size(optarg, &b.max_bytes) < 0 || !b.max_bytes)
				isol8_die("Invalid --max-size \"%s\". Use e.g. \"512m\", \"2g\".", optarg);
			break;
		default: isol8_die("unknown option (see isol8-image --help)");
		}
	}
	if (optind < argc)
		isol8_die("unexpected argument \"%s\" (see isol8-image --help)", argv[optind]);
	if (!b.runtime)
		isol8_die("--base RUNTIME is required (python, node, bun, deno, bash)");
	if (!b.tag)
		isol8_die("--tag NAME is required");
	b.setup = setup.len ? (char *)setup.data : NULL;
	isol8_config cfg;
	char *store = store_dir(&cfg);
	b.store = store;
	isol8_options opt;
	if (isol8_options_from_config(&opt, &cfg, &err) < 0)
		isol8_die("%s", err.msg);
	static const char *const runtimes[] = {"python", "node", "bun", "deno", "bash"};
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(runtimes); i++)
		known |= !strcmp(b.runtime, runtimes[i]);
	if (!known)
		isol8_die("Invalid runtime: %s. Expected one of: python, node, bun, deno, bash", b.runtime);
	int rc = image_build(&b, &opt, on_event, NULL, &err);
	if (rc < 0)
		isol8_die("%s", err.msg);
	if (rc == 1)
		fprintf(stderr, "[OK] %s: Up to date (--force rebuilds it)\n", b.tag);
	else
		fprintf(stderr, "[OK] Built image: %s\n", b.tag);
	printf("\n[DONE] Custom image build complete!\n       Runtime: %s\n", b.runtime);
	if (b.npackages) {
		char **pk;
		size_t n;
		image_packages_normalise(b.packages, b.npackages, &pk, &n, &err);
		printf("       Packages: ");
		for (size_t i = 0; i < n; i++)
			printf("%s%s", i ? ", " : "", pk[i]);
		printf("\n");
		strv_clear(&pk, &n);
	}
	if (b.setup)
		printf("       Setup: %.*s%s\n", (int)strcspn(b.setup, "\n"), b.setup, strchr(b.setup, '\n') ? " ..." : "");
	printf("       Image: %s\n", b.tag);
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	isol8_buf_free(&setup);
	strv_clear(&b.packages, &b.npackages);
	free(store);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	if (argc > 1 && !json)
		isol8_die("unexpected argument \"%s\" (isol8-image list [--json])", argv[1]);
	isol8_config cfg;
	char *store = store_dir(&cfg);
	isol8_image *all;
	size_t n;
	if (image_list(store, &all, &n) < 0)
		isol8_die("cannot read the image store %s: %s", store, strerror(errno));
	jv arr = jv_array();
	for (size_t i = 0; i < n; i++) {
		if (json) {
			arr = jv_array_append(arr, image_manifest_json(&all[i]));
			continue;
		}
		printf("%s\n  Runtime: %s\n  Dependencies: ", all[i].tag, all[i].runtime);
		for (size_t k = 0; k < all[i].npackages; k++)
			printf("%s%s", k ? ", " : "", all[i].packages[k]);
		printf("%s\n  Size: %.1f MB, built %s\n", all[i].npackages ? "" : "(none)", (double)all[i].size_bytes / (1 << 20),
		       all[i].created);
		if (all[i].setup_script)
			printf("  Setup: %.*s%s\n", (int)strcspn(all[i].setup_script, "\n"), all[i].setup_script,
			       strchr(all[i].setup_script, '\n') ? " ..." : "");
	}
	if (json)
		json_write_line(1, arr);
	else if (!n)
		printf("No custom isol8 images found.\n");
	jv_free(arr);
	image_list_free(all, n);
	isol8_config_free(&cfg);
	free(store);
	return 0;
}

static int remove_one(const char *store, const char *tag)
{
	isol8_err err = {0};
	if (image_remove(store, tag, &err) == 0) {
		fprintf(stderr, "[OK] Removed %s\n", tag);
		return 0;
	}
	fprintf(stderr, "[ERR] %s\n", err.msg);
	return 1;
}

static int cmd_rm(int argc, char **argv)
{
	bool all = false, force = false;
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--all"))
			all = true;
		else if (!strcmp(argv[first], "--force") || !strcmp(argv[first], "-f"))
			force = true;
		else
			isol8_die("unknown option %s (isol8-image rm TAG... | --all [--force])", argv[first]);
	}
	if (all == (first < argc))
		isol8_die("name the images to remove, or --all (isol8-image rm TAG... | --all [--force])");
	isol8_config cfg;
	char *store = store_dir(&cfg);
	isol8_image *list = NULL;
	size_t n = 0;
	if (all && image_list(store, &list, &n) == 0 && n && !force) {
		fprintf(stderr, "Found %zu image(s) in %s\n", n, store);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  %s\n", list[i].tag);
		fprintf(stderr, "Remove all these images? [y/N] ");
		char line[16] = "";
		if (!fgets(line, sizeof line, stdin) || (strcmp(line, "y\n") && strcmp(line, "yes\n"))) {
			fprintf(stderr, "\nCancelled\n");
			image_list_free(list, n);
			return 0;
		}
	}
	int rc = 0;
	for (size_t i = 0; all && i < n; i++)
		rc |= remove_one(store, list[i].tag);
	for (int i = first; !all && i < argc; i++)
		rc |= remove_one(store, argv[i]);
	if (all && !n)
		fprintf(stderr, "[INFO] No images in %s\n", store);
	image_list_free(list, n);
	isol8_config_free(&cfg);
	free(store);
	return rc;
}

/* matplotlib's font cache, built in a sandbox for every later run's sandbox (figures.h): a
 * failure is a warning, as runs then only build their own, slower. */
static void font_cache(const isol8_options *opt)
{
	char msg[512];
	isol8_err err = {0};
	int rc = figures_build_font_cache(opt, msg, sizeof msg, &err);
	if (rc < 0)
		fprintf(stderr, "[WARN] matplotlib font cache not built: %s (runs still work, slower on first import)\n",
			err.msg);
	else
		fprintf(stderr, rc ? "[OK] %s\n" : "[INFO] %s\n", msg);
}

/* isol8 setup: the runtimes this host has, matplotlib's font cache, then the config's
 * prebuiltImages. */
static int cmd_setup(int argc, char **argv)
{
	bool force = argc > 1 && !strcmp(argv[1], "--force");
	if (argc > (force ? 2 : 1))
		isol8_die("unexpected argument \"%s\" (isol8-image setup [--force])", argv[force ? 2 : 1]);
	static const char *const rt[][2] = {{"python", "python3"}, {"node", "node"}, {"bun", "bun"}, {"deno", "deno"},
					    {"bash", "bash"}};
	for (size_t i = 0; i < ARRAY_SIZE(rt); i++) {
		char *cmd = xasprintf("PATH=%s/bin:/usr/local/bin:/usr/bin:/bin command -v %s >/dev/null 2>&1", runtime_dir(), rt[i][1]);
		bool have = system(cmd) == 0;
		free(cmd);
		fprintf(stderr, have ? "[OK] %s\n" : "[WARN] %s: not installed on this host (make deps)\n", rt[i][0]);
	}
	isol8_config cfg;
	char *store = store_dir(&cfg);
	isol8_options opt;
	isol8_err err = {0};
	if (isol8_options_from_config(&opt, &cfg, &err) < 0)
		isol8_die("%s", err.msg);
	font_cache(&opt);
	jv pre = config_get(&cfg, "prebuiltImages");
	int rc = images_setup(store, pre, &opt, force, on_event, NULL, &err);
	jv_free(pre);
	if (rc < 0)
		isol8_die("%s", err.msg);
	printf("\n[DONE] Setup complete!\n");
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	free(store);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	help_if_asked(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rm"))
		return cmd_rm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "setup"))
		return cmd_setup(argc - 1, argv + 1);
	isol8_die("unknown command \"%s\" (build, list, rm, setup; see isol8-image --help)", argv[1]);
}
