#!/usr/bin/env bash
# Escape attempts. Each must fail inside the sandbox and be reported cleanly.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/helper"; cp "$TESTS/try-syscall" "$WORK/helper/"
capture "$RUN" --files "$WORK/helper" --cmd /sandbox/try-syscall
declare -A WANT=(
	[mount]=EPERM [umount2]=EPERM [unshare_user]=EPERM [unshare_ns]=EPERM [unshare_net]=EPERM [setns]=EPERM
	[clone_newuser]=EPERM [clone_newns]=EPERM [clone_newnet_hi]=EPERM [clone_plain]=OK [clone3]=ENOSYS
	[chroot]=EPERM [pivot_root]=EPERM [open_tree]=EPERM [fsopen]=EPERM [ptrace]=EPERM [process_vm_readv]=EPERM
	[keyctl]=EPERM [add_key]=EPERM [bpf]=EPERM [perf_event_open]=EPERM [userfaultfd]=EPERM
	[io_uring_setup]=ENOSYS [kexec_load]=EPERM [init_module]=EPERM [reboot]=EPERM
	[tiocsti]=EPERM [tiocsti_hi]=EPERM [tioclinux]=EPERM [tioclinux_hi]=EPERM [ioctl_fionread]=ENOTTY
	[socket_vsock]=EPERM [socket_vsock_hi]=EPERM [socket_packet]=ENOSYS [socket_netlink_audit]=ENOSYS
	[socket_unix]=OK [socket_inet]=OK [personality_query]=OK [personality_norandom]=ENOSYS
	[pidfd_getfd]=EPERM [sethostname]=EPERM
)
for k in $(printf '%s\n' "${!WANT[@]}" | sort); do
	got=$(printf '%s\n' "$OUT" | awk -v k="$k" '$1 == k {print $2}')
	is "$got" "${WANT[$k]}" "seccomp: $k → ${WANT[$k]}"
done

capture "$RUN" -e '
import os
for p in ["/usr/evil", "/etc/evil", "/evil", "/opt/evil", "/proc/sys/kernel/hostname", "/dev/evil"]:
    try:
        open(p, "w").write("x"); print("WROTE", p)
    except OSError as e:
        print("denied", p)'
unlike "$OUT" WROTE "writes outside /sandbox and /tmp fail"
is "$(printf '%s\n' "$OUT" | grep -c denied)" 6 "all six write attempts were refused"

sleep 300 & canary=$!
capture "$RUN" -e 'import os; print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))'
kill $canary
is "$OUT" "[2]" "host processes (and the sandbox's init) are invisible in /proc"
capture "$RUN" --cmd "kill -0 $canary 2>&1; echo \$?"
like "$OUT" '1$' "a host pid cannot be signalled"

export ISOL8_HOST_CANARY=do-not-leak
capture "$RUN" -e 'import os; print(" ".join(sorted(os.environ)))'
unlike "$OUT" 'ISOL8_HOST_CANARY|ISOL8_RUN_DIR|SSH|SUDO' "the host environment is invisible"

python3 -m http.server 18765 --bind 127.0.0.1 >/dev/null 2>&1 & srv=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18765/ && break; sleep 0.1; done
capture "$RUN" -e '
import socket
for host in ["127.0.0.1", "10.0.2.2", "1.1.1.1"]:
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, 18765 if host == "127.0.0.1" else 80)); print("CONNECTED", host)
    except OSError as e:
        print("blocked", host)
try:
    socket.getaddrinfo("example.com", 80); print("RESOLVED")
except OSError:
    print("no dns")'
unlike "$OUT" 'CONNECTED|RESOLVED' "--net none: no host loopback, no outside address, no DNS"
capture "$RUN" --net host -e '
import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:18765/", timeout=5).status)'
is "$OUT" 200 "--net host does reach the host (explicit opt-in)"
kill $srv

capture "$RUN" --cmd 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " " | tr "\n" ";"; id -u'
is "$OUT" "CapInh: 0000000000000000;CapPrm: 0000000000000000;CapEff: 0000000000000000;CapBnd: 0000000000000000;CapAmb: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;65534" "no capabilities, no_new_privs, seccomp filter, non-root uid"

