/* Secret masking: whole values, split writes at every offset, encodings, overlaps. */
#include <stdlib.h>

#include "mask.h"
#include "tap.h"

static char *feed_in_pieces(const char *const *secrets, size_t n, const char *text, size_t piece)
{
	isol8_masker m;
	isol8_buf out = {0};
	masker_init(&m, secrets, n);
	size_t len = strlen(text);
	for (size_t i = 0; i < len; i += piece)
		masker_feed(&m, (const unsigned char *)text + i, len - i < piece ? len - i : piece, &out);
	masker_flush(&m, &out);
	masker_free(&m);
	buf_append(&out, "", 0);
	return (char *)out.data;
}

int main(void)
{
	const char *s1[] = {"sk-1234567"};
	char *r = mask_string(s1, 1, "key=sk-1234567 again sk-1234567.", 32, NULL);
	is_str(r, "key=*** again ***.", "every occurrence is masked");
	free(r);

	int all = 1;
	for (size_t piece = 1; piece <= 12; piece++) {
		char *p = feed_in_pieces(s1, 1, "xx sk-1234567 yy sk-1234567", piece);
		all &= !strcmp(p, "xx *** yy ***");
		free(p);
	}
	ok(all, "a secret split across writes of 1..12 bytes is still masked");

	char *p = feed_in_pieces(s1, 1, "sk-123 is a prefix only", 1);
	is_str(p, "sk-123 is a prefix only", "a held-back prefix that never completes is emitted unchanged");
	free(p);

	const char *s2[] = {"abc", "abcdef"};
	p = feed_in_pieces(s2, 2, "abcdef abc abcdex", 1);
	is_str(p, "*** *** ***dex", "the longer secret wins when both could match, even byte by byte");
	free(p);

	const char *enc = "736b2d31323334353637 736B2D31323334353637 c2stMTIzNDU2Nw==";
	r = mask_string(s1, 1, enc, strlen(enc), NULL);
	is_str(r, "*** *** ***==", "hex (both cases) and base64 forms are masked");
	free(r);

	const char *tiny[] = {"ab"};
	r = mask_string(tiny, 1, "ab 6162", 7, NULL);
	is_str(r, "*** 6162", "encodings are not masked for secrets under 4 bytes");
	free(r);

	const char *none[] = {""};
	r = mask_string(none, 1, "nothing", 7, NULL);
	is_str(r, "nothing", "empty secrets mask nothing");
	free(r);

	const char *bin[] = {"s\xffq"};
	r = mask_string(bin, 1, "a s\xffq b", 7, NULL);
	is_str(r, "a *** b", "non-UTF-8 bytes are handled");
	free(r);
	return done_testing();
}
