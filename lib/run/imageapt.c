/* imageapt.c — see imageapt.h. Threat: the packages come from the network into an image that
 * later runs untrusted code; the build sandbox reaches only the hosts the host's own sources
 * name (apt then checks the archive's signatures with the keys the host trusts), apt-get runs
 * unprivileged with every path redirected under /sandbox/.apt (its configuration) and the
 * build's scratch directory (what it fetches), and nothing of the host is written: the layer is
 * the only writable place that outlives the build. */
#include "run/imageapt.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/util.h"
#include "run/imagebuild.h"
#include "run/install.h"

#define APT_DIR "/sandbox/.apt"

/* Where apt keeps what it fetches: the lists, its caches, the .debs (the build's scratch directory,
 * on disk: a host's lists alone may not fit a run's /sandbox). */
#define APT_FETCHED ISOL8_BUILD_SCRATCH_DIR "/apt"

/* The script run in the build sandbox; %s: the package names (checked: no shell character). */
static const char script_fmt[] =
	"set -eo pipefail\n"
	"A=" APT_DIR " F=" APT_FETCHED "\n"
	"mkdir -p $F/lists/partial $F/cache/archives/partial $F/debs $A/apt.conf.d $A/preferences.d $TMPDIR "
	ISOL8_LAYER_DIR "/bash\n"
	"apt() { apt-get -q \"$@\"; }\n"
	"apt update >/dev/null\n"
	/* what installing them on this host would add: the host's own packages are the sandbox's */
	"P=$(apt -s install --no-install-recommends %s | sed -n 's/^Inst \\([^ ]*\\) .*/\\1/p')\n"
	"cd $F/debs\n"
	"if [ -n \"$P\" ]; then apt download $P >/dev/null; fi\n"
	"for d in ./*.deb; do [ -e \"$d\" ] || continue; dpkg-deb -x \"$d\" " ISOL8_LAYER_DIR "/bash; done\n";

/* Every path apt reads or writes, under APT_DIR or APT_FETCHED (apt reads it from $APT_CONFIG first, so not even
 * the host's configuration directory is looked for). */
static const char apt_conf[] =
	"Dir::Etc::Parts \"" APT_DIR "/apt.conf.d\";\n"
	"Dir::Etc::Main \"" APT_DIR "/apt.conf.main\";\n"
	"Dir::Etc::SourceList \"" APT_DIR "/sources.list\";\n"
	"Dir::Etc::SourceParts \"" APT_DIR "/sources.list.d\";\n"
	"Dir::Etc::Trusted \"" APT_DIR "/trusted.gpg\";\n"
	"Dir::Etc::TrustedParts \"" APT_DIR "/trusted.gpg.d\";\n"
	"Dir::Etc::Preferences \"" APT_DIR "/preferences\";\n"
	"Dir::Etc::PreferencesParts \"" APT_DIR "/preferences.d\";\n"
	"Dir::State::Lists \"" APT_FETCHED "/lists\";\n"
	"Dir::State::status \"" APT_DIR "/status\";\n"
	"Dir::Cache \"" APT_FETCHED "/cache\";\n"
	"Debug::NoLocking \"1\";\n";

/* apt-config's answer for the paths apt reads, as `apt-config shell` prints them (NAME='value'). */
static char *apt_path(const char *out, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, nl) || l[nl] != '=' || l[nl + 1] != '\'')
			continue;
		const char *v = l + nl + 2, *end = strchr(v, '\'');
		if (end && (size_t)(end - v) < 4096)
			return xstrndup(v, (size_t)(end - v));
	}
	return NULL;
}

static void add_host(const char *uri, size_t len, char ***pats, size_t *n)
{
	char *u = xstrndup(uri, len);
	char *pat = (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) ? url_host_pattern(u) : NULL;
	bool dup = false;
	for (size_t i = 0; pat && i < *n; i++)
		dup |= !strcmp((*pats)[i], pat);
	if (pat && !dup)
		isol8_strv_add(pats, n, pat);
	free(pat);
	free(u);
}

void apt_source_hosts(const char *text, char ***pats, size_t *n)
{
	const char *ws = " \t";
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n#");
		char *line = xstrndup(l, len), *save = NULL;
		char *tok = strtok_r(line, ws, &save);
		if (tok && !strcasecmp(tok, "URIs:")) { /* deb822: every URI of the field */
			while ((tok = strtok_r(NULL, ws, &save)))
				add_host(tok, strlen(tok), pats, n);
		} else if (tok && (!strcmp(tok, "deb") || !strcmp(tok, "deb-src"))) { /* one-line */
			tok = strtok_r(NULL, ws, &save);
			if (tok && tok[0] == '[') { /* options: "[a=b c=d]", the URI after them */
				while (tok && !strchr(tok, ']'))
					tok = strtok_r(NULL, ws, &save);
				if (tok)
					tok = strchr(tok, ']')[1] ? strchr(tok, ']') + 1 : strtok_r(NULL, ws, &save);
			}
			if (tok)
				add_host(tok, strlen(tok), pats, n);
		}
		free(line);
	}
}

