#include "core/runtime.h"

#include <stdlib.h>
#include <string.h>

/* Interpreters are found through PATH inside the sandbox, so an --image root can ship its own. */
static const isol8_runtime runtimes[] = {
	{"python", ".py", {"python3", "-c"}, {"python3"}},
	{"node", ".mjs", {"node", "-e"}, {"node"}},
	{"bun", ".ts", {"bun", "-e"}, {"bun", "run"}},
	/* Deno has no inline mode in the reference: code always goes through a file. */
	{"deno", ".mts", {NULL},
	 {"deno", "run", "--quiet", "--allow-read=/sandbox,/tmp", "--allow-write=/sandbox,/tmp", "--allow-env",
	  "--allow-net"}},
	{"bash", ".sh", {"bash", "-c"}, {"bash"}},
};

/* Registry order of the reference; later entries win for the same extension. */
static const struct {
	const char *ext, *runtime;
} ext_map[] = {
	{"py", "python"}, {"mjs", "node"}, {"js", "node"}, {"cjs", "node"},
	{"ts", "bun"}, {"sh", "bash"}, {"mts", "deno"},
};

_Static_assert(sizeof runtimes / sizeof *runtimes == ISOL8_NRUNTIMES, "ISOL8_NRUNTIMES");

int runtime_index(const char *name)
{
	for (int i = 0; name && i < ISOL8_NRUNTIMES; i++)
		if (!strcmp(runtimes[i].name, name))
			return i;
	return -1;
}

const char *runtime_name_at(int i)
{
	return i >= 0 && i < ISOL8_NRUNTIMES ? runtimes[i].name : NULL;
}

const isol8_runtime *runtime_get(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof runtimes / sizeof *runtimes; i++)
		if (!strcmp(runtimes[i].name, name))
			return &runtimes[i];
	return NULL;
}

const isol8_runtime *runtime_detect(const char *filename)
{
	const char *dot = strrchr(filename, '.');
	if (!dot)
		return NULL;
	const char *rt = NULL;
	for (size_t i = 0; i < sizeof ext_map / sizeof *ext_map; i++)
		if (!strcmp(ext_map[i].ext, dot + 1))
			rt = ext_map[i].runtime;
	return runtime_get(rt);
}

const char *runtime_names(void)
{
	return "python, node, bun, deno, bash";
}

const char *runtime_extensions(void)
{
	return ".py, .mjs, .js, .cjs, .ts, .sh, .mts";
}

const char *runtime_dir(void)
{
	const char *e = getenv("ISOL8_RUNTIMES");
	return e && *e ? e : "/opt/isol8/runtimes";
}
