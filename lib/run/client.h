/* client.h — the engines of the public API (isol8.h): local (this machine, through
 * isol8_execute or an in-process session) and remote (run/remote.c). */
#ifndef ISOL8_CLIENT_H
#define ISOL8_CLIENT_H

#include <jv.h>

#include "isol8.h"
#include "run/engine.h"
#include "wire/request.h"

#endif
