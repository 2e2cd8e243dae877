/* figures.h — the matplotlib figures of python runs as results (docs/figures.md).
 *
 * Inside the sandbox, matplotlib uses isol8's backend (lib/run/drivers/mpl_backend.py, at
 * ISOL8_SUPPORT_DIR/python/isol8_mpl.py): show() and the end of the program save the open
 * figures into FIGURES_DIR. Outside, the engine and sessions take that directory through the
 * init's file helper (sandbox_take_dir: as the sandbox user, no link followed, regular files
 * only, bounded in count, bytes and time), and keep only what isol8 itself reads as a PNG or
 * SVG of the right name, within the config's outputs.* caps; everything else is dropped with
 * a note. Threat: the program owns that directory and everything in it. */
#ifndef ISOL8_RUN_FIGURES_H
#define ISOL8_RUN_FIGURES_H

#include <stdbool.h>
#include <stddef.h>

#include "isol8.h"
#include "sandbox/sandbox.h"

#define FIGURES_DIR "/tmp/.isol8-outputs"
/* The config's defaults for the caps of isol8_options (0 there means these). */
#define FIGURES_MAX_COUNT 10
#define FIGURES_MAX_PIXELS 4000000ull
#define FIGURES_MAX_BYTES (8ull << 20)

/* The files every sandbox gets in ISOL8_SUPPORT_DIR: the backend, and matplotlib's config dir
 * with the font cache `isol8 setup` built (state/fontcache.h), read once per process. */
const isol8_support_file *figures_support(size_t *n);
/* Whether a run of r under o saves figures: python, with outputs.enabled. */
bool figures_wanted(const isol8_request *r, const isol8_options *o);
/* "png", "svg" or "png,svg" for formats (ISOL8_FIGURE_*; 0 is PNG). */
const char *figures_formats_text(unsigned formats);
/* For a run that wants figures: MPLBACKEND (unless r's env sets its own) and ISOL8_FIGURES
 * appended to the NULL-terminated *envp. */
void figures_env(char ***envp, const isol8_request *r, const isol8_options *o);
/* Takes what the program saved in FIGURES_DIR (and with remove, empties it: a session's next
 * exec must not see it) into res->outputs, in figure order, and says in res->outputs_note what
 * was dropped and why. SVG text is masked with o's secrets like stdout. */
void figures_collect(isol8_sandbox *sb, const isol8_request *r, const isol8_options *o, bool remove,
		     isol8_result *res);
/* isol8 setup: builds matplotlib's font cache in a sandbox (trusted code only) and stores it
 * (state/fontcache.h). 1 with what was done in msg, 0 when python has no matplotlib, -1. */
int figures_build_font_cache(const isol8_options *o, char *msg, size_t cap, isol8_err *err);

#endif
