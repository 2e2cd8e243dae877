/* isol8-pool — keeps prepared, single-use sandboxes ready (see isol8-pool(1)).
 * Each is built with the configured default limits and handed over once, by SCM_RIGHTS on
 * $RUN_DIR/pool.sock, to the isol8 run that asks; the pool then forgets it and prepares a
 * replacement. A used sandbox is never handed out again: it belongs to its new holder, and dies
 * when that holder closes its ctl socket. Pooled sandboxes that die or grow old are replaced.
 *
 * Kinds: "plain" sandboxes wait for any program (their payload blocks on its feed); under the
 * fast strategy there are also sandboxes whose interpreter is already running (warm.h), one
 * set per runtime; and one set of plain sandboxes per built image of config poolImages, with its
 * layer mounted (a rebuilt image's sandboxes are replaced). A slot goes BUILDING (init setting
 * up) → STARTING (warm only: interpreter starting) → READY.
 *
 * Zygotes (config zygote, docs/zygote.md): a warm python slot is forked from an interpreter
 * started once (sandbox/zygote.h) instead of starting python3 in the new sandbox. A zygote is
 * replaced after zygote.maxForks forks or zygote.maxAgeMs; one that fails WARM_GIVE_UP times in a
 * row is given up (the slots then start their interpreter as without zygotes) until SIGHUP. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "run/engine.h"
#include "core/fdpass.h"
#include "isol8.h"
#include "core/json.h"
#include "run/pool.h"
#include "core/util.h"
#include "run/warm.h"
#include "wire/poolmsg.h"
#include "state/images.h"
#include "state/rundir.h"

#define MAX_POOL 64   /* per kind */
#define NWARM 3       /* warm_runtimes[] */
#define MAX_IMAGES 8  /* config poolImages */
#define PYTHON_KIND 1               /* warm_runtimes[0] */
#define BASH_KIND 3                 /* warm_runtimes[2]: only forked by its zygote */
#define SESSION_KIND (1 + NWARM)      /* python sessions' interpreters, forked by python's zygote */
#define FIRST_IMAGE (2 + NWARM)
#define NKINDS (FIRST_IMAGE + MAX_IMAGES) /* plain, warm_runtimes[], python sessions, then images */
#define MAX_SLOTS (MAX_POOL * NKINDS)
#define RETRY_MS 100      /* after a sandbox failed to start */
#define REFILL_BATCH 2     /* sandboxes started per turn of the loop, so that requests are answered between */
#define DEMAND_MAX 16      /* the most sandboxes per kind demand adds above the configured size */
#define DEMAND_TAU_S 2.0   /* how fast the demand estimate forgets (seconds) */
#define TRIM_IDLE_MS 30000 /* a ready sandbox above what is wanted now is dropped after this */
#define PAUSE_MS 100       /* interpreters started in their sandbox: refilled after handovers pause */
#define WARM_GIVE_UP 3 /* consecutive interpreters that failed to start: stop pre-starting */
#define STATUS_WAIT_MS 10000 /* `isol8-pool status`: a pool busy building sandboxes under load answers late */

static const char usage[] =
	"Usage: isol8-pool [--size N] [--strategy fast|secure] [--runtimes LIST] [--max-age MS] [--no-zygote]\n"
	"       isol8-pool status\n"
	"\n"
	"Keep N prepared single-use sandboxes ready for isol8 run (default: config poolSize, or its\n"
	"\"clean\" count). fast (config poolStrategy; default) also keeps N per runtime of LIST\n"
	"(default python,node,bash; \"none\" for none) with the interpreter already running; secure\n"
	"starts every interpreter only when the run arrives. --max-age replaces sandboxes older than MS\n"
	"(default 600000). Warm python and bash sandboxes are forked from a zygote, an interpreter\n"
	"started once (config zygote); --no-zygote starts python3 in each instead, and bash cold.\n"
	"SIGHUP re-reads the config; SIGTERM removes every pooled sandbox and exits.\n";

enum state { BUILDING, STARTING, READY };

struct slot {
	isol8_sandbox sb;
	uint64_t born_ms, started_ns;
	int kind; /* 0 plain, 1..NWARM warm_runtimes[k - 1], then images[k - FIRST_IMAGE] */
	enum state state;
	bool forked; /* by a zygote */
	pid_t drv_pid; /* python-session: its driver's pid inside the sandbox (it said "R<pid>\n") */
};

#define MAX_HANDED 256

