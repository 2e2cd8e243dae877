/* imagehdr.c — see imagehdr.h. */
#include "core/imagehdr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SVG_SCAN (64u << 10)
#define SVG_MAX_PIXELS 1000000

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The CRC-32 of PNG chunks (ISO 3309), bit by bit: it runs over 17 bytes per image. */
static uint32_t crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

/* The colour type and bit depth pairs the PNG specification allows. */
static bool png_depth_ok(unsigned type, unsigned depth)
{
	switch (type) {
	case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
	case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
	case 2: case 4: case 6: return depth == 8 || depth == 16;
	default: return false;
	}
}

int png_size(const unsigned char *d, size_t len, int *width, int *height)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
	/* signature, IHDR (length, type, 13 bytes, CRC), then at least the IEND chunk */
	if (len < 8 + 25 + 12 || memcmp(d, sig, 8) || be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) ||
	    memcmp(d + len - 12, iend, 12))
		return -1;
	const unsigned char *h = d + 16;
	uint32_t w = be32(h), ht = be32(h + 4);
	if (w == 0 || ht == 0 || w > INT32_MAX || ht > INT32_MAX || !png_depth_ok(h[9], h[8]) || h[10] || h[11] ||
	    h[12] > 1 || crc32_png(d + 12, 17) != be32(d + 29))
		return -1;
	*width = (int)w;
	*height = (int)ht;
	return 0;
}

/* Skips a UTF-8 byte order mark and XML whitespace. */
static size_t svg_start(const unsigned char *d, size_t len)
{
	size_t i = len >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf ? 3 : 0;
	while (i < len && strchr(" \t\r\n", d[i]) && d[i])
		i++;
	return i;
}

bool svg_looks_like(const unsigned char *d, size_t len)
{
	size_t i = svg_start(d, len);
	return (len - i >= 5 && !memcmp(d + i, "<?xml", 5)) || (len - i >= 4 && !memcmp(d + i, "<svg", 4));
}

/* The value of attribute name in the NUL-terminated tag, as a number of pixels at dpi. */
static double svg_length(const char *tag, const char *name, int dpi)
{
	static const struct {
		const char *unit;
		double per_inch; /* units per inch; 0: pixels as they are */
	} units[] = {{"pt", 72}, {"px", 0}, {"in", 1}, {"cm", 2.54}, {"mm", 25.4}, {"", 0}};
	size_t n = strlen(name);
	for (const char *p = strstr(tag, name); p; p = strstr(p + 1, name)) {
		if (!strchr(" \t\r\n", p[-1]) || p[n] != '=' || (p[n + 1] != '"' && p[n + 1] != '\''))
			continue;
		char *end;
		double v = strtod(p + n + 2, &end);
		for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
			size_t ul = strlen(units[u].unit);
			if (!strncmp(end, units[u].unit, ul) && end[ul] == p[n + 1])
				return units[u].per_inch ? v * dpi / units[u].per_inch : v;
		}
		return -1; /* a percentage, em, or anything else: no size in pixels */
	}
	return -1;
}

int svg_size(const unsigned char *d, size_t len, int dpi, int *width, int *height)
{
	if (!svg_looks_like(d, len) || dpi < 1 || dpi > 9600)
		return -1;
	size_t scan = len < SVG_SCAN ? len : SVG_SCAN;
	const unsigned char *tag = NULL;
	for (size_t i = 0; i + 5 <= scan && !tag; i++)
		if (!memcmp(d + i, "<svg", 4) && strchr(" \t\r\n", d[i + 4]) && d[i + 4])
			tag = d + i;
	const unsigned char *end = tag ? memchr(tag, '>', scan - (size_t)(tag - d)) : NULL;
	if (!end || end - tag > 4096)
		return -1;
	char t[4100];
	memcpy(t, tag, (size_t)(end - tag));
	t[end - tag] = 0;
	if (strlen(t) != (size_t)(end - tag))
		return -1; /* a NUL inside the tag */
	double w = svg_length(t, "width", dpi), h = svg_length(t, "height", dpi);
	if (!(w >= 0.5 && w < SVG_MAX_PIXELS + 0.5 && h >= 0.5 && h < SVG_MAX_PIXELS + 0.5))
		return -1;
	*width = (int)lround(w);
	*height = (int)lround(h);
	return 0;
}
