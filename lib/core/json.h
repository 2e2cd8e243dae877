/* json.h — thin helpers over libjq's jv values (refcounted; every jv passed in is consumed
 * unless the helper says "borrows"). */
#ifndef ISOL8_JSON_H
#define ISOL8_JSON_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/util.h"

/* Parses a whole document; on error fills err with "<what>: <parser message>". */
int json_parse(const char *text, size_t len, const char *what, jv *out, isol8_err *err);
/* Borrows obj; returns a copy of obj[key] (jv_invalid() when absent or obj is not an object). */
jv json_get(jv obj, const char *key);
/* Borrows obj: true when obj[key] is JSON true. */
bool json_get_bool(jv obj, const char *key);
/* Borrows v; writes compact JSON followed by '\n' to fd. */
int json_write_line(int fd, jv v);
/* Reads and parses one line of f (JSON lines); jv_invalid() at EOF or on a malformed line. */
jv json_read_line(FILE *f);
/* Borrows v; returns malloc'd text. flags as jv_dump_string. */
char *json_dump(jv v, int flags);
/* A jv string for arbitrary bytes: valid UTF-8 is kept as is; anything else is base64 and
 * *is_b64 is set (so binary output survives JSON). */
jv json_bytes(const unsigned char *p, size_t n, bool *is_b64);
const char *json_kind_name(jv_kind k);
/* 0 when v is of kind k (JV_KIND_TRUE: either boolean); otherwise -1 with "<field> must be a
 * <kind>, not a <kind>" in err. */
int json_expect(jv v, jv_kind k, const char *field, isol8_err *err);
/* True for a JSON string holding a NUL byte, which as a C string would be silently cut there:
 * paths and ids with one are refused, never cut. */
bool json_string_has_nul(jv s);
/* Borrow obj: obj[key] copied into out when it is a string that fits (and holds no NUL byte),
 * a number in [min, max] into *out; false, and out untouched, otherwise. */
bool json_get_str(jv obj, const char *key, char *out, size_t n);
bool json_get_num(jv obj, const char *key, double min, double max, double *out);
/* Borrow arr: arr[i] into out when it is a string that fits (and holds no NUL byte), else ""
 * (and false): a database row's column. */
bool json_array_str(jv arr, int i, char *out, size_t n);
/* An object of strings into a key/value list (consumes v), at most max entries in all. */
int json_string_map(jv v, const char *field, isol8_kv **out, size_t *n, size_t max, isol8_err *err);

#endif