struct pool {
	struct slot s[MAX_SLOTS];
	isol8_handed h[MAX_HANDED]; /* handed over, still running: swept once their init exits */
	int n, nh, size;
	bool fast, warm_on[NKINDS];
	int warm_failures[NKINDS];
	long long max_age_ms;
	unsigned long long hits, warm_hits, misses, discarded, zygote_hits, zygote_forks;
	uint64_t retry_at_ms, images_at_ms;
	/* demand per kind: handovers per second, decaying (DEMAND_TAU_S), as of demand_ns; and
	 * how long a sandbox takes to become ready (ms, a moving average) */
	double demand[NKINDS], build_ms[NKINDS];
	uint64_t demand_ns[NKINDS], taken_ms[NKINDS];
	isol8_zygote zyg[NKINDS]; /* warm kinds with a zygote: sock -1 when none is running */
	bool zyg_on[NKINDS];
	int zyg_failures[NKINDS];
	long long zyg_max_forks, zyg_max_age_ms;
	isol8_options opt;
	isol8_config cfg;
	char **base_env; /* what warm interpreters start with */
	uint64_t base_digest;
	char *store;     /* the image store */
	struct pool_image {
		char tag[129];
		char name[144]; /* "image:<tag>" */
		char *layer;    /* the layer the tag names now */
	} img[MAX_IMAGES];
	int nimg;
};

static bool is_warm(int kind)
{
	return kind > 0 && kind < FIRST_IMAGE;
}

/* Kinds whose driver only a zygote's fork runs: none without their zygote. */
static bool forked_only(int kind)
{
	return kind == SESSION_KIND || kind == BASH_KIND;
}



static struct pool_image *image_of(struct pool *p, int kind)
{
	return kind >= FIRST_IMAGE ? &p->img[kind - FIRST_IMAGE] : NULL;
}

/* An image whose tag names no layer (removed since) has nothing to build. */
static bool buildable(const struct pool *p, int kind)
{
	return kind < FIRST_IMAGE || p->img[kind - FIRST_IMAGE].layer;
}

static const char *kind_name_of(const struct pool *p, int kind)
{
	return kind >= FIRST_IMAGE	 ? p->img[kind - FIRST_IMAGE].name
	       : kind == SESSION_KIND ? "python-session"
	       : kind		 ? warm_runtimes[kind - 1]
				 : "plain";
}

static int configured_size(const isol8_config *c)
{
	jv ps = config_get(c, "poolSize");
	double n = 1;
	if (jv_get_kind(ps) == JV_KIND_NUMBER)
		n = jv_number_value(ps);
	else if (jv_get_kind(ps) == JV_KIND_OBJECT) {
		jv cl = json_get(ps, "clean");
		if (jv_get_kind(cl) == JV_KIND_NUMBER)
			n = jv_number_value(cl);
		jv_free(cl);
	}
	jv_free(ps);
	return n < 0 ? 0 : n > MAX_POOL ? MAX_POOL : (int)n;
}

static void drop(struct pool *p, int i)
{
	sandbox_destroy(&p->s[i].sb);
	p->s[i] = p->s[--p->n];
}

/* Slots of kind in state st (st < 0: in any state). */
static int count(const struct pool *p, int kind, int st)
{
	int k = 0;
	for (int i = 0; i < p->n; i++)
		k += p->s[i].kind == kind && (st < 0 || p->s[i].state == (enum state)st);
	return k;
}

static int count_ready(const struct pool *p)
{
	int k = 0;
	for (int i = 0; i < p->n; i++)
		k += p->s[i].state == READY;
	return k;
}

static bool kind_wanted(const struct pool *p, int kind)
{
	if (kind >= FIRST_IMAGE)
		return kind - FIRST_IMAGE < p->nimg;
	if (forked_only(kind)) /* python sessions come with python; bash without its zygote runs cold */
		return p->fast && p->warm_on[kind == SESSION_KIND ? PYTHON_KIND : kind] && p->zyg_on[kind];
	return kind == 0 || (p->fast && p->warm_on[kind]);
}

/* A zygote that failed (could not start, fork, or its fork's interpreter did not say ready):
 * replaced on the next slot, and given up after WARM_GIVE_UP failures in a row. */
static void zygote_failed(struct pool *p, int kind)
{
	warm_zygote_stop(&p->zyg[kind]);
	if (++p->zyg_failures[kind] >= WARM_GIVE_UP) {
		p->zyg_on[kind] = false;
		fprintf(stderr, "[ERR] isol8-pool: not forking %s from a zygote (%d failures in a row; SIGHUP retries)\n",
			kind_name_of(p, kind), WARM_GIVE_UP);
	}
}

/* The running zygote of a warm kind, started (or replaced, once it has forked zygote.maxForks
 * times or is older than zygote.maxAgeMs) as needed; NULL when the kind has none. */
static isol8_zygote *zygote_for(struct pool *p, int kind)
{
	isol8_zygote *z = &p->zyg[kind];
	if (!p->zyg_on[kind])
		return NULL;
	if (z->sock >= 0 && (z->forks >= (unsigned long)p->zyg_max_forks ||
			     now_real_ms() - z->born_ms >= (unsigned long long)p->zyg_max_age_ms))
		warm_zygote_stop(z); /* bounds what its forks share: hash seed, address layout */
	isol8_err err = {0};
	if (z->sock < 0 && warm_zygote_start(kind_name_of(p, kind), p->base_env, z, &err) < 0) {
		fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
		zygote_failed(p, kind);
		return NULL;
	}
	return z;
}

