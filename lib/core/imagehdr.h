/* imagehdr.h — what isol8 itself reads of an image a sandboxed program made (a figure), never
 * trusting what the program says of it. A PNG's size comes from its own IHDR chunk, checked
 * byte by byte (signature, chunk length and type, CRC, field ranges) and the file must end with
 * an IEND chunk (a file cut short is refused); an SVG must begin like one and its root element
 * must state its size. Bounded: neither reads past len, nor more than the first 64 KiB of an
 * SVG. */
#ifndef ISOL8_CORE_IMAGEHDR_H
#define ISOL8_CORE_IMAGEHDR_H

#include <stdbool.h>
#include <stddef.h>

/* 0 with the PNG's width and height (1 .. 2^31-1 each), -1 when data is not a whole PNG. */
int png_size(const unsigned char *data, size_t len, int *width, int *height);
/* Whether data starts (after a UTF-8 BOM and whitespace) with "<?xml" or "<svg". */
bool svg_looks_like(const unsigned char *data, size_t len);
/* 0 with the SVG's size in pixels at dpi (its root element's width and height: pt, px, in, cm,
 * mm or plain numbers, 1 .. 1000000 pixels each), -1 when it is not an SVG that states one. */
int svg_size(const unsigned char *data, size_t len, int dpi, int *width, int *height);

#endif
