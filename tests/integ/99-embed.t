#!/usr/bin/env bash
# 99-embed.t — the library as an embedding program gets it: the one installed header
# (lib/isol8.h) on its own, and the installed archive, in which only isol8_* names are global.
# A program that defines functions with the names of the library's own helpers (write_all,
# buf_append, json_get, config_num, parse_size, mkdir_p) links against it and runs code in a
# sandbox; against the internal archive the same program does not link (the names collide).
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$TESTS/.." && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LIBS="-ljq -lseccomp -lpcre2-8 -lm"

# what `make install` puts in include/: the header alone, nothing it could lean on
mkdir -p "$WORK/include"
cp "$SRC/lib/isol8.h" "$WORK/include/"
cat >"$WORK/embed.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isol8.h>

/* the embedding program's own helpers, named as libisol8util's internal ones are */
static int mine;
int write_all(const char *s) { mine++; return (int)strlen(s); }
int buf_append(int a, int b) { mine++; return a + b; }
const char *json_get(void) { mine++; return "mine"; }
double config_num(void) { mine++; return 1.5; }
int parse_size(const char *s) { mine++; return atoi(s); }
int mkdir_p(void) { mine++; return 7; }

int main(void)
{
	isol8_config cfg;
	isol8_options opt;
	isol8_request req;
	isol8_result res;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0 || isol8_options_from_config(&opt, &cfg, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), 2;
	isol8_request_init(&req);
	req.runtime = strdup("python");
	req.code = strdup("print(6 * 7)");
	isol8_kv_add(&req.env, &req.nenv, "WHO", "embedder");
	if (isol8_request_validate(&req, &opt, &err) < 0 || isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), 3;
	int own = write_all("abc") + buf_append(1, 2) + (int)strlen(json_get()) + (int)config_num() + parse_size("4") +
		  mkdir_p();
	printf("%s|%d|%d|%d\n", (char *)res.out.data, res.exit_code, own, mine);
	isol8_result_free(&res);
	isol8_request_free(&req);
	isol8_options_free(&opt);
	isol8_config_free(&cfg);
	return 0;
}
C

# shellcheck disable=SC2086
capture cc -std=c11 -D_GNU_SOURCE ${ISOL8_SAN:-} -I"$WORK/include" "$WORK/embed.c" -o "$WORK/embed" "$BUILD/dist/libisol8util.a" $LIBS
is "$RC" 0 "isol8.h alone compiles, and the installed archive links with a program using the helpers' names"
[ "$RC" = 0 ] || diag "$ERR"
capture "$WORK/embed"
is "$RC" 0 "the embedding program runs"
is "$OUT" "42
|0|22|6" "its code ran in a sandbox (42, exit 0) and its own helpers were the ones called"

# shellcheck disable=SC2086
capture cc -std=c11 -D_GNU_SOURCE ${ISOL8_SAN:-} -I"$WORK/include" "$WORK/embed.c" -o "$WORK/embed-internal" "$BUILD/libisol8util.a" $LIBS
ok $([ "$RC" != 0 ] && echo 0 || echo 1) "against the internal archive the same program does not link"
like "$ERR" "multiple definition of .(write_all|buf_append|json_get|config_num|parse_size|mkdir_p)" "…because the helpers' names collide"

# a built image by name, through the library: isol8_request_resolve does what isol8 run does
export ISOL8_IMAGE_DIR="$WORK/images"
"$ISOL8" build --base bash --setup 'echo from-image >/sandbox/m' --tag emb >/dev/null 2>&1
cat >"$WORK/image.c" <<'C'
#include <stdio.h>
#include <string.h>

#include <isol8.h>

static int run(const char *image, isol8_config *cfg)
{
	isol8_options opt;
	isol8_request req;
	isol8_result res;
	isol8_err err = {0};
	isol8_options_from_config(&opt, cfg, &err);
	opt.image = strdup(image);
	isol8_request_init(&req);
	req.runtime = strdup("bash");
	req.code = strdup("cat /sandbox/m");
	int rc = isol8_request_resolve(&req, &opt, cfg, false, &err) < 0 || isol8_request_validate(&req, &opt, &err) < 0 ||
		 isol8_execute(&req, &opt, NULL, NULL, -1, &res, &err) < 0;
	if (rc) {
		printf("error: %s\n", err.msg);
	} else {
		printf("%s", res.out.data ? (char *)res.out.data : "");
		isol8_audit_who who = {.source = "library", .client = "embed-test"};
		if (isol8_audit_execution(cfg, &req, &opt, &res, &who, &err) < 0)
			printf("audit: %s\n", err.msg);
		isol8_result_free(&res);
	}
	isol8_request_free(&req);
	isol8_options_free(&opt);
	return rc;
}

int main(void)
{
	isol8_config cfg;
	isol8_err err = {0};
	if (isol8_config_load(&cfg, &err) < 0)
		return 2;
	int rc = run("emb", &cfg) + run("no-such-image", &cfg);
	isol8_config_free(&cfg);
	return rc;
}
C
# shellcheck disable=SC2086
capture cc -std=c11 -D_GNU_SOURCE ${ISOL8_SAN:-} -I"$WORK/include" "$WORK/image.c" -o "$WORK/image" "$BUILD/dist/libisol8util.a" $LIBS
is "$RC" 0 "a program resolving built images compiles against the installed archive"
printf '{"audit": {"enabled": true, "logDir": "%s"}}\n' "$WORK/audit" >"$ISOL8_CONFIG"
capture "$WORK/image"
is "$(jq -r '[.source, .client, .runtime] | join(" ")' "$WORK/audit/executions.log")" "library embed-test bash" \
	"isol8_audit_execution: a program's execution in the audit log, as the config says"
echo '{}' >"$ISOL8_CONFIG"
like "$OUT" "^from-image" "isol8_request_resolve: the image named in the options, its setup script run before the code"
like "$OUT" "error: --image: \"no-such-image\" is neither a directory nor an image" "…an unknown one is an error the program gets"
unset ISOL8_IMAGE_DIR

globals=$(nm -g --defined-only "$BUILD/dist/libisol8util.a" | awk 'NF == 3 { print $3 }' | sort -u)
declared=$(grep -oE '\bisol8_[a-z0-9_]+ *\(' "$SRC/lib/isol8.h" | tr -d ' (' | sort -u)
is "$globals" "$declared" "the installed archive exports exactly the functions isol8.h declares"
unlike "$(grep -oE '^[a-z_0-9 *]+\b[a-z][a-z_0-9]*\(' "$SRC/lib/isol8.h" | grep -vE '\bisol8_' || true)" "." "every function isol8.h declares is isol8_-prefixed"

finish