/* Starts one sandbox of kind without waiting for it; a warm one gets its interpreter's feed at
 * once (the pipe holds it until the payload reads it). */
static int start_slot(struct pool *p, int kind)
{
	struct pool_image *im = image_of(p, kind);
	isol8_sandbox_cfg cfg = {
		.seccomp = p->opt.seccomp == ISOL8_SECCOMP_STRICT,
		.pooled = true,
		.driver_channel = is_warm(kind),
		.limits = {.memory = p->opt.memory_limit, .pids = p->opt.pids_limit, .cpus = p->opt.cpu_limit},
		.rootfs = {.sandbox_size = p->opt.sandbox_size, .tmp_size = p->opt.tmp_size, .layer = im ? im->layer : NULL},
	};
	command_sandbox_support(&cfg);
	struct slot *s = &p->s[p->n];
	isol8_err err = {0};
	cfg.zygote = is_warm(kind) ? zygote_for(p, kind) : NULL;
	cfg.zygote_session = kind == SESSION_KIND;
	if (forked_only(kind) && !cfg.zygote)
		return -1; /* said by zygote_for */
	if (sandbox_start(&s->sb, &cfg, &err) < 0) {
		fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
		if (cfg.zygote && cfg.zygote->broken) /* not when the cgroup, say, failed */
			zygote_failed(p, kind);
		return -1;
	}
	s->forked = s->sb.forked_init;
	s->drv_pid = 0;
	if (forked_only(kind) && !s->forked) {
		sandbox_destroy(&s->sb);
		return -1;
	}
	p->zygote_forks += s->forked;
	if (is_warm(kind) && !s->forked) {
		isol8_exec_spec spec = {(char **)warm_argv(kind_name_of(p, kind)), p->base_env, "/sandbox", NULL, 0};
		if (sandbox_feed(&s->sb, &spec, &err) < 0) {
			fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
			sandbox_destroy(&s->sb);
			return -1;
		}
	}
	s->kind = kind;
	s->state = BUILDING;
	s->born_ms = now_real_ms();
	s->started_ns = now_mono_ns();
	p->n++;
	return 0;
}

/* The layer an image's tag names now (malloc'd), or NULL when the tag names none. */
static char *current_layer(const struct pool *p, const char *tag)
{
	isol8_image im;
	if (image_find(p->store, tag, &im) < 0)
		return NULL;
	char *layer = image_layer(&im);
	image_free(&im);
	return layer;
}

/* A rebuilt (or removed) image: its sandboxes hold the old layer, and are dropped. */
static void follow_images(struct pool *p)
{
	for (int i = 0; i < p->nimg; i++) {
		char *now = current_layer(p, p->img[i].tag);
		if (now && p->img[i].layer && !strcmp(now, p->img[i].layer)) {
			free(now);
			continue;
		}
		for (int k = p->n - 1; k >= 0; k--)
			if (p->s[k].kind == FIRST_IMAGE + i) {
				drop(p, k);
				p->discarded++;
			}
		if (!now && p->img[i].layer)
			fprintf(stderr, "[ERR] isol8-pool: image \"%s\" is gone from %s: none of its sandboxes kept\n",
				p->img[i].tag, p->store);
		free(p->img[i].layer);
		p->img[i].layer = now;
	}
}

/* The demand estimate of kind, decayed to now; with a handover (took) it counts one more. */
static double demand_now(struct pool *p, int kind, bool took)
{
	uint64_t now = now_mono_ns();
	double dt = p->demand_ns[kind] ? (double)(now - p->demand_ns[kind]) / 1e9 : 0;
	p->demand[kind] = p->demand[kind] * exp(-dt / DEMAND_TAU_S) + (took ? 1.0 / DEMAND_TAU_S : 0);
	p->demand_ns[kind] = now;
	return p->demand[kind];
}

/* How many sandboxes of kind to keep, counting those being built: the configured size, or more
 * while runs take them faster than that covers. By Little's law, runs/s × build time are being
 * built at any moment; twice that (and one) leaves some ready. None when the size is 0. */
static int wanted(struct pool *p, int kind)
{
	if (!p->size || !kind_wanted(p, kind) || !buildable(p, kind))
		return 0;
	double need = ceil(2 * demand_now(p, kind, false) * p->build_ms[kind] / 1000) + 1;
	int extra = need > p->size ? (int)need - p->size : 0, n = p->size + (extra > DEMAND_MAX ? DEMAND_MAX : extra);
	return n > MAX_POOL ? MAX_POOL : n;
}

