/* try-syscall — makes dangerous system calls with harmless arguments, raw (no libc wrapper
 * logic), and prints "<name> <result>" per call: OK, or the errno's name. Variants ending
 * in "_hi" set bit 32 of an int argument: a filter written with a plain SCMP_A0(EQ) rule lets
 * those through (a known seccomp pitfall), ours must not. bubblewrap's test pattern. */
#include <sys/mount.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define HI (1UL << 32)

static void report(const char *name, long r)
{
	if (r >= 0)
		printf("%s OK\n", name);
	else
		printf("%s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	fflush(stdout);
}

static long try_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
#define T(name, expr) if (!only || !strcmp(only, name)) report(name, (long)(expr))
	char buf[64] = {0};
	int fd = open("/dev/null", O_RDONLY);
	T("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
	T("umount2", syscall(SYS_umount2, "/proc", MNT_DETACH));
	T("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
	T("unshare_ns", syscall(SYS_unshare, CLONE_NEWNS));
	T("unshare_net", syscall(SYS_unshare, CLONE_NEWNET));
	T("setns", syscall(SYS_setns, fd, 0));
	T("clone_newuser", try_clone(CLONE_NEWUSER));
	T("clone_newns", try_clone(CLONE_NEWNS));
	T("clone_newnet_hi", try_clone(CLONE_NEWNET | HI));
	T("clone_plain", try_clone(0));
	T("clone3", syscall(SYS_clone3, buf, 64));
	T("chroot", syscall(SYS_chroot, "/tmp"));
	T("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
	T("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/tmp", 1));
	T("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
	T("ptrace", syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
	T("process_vm_readv", syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0));
	T("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
	T("add_key", syscall(SYS_add_key, "user", "x", "y", 1, -3));
	T("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, buf, 48));
	T("perf_event_open", syscall(SYS_perf_event_open, buf, 0, -1, -1, 0));
	T("userfaultfd", syscall(SYS_userfaultfd, 0));
	T("io_uring_setup", syscall(SYS_io_uring_setup, 1, buf));
	T("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	T("init_module", syscall(SYS_init_module, buf, 0, ""));
	T("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL));
	T("tiocsti", syscall(SYS_ioctl, fd, TIOCSTI, "x"));
	T("tiocsti_hi", syscall(SYS_ioctl, fd, TIOCSTI | HI, "x"));
	T("tioclinux", syscall(SYS_ioctl, fd, TIOCLINUX, buf));
	T("tioclinux_hi", syscall(SYS_ioctl, fd, TIOCLINUX | HI, buf));
	T("ioctl_fionread", syscall(SYS_ioctl, fd, FIONREAD, buf));
	T("socket_vsock", syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0));
	T("socket_vsock_hi", syscall(SYS_socket, AF_VSOCK | HI, SOCK_STREAM, 0));
	T("socket_packet", syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0));
	T("socket_netlink_audit", syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */));
	T("socket_unix", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	T("socket_inet", syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
	T("personality_query", syscall(SYS_personality, 0xffffffffUL));
	T("personality_norandom", syscall(SYS_personality, 0x0040000UL));
	T("pidfd_getfd", syscall(SYS_pidfd_getfd, 0, 0, 0));
	T("sethostname", syscall(SYS_sethostname, "x", 1));
	return 0;
}
