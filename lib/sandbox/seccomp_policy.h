/* seccomp_policy.h — the "strict" syscall policy every payload runs under.
 *
 * Two stacked filters, built with libseccomp at *build time* into BPF programs
 * (tools/gen-seccomp.c → build/gen/seccomp_strict.c), so no run pays the 5–13 ms compile:
 *   1. an allow-list: anything not listed returns ENOSYS (runtimes fall back gracefully);
 *   2. a deny filter (default allow) with the explicit refusals below, so they say EPERM.
 * Threats handled, each with an errno a runtime can live with:
 *   - escaping or widening the sandbox: unshare, setns, clone(CLONE_NEW*), mount and the new
 *     mount API, pivot_root, chroot, open_by_handle_at                       → EPERM
 *   - kernel attack surface: bpf, perf_event_open, userfaultfd, keyrings, kexec, modules,
 *     ptrace and process_vm_*, kcmp, pidfd_getfd, iopl/ioperm, AF_VSOCK sockets,
 *     exotic personalities                                                     → EPERM
 *   - io_uring (performs syscalls the filter never sees) and clone3 (flags in memory BPF
 *     cannot read): ENOSYS, so runtimes fall back to epoll and clone         → ENOSYS
 *   - TIOCSTI / TIOCLINUX terminal injection                                   → EPERM
 * Argument rules compare with SCMP_A*_64(SCMP_CMP_MASKED_EQ, 0xffffffff, v): a plain
 * SCMP_A0(EQ) rule is bypassed by setting bit 32 of an int argument (a known seccomp pitfall).
 * Only the native architecture is allowed; x32 and i386 entry points are killed. */
#ifndef ISOL8_SECCOMP_POLICY_H
#define ISOL8_SECCOMP_POLICY_H

#include <linux/filter.h>
#include <stddef.h>

#include "core/err.h"

/* Builds the two libseccomp contexts (allow-list, deny filter) for the generator. */
int seccomp_policy_build(void *ctx[2], isol8_err *err);
void seccomp_policy_free(void *ctx[2]);

/* The compiled programs (generated at build time). */
extern const struct sock_filter isol8_seccomp_allow[];
extern const size_t isol8_seccomp_allow_len;
extern const struct sock_filter isol8_seccomp_deny[];
extern const size_t isol8_seccomp_deny_len;

/* Installs the compiled strict filter on the calling thread (NO_NEW_PRIVS must be set). */
int seccomp_load_strict(void);

#endif