static void note_ready(struct pool *p, struct slot *s)
{
	double ms = (double)(now_mono_ns() - s->started_ns) / 1e6;
	p->build_ms[s->kind] = p->build_ms[s->kind] ? 0.8 * p->build_ms[s->kind] + 0.2 * ms : ms;
}

/* Whether kind is refilled now. An interpreter started in its sandbox (node; python without a
 * zygote) costs as much CPU in the pool as in the run, and its ~45 mounts bump the kernel's
 * global mount lock, slowing the path walks of a program starting at the same moment (python
 * 5 ms measured): those are replaced once handovers of the kind pause, or when none is ready.
 * A zygote's fork and a plain sandbox are cheap: replaced at once. */
static bool refill_now(struct pool *p, int kind)
{
	if (!is_warm(kind) || p->zyg_on[kind])
		return true;
	return count(p, kind, READY) == 0 || now_real_ms() - p->taken_ms[kind] >= PAUSE_MS;
}

/* Starts up to max missing sandboxes, running interpreters first (the costliest to miss); they
 * finish building while the pool keeps answering (a client never waits for a replacement).
 * Replacements are built while runs go on (refill_now): a pool that waited for a pause ran dry
 * under sustained load. Returns the number started. */
static int refill(struct pool *p, int max)
{
	if (now_real_ms() < p->retry_at_ms)
		return 0;
	if (now_real_ms() - p->images_at_ms >= 1000) { /* a look in the store: not on every turn */
		follow_images(p);
		p->images_at_ms = now_real_ms();
	}
	int started = 0;
	for (int i = 0; i < NKINDS; i++) {
		int kind = i < NWARM ? i + 1 : i == NWARM ? 0 : i; /* warm kinds, plain, images */
		while (started < max && count(p, kind, -1) < wanted(p, kind) && refill_now(p, kind)) {
			if (start_slot(p, kind) < 0) {
				p->retry_at_ms = now_real_ms() + RETRY_MS;
				return started;
			}
			started++;
		}
	}
	return started;
}

/* Whether some kind has fewer sandboxes (ready or being built) than wanted; with now, only
 * those that refill_now would start. */
static bool missing(struct pool *p, bool now)
{
	for (int k = 0; k < NKINDS; k++)
		if (count(p, k, -1) < wanted(p, k) && (!now || refill_now(p, k)))
			return true;
	return false;
}

/* Why a warm interpreter ended before saying ready: the init's status line for it. */
static void report_failed_driver(struct pool *p, struct slot *s, bool count)
{
	ctl_msg m = {.kind = CTL_BAD};
	bool got = false;
	for (int tries = 0; tries < 20 && !got; tries++) {
		int r = sandbox_read_status(&s->sb, &m);
		if (r < 0)
			break;
		if (r == 0) {
			struct pollfd f = {s->sb.ctl, POLLIN, 0};
			poll(&f, 1, 10);
			continue;
		}
		got = true;
	}
	const char *rt = kind_name_of(p, s->kind);
	if (got && m.kind == CTL_ERROR)
		fprintf(stderr, "[ERR] isol8-pool: the %s interpreter%s did not start: %s\n", rt, s->forked ? " forked by its zygote" : "", m.error);
	else if (got && m.kind == CTL_EXIT)
		fprintf(stderr, "[ERR] isol8-pool: the %s interpreter did not start: it exited with %d\n", rt, m.code);
	else if (got && m.kind == CTL_SIGNAL)
		fprintf(stderr, "[ERR] isol8-pool: the %s interpreter did not start: killed by signal %d\n", rt, m.code);
	else
		fprintf(stderr, "[ERR] isol8-pool: the %s interpreter did not start\n", rt);
	ctl_msg_free(&m);
	if (count && ++p->warm_failures[s->kind] >= WARM_GIVE_UP) {
		p->warm_on[s->kind] = false;
		fprintf(stderr, "[ERR] isol8-pool: not keeping %s warm (%d failures in a row; SIGHUP retries)\n", rt,
			WARM_GIVE_UP);
	}
}

