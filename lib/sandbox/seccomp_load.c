/* seccomp_load.c — installs the build-time compiled strict filters (kept apart from the policy
 * builder so tools/gen-seccomp can link the builder before the programs exist). */
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/seccomp_policy.h"

static int load(const struct sock_filter *f, size_t n)
{
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)f};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int seccomp_load_strict(void)
{
	/* allow-list first, deny filter last: on ERRNO ties the last-installed filter's errno wins */
	if (load(isol8_seccomp_allow, isol8_seccomp_allow_len) < 0)
		return -1;
	return load(isol8_seccomp_deny, isol8_seccomp_deny_len);
}
