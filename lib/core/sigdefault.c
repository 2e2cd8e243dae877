/* sigdefault.c — see sigdefault.h. */
#include "core/sigdefault.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

void signals_default(void)
{
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP || signal(s, SIG_DFL) != SIG_ERR || errno != EINVAL)
			continue;
		/* glibc keeps two real-time signals for itself (32, 33) and refuses them, but one
		 * ignored by whoever started us is still ignored after execve: only that is undone,
		 * with the kernel's call (never a handler glibc may have installed) */
		struct {
			void *handler;
			unsigned long flags;
			void *restorer;
			uint64_t mask;
		} old, dfl = {0};
		if (syscall(SYS_rt_sigaction, s, NULL, &old, sizeof old.mask) == 0 && old.handler == (void *)SIG_IGN)
			syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
	}
}
