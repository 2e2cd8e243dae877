/* result.h — an ExecutionResult: what one run produced, and its JSON form both ways (the
 * reference's fields plus status, signal, resourceUsage, warm, files, networkLogs, and a python
 * run's figures: outputs [{type, data (base64), width, height}] and outputsNote). The engine
 * and sessions fill one, isol8-serve and the CLI print it, the remote client reads it back. */
#ifndef ISOL8_WIRE_RESULT_H
#define ISOL8_WIRE_RESULT_H

#include <jv.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/util.h"
#include "isol8.h"

/* Right-trims ASCII whitespace in place. */
void rtrim_buf(isol8_buf *b);
/* The result's resourceUsage object ({cpuMs, cpuPercent, peakMemoryBytes, memoryMB, peakMemoryMB}). */
jv result_resource_usage(const isol8_result *res);
/* "SIGKILL" for 9; "SIG?" for a number it does not know. */
const char *signal_name(int sig);

#endif