/* A session driver's "R<pid>\n" (one write, so one read). */
static bool driver_pid_of(char *b, ssize_t n, pid_t *pid)
{
	long long v;
	if (n < 3 || b[n - 1] != '\n' || b[1] < '1' || b[1] > '9')
		return false;
	b[n - 1] = 0;
	if (parse_ll(b + 1, 2, 1 << 22, &v) < 0)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* One slot's fd was readable or hung up: returns false when the slot must be dropped. */
static bool advance(struct pool *p, struct slot *s)
{
	isol8_err err = {0};
	switch (s->state) {
	case BUILDING: {
		int r = sandbox_poll_ready(&s->sb, &err);
		if (r < 0)
			fprintf(stderr, "[ERR] isol8-pool: %s\n", err.msg);
		if (r == 1)
			s->state = is_warm(s->kind) ? STARTING : READY;
		if (s->state == READY)
			note_ready(p, s);
		return r >= 0;
	}
	case STARTING: {
		char b[24];
		ssize_t n = read(s->sb.reply, b, sizeof b - 1);
		if (n >= 1 && b[0] == 'R' && (s->kind == SESSION_KIND ? driver_pid_of(b, n, &s->drv_pid) : n == 1)) {
			s->state = READY;
			note_ready(p, s);
			p->warm_failures[s->kind] = 0;
			if (s->forked)
				p->zyg_failures[s->kind] = 0;
			return true;
		}
		if (s->forked) { /* the zygote's fork, not the runtime, failed: try without it */
			report_failed_driver(p, s, false);
			zygote_failed(p, s->kind);
			return false;
		}
		report_failed_driver(p, s, true);
		return false;
	}
	case READY:
	default:
		return false; /* a ready sandbox that died (its interpreter, or its init) */
	}
}

/* The fd that tells what happens next to a slot. */
static int watch_fd(const struct slot *s)
{
	if (s->state == BUILDING)
		return s->sb.ctl;
	if (is_warm(s->kind)) /* starting: the interpreter's "R"; ready: EOF if it or its init dies */
		return s->sb.reply;
	return s->sb.pidfd;
}

/* Waits up to timeout_ms for the slots and handed-over sandboxes, advances the slots, drops the
 * bad and the old, sweeps the handed-over ones that ended. The poll entries of the listening
 * socket and signalfd (the first nfixed) come back through f. */
static void step(struct pool *p, struct pollfd *f, int nfixed, int timeout_ms)
{
	for (int i = 0; i < p->n; i++)
		f[nfixed + i] = (struct pollfd){watch_fd(&p->s[i]), POLLIN, 0};
	struct pollfd *fh = f + nfixed + p->n;
	for (int j = 0; j < p->nh; j++)
		fh[j] = (struct pollfd){p->h[j].pidfd, POLLIN, 0};
	if (poll(f, (nfds_t)(nfixed + p->n + p->nh), timeout_ms) < 0 && errno != EINTR) {
		for (int i = 0; i < nfixed; i++)
			f[i].revents = 0;
		return;
	}
	for (int j = p->nh - 1; j >= 0; j--)
		if (fh[j].revents) {
			sandbox_handed_sweep(&p->h[j]);
			p->h[j] = p->h[--p->nh];
		}
	for (int i = p->n - 1; i >= 0; i--) {
		bool ok = now_real_ms() - p->s[i].born_ms <= (uint64_t)p->max_age_ms; /* not grown old */
		if (f[nfixed + i].revents && !advance(p, &p->s[i])) {
			ok = false;
			if (p->s[i].state != READY) /* failed while starting: no new one at once */
				p->retry_at_ms = now_real_ms() + RETRY_MS;
		}
		if (!ok) {
			drop(p, i);
			p->discarded++;
		}
	}
	/* demand has gone: what it added goes once it has waited a while */
	for (int i = p->n - 1; i >= 0; i--)
		if (p->s[i].state == READY && now_real_ms() - p->s[i].born_ms > TRIM_IDLE_MS &&
		    count(p, p->s[i].kind, -1) > wanted(p, p->s[i].kind))
			drop(p, i);
}

static void free_setup(struct pool *p)
{
	for (int k = 0; k < NKINDS; k++) /* a new configuration may start them otherwise */
		warm_zygote_stop(&p->zyg[k]);
	isol8_config_free(&p->cfg);
	isol8_options_free(&p->opt);
	isol8_free_strv(p->base_env);
	p->base_env = NULL;
	for (int i = 0; i < p->nimg; i++)
		free(p->img[i].layer);
	p->nimg = 0;
	free(p->store);
	p->store = NULL;
}

/* Config poolImages: tags of the store's images, each kept like plain sandboxes. -1 with err
 * when one is not an image of the store (refused, not skipped). */
static int load_images(struct pool *p, isol8_err *err)
{
	p->store = images_store(&p->cfg);
	jv list = config_get(&p->cfg, "poolImages");
	int rc = 0, n = jv_get_kind(list) == JV_KIND_ARRAY ? jv_array_length(jv_copy(list)) : 0;
	if (n > MAX_IMAGES)
		rc = isol8_input_error(err, "poolImages: at most %d images", MAX_IMAGES);
	for (int i = 0; rc == 0 && i < n; i++) {
		jv t = jv_array_get(jv_copy(list), i);
		const char *tag = jv_string_value(t);
		struct pool_image *im = &p->img[p->nimg];
		if (!image_tag_valid(tag) || !(im->layer = current_layer(p, tag))) {
			rc = isol8_input_error(err, "poolImages: \"%s\" is not an image of %s (build it: isol8 build … --tag %s)",
					       tag, p->store, tag);
		} else {
			snprintf(im->tag, sizeof im->tag, "%s", tag);
			snprintf(im->name, sizeof im->name, "image:%s", tag);
			p->nimg++;
		}
		jv_free(t);
	}
	jv_free(list);
	return rc;
}

static int load(struct pool *p, int size_flag, const char *strategy_flag, const char *runtimes_flag, bool no_zygote)
{
	isol8_err err = {0};
	free_setup(p);
	if (isol8_config_load(&p->cfg, &err) < 0 || isol8_options_from_config(&p->opt, &p->cfg, &err) < 0 ||
	    load_images(p, &err) < 0) {
		fprintf(stderr, "[ERR] isol8-pool: %s (no sandboxes kept until it is fixed and SIGHUP)\n", err.msg);
		p->size = 0;
		return -1;
	}
	p->size = size_flag >= 0 ? size_flag : configured_size(&p->cfg);
	const char *strategy = strategy_flag ? strategy_flag : config_str(&p->cfg, "poolStrategy", "fast");
	p->fast = strcmp(strategy, "secure") != 0;
	for (int k = 1; k <= NWARM; k++) {
		const char *rt = kind_name_of(p, k), *l = runtimes_flag ? runtimes_flag : "python,node,bash";
		size_t n = strlen(rt);
		const char *hit = strstr(l, rt);
		/* a whole item of the comma list */
		p->warm_on[k] = hit && (hit == l || hit[-1] == ',') && (hit[n] == 0 || hit[n] == ',');
		p->warm_failures[k] = 0;
	}
	p->base_env = warm_base_env();
	p->base_digest = warm_env_digest(p->base_env);
	bool zygotes = !no_zygote && config_bool(&p->cfg, "zygote.enabled", 1);
	for (int k = 1; k <= SESSION_KIND; k++) {
		p->zyg_on[k] = zygotes && warm_has_zygote(kind_name_of(p, k));
		p->zyg_failures[k] = 0;
	}
	p->zyg_max_forks = (long long)config_num(&p->cfg, "zygote.maxForks", 1000);
	p->zyg_max_age_ms = (long long)config_num(&p->cfg, "zygote.maxAgeMs", 600000);
	return 0;
}

static pool_status_msg status_of(const struct pool *p)
{
	pool_status_msg s = {.pid = getpid(), .size = p->size, .ready = count_ready(p), .hits = p->hits,
			     .warm_hits = p->warm_hits, .misses = p->misses, .discarded = p->discarded,
			     .zygote_hits = p->zygote_hits, .zygote_forks = p->zygote_forks,
			     .memory_limit = p->opt.memory_limit};
	snprintf(s.strategy, sizeof s.strategy, "%s", p->fast ? "fast" : "secure");
	for (int k = 0; k < NKINDS && s.nkinds < POOL_KINDS_MAX; k++)
		if (kind_wanted(p, k) || count(p, k, READY)) {
			snprintf(s.kinds[s.nkinds].name, sizeof s.kinds[0].name, "%s", kind_name_of(p, k));
			s.kinds[s.nkinds++].ready = count(p, k, READY);
		}
	return s;
}

/* One reply line (malloc'd, from wire/poolmsg.h), written and freed. */
static void reply_line(int fd, char *line)
{
	(void)write_all(fd, line, strlen(line));
	free(line);
}

static int pick_ready(const struct pool *p, int kind)
{
	for (int i = p->n - 1; i >= 0; i--)
		if (p->s[i].state == READY && p->s[i].kind == kind)
			return i;
	return -1;
}

/* The ready slot to hand out: for a layer, a sandbox of the image that has it now; else a
 * running interpreter of the runtime asked for when the client's base environment is ours, else
 * a plain one; -1 when there is none. */
static int pick(const struct pool *p, const pool_request *req)
{
	if (req->layer[0]) {
		for (int k = 0; k < p->nimg; k++)
			if (p->img[k].layer && !strcmp(req->layer, p->img[k].layer))
				for (int i = p->n - 1; i >= 0; i--)
					if (p->s[i].state == READY && p->s[i].kind == FIRST_IMAGE + k)
						return i;
		return -1;
	}
	int want = -1;
	for (int k = 1; k <= NWARM && req->runtime[0]; k++)
		if (!strcmp(req->runtime, kind_name_of(p, k)) && req->env_digest == p->base_digest)
			want = k;
	if (req->session) /* a session's interpreter, or nothing: a session starts its own */
		return want == PYTHON_KIND ? pick_ready(p, SESSION_KIND) : -1;
	for (int pass = want > 0 ? 0 : 1; pass < 2; pass++)
		for (int i = p->n - 1; i >= 0; i--)
			if (p->s[i].state == READY && p->s[i].kind == (pass == 0 ? want : 0))
				return i;
	return -1;
}

static void hand_over(struct pool *p, int c, int k)
{
	struct slot taken = p->s[k];
	p->s[k] = p->s[--p->n];
	isol8_sandbox *sb = &taken.sb;
	int fds[ISOL8_HANDOVER_MAX], nfds = ISOL8_HANDOVER_FDS;
	sandbox_handover_fds(sb, fds);
	if (is_warm(taken.kind)) {
		fds[2] = sb->chan;        /* fed long ago; the interpreter now waits on this pipe */
		fds[nfds++] = sb->reply; /* said "R" on it; says its exit code on it at the end */
	}
	char *msg = poolmsg_handover_line(sb->id, sb->pid, is_warm(taken.kind) ? kind_name_of(p, taken.kind) : NULL,
					  taken.drv_pid);
	ssize_t ml = (ssize_t)strlen(msg);
	bool sent = fd_send(c, msg, (size_t)ml, fds, nfds) == ml;
	free(msg);
	if (sent) {
		/* handed over: forget it (its new holder owns it; its record names them from now on —
		 * written here, after the send, so that the holder does not wait for it) */
		struct ucred peer = {0};
		socklen_t pl = sizeof peer;
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &pl) == 0 && peer.pid > 0)
			sandbox_hand_record_to(sb, peer.pid);
		p->hits++;
		p->warm_hits += is_warm(taken.kind);
		p->zygote_hits += taken.forked;
		demand_now(p, taken.kind, true);
		p->taken_ms[taken.kind] = now_real_ms();
		isol8_handed h;
		sandbox_release(sb, &h);
		if (taken.kind == SESSION_KIND) /* its session ends it and sweeps up (sandbox_own) */
			sandbox_handed_forget(&h);
		else if (p->nh < MAX_HANDED) /* its holder lets go without waiting; we sweep up after the init */
			p->h[p->nh++] = h;
		else /* too many at once: isol8-cleanup removes what is left */
			sandbox_handed_forget(&h);
	} else {
		p->misses++;
		sandbox_destroy(sb); /* never hand a sandbox out twice: drop it */
	}
}