capture "$RUN" --cmd 'for f in kcore keys timer_list sched_debug kallsyms; do cat /proc/$f 2>/dev/null; done | wc -c; ls /proc/acpi 2>/dev/null | wc -l; echo x > /proc/sysrq-trigger && echo WROTE'
is "$OUT" $'0\n0' "crun's masked /proc files read as nothing, /proc/acpi is empty"
unlike "$OUT" WROTE "/proc/sysrq-trigger is read-only"
capture "$RUN" --cmd 'ls /dev | tr "\n" " "; echo; cat /etc/shadow 2>&1 | head -c 40; ls /root /home 2>&1 | head -c 60'
is "$(printf '%s' "$OUT" | head -1)" "fd full null random shm stderr stdin stdout tty urandom zero " "/dev holds only the minimal nodes"
unlike "$OUT" 'root:' "the host's /etc/shadow is not there"
capture "$RUN" --cmd 'cat /proc/1/environ 2>&1 | head -c 80; ls -l /proc/1/root 2>&1 | head -c 80'
unlike "$OUT" 'PATH=|->' "the sandbox's root-owned init cannot be inspected"

# symlink tricks on file retrieval: the program plants links, isol8 must not follow them
jq -n '{request:{runtime:"bash", cmd:"ln -s /etc/hostname /sandbox/l1; ln -s /proc/1/environ /sandbox/l2; mkdir /sandbox/d; ln -s / /sandbox/d/up; echo ok", outputPaths:["/sandbox/l1","/sandbox/l2","/sandbox/d/up/etc/hostname","/sandbox/../etc/passwd"]}}' > "$WORK/sym.json"
capture "$RUN" --json --request "$WORK/sym.json"
like "$ERR" 'File path must be inside /sandbox or /tmp: "/sandbox/../etc/passwd"' "a path that normalizes outside /sandbox is refused before anything runs"
jq '.request.outputPaths |= .[0:3]' "$WORK/sym.json" > "$WORK/sym2.json"
capture "$RUN" --json --request "$WORK/sym2.json"
is "$(printf '%s' "$OUT" | jq -c '.files // {}')" "{}" "symlinked outputPaths are not followed (nothing returned)"

# a file injected through a path whose parent the request also makes a file: no crash, clear error
jq -n '{request:{runtime:"python", code:"print(1)", files:{"/sandbox/a":"x","/sandbox/a/b":"y"}}}' > "$WORK/clash.json"
capture "$RUN" --request "$WORK/clash.json"
like "$ERR" '^\[ERR\] cannot write /sandbox/a/b' "an impossible file layout is a clear error"
is "$RC" 1 "…exit 1"

# secrets are not visible in the sandbox's process table or argv
capture "$RUN" --secret TOKEN=s3cr3t-value --cmd 'cat /proc/self/cmdline | tr "\0" " "; echo; echo "$TOKEN"'
unlike "$OUT" 's3cr3t-value' "a secret printed by the program is masked"

# killing isol8-run (SIGKILL) mid-run leaves no sandbox process running
"$RUN" --cmd 'sleep 300' & runpid=$!
wait_payload '^sleep 300$'; kill -KILL $runpid; wait $runpid 2>/dev/null; wait_no_payload '^sleep 300$'
is "$(pgrep -u 65534 -f 'sleep 300' | wc -l)" 0 "SIGKILL of isol8-run: the sandbox dies with it"
capture "$BIN/isol8-cleanup"
if [ -n "$POOL_PID" ]; then # a pooled sandbox: its pool sweeps it when the init exits, maybe first
	like "$OUT" '^\{"removed":[01],"failed":0,"errors":\[\]\}$' "…and its pool or isol8-cleanup removes what it left"
else
	is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "…and isol8-cleanup removes what it left"
fi
# SIGTERM: clean exit, everything removed
"$RUN" --cmd 'sleep 300' & runpid=$!
wait_payload '^sleep 300$'; kill -TERM $runpid; wait $runpid; rc=$?
is "$(leftovers)" 0 "SIGTERM of isol8-run removes its sandbox"
like "$rc" '^(137|143)$' "SIGTERM: isol8-run exits as killed ($rc)"

finish
