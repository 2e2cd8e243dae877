/* test_figures.c — what isol8 itself reads of the figures a sandboxed program saved: the PNG
 * header parser (a PNG's size comes from its own IHDR, never from the program), the SVG check,
 * the records of a directory take (wire/dirtake.h), and the font cache's file names. Each
 * reader is also fed what a hostile program would write. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/imagehdr.h"
#include "core/util.h"
#include "state/fontcache.h"
#include "tap.h"
#include "wire/dirtake.h"

/* A whole 3x2 PNG (signature, IHDR, IDAT, IEND). */
static const unsigned char png3x2[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
	0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00, 0x00, 0x00,
	0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xc0, 0x04, 0x00, 0x00, 0x14, 0x00, 0x01, 0x7d, 0xfe,
	0x1e, 0xee, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static uint32_t crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* png3x2 with its IHDR width and height replaced and its CRC made right again: what a program
 * that lies about its size would write. */
static void with_size(unsigned char *out, uint32_t w, uint32_t h)
{
	memcpy(out, png3x2, sizeof png3x2);
	put32(out + 16, w);
	put32(out + 20, h);
	put32(out + 29, crc(out + 12, 17));
}

static void test_png(void)
{
	int w = 0, h = 0;
	ok(png_size(png3x2, sizeof png3x2, &w, &h) == 0 && w == 3 && h == 2, "a whole PNG: 3x2, from its IHDR");
	unsigned char b[sizeof png3x2];
	with_size(b, 100000, 100000);
	ok(png_size(b, sizeof b, &w, &h) == 0 && w == 100000 && h == 100000,
	   "a huge claimed size is read as it is (the pixel cap judges it)");
	with_size(b, 0, 2);
	ok(png_size(b, sizeof b, &w, &h) < 0, "width 0 refused");
	with_size(b, 0x80000000u, 2);
	ok(png_size(b, sizeof b, &w, &h) < 0, "width over 2^31-1 refused");
	memcpy(b, png3x2, sizeof b);
	b[17] ^= 1; /* the size changed, the CRC not */
	ok(png_size(b, sizeof b, &w, &h) < 0, "an IHDR whose CRC does not match is refused");
	memcpy(b, png3x2, sizeof b);
	b[0] = 0x88;
	ok(png_size(b, sizeof b, &w, &h) < 0, "a wrong signature is refused");
	memcpy(b, png3x2, sizeof b);
	b[24] = 7; /* bit depth 7 */
	put32(b + 29, crc(b + 12, 17));
	ok(png_size(b, sizeof b, &w, &h) < 0, "a bit depth PNG does not have is refused");
	ok(png_size(png3x2, sizeof png3x2 - 1, &w, &h) < 0, "a PNG cut short (no whole IEND) is refused");
	ok(png_size(png3x2, 20, &w, &h) < 0 && png_size(png3x2, 0, &w, &h) < 0, "a few bytes, or none, are refused");
	unsigned char junk[64] = "\x89PNG\r\n\x1a\n";
	ok(png_size(junk, sizeof junk, &w, &h) < 0, "a signature and zeros are refused");
}

static int svg(const char *text, int dpi, int *w, int *h)
{
	return svg_size((const unsigned char *)text, strlen(text), dpi, w, h);
}

static void test_svg(void)
{
	int w = 0, h = 0;
	const char *mpl = "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"no\"?>\n"
			  "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\"\n  \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
			  "<svg xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"460.8pt\" height=\"345.6pt\" "
			  "viewBox=\"0 0 460.8 345.6\" xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\">\n</svg>\n";
	ok(svg(mpl, 100, &w, &h) == 0 && w == 640 && h == 480, "matplotlib's SVG at 100 dpi: 640x480 (%dx%d)", w, h);
	ok(svg(mpl, 50, &w, &h) == 0 && w == 320 && h == 240, "…at 50 dpi: 320x240");
	ok(svg("\xef\xbb\xbf  <svg width='10px' height=\"20\">", 100, &w, &h) == 0 && w == 10 && h == 20,
	   "a BOM and spaces before <svg; px and plain numbers are pixels");
	ok(svg("<svg width=\"1in\" height=\"2.54cm\">", 72, &w, &h) == 0 && w == 72 && h == 72, "in and cm at the dpi");
	ok(svg("<svg width=\"100%\" height=\"100%\">", 100, &w, &h) < 0, "a percentage states no size: refused");
	ok(svg("<svg height=\"20\">", 100, &w, &h) < 0, "no width: refused");
	ok(svg("<svg width=\"1e9\" height=\"2\">", 100, &w, &h) < 0, "over a million pixels wide: refused");
	ok(svg("<svg width=\"nan\" height=\"2\">", 100, &w, &h) < 0, "nan: refused");
	ok(svg("<html><svg width=\"1\" height=\"1\">", 100, &w, &h) < 0, "not starting like an SVG: refused");
	ok(svg("<svg width=\"1\" height=\"1\"", 100, &w, &h) < 0, "a root tag never closed: refused");
	ok(svg("<svg xwidth=\"5\" width=\"6\" height=\"7\">", 100, &w, &h) == 0 && w == 6 && h == 7,
	   "an attribute that only ends in width is not the width");
	ok(svg(mpl, 0, &w, &h) < 0 && svg(mpl, 9601, &w, &h) < 0, "a dpi out of range is refused");
	ok(svg_looks_like((const unsigned char *)"<?xml", 5) && svg_looks_like((const unsigned char *)" <svg", 5) &&
		   !svg_looks_like((const unsigned char *)"<svx", 4) && !svg_looks_like((const unsigned char *)"", 0),
	   "svg_looks_like");
	const unsigned char nul[] = "<svg width=\"1\"\0 height=\"1\">";
	ok(svg_size(nul, sizeof nul - 1, 100, &w, &h) < 0, "a NUL inside the root tag is refused");
}

static void test_dirtake(void)
{
	isol8_buf b = {0};
	dirtake_put(&b, DIRTAKE_DATA, "000001.png", 3, "abc");
	dirtake_put(&b, DIRTAKE_NOT_REGULAR, "000002.png", 0, NULL);
	dirtake_put(&b, DIRTAKE_OVER_BYTES, "000003.png", 1ull << 40, NULL);
	dirtake_rec r;
	size_t off = 0;
	ok(dirtake_next(b.data, b.len, &off, &r) == 1 && r.kind == DIRTAKE_DATA && !strcmp(r.name, "000001.png") &&
		   r.size == 3 && !memcmp(r.data, "abc", 3),
	   "a data record reads back");
	ok(dirtake_next(b.data, b.len, &off, &r) == 1 && r.kind == DIRTAKE_NOT_REGULAR && !r.data, "a refused entry");
	ok(dirtake_next(b.data, b.len, &off, &r) == 1 && r.kind == DIRTAKE_OVER_BYTES && r.size == 1ull << 40 && !r.data,
	   "an entry over the budget keeps its size, not its bytes");
	ok(dirtake_next(b.data, b.len, &off, &r) == 0, "then the end");
	off = 0;
	/* the first record is 2 + 10 + 8 + 3 bytes */
	ok(dirtake_next(b.data, 22, &off, &r) == -1 && off == 0 && dirtake_next(b.data, 15, &off, &r) == -1,
	   "a record that runs past the buffer is refused (content or header cut)");
	unsigned char bad[] = {'D', 3, 'a', '/', 'b', 0, 0, 0, 0, 0, 0, 0, 0};
	off = 0;
	ok(dirtake_next(bad, sizeof bad, &off, &r) == -1, "a name with a slash is refused");
	unsigned char big[] = {'D', 1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	off = 0;
	ok(dirtake_next(big, sizeof big, &off, &r) == -1, "a size beyond the buffer is refused");
	unsigned char kind[] = {'Z', 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0};
	off = 0;
	ok(dirtake_next(kind, sizeof kind, &off, &r) == -1, "an unknown kind is refused");
	isol8_buf_free(&b);
}

static void test_fontcache_names(void)
{
	ok(fontcache_name_ok("fontlist-v330.json") && fontcache_name_ok("fontlist-v3.json"), "cache names");
	ok(!fontcache_name_ok("fontlist-v.json") && !fontcache_name_ok("fontlist-v330.json.tmp") &&
		   !fontcache_name_ok("../fontlist-v330.json") && !fontcache_name_ok("fontlist-v3a0.json") &&
		   !fontcache_name_ok("fontlist-v1234567.json"),
	   "anything else is not a cache");
}

int main(void)
{
	test_png();
	test_svg();
	test_dirtake();
	test_fontcache_names();
	return done_testing();
}
