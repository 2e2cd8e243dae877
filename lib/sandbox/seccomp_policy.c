#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

/* Everything an interpreter, a shell and package managers need; nothing that changes
 * namespaces, mounts, the kernel, or other processes' memory. Names unknown to this
 * libseccomp are skipped. */
static const char *const allowed[] = {
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget", "capset",
	"chdir", "chmod", "chown", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range",
	"connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat",
	"exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock",
	"fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue",
	"futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu",
	"getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer",
	"getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresuid", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
	"getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit", "ioprio_get",
	"ioprio_set", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr",
	"lstat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat",
	"mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify",
	"mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
	"msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open",
	"openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
	"pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
	"sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg",
	"sendmsg", "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsuid",
	"setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
	"setreuid", "setrlimit", "setsid", "setsockopt", "setuid", "setxattr", "shmat", "shmctl", "shmdt",
	"shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "splice", "stat", "statfs", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
	"timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname", "unlink",
	"unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
};

#define LOW32 0xffffffffULL
/* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME */
#define CLONE_NS_MASK 0x7E020080ULL

static int add(scmp_filter_ctx c, uint32_t action, const char *name, unsigned n, struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not known to this libseccomp/arch */
	return seccomp_rule_add_array(c, action, nr, n, args);
}

/* Filter 1: what exists. Anything not listed returns ENOSYS, which runtimes treat as "not
 * supported" and fall back from (io_uring → epoll, clone3 → clone). */
static scmp_filter_ctx build_allow(int *rc)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!c) {
		*rc = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(allowed) && *rc == 0; i++)
		*rc = add(c, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	/* clone only without namespace flags (threads and plain forks). */
	struct scmp_arg_cmp no_ns = SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NS_MASK, 0);
	if (*rc == 0)
		*rc = add(c, SCMP_ACT_ALLOW, "clone", 1, &no_ns);
	/* socket families by allow-list: AF_VSOCK (not namespaced), AF_PACKET… are not in it. */
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	for (size_t i = 0; i < ARRAY_SIZE(families) && *rc == 0; i++) {
		struct scmp_arg_cmp fam = SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)families[i]);
		*rc = add(c, SCMP_ACT_ALLOW, "socket", 1, &fam);
	}
	if (*rc == 0) { /* netlink: routing only (interface listing by runtimes) */
		struct scmp_arg_cmp nl[2] = {SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, AF_NETLINK),
					     SCMP_A2_64(SCMP_CMP_MASKED_EQ, LOW32, 0 /* NETLINK_ROUTE */)};
		*rc = add(c, SCMP_ACT_ALLOW, "socket", 2, nl);
	}
	if (*rc == 0) {
		struct scmp_arg_cmp unix_only = SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, AF_UNIX);
		*rc = add(c, SCMP_ACT_ALLOW, "socketpair", 1, &unix_only);
	}
	/* personality: only the values Docker allows (query and plain Linux variants). */
	static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(personas) && *rc == 0; i++) {
		struct scmp_arg_cmp p = SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, personas[i]);
		*rc = add(c, SCMP_ACT_ALLOW, "personality", 1, &p);
	}
	/* ioctl is allowed here; filter 2 carves out terminal injection. (In one filter,
	 * libseccomp folds a conditional deny into an unconditional allow of the same syscall:
	 * measured, TIOCSTI would pass.) */
	if (*rc == 0)
		*rc = add(c, SCMP_ACT_ALLOW, "ioctl", 0, NULL);
	return c;
}

/* Filter 2: explicit, clear refusals (EPERM). Installed last, so on a tie between two
 * ERRNO results its errno is the one returned. */
static const char *const denied[] = {
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig",
	"fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
	"name_to_handle_at", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
	"process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise", "bpf", "perf_event_open",
	"userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"create_module", "iopl", "ioperm", "quotactl", "quotactl_fd", "swapon", "swapoff", "reboot", "syslog",
	"acct", "fanotify_init", "lookup_dcookie", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "vhangup", "mbind", "set_mempolicy", "migrate_pages", "move_pages",
	"nfsservctl", "uselib", "ustat", "sysfs", "vm86", "vm86old",
};

static scmp_filter_ctx build_deny(int *rc)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
	if (!c) {
		*rc = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(denied) && *rc == 0; i++)
		*rc = add(c, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL);
	/* any namespace flag on clone: one rule per bit (rules are ORed) */
	for (int bit = 0; bit < 32 && *rc == 0; bit++) {
		uint64_t f = 1ull << bit;
		if (!(CLONE_NS_MASK & f))
			continue;
		struct scmp_arg_cmp a = SCMP_A0_64(SCMP_CMP_MASKED_EQ, f, f);
		*rc = add(c, SCMP_ACT_ERRNO(EPERM), "clone", 1, &a);
	}
	static const uint64_t ioctls[] = {TIOCSTI, TIOCLINUX};
	for (size_t i = 0; i < ARRAY_SIZE(ioctls) && *rc == 0; i++) {
		struct scmp_arg_cmp a = SCMP_A1_64(SCMP_CMP_MASKED_EQ, LOW32, ioctls[i]);
		*rc = add(c, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &a);
	}
	if (*rc == 0) {
		struct scmp_arg_cmp a = SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, 40 /* AF_VSOCK */);
		*rc = add(c, SCMP_ACT_ERRNO(EPERM), "socket", 1, &a);
	}
	static const char *const enosys[] = {"clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"};
	for (size_t i = 0; i < ARRAY_SIZE(enosys) && *rc == 0; i++)
		*rc = add(c, SCMP_ACT_ERRNO(ENOSYS), enosys[i], 0, NULL);
	return c;
}

int seccomp_policy_build(void *out[2], isol8_err *err)
{
	int rc = 0;
	out[0] = build_allow(&rc);
	out[1] = rc == 0 ? build_deny(&rc) : NULL;
	if (rc < 0 || !out[0] || !out[1]) {
		seccomp_policy_free(out);
		return isol8_fail(err, ISOL8_E_SANDBOX, rc < 0 ? -rc : ENOMEM, "building the seccomp policy");
	}
	return 0;
}

void seccomp_policy_free(void *ctx[2])
{
	for (int i = 0; i < 2; i++)
		if (ctx[i])
			seccomp_release(ctx[i]);
	ctx[0] = ctx[1] = NULL;
}