static void serve(struct pool *p, int c)
{
	struct timeval tv = {1, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char line[2048];
	ssize_t n = read(c, line, sizeof line - 1);
	if (n <= 0)
		return;
	line[n] = 0;
	pool_request req;
	poolmsg_parse_request(line, (size_t)n, &req);
	if (req.op == POOL_OP_STATUS) {
		pool_status_msg s = status_of(p);
		reply_line(c, poolmsg_status_line(&s));
	} else if (req.op == POOL_OP_ACQUIRE) {
		/* the run's options must be exactly what the pooled sandboxes were built with */
		bool same = pool_compatible(&req.limits, &p->opt);
		int k = same ? pick(p, &req) : -1;
		if (k < 0) {
			p->misses++;
			reply_line(c, poolmsg_miss_line(same ? "empty" : "different limits"));
		} else {
			hand_over(p, c, k);
		}
	} else {
		reply_line(c, poolmsg_error_line("unknown op (acquire, status)"));
	}
}

static int status_cmd(void)
{
	pool_status_msg s;
	jv v = pool_status(&s, STATUS_WAIT_MS) < 0 ? jv_object_set(jv_object(), jv_string("running"), jv_false())
				   : jv_object_set(poolmsg_status_json(&s), jv_string("running"), jv_true());
	json_write_line(1, v);
	jv_free(v);
	return s.pid ? 0 : 1;
}

/* Not all there yet: some slot still starting, or fewer slots than wanted. */
static bool settling(struct pool *p)
{
	if (missing(p, false))
		return true;
	for (int i = 0; i < p->n; i++)
		if (p->s[i].state != READY)
			return true;
	return false;
}

/* What the command line asks for (load() merges it with the config, again on SIGHUP). */
struct pool_args {
	int size_flag; /* -1: the config's */
	const char *strategy, *runtimes;
	bool no_zygote;
};

static void parse_args(int argc, char **argv, struct pool *p, struct pool_args *a)
{
	static const struct option lo[] = {
		{"size", required_argument, 0, 's'}, {"max-age", required_argument, 0, 'a'},
		{"strategy", required_argument, 0, 't'}, {"runtimes", required_argument, 0, 'r'},
		{"no-zygote", no_argument, 0, 'z'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	long long v;
	int c;
	*a = (struct pool_args){.size_flag = -1};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 's') {
			if (parse_ll(optarg, 0, MAX_POOL, &v) < 0)
				isol8_die("--size takes 0..%d", MAX_POOL);
			a->size_flag = (int)v;
		} else if (c == 'a') {
			if (parse_ll(optarg, 1000, 1ll << 40, &v) < 0)
				isol8_die("--max-age takes milliseconds (at least 1000)");
			p->max_age_ms = v;
		} else if (c == 't') {
			if (strcmp(optarg, "fast") && strcmp(optarg, "secure"))
				isol8_die("--strategy takes fast or secure");
			a->strategy = optarg;
		} else if (c == 'r') {
			/* every item must be a runtime that can be pre-started, or the list is "none" */
			char *l = xstrdup(optarg), *save = NULL;
			for (char *t = strtok_r(l, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				bool known = false;
				for (const char *const *w = warm_runtimes; *w && !known; w++)
					known = !strcmp(t, *w);
				if (!known && strcmp(optarg, "none"))
					isol8_die("--runtimes: \"%s\" cannot be pre-started (python, node, bash, or none)", t);
			}
			free(l);
			a->runtimes = optarg;
		} else if (c == 'z') {
			a->no_zygote = true;
		} else if (c == 'h') {
			fputs(usage, stdout);
			exit(0);
		} else {
			isol8_die("unknown option (see isol8-pool --help)");
		}
	}
	if (optind < argc)
		isol8_die("unexpected argument \"%s\" (see isol8-pool --help)", argv[optind]);
}

/* The pool's socket, refused when another pool answers on it. */
static int listen_on(const char *path)
{
	if (mkdir_p(isol8_run_dir(), 0755) < 0)
		isol8_die("cannot create the run dir %s", isol8_run_dir());
	int probe = unix_connect(path);
	if (probe >= 0)
		isol8_die("a pool is already running on %s", path);
	unlink(path); /* a socket nobody answers on: left by a pool that died */
	int lfd = unix_listen(path);
	if (lfd < 0)
		isol8_die("cannot listen on %s: %s", path, strerror(errno));
	return lfd;
}

/* false on a signal to stop; SIGHUP reloads, SIGCHLD reaps handed-over inits. */
static bool handle_signal(struct pool *p, int sfd, const struct pool_args *a)
{
	struct signalfd_siginfo si;
	bool run = true;
	if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			while (p->n)
				drop(p, p->n - 1);
			load(p, a->size_flag, a->strategy, a->runtimes, a->no_zygote);
		} else if (si.ssi_signo != SIGCHLD) {
			run = false;
		}
	}
	pid_t w;
	while ((w = waitpid(-1, NULL, WNOHANG)) > 0) /* inits of handed-over sandboxes, zygotes */
		for (int k = 0; k < NKINDS; k++)
			if (p->zyg[k].pid == w)
				p->zyg[k].pid = 0; /* reaped: that number may be another process's from now */
	return run;
}

