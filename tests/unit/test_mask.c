/* Secret masking: whole values, split writes at every offset, encodings (hex, base64 and base64url
 * at every alignment, URL-encoding), overlaps, no false positives. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "run/mask.h"
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

/* The characters of base64(prefix + secret + suffix) that carry at least one bit of the secret:
 * [first, last). This is the rule the masker implements, derived here from the bit positions. */
static void secret_chars(size_t prefix, size_t slen, size_t *first, size_t *last)
{
	*first = 8 * prefix / 6;
	*last = (8 * (prefix + slen) + 5) / 6;
}

static char *encode(const char *raw, size_t n, bool url, bool pad)
{
	size_t el;
	char *e = base64_encode((const unsigned char *)raw, n, &el);
	for (size_t i = 0; url && i < el; i++)
		e[i] = e[i] == '+' ? '-' : e[i] == '/' ? '_' : e[i];
	while (!pad && el && e[el - 1] == '=')
		e[--el] = 0;
	return e;
}

static char *feed_bytes(const char *const *secrets, size_t n, const char *text, size_t len, size_t piece)
{
	isol8_masker m;
	isol8_buf out = {0};
	masker_init(&m, secrets, n);
	for (size_t i = 0; i < len; i += piece)
		masker_feed(&m, (const unsigned char *)text + i, len - i < piece ? len - i : piece, &out);
	masker_flush(&m, &out);
	masker_free(&m);
	buf_append(&out, "", 0);
	return (char *)out.data;
}

/* Every alignment (prefix length), both alphabets, with and without padding, several neighbours
 * after, several chunk sizes: exactly the characters carrying the secret's bits become "***". */
static void base64_every_alignment(void)
{
	/* ">>>" and "???" encode to '+' and '/', so the url alphabet differs from the standard one */
	const char *secrets[] = {"hunter2secret", "s3cr3t>>>???", "pass5", "k>?~~>?~"};
	const char *before = "user:Basic ", *after = ":more@host";
	const size_t pieces[] = {1, 2, 3, 5, 7, 4096};
	int bad = 0, cases = 0;
	for (size_t si = 0; si < ARRAY_SIZE(secrets); si++) {
		const char *sec = secrets[si];
		size_t sl = strlen(sec);
		for (size_t pre = 0; pre <= 5; pre++)
			for (size_t post = 0; post <= 4; post++)
				for (int url = 0; url < 2; url++)
					for (int pad = 0; pad < 2; pad++) {
						char raw[64];
						snprintf(raw, sizeof raw, "%.*s%s%.*s", (int)pre, before, sec, (int)post, after);
						char *enc = encode(raw, strlen(raw), url, pad);
						size_t first, last;
						secret_chars(pre, sl, &first, &last);
						char want[128];
						snprintf(want, sizeof want, "<%.*s***%s>", (int)first, enc, enc + last);
						char text[128];
						snprintf(text, sizeof text, "<%s>", enc);
						for (size_t pi = 0; pi < ARRAY_SIZE(pieces); pi++) {
							char *got = feed_bytes(&sec, 1, text, strlen(text), pieces[pi]);
							cases++;
							if (strcmp(got, want) && bad++ < 5)
								printf("#   %s at +%zu url=%d pad=%d piece=%zu: got '%s' want '%s'\n",
								       sec, pre, url, pad, pieces[pi], got, want);
							free(got);
						}
						free(enc);
					}
	}
	ok(!bad, "base64/base64url, padded or not, every alignment and chunking: only the secret's characters are masked (%d/%d wrong)", bad, cases);
}

/* A run of base64 with no secret in it (and plain text) passes through unchanged. */
static void base64_no_false_positive(void)
{
	const char *sec[] = {"hunter2secret"};
	unsigned char raw[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof raw; i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (unsigned char)(x >> 16);
	}
	char *enc = encode((const char *)raw, sizeof raw, false, true);
	char *got = feed_bytes(sec, 1, enc, strlen(enc), 17);
	ok(!strcmp(got, enc), "4000 characters of unrelated base64 are left alone");
	free(got);
	free(enc);
	const char *prose = "The hunter went out; the secret was kept. aHVudGVy is base64 of 'hunter'.";
	got = feed_bytes(sec, 1, prose, strlen(prose), 3);
	is_str(got, prose, "text near the secret's words and partial encodings is left alone");
	free(got);
}

/* Whatever the chunking, the result equals the one-shot result: random base64-ish text with
 * the secret dropped in raw, hex and base64 at random offsets. */
static void chunking_never_changes_the_result(void)
{
	const char *sec[] = {"hunter2secret", "tok>>?"};
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n";
	char text[6000];
	size_t n = 0;
	uint32_t x = 99;
	while (n < sizeof text - 64) {
		x = x * 1103515245u + 12345u;
		if ((x >> 16) % 50 == 0) {
			char raw[40];
			int pre = (int)((x >> 8) % 4);
			snprintf(raw, sizeof raw, "%.*s%s", pre, "u:x", sec[(x >> 4) & 1]);
			char *e = encode(raw, strlen(raw), (x >> 3) & 1, (x >> 2) & 1);
			n += (size_t)snprintf(text + n, sizeof text - n, "%s", e);
			free(e);
		} else {
			text[n++] = alpha[(x >> 16) % (sizeof alpha - 1)];
		}
	}
	text[n] = 0;
	char *whole = feed_bytes(sec, 2, text, n, n);
	int bad = 0;
	for (size_t piece = 1; piece <= 9; piece++) {
		char *p = feed_bytes(sec, 2, text, n, piece);
		bad += strcmp(p, whole) != 0;
		free(p);
	}
	ok(!bad && strstr(whole, "***"), "chunks of 1..9 bytes give the one-shot result (%d differ)", bad);
	free(whole);
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

	const char *auth[] = {"hunter2secret"};
	const char *hdr = "Authorization: Basic dXNlcjpodW50ZXIyc2VjcmV0\n";
	r = mask_string(auth, 1, hdr, strlen(hdr), NULL);
	is_str(r, "Authorization: Basic dXNlcj***\n", "Basic auth: the secret 5 bytes into the base64 is masked");
	free(r);
	base64_every_alignment();
	base64_no_false_positive();
	chunking_never_changes_the_result();

	/* 4 bytes: hex has 8 fixed characters (32 bits); base64 at some alignment only 4 (24 bits),
	 * too few to tell a secret from chance, so base64 starts at 5 bytes (6+ characters). */
	const char *four[] = {"abcd"};
	r = mask_string(four, 1, "61626364 YWJjZA== eGFiY2Q=", 26, NULL);
	is_str(r, "*** YWJjZA== eGFiY2Q=", "a 4-byte secret: hex masked, base64 not (too short to be safe)");
	free(r);

	const char *url[] = {"p@ss/w:rd!x y"};
	const char *forms = "a=p%40ss%2Fw%3Ard%21x%20y b=p%40ss/w%3Ard%21x%20y c=p%40ss%2Fw%3Ard!x%20y d=p%40ss%2Fw%3Ard%21x+y";
	r = mask_string(url, 1, forms, strlen(forms), NULL);
	is_str(r, "a=*** b=*** c=*** d=***", "URL-encoded forms (all, '/' kept, encodeURIComponent, form '+') are masked");
	free(r);
	char *p2 = feed_in_pieces(url, 1, "q=p%40ss%2Fw%3Ard%21x%20y&z", 1);
	is_str(p2, "q=***&z", "a URL-encoded secret split byte by byte is masked");
	free(p2);

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