/* A host file copied into the build as a request file (0 when it does not exist). */
static int copy_in(isol8_request *r, const char *host, const char *inside, size_t max, isol8_buf *keep,
		   isol8_err *err)
{
	isol8_buf b = {0};
	isol8_err e = {0};
	if (read_file(host, max, &b, &e) < 0) {
		isol8_buf_free(&b);
		return access(host, F_OK) == 0 ? isol8_input_error(err, "cannot read %s: %s", host, e.msg) : 0;
	}
	int rc = isol8_request_add_file(r, inside, b.data ? b.data : (unsigned char *)"", b.len, err);
	if (keep)
		*keep = b;
	else
		isol8_buf_free(&b);
	return rc;
}

static bool wanted(const char *name, const char *const *suffixes)
{
	size_t l = strlen(name);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != l || name[0] == '.')
		return false; /* apt's own rule for the files it reads from a parts directory */
	for (; *suffixes; suffixes++) {
		size_t s = strlen(*suffixes);
		if (l > s && !strcmp(name + l - s, *suffixes))
			return true;
	}
	return false;
}

/* Every wanted file of a parts directory into APT_DIR/<sub>/; sources also give their hosts. */
static int copy_parts(isol8_request *r, const char *dir, const char *sub, const char *const *suffixes, char ***pats,
		      size_t *npats, isol8_err *err)
{
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!wanted(e->d_name, suffixes))
			continue;
		char *host = xasprintf("%s/%s", dir, e->d_name), *in = xasprintf(APT_DIR "/%s/%s", sub, e->d_name);
		isol8_buf b = {0};
		rc = copy_in(r, host, in, 1 << 20, pats ? &b : NULL, err);
		if (rc == 0 && pats && b.data) {
			buf_append(&b, "", 1);
			apt_source_hosts((char *)b.data, pats, npats);
		}
		isol8_buf_free(&b);
		free(host);
		free(in);
	}
	closedir(d);
	return rc;
}

int apt_build_prepare(isol8_request *r, isol8_options *o, char *const *pk, size_t n, isol8_err *err)
{
	char *argv[] = {"apt-config", "shell", "SL", "Dir::Etc::sourcelist/f", "SP", "Dir::Etc::sourceparts/d",
			"ST", "Dir::State::status/f", "TP", "Dir::Etc::trustedparts/d", NULL};
	isol8_buf cfg = {0};
	if (command_stdout(argv, 65536, &cfg) < 0 || !cfg.len) {
		isol8_buf_free(&cfg);
		return isol8_input_error(err, "bash images need apt: `apt-config shell` failed on this host");
	}
	buf_append(&cfg, "", 1);
	char *sl = apt_path((char *)cfg.data, "SL"), *sp = apt_path((char *)cfg.data, "SP");
	char *st = apt_path((char *)cfg.data, "ST"), *tp = apt_path((char *)cfg.data, "TP");
	isol8_buf_free(&cfg);
	char **pats = NULL;
	size_t npats = 0;
	static const char *const sources[] = {".list", ".sources", NULL}, *const keys[] = {".gpg", ".asc", NULL};
	isol8_buf main = {0};
	int rc = sl ? copy_in(r, sl, APT_DIR "/sources.list", 1 << 20, &main, err) : 0;
	if (rc == 0 && main.data) {
		buf_append(&main, "", 1);
		apt_source_hosts((char *)main.data, &pats, &npats);
	}
	isol8_buf_free(&main);
	if (rc == 0)
		rc = copy_parts(r, sp, "sources.list.d", sources, &pats, &npats, err);
	if (rc == 0)
		rc = copy_parts(r, tp, "trusted.gpg.d", keys, NULL, NULL, err);
	if (rc == 0 && !st)
		rc = isol8_input_error(err, "bash images need apt: it names no dpkg status file");
	if (rc == 0)
		rc = copy_in(r, st, APT_DIR "/status", 32u << 20, NULL, err);
	if (rc == 0 && !npats)
		rc = isol8_input_error(err, "bash images need an http(s) source in the host's apt sources (%s, %s)",
				       sl ? sl : "sources.list", sp ? sp : "sources.list.d");
	if (rc == 0) {
		isol8_buf names = {0};
		for (size_t i = 0; i < n; i++) {
			buf_puts(&names, i ? " " : "");
			buf_puts(&names, pk[i]);
		}
		r->cmd = xasprintf(script_fmt, names.data ? (char *)names.data : "");
		isol8_buf_free(&names);
		rc = isol8_request_add_file(r, APT_DIR "/apt.conf", apt_conf, strlen(apt_conf), err);
		request_env_default(r, "APT_CONFIG", APT_DIR "/apt.conf");
		o->network = ISOL8_NET_FILTERED;
		for (size_t i = 0; i < npats; i++)
			isol8_strv_add(&o->net_allow, &o->nallow, pats[i]);
	}
	strv_clear(&pats, &npats);
	free(sl);
	free(sp);
	free(st);
	free(tp);
	return rc;
}
