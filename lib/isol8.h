/* isol8.h — the public C API of libisol8util: embed the engine without any executable.
 *
 *   isol8_config cfg;  isol8_options opt;  isol8_request req;  isol8_result res;  isol8_err err;
 *   config_load(&cfg, &err);  options_from_config(&opt, &cfg, &err);
 *   request_init(&req);  req.runtime = strdup("python");  req.code = strdup("print(2 ** 10)");
 *   request_validate(&req, &opt, &err);
 *   isol8_execute(&req, &opt, on_event, ctx, -1, &res, &err);   // events as they happen
 *   jv j = isol8_result_json(&res);                               // ExecutionResult
 */
#ifndef ISOL8_H
#define ISOL8_H

#define ISOL8_VERSION "0.1.0"

#include "core/config.h"
#include "run/engine.h"
#include "core/err.h"
#include "wire/request.h"
#include "core/runtime.h"
#include "sandbox/sandbox.h"

#endif
