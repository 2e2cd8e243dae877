/* sigdefault.h — every signal back to its default disposition, as a program started from a
 * shell expects: what this process ignores (isol8's tools ignore SIGPIPE; a shell's background
 * job ignores SIGINT and SIGQUIT; a supervisor may ignore anything) would otherwise pass
 * execve, or a zygote's fork, to the sandboxed program. */
#ifndef ISOL8_CORE_SIGDEFAULT_H
#define ISOL8_CORE_SIGDEFAULT_H

void signals_default(void);

#endif
