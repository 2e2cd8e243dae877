#!/usr/bin/env bash
# isol8 run as an ordinary user: a user namespace maps the sandbox uid to the caller, and the
# limits come from a cgroup subtree root delegated to that user (chown), as a service would.
. "$(dirname "$0")/lib.sh"
user=isol8-t$$
useradd -M -s /bin/bash "$user" || { ok 1 "useradd $user (needed to test the unprivileged path)"; finish; exit; }
export ISOL8_CGROUP_PARENT=isol8-u$$
trap 'userdel "$user" 2>/dev/null; for c in memory pids cpu cpuacct; do rmdir /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT 2>/dev/null; done' EXIT
for c in memory pids cpu cpuacct; do mkdir -p /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT && chown "$user" /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT; done
chown "$user" "$ISOL8_RUN_DIR" "$WORK" "$ISOL8_CONFIG"
# the test user must reach the binaries
d=$BIN; while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
as_user() { capture su "$user" -c "$(printf '%q ' env ISOL8_RUN_DIR="$ISOL8_RUN_DIR" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT" ISOL8_CONFIG="$ISOL8_CONFIG" "$@")"; }

as_user "$RUN" -e 'print(2 ** 10)'
is "$OUT" 1024 "an ordinary user runs code"
as_user "$RUN" --cmd 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " " | tr "\n" ";"'
is "$OUT" $'65534\nCapEff: 0000000000000000;CapBnd: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;' "unprivileged: no capabilities, no_new_privs, seccomp"
as_user "$RUN" --cmd 'cat /proc/1/environ 2>&1 | head -c 60; ls /proc/1/root/ 2>&1 | head -c 60'
unlike "$OUT" 'PATH=|sandbox *$' "unprivileged: the init (same outside uid) cannot be inspected"
as_user "$RUN" --json --cmd 'kill -KILL 1; kill -TERM 1; sleep 0.2; echo still-here'
is "$(printf '%s' "$OUT" | jq -r '"\(.stdout) \(.status)"')" "still-here ok" "unprivileged: signals to the init from inside are ignored"
as_user "$RUN" --json --memory 32m -e 'x = bytearray(100 << 20)'
is "$(printf '%s' "$OUT" | jq -r .status)" oom "unprivileged: the memory limit holds (delegated cgroup)"
as_user "$RUN" --timeout 500 -e 'while True: pass'
is "$RC" 137 "unprivileged: the timeout holds"
mkdir -p "$WORK/helper" && cp "$TESTS/try-syscall" "$WORK/helper/" && chown -R "$user" "$WORK/helper"
as_user "$RUN" --files "$WORK/helper" --cmd '/sandbox/try-syscall unshare_user; /sandbox/try-syscall clone_newuser; /sandbox/try-syscall mount'
is "$OUT" $'unshare_user EPERM\nclone_newuser EPERM\nmount EPERM' "unprivileged: no nested user namespace, no mount"
as_user "$RUN" --cmd 'echo x > /usr/evil 2>&1; echo x > /etc/evil 2>&1; echo done'
like "$OUT" 'done$' "unprivileged: runs to the end"
unlike "$(ls /usr/evil /etc/evil 2>&1)" '^/' "unprivileged: nothing written to the host"

capture su "$user" -c "env ISOL8_RUN_DIR=$ISOL8_RUN_DIR ISOL8_CGROUP_PARENT=nope-$$ ISOL8_CONFIG=$ISOL8_CONFIG $RUN -e 'print(1)'"
like "$ERR" '^\[ERR\] cannot enforce resource limits: no writable cgroup' "without a delegated cgroup: refused with what to do, never run unlimited"
is "$RC" 1 "…exit 1"

finish
