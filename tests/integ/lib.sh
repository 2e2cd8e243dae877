# lib.sh — TAP helpers for integration tests. Every test file runs against the built binaries
# ($ISOL8_BIN), in a private run dir and a private cgroup parent, and checks on exit that no
# sandbox was left behind (no cgroup, no run-dir record, no process).
set -u
BIN=${ISOL8_BIN:?set ISOL8_BIN to the build/bin directory (make check does)}
TESTS=${ISOL8_TESTS:-$BIN/../tests}
export ISOL8_RUN_DIR=$(mktemp -d /tmp/isol8-test.XXXXXX)
export ISOL8_CGROUP_PARENT=isol8-test-$$
export ISOL8_CONFIG=$ISOL8_RUN_DIR/empty.config.json
echo '{}' > "$ISOL8_CONFIG"
WORK=$(mktemp -d /tmp/isol8-work.XXXXXX)
ISOL8="$BIN/isol8"
RUN="$BIN/isol8-run"
_n=0 _fail=0
# ISOL8_TEST_POOL=1: run this file's sandboxes through a warm pool (isol8-pool) in its run dir
POOL_PID=
if [ "${ISOL8_TEST_POOL:-0}" = 1 ]; then
	# its socket listens from the start, but it answers once its first fill is done ("ready on"
	# on stderr; up to 30 s): a run asking before that waits 1 s and goes cold
	"$BIN/isol8-pool" --size 2 2>"$WORK/test-pool.err" & POOL_PID=$!
	for i in $(seq 700); do grep -q "ready on" "$WORK/test-pool.err" 2>/dev/null && break; sleep 0.05; done
fi