static void serve_loop(struct pool *p, int lfd, int sfd, const struct pool_args *a, struct pollfd *f)
{
	for (bool run = true; run;) {
		f[0] = (struct pollfd){lfd, POLLIN, 0};
		f[1] = (struct pollfd){sfd, POLLIN, 0};
		step(p, f, 2, missing(p, true) && now_real_ms() >= p->retry_at_ms ? 0 : settling(p) ? PAUSE_MS : 5000);
		if (f[1].revents)
			run = handle_signal(p, sfd, a);
		if (run && f[0].revents) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0) {
				serve(p, cfd);
				close(cfd);
			}
		}
		if (run)
			refill(p, REFILL_BATCH);
	}
}

/* Drops what is prepared; sweeps the handed-over sandboxes whose init has ended and leaves the
 * records of running ones to isol8-cleanup. */
static void shut_down(struct pool *p)
{
	while (p->n)
		drop(p, p->n - 1);
	for (int j = 0; j < p->nh; j++) {
		struct pollfd ended = {p->h[j].pidfd, POLLIN, 0};
		if (poll(&ended, 1, 0) == 1)
			sandbox_handed_sweep(&p->h[j]);
		else
			sandbox_handed_forget(&p->h[j]);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_cmd();
	static struct pool p = {.max_age_ms = 600000};
	struct pool_args a;
	parse_args(argc, argv, &p, &a);
	p.cfg.root = jv_invalid();
	for (int k = 0; k < NKINDS; k++)
		p.zyg[k] = (isol8_zygote){.sock = -1, .err = -1};
	if (load(&p, a.size_flag, a.strategy, a.runtimes, a.no_zygote) < 0)
		return 1;
	char *path = pool_socket_path();
	int lfd = listen_on(path);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd_for(SIGTERM, SIGINT, SIGHUP, SIGCHLD, 0);
	static struct pollfd f[2 + MAX_SLOTS + MAX_HANDED];
	/* the first fill: wait (up to 30 s), so that "ready" on stderr means ready */
	refill(&p, MAX_SLOTS);
	for (uint64_t until = now_real_ms() + 30000; settling(&p) && now_real_ms() < until;) {
		step(&p, f, 0, 100);
		refill(&p, MAX_SLOTS); /* replaces what failed (a runtime that keeps failing stops being wanted) */
	}
	fprintf(stderr, "isol8-pool: %d ready on %s\n", count_ready(&p), path);
	serve_loop(&p, lfd, sfd, &a, f);
	shut_down(&p);
	close(lfd);
	unlink(path);
	free(path);
	free_setup(&p);
	return 0;
}
