/* request.h — an ExecutionRequest, its JSON form both ways, and its validation (the options
 * that go with it: options.h). Everything a caller can say about one execution is checked here, before
 * any sandbox exists, so bad input changes nothing. */
#ifndef ISOL8_REQUEST_H
#define ISOL8_REQUEST_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/sbpath.h"
#include "core/util.h"
#include "isol8.h"
#include "wire/options.h"

/* ["png"], ["svg"] or ["png","svg"] for ISOL8_FIGURE_* flags (0 is PNG): figureFormats. */
jv figure_formats_json(unsigned formats);
/* --figures: "png", "svg" or "png,svg" as ISOL8_FIGURE_* flags. */
int figure_formats_parse(const char *text, unsigned *out, isol8_err *err);





#endif
