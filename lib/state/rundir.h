/* rundir.h — the run dir's layout: every path under it is built here and nowhere else.
 *
 *   <run dir>/root/                        staging mount point of sandbox roots
 *   <run dir>/sandboxes/<id>.json          a sandbox's record (state/record.h)
 *   <run dir>/sandboxes/<id>.network.jsonl the filtering proxy's log of one sandbox
 *   <run dir>/sessions/<id>/{ctl.sock,meta.json}  one persistent session
 *   <run dir>/pool.sock                    isol8-pool's socket
 *   <run dir>/serve/{state,lock}           isol8-serve's shared counters
 *   <run dir>/.cleanup.lock                isol8-cleanup's lock
 *   <run dir>/mcp/<client>/               an MCP client's state (isol8-mcp: its unnamed
 *                                          sessions, its running calls, its HTTP session)
 *
 * docs/ARCHITECTURE.md says who writes and who reads each. Every function takes the run dir
 * (NULL: isol8_run_dir()) and returns a malloc'd path. */
#ifndef ISOL8_STATE_RUNDIR_H
#define ISOL8_STATE_RUNDIR_H

/* ISOL8_RUN_DIR, else /run/isol8 as root, else $XDG_RUNTIME_DIR/isol8 (/tmp/isol8 without it). */
const char *isol8_run_dir(void);

char *rundir_staging(const char *rd);
char *rundir_sandboxes(const char *rd);
char *rundir_sandbox_record(const char *rd, const char *id);
char *rundir_sandbox_netlog(const char *rd, const char *id);
char *rundir_sessions(const char *rd);
/* The files of a session's directory. */
#define ISOL8_SESSION_SOCKET "ctl.sock"
#define ISOL8_SESSION_META "meta.json"
/* sessions/<id>, or sessions/<id>/<file> when file is not NULL */
char *rundir_session(const char *rd, const char *id, const char *file);
char *rundir_pool_socket(const char *rd);
char *rundir_serve(const char *rd, const char *file);
char *rundir_cleanup_lock(const char *rd);
/* mcp, mcp/<client>, or mcp/<client>/<file> */
char *rundir_mcp(const char *rd, const char *client, const char *file);

#endif
