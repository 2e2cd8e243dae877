/* Size parsing (the reference's examples), numbers, base64, UTF-8 boundaries. */
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include "tap.h"
#include "core/sha256.h"
#include "core/util.h"

int main(void)
{
	uint64_t v = 0;
	ok(parse_size("512m", &v) == 0 && v == 536870912ull, "512m");
	ok(parse_size("1g", &v) == 0 && v == 1073741824ull, "1g");
	ok(parse_size("256k", &v) == 0 && v == 262144ull, "256k");
	ok(parse_size("1024", &v) == 0 && v == 1024ull, "1024 bytes");
	ok(parse_size("512mb", &v) == 0 && v == 536870912ull, "512mb");
	ok(parse_size("1.5G", &v) == 0 && v == 1610612736ull, "1.5G");
	ok(parse_size("", &v) < 0 && parse_size("-1m", &v) < 0 && parse_size("12x", &v) < 0 &&
	       parse_size("m", &v) < 0 && parse_size("1.m", &v) < 0 && parse_size("99999999999t", &v) < 0,
	   "junk, negative and overflowing sizes are refused");
	long long ll;
	ok(parse_ll("30000", 1, 100000, &ll) == 0 && ll == 30000, "parse_ll");
	ok(parse_ll("12abc", 1, 100000, &ll) < 0 && parse_ll("0", 1, 10, &ll) < 0 && parse_ll("", 0, 1, &ll) < 0,
	   "parse_ll refuses trailing junk, out of range, empty");
	double d;
	ok(parse_double("0.5", 0.01, 8, &d) == 0 && d == 0.5, "parse_double");
	ok(parse_double("nan", 0, 8, &d) < 0 && parse_double("inf", 0, 8, &d) < 0, "parse_double refuses nan/inf");

	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	size_t bl;
	char *b = base64_encode(all, 256, &bl);
	isol8_buf dec = {0};
	ok(base64_decode(b, bl, &dec) == 0 && dec.len == 256 && !memcmp(dec.data, all, 256), "base64 round-trips all 256 byte values");
	free(b);
	isol8_buf_free(&dec);
	ok(base64_decode("a$b=", 4, &dec) < 0, "invalid base64 is refused");
	isol8_buf_free(&dec);

	const unsigned char e[] = {'a', 0xc3, 0xa9, 0xe2, 0x82};
	ok(utf8_complete_prefix(e, 5) == 3, "an unfinished 3-byte sequence is held back");
	ok(utf8_complete_prefix(e, 3) == 3, "complete text is not held back");
	ok(!utf8_valid((const unsigned char *)"\xff", 1) && utf8_valid((const unsigned char *)"\xc3\xa9", 2),
	   "utf8_valid");
	ok(!utf8_valid((const unsigned char *)"\xed\xa0\x80", 3), "surrogates are invalid UTF-8");
	char id[37];
	uuid_v4(id);
	ok(strlen(id) == 36 && id[14] == '4', "uuid v4 shape");

	/* a blocked signal is queued and read from the fd instead of killing the process */
	int sfd = signalfd_for(SIGUSR1, SIGUSR2, 0);
	struct signalfd_siginfo si = {0};
	raise(SIGUSR2);
	ok(sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo == SIGUSR2,
	   "signalfd_for blocks its signals and reports them on the fd");
	close(sfd);

	char sock[64];
	snprintf(sock, sizeof sock, "/tmp/isol8-test-util-%d.sock", (int)getpid());
	unlink(sock);
	int lfd = unix_listen(sock), cfd = unix_connect(sock);
	struct stat st;
	ok(lfd >= 0 && cfd >= 0, "unix_listen and unix_connect meet on a path");
	ok(stat(sock, &st) == 0 && (st.st_mode & 077) == 0, "the listening socket is owner-only");
	close(cfd);
	close(lfd);
	unlink(sock);
	ok(unix_connect(sock) < 0 && errno == ENOENT, "connecting to a path nobody listens on fails");
	char longp[200];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = 0;
	ok(unix_listen(longp) < 0 && errno == ENAMETOOLONG, "a path longer than sun_path is refused, not truncated");
	char found[PATH_MAX + 64];
	ok(sibling_tool("test_util", found, sizeof found) && access(found, X_OK) == 0 &&
		   strstr(found, "/test_util") != NULL,
	   "sibling_tool finds an executable next to this one");
	ok(!sibling_tool("no-such-isol8-tool", found, sizeof found), "…and not one that is missing");
	ok(!sibling_tool("test_util", found, 8), "…nor one whose path does not fit");

	/* SHA-256: FIPS 180-4's examples, and lengths around the padding boundary (55, 56, 64) */
	char hex[65];
	sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
	sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(two, strlen(two), hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the 56-byte example");
	char a64[129];
	memset(a64, 'a', 128);
	sha256_hex(a64, 55, hex);
	is_str(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318", "sha256 of 55 bytes");
	sha256_hex(a64, 64, hex);
	is_str(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb", "sha256 of 64 bytes");
	sha256_hex(a64, 128, hex);
	is_str(hex, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e", "sha256 of 128 bytes");
	return done_testing();
}
