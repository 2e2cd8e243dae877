/* dirtake.h — the content of a ctl "take" reply (wire/ctl.h): what the init's file helper found
 * in one directory of the sandbox, as a sequence of records
 *     kind(1) namelen(1) name(namelen) size(u64, little-endian) data(size bytes, kind 'D' only)
 * in name order. The helper writes it (lib/sandbox/fileops.c); the engine reads it (the figures
 * a python run saved, lib/run/figures.c). The reader trusts nothing it is given: the names and
 * contents are the program's, and a record that does not fit the rest of the buffer ends it. */
#ifndef ISOL8_WIRE_DIRTAKE_H
#define ISOL8_WIRE_DIRTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

typedef enum {
	DIRTAKE_DATA = 'D',        /* a regular file: its content follows */
	DIRTAKE_OVER_BYTES = 'B',  /* a regular file left unread: the byte budget was spent (size: its size) */
	DIRTAKE_OVER_COUNT = 'C',  /* a regular file left unread: the file count was reached */
	DIRTAKE_NOT_REGULAR = 'N', /* a symlink, directory, FIFO, socket or device: never read */
	DIRTAKE_UNREADABLE = 'E',  /* a regular file that could not be read */
} dirtake_kind;

#define DIRTAKE_MAX_ENTRIES 4096 /* entries of one directory reported; the rest are ignored */
#define DIRTAKE_HEADER_MAX (1 + 1 + 255 + 8)

typedef struct dirtake_rec {
	dirtake_kind kind;
	char name[256];
	uint64_t size;
	const unsigned char *data; /* DIRTAKE_DATA: size bytes inside the buffer read; else NULL */
} dirtake_rec;

/* Appends one record (names longer than 255 bytes are cut: they never match what is wanted). */
void dirtake_put(isol8_buf *b, dirtake_kind kind, const char *name, uint64_t size, const void *data);
/* The record at *off of buf[0..len): 1 with *r filled and *off moved past it, 0 at the end,
 * -1 for a record that is malformed or runs past len (then nothing after it is believed). */
int dirtake_next(const unsigned char *buf, size_t len, size_t *off, dirtake_rec *r);

#endif
