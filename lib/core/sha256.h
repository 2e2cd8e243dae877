/* sha256.h — SHA-256 (FIPS 180-4), for the audit log's codeHash without linking a crypto
 * library into every tool. */
#ifndef ISOL8_CORE_SHA256_H
#define ISOL8_CORE_SHA256_H

#include <stddef.h>

void sha256(const void *data, size_t len, unsigned char out[32]);
/* …as 64 lowercase hex digits. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
