/* netlog.h — the filtering proxy's log of one sandbox (sandboxes/<id>.network.jsonl, or the
 * file isol8-proxy --log names): one JSON object per line,
 *   {"timestamp","method","host","path" (null for CONNECT),"action":"ALLOW"|"BLOCK",
 *    "reason"?,"durationMs"}
 * written by isol8-proxy, read back into a result's networkLogs. */
#ifndef ISOL8_STATE_NETLOG_H
#define ISOL8_STATE_NETLOG_H

#include <jv.h>
#include <stdint.h>

typedef struct netlog_entry {
	const char *method, *host;
	const char *path;    /* NULL: a CONNECT tunnel */
	const char *action;  /* "ALLOW" or "BLOCK" */
	const char *reason;  /* why it was blocked, or NULL */
	uint64_t duration_ms;
} netlog_entry;

/* Appends one line with one write(): on an O_APPEND file, lines of concurrent connections never
 * interleave. */
int netlog_append(int fd, const netlog_entry *e);
/* Every entry of the file, as an array; a line that is not a JSON object is skipped (the file
 * may end in a line cut by a kill). */
jv netlog_read(const char *path);

#endif
