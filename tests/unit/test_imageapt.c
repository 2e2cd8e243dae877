/* test_imageapt.c — a bash image's build opens only the hosts the host's apt sources name: both
 * source formats, options in brackets, comments, schemes apt cannot fetch through the proxy. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "run/imageapt.h"
#include "tap.h"

static char *hosts(const char *text)
{
	char **p = NULL;
	size_t n = 0;
	apt_source_hosts(text, &p, &n);
	isol8_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, i ? " " : "");
		buf_puts(&b, p[i]);
	}
	strv_clear(&p, &n);
	return b.data ? (char *)b.data : xstrdup("");
}

static void check(const char *text, const char *want, const char *what)
{
	char *got = hosts(text);
	ok(!strcmp(got, want), "%s: got \"%s\"", what, got);
	free(got);
}

int main(void)
{
	check("deb http://deb.debian.org/debian bookworm main\n", "^deb\\.debian\\.org$", "one-line source");
	check("deb [trusted=yes arch=amd64] https://mirror.example:8443/debian ./\n", "^mirror\\.example$",
	      "options in brackets, a port");
	check("deb [signed-by=/k.gpg]http://a.example/ x\n", "^a\\.example$", "options glued to the URI");
	check("# deb http://commented.example/ x\ndeb-src http://src.example/ x # trailing\n", "^src\\.example$",
	      "comments skipped, deb-src counted");
	check("Types: deb\nURIs: http://deb.debian.org/debian http://deb.debian.org/debian-security\n"
	      "Suites: bookworm\n\nTypes: deb\nuris: https://b.example/x\n",
	      "^deb\\.debian\\.org$ ^b\\.example$", "deb822: every URI of every stanza, deduplicated");
	check("deb file:/srv/repo ./\ndeb cdrom:[Debian]/ bookworm main\nURIs: mirror+file:/etc/m\n", "",
	      "file:, cdrom: and mirror+ sources open no host");
	check("deb\ndeb [broken\n", "", "a truncated line opens nothing");
	return done_testing();
}
