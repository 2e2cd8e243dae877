/* credentials.h — ~/.isol8/credentials.json, what `isol8 login` stores: {host, token, expiresAt,
 * keyId}, mode 0600 (the token is a key). The one module that writes and reads it. */
#ifndef ISOL8_RUN_CREDENTIALS_H
#define ISOL8_RUN_CREDENTIALS_H

#include <stdbool.h>

#include "core/err.h"

/* The file's path (malloc'd): $HOME/.isol8/credentials.json. */
char *credentials_path(void);
/* Writes the file atomically, 0600 (its directory 0700). */
int credentials_save(const char *host, const char *token, const char *expires_at, const char *key_id, isol8_err *err);
/* 1 removed, 0 there was none, -1 err. */
int credentials_remove(isol8_err *err);
/* The reference's key resolution for host: flag, else $ISOL8_API_KEY, else the stored token when
 * its host is host (one trailing '/' ignored on both) and it has not expired — an expired one
 * is named in a warning on stderr. NULL when there is none (malloc'd otherwise). */
char *credentials_key_for(const char *flag, const char *host);

#endif
