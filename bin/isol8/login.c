/* login.c — `isol8 login` and `isol8 logout`: a database key from a server's POST /auth/login,
 * kept in ~/.isol8/credentials.json for the commands that take --host (run/credentials.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/json.h"
#include "core/util.h"
#include "login.h"
#include "run/credentials.h"
#include "run/remote.h"

static const char login_usage[] =
	"Usage: isol8 login --host URL --key MASTER_KEY [--name NAME] [--ttl MS]\n"
	"       isol8 logout\n"
	"\n"
	"login asks the server for a key of its own (POST /auth/login, with a master key; the server\n"
	"needs keys in a database: isol8-serve --auth-db) and stores it in ~/.isol8/credentials.json\n"
	"(mode 0600); --host commands then use it for that host until it expires. logout removes the\n"
	"file (the key stays valid on the server until it expires or is revoked).\n";

int cmd_login(int argc, char **argv)
{
	static const struct option lo[] = {{"host", required_argument, 0, 'H'}, {"key", required_argument, 0, 'k'},
					   {"name", required_argument, 0, 'n'}, {"ttl", required_argument, 0, 't'},
					   {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *host = NULL, *master = NULL, *name = NULL;
	long long ttl = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", lo, NULL)) != -1) {
		if (c == 'H')
			host = optarg;
		else if (c == 'k')
			master = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 't') {
			if (parse_ll(optarg, 1, 10000000000000ll, &ttl) < 0)
				isol8_die("--ttl must be a number of milliseconds, got \"%s\"", optarg);
		} else if (c == 'h') {
			fputs(login_usage, stdout);
			return 0;
		} else {
			isol8_die("unknown option (see isol8 login --help)");
		}
	}
	if (optind < argc)
		isol8_die("unexpected argument \"%s\" (see isol8 login --help)", argv[optind]);
	if (!host)
		isol8_die("login needs --host URL (the isol8-serve to log in to)");
	char *key = master && *master ? xstrdup(master) : getenv("ISOL8_API_KEY") ? xstrdup(getenv("ISOL8_API_KEY")) : NULL;
	if (!key || !*key)
		isol8_die("login needs --key MASTER_KEY (or ISOL8_API_KEY): a key the server was started with");
	char now[32], *dflt = NULL;
	iso8601_now(now);
	if (!name)
		name = dflt = xasprintf("cli-login-%s", now);
	jv out;
	long status;
	isol8_err err = {0};
	int rc = isol8_remote_login(host, key, name, ttl, &out, &status, &err);
	explicit_bzero(key, strlen(key));
	free(key);
	free(dflt);
	if (rc < 0) {
		jv_free(out);
		fprintf(stderr, "[ERR] %s\n", err.msg);
		if (status == 400)
			fprintf(stderr, "[WARN] The server may not have DB-backed auth enabled (isol8-serve --auth-db).\n");
		return 1;
	}
	jv t = json_get(out, "token"), e = json_get(out, "expiresAt"), id = json_get(out, "keyId");
	rc = credentials_save(host, jv_string_value(t), jv_string_value(e), jv_string_value(id), &err);
	if (rc == 0) {
		printf("[OK] Logged in\n  Host:    %s\n  Expires: %s\n  Stored:  ~/.isol8/credentials.json\n", host,
		       jv_string_value(e));
	} else {
		fprintf(stderr, "[ERR] %s\n", err.msg);
	}
	jv_free(t);
	jv_free(e);
	jv_free(id);
	jv_free(out);
	return rc < 0;
}

int cmd_logout(int argc, char **argv)
{
	if (argc > 1)
		isol8_die("logout takes no arguments");
	isol8_err err = {0};
	int r = credentials_remove(&err);
	if (r < 0)
		isol8_die("%s", err.msg);
	puts(r ? "[OK] Credentials removed from ~/.isol8/credentials.json" : "[INFO] No stored credentials found.");
	return 0;
}
