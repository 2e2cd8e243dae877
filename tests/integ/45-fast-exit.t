#!/usr/bin/env bash
# A program that exits at once must be seen to exit at once, and every run must end by its
# timeout or a signal whatever the program does.
#
# The bug this guards: the init reports "ready" and, a moment later, the payload's exit status
# on the same socket. A supervisor slow to read (a loaded CPU) took both lines in one read, kept
# the second in its buffer, and then poll()ed the socket for a status it already had — the run
# sat out its whole timeout and said EXECUTION TIMED OUT. strace's syscall delay makes that
# slow reader deterministic: the supervisor's first recvmsg on the init's socket enters 300 ms
# late, after both lines are queued.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "1..0 # SKIP strace is missing (make deps installs it)"; exit 0; }
# LeakSanitizer cannot run under ptrace (make check-asan): the traced runs skip the leak check
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# Runs "$@" under a delayed first recvmsg; sets RC, OUT and MS (wall time).
slow_reader() {
	local s=$(date +%s%N) o
	o=$(mktemp)
	strace -o /dev/null -e trace=recvmsg -e inject=recvmsg:delay_enter=300000:when=1 "$@" >"$o" 2>/dev/null </dev/null
	RC=$?
	MS=$((($(date +%s%N) - s) / 1000000))
	OUT=$(cat "$o")
	rm -f "$o"
}

slow_reader "$ISOL8" run --timeout 5000 --cmd true
is "$RC" 0 "--cmd true with a slow reader: exit 0, not a timeout"
ok $((MS < 4000 ? 0 : 1)) "…and it ends long before its 5 s timeout (${MS} ms)"

slow_reader "$ISOL8" run --timeout 5000 -r bash -e 'echo fast'
is "$RC/$OUT" "0/fast" "bash -e echo with a slow reader: its output and exit 0"

printf 'echo from-file\n' > "$WORK/fast.sh"
slow_reader "$ISOL8" run --timeout 5000 "$WORK/fast.sh"
is "$RC/$OUT" "0/from-file" "a bash file with a slow reader"

slow_reader "$ISOL8" run --timeout 5000 --cmd 'exit 7'
is "$RC" 7 "an exit code that comes at once is the run's exit code"

# A session's supervisor reads the same socket: replies to its requests and exit statuses
# may arrive in one read there too. Delayed on every recvmsg, its execs still end at once.
S="$BIN/isol8-session"
capture "$S" create -r bash --id fast
is "$RC" 0 "session created"
D=$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/fast/meta.json")
strace -p "$D" -o /dev/null -e trace=recvmsg -e inject=recvmsg:delay_enter=300000 2>/dev/null &
TRACER=$!
sleep 0.5
for c in true 'echo hi' 'exit 4'; do
	s=$(date +%s%N)
	capture timeout 20 "$S" exec fast --timeout 5000 --cmd "$c"
	ms=$((($(date +%s%N) - s) / 1000000))
	want=0
	[ "$c" = 'exit 4' ] && want=4
	is "$RC" "$want" "session exec '$c' with a slow supervisor: exit $want"
	ok $((ms < 4000 ? 0 : 1)) "…well before its timeout (${ms} ms)"
done
kill "$TRACER" 2>/dev/null
wait "$TRACER" 2>/dev/null
capture "$S" delete fast
is "$RC" 0 "session deleted"

# Every timeout fires, whatever the program does with its signals, output and children.
for prog in 'trap "" TERM INT HUP; while :; do :; done' 'exec 1>&- 2>&-; sleep 60' 'sleep 60 & sleep 60 & wait' \
	'(trap "" TERM; sleep 60) & exit 0; '; do
	s=$(date +%s%N)
	capture timeout 20 "$ISOL8" run --timeout 1000 -r bash -e "$prog"
	ms=$((($(date +%s%N) - s) / 1000000))
	case "$prog" in
	*'exit 0'*) is "$RC" 0 "a background child left running does not hold the run: $prog" ;;
	*) is "$RC" 137 "the timeout fires: $prog" ;;
	esac
	ok $((ms < 5000 ? 0 : 1)) "…and the run ends in time (${ms} ms)"
done

# SIGTERM and SIGINT end a run at once and leave nothing behind.
for sig in TERM INT; do
	"$ISOL8" run --timeout 30000 -e 'import time; time.sleep(60)' >/dev/null 2>&1 &
	P=$!
	wait_payload 'time\.sleep\(60\)'
	s=$(date +%s%N)
	kill -$sig $P
	wait $P
	rc=$?
	ms=$((($(date +%s%N) - s) / 1000000))
	like "$rc" '^(130|143)$' "SIG$sig ends the run (exit $rc)"
	ok $((ms < 2000 ? 0 : 1)) "…at once (${ms} ms)"
done

# A filtered run killed with SIGKILL (no chance to stop its proxy) leaves no isol8-proxy behind
# holding the sandbox's network namespace; isol8-cleanup takes the rest.
"$ISOL8" run --net filtered --timeout 30000 -e 'import time; time.sleep(60)' >/dev/null 2>&1 &
P=$!
for i in $(seq 50); do pgrep -f "isol8-proxy --fd 3 .*$ISOL8_RUN_DIR" >/dev/null && break; sleep 0.1; done
ok $(pgrep -f "isol8-proxy --fd 3 .*$ISOL8_RUN_DIR" >/dev/null; echo $?) "a filtered run has its proxy"
kill -KILL $P
wait $P 2>/dev/null
for i in $(seq 30); do pgrep -f "isol8-proxy --fd 3 .*$ISOL8_RUN_DIR" >/dev/null || break; sleep 0.1; done
ok $(! pgrep -f "isol8-proxy --fd 3 .*$ISOL8_RUN_DIR" >/dev/null; echo $?) "…and SIGKILL to the run ends the proxy too"
for i in $(seq 20); do "$BIN/isol8-cleanup" >/dev/null 2>&1; [ "$(count_leftovers)" = 0 ] && break; sleep 0.1; done
is "$(count_leftovers)" 0 "…and isol8-cleanup takes what the killed run left"

finish
