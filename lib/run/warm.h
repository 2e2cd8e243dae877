/* warm.h — interpreters started ahead in pooled sandboxes (isol8-pool's "fast" strategy,
 * isol8-pool(1)). A warm driver is the sandbox's first payload, exec'd as the cold path would exec
 * the interpreter (same user, seccomp filter, limits, environment) but with a tiny driver
 * program instead of the user's code: it says ready on fd 4, then blocks on fd 3 until the
 * holder sends one run, which it executes as `python3 -c CODE` / `python3 FILE` /
 * `node -e CODE` / `node FILE` would, in the same process, and exits. Never used twice. */
#ifndef ISOL8_WARM_H
#define ISOL8_WARM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "sandbox/zygote.h"
#include "wire/request.h"

/* The runtimes that can be pre-started ("python", "node", "bash": bash only by its zygote). */
extern const char *const warm_runtimes[];
/* argv that starts runtime's driver in its sandbox (NULL-terminated), or NULL when it has none
 * (bash: its driver is the zygote's builtin). */
const char *const *warm_argv(const char *runtime);
/* Whether a run may use a pre-started interpreter instead of a cold exec: only when the
 * difference cannot show. argv/envp are the cold command (engine's build_command); base is the
 * environment the pooled interpreter was started with. Refused: a shell command, package
 * installs, another working directory, python files under /sandbox/.local (site reads those at
 * start-up), any variable the interpreter reads while starting (PYTHON*, NODE_*, LANG, LC_*,
 * TZ, …) or any base variable with another value, and an argv and environment execve would
 * refuse as too long. */
bool warm_fits(const isol8_request *r, char *const *argv, char *const *envp, char *const *base);
/* The environment pooled interpreters start with: the cold path's for no network, no secrets,
 * no request variables (freed with isol8_free_strv), and a digest of it, by which the pool and
 * its client check that they agree (they may see different ISOL8_RUNTIMES). */
char **warm_base_env(void);
uint64_t warm_env_digest(char *const *env);
/* Whether interp ("python3", "node" or "bash") reads variable kv ("K=V") while it starts, before
 * a driver could apply a run's value (PYTHON*, NODE_*, POSIXLY_CORRECT, LANG, LC_*, TZ, the
 * dynamic loader's LD_*, …). */
bool warm_read_at_startup(const char *interp, const char *kv);
/* Whether env (NULL-terminated, may be NULL) holds the entry kv exactly. */
bool env_has(char *const *env, const char *kv);
/* Sends the run to the driver on chan (the cold argv decides inline or file) and closes chan. */
int warm_send(int *chan, char *const *argv, char *const *envp, isol8_err *err);
/* A driver may say its program's exit code on the reply pipe ("E<0-255>\n") once nothing the
 * program does can show any more, before the interpreter's own teardown (node: ~6 ms); the run
 * then ends there. Returns 1 with *code, 0 when nothing has arrived yet, -1 when the pipe closed
 * or carried anything else (the program can write on it): then the init's status decides. */
int warm_read_exit(int reply, int *code);

/* Zygotes (sandbox/zygote.h): for python, the warm driver started once on the host, which forks
 * into each new sandbox instead of starting there; "python-session": one whose forks run the
 * session driver, with that driver's modules imported before the forks. Starts one for runtime with environment env
 * (warm_base_env: a fork's environment is the zygote's), talking on a private socket held in
 * *z; -1 with err when runtime has no zygote or it cannot start. It stops when z->sock closes,
 * and dies with its caller. */
bool warm_has_zygote(const char *runtime);
int warm_zygote_start(const char *runtime, char *const *env, isol8_zygote *z, isol8_err *err);
/* Ends it: closes its socket, kills and reaps it (its forks live on). */
void warm_zygote_stop(isol8_zygote *z);

#endif