ok()   { _n=$((_n+1)); if [ "$1" = 0 ]; then echo "ok $_n - $2"; else echo "not ok $_n - $2"; _fail=$((_fail+1)); fi; }
# is GOT WANT NAME
is()   { _n=$((_n+1)); if [ "$1" == "$2" ]; then echo "ok $_n - $3"; else echo "not ok $_n - $3"; printf '#   got:      %q\n#   expected: %q\n' "$1" "$2"; _fail=$((_fail+1)); fi; }
# like GOT PATTERN NAME (grep -E)
like() { _n=$((_n+1)); if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $_n - $3"; else echo "not ok $_n - $3"; printf '#   got: %q\n#   want match: %s\n' "$1" "$2"; _fail=$((_fail+1)); fi; }
unlike() { _n=$((_n+1)); if ! printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $_n - $3"; else echo "not ok $_n - $3"; printf '#   got: %q\n#   must not match: %s\n' "$1" "$2"; _fail=$((_fail+1)); fi; }
# jqr FILTER: jq -r on the last captured OUT
jqr() { printf '%s' "$OUT" | jq -r "$1"; }
# isol8-serve tests (SERVE names the binary):
# start_server LOG ARGS…: a server on a free port; sets PORT_, SPID, URL
start_server() {
	local log=$1; shift
	"$SERVE" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 & SPID=$!
	# up to 15 s: a sanitizer build starts slower
	for i in $(seq 300); do grep -q 'listening on' "$log" 2>/dev/null && break; sleep 0.05; done
	PORT_=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
	URL=http://127.0.0.1:$PORT_
}
# req METHOD PATH [KEY] [BODY]: OUT = body, CODE = status
req() {
	local m=$1 p=$2 k=${3:-} b=${4:-}
	local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$m" --max-time 60)
	[ -n "$k" ] && args+=(-H "Authorization: Bearer $k")
	[ -n "$b" ] && args+=(--data-binary "$b")
	CODE=$(curl "${args[@]}" "$URL$p"); OUT=$(cat "$WORK/body")
}
diag() { printf '# %s\n' "$*"; }

# Runs a command capturing stdout, stderr and exit code into OUT, ERR, RC.
capture() { local o e; o=$(mktemp) e=$(mktemp); "$@" >"$o" 2>"$e" </dev/null; RC=$?; OUT=$(cat "$o"); ERR=$(cat "$e"); rm -f "$o" "$e"; }

# wait_until SECONDS CMD…: CMD tried every 50 ms until it succeeds, SECONDS at most (a check
# waits for a state, never a fixed time: docs/testing.md)
wait_until() { local _n=$(($1 * 20)) _i; shift; for _i in $(seq "$_n"); do "$@" && return 0; sleep 0.05; done; return 1; }
# wait_payload PATTERN: until a sandbox process (uid 65534) whose command line matches PATTERN
# runs (a run killed before its sandbox is built leaves nothing to test); wait_no_payload: none
payload_runs() { pgrep -u 65534 -f "$1" >/dev/null; }
payload_gone() { ! payload_runs "$1"; }
wait_payload() { wait_until 20 payload_runs "$1"; }
wait_no_payload() { wait_until 20 payload_gone "$1"; }
# wait_port PORT: until something listens on 127.0.0.1:PORT, without connecting
port_listens() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_port() { wait_until 10 port_listens "$1"; }
# wait_session_busy RUN_DIR SESSION_ID: until the session's meta.json says an exec runs
session_busy() { jq -e .busy "$1"/sessions/*-"$2"/meta.json >/dev/null 2>&1; }
wait_session_busy() { wait_until 10 session_busy "$1" "$2"; }
# kill_run_midway N: an isol8-run of `sleep N`, killed with SIGKILL once its sandbox runs it
kill_run_midway() {
	"$RUN" --cmd "sleep $1" & local p=$!
	wait_payload "^sleep $1\$"; kill -KILL $p; wait $p 2>/dev/null
	wait_no_payload "^sleep $1\$"
}

leftovers() {
	local n i
	# with a pool, wait for it to settle: it sweeps what it handed over and rebuilds
	for i in $(seq 60); do
		n=$(count_leftovers)
		[ -z "$POOL_PID" ] || [ "$n" = 0 ] && break
		sleep 0.05
	done
	echo $n
}

# What is left, for the TAP log: cgroup directories, records, and the processes in them.
show_leftovers() {
	local d
	for d in /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT"/*/ "$ISOL8_RUN_DIR"/sandboxes/*; do
		[ -e "$d" ] || continue
		diag "left: $d $( [ -f "$d/cgroup.procs" ] && tr '\n' ' ' <"$d/cgroup.procs")"
		[ -f "$d/cgroup.procs" ] && for p in $(cat "$d/cgroup.procs"); do diag "  $p: $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"; done
	done
}

count_leftovers() {
	local n=0 c
	for c in memory pids cpu cpuacct; do
		[ -d /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT ] && n=$((n + $(find /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT -mindepth 1 -type d | wc -l)))
	done
	[ -d /sys/fs/cgroup/unified/$ISOL8_CGROUP_PARENT ] && n=$((n + $(find /sys/fs/cgroup/unified/$ISOL8_CGROUP_PARENT -mindepth 1 -type d | wc -l)))
	n=$((n + $(ls "$ISOL8_RUN_DIR/sandboxes" 2>/dev/null | wc -l)))
	if [ -n "$POOL_PID" ] && kill -0 "$POOL_PID" 2>/dev/null; then
		# the pool's ready sandboxes are not leftovers (4 cgroup hierarchies + a record each)
		n=$((n - 5 * $("$BIN/isol8-pool" status | jq -r .ready)))
	fi
	echo $n
}

finish() {
	if [ -n "$POOL_PID" ]; then
		local st hits warm
		st=$("$BIN/isol8-pool" status); hits=$(jq -r .hits <<<"$st"); warm=$(jq -r .warmHits <<<"$st")
		is "$(leftovers)" 0 "no sandbox, cgroup or run-dir record left behind but the pool's own"
		kill -TERM "$POOL_PID"; wait "$POOL_PID" 2>/dev/null
		ok $([ "$hits" -gt 0 ] && echo 0 || echo 1) "the warm pool served runs of this file ($hits)"
		ok $([ "$warm" -gt 0 ] && echo 0 || echo 1) "…$warm of them with the interpreter already running"
	fi
	is "$(leftovers)" 0 "no sandbox, cgroup or run-dir record left behind"
	[ "$(count_leftovers)" = 0 ] || show_leftovers
	for c in memory pids cpu cpuacct; do rmdir /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT 2>/dev/null; done
	rm -rf "$ISOL8_RUN_DIR" "$WORK"
	echo "1..$_n"
	[ "$_fail" = 0 ]
}
