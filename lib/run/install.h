/* install.h — installing a request's packages in its sandbox before the code runs. */
#ifndef ISOL8_RUN_INSTALL_H
#define ISOL8_RUN_INSTALL_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/sandbox.h"
#include "wire/request.h"

/* Applies --install's network rules: filtered unless the network was chosen explicitly, and
 * the runtime's registry hosts (from the host's npm/pip configuration) added to the whitelist;
 * every package name checked first. */
int request_prepare_install(isol8_request *r, isol8_options *o, bool network_explicit, isol8_err *err);
/* The host part of a URL, as an anchored, escaped pattern ("^registry\\.npmjs\\.org$"), or NULL
 * when it has none. */
char *url_host_pattern(const char *url);
/* Sets key in the code's environment unless the request sets it. deno files its npm cache under
 * the registry's host name: the code reads it back with the registry the install used. */
void request_env_default(isol8_request *r, const char *key, const char *value);
/* "Invalid package name: …" unless it matches ^[@a-zA-Z0-9_./\-=]+$. */
int validate_package_name(const char *name, isol8_err *err);
/* Runs the runtime's package manager for req->install in sb, until deadline (monotonic ns).
 * 0 when it succeeded; otherwise -1 with the reference's "Package install failed (exit code
 * N): <stderr>" or a sandbox fault in err. */
int install_run(isol8_sandbox *sb, const isol8_request *req, const isol8_options *o, uint64_t deadline,
		isol8_err *err);

#endif
