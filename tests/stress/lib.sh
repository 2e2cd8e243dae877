# lib.sh — the stress suite's harness (make stress). Each .t file gets a private run dir and
# cgroup parent, one busy loop per CPU for its whole life, and:
#   check GROUP RC STDOUT STDERR CMD…   one run under a watchdog: exact stdout, stderr and status,
#                                       no EXECUTION TIMED OUT, and no slower than $LIMIT_S
#   report GROUP N DESCRIPTION           one TAP line for the group's N runs, with the failures
#   service PID                          a server the file started (pool, isol8-serve): TERMed at
#                                        the end, and the file fails if it does not exit
#   finish                               fails on any process, cgroup, mount or run-dir file left
# The busy loops, services and everything left behind are removed on every exit, interrupts too.
set -u
BIN=${ISOL8_BIN:?set ISOL8_BIN to the build/bin directory (make stress does)}
export ISOL8_RUN_DIR=$(mktemp -d /tmp/isol8-stress.XXXXXX)
export ISOL8_CGROUP_PARENT=isol8-stress-$$
export ISOL8_CONFIG=$ISOL8_RUN_DIR/config.json
echo '{}' > "$ISOL8_CONFIG"
WORK=$(mktemp -d /tmp/isol8-stress-work.XXXXXX)
ISOL8="$BIN/isol8"

# Every run gets --timeout $RUN_MS. The programs take well under a second even on loaded CPUs, so
# a run slower than $LIMIT_S is a hang (the fast-exit hang waits for the whole timeout), and a run
# still alive $WATCHDOG_S after it started ignored its own timeout: the watchdog TERMs it (then
# KILLs it 5 s later).
RUN_MS=${STRESS_RUN_MS:-8000}
LIMIT_S=${STRESS_LIMIT_S:-4}
WATCHDOG_S=$((RUN_MS / 1000 + 10 > LIMIT_S + 10 ? RUN_MS / 1000 + 10 : LIMIT_S + 10))
# Iteration counts are multiplied by STRESS_SCALE (1 = the CI run, under 5 minutes in all).
SCALE=${STRESS_SCALE:-1}
# A group stops after this many failed runs (0: never); the rest would only repeat the failure.
MAX_FAILS=${STRESS_MAX_FAILS:-5}

_n=0 _fail=0
ok()   { _n=$((_n+1)); if [ "$1" = 0 ]; then echo "ok $_n - $2"; else echo "not ok $_n - $2"; _fail=$((_fail+1)); fi; }
is()   { _n=$((_n+1)); if [ "$1" == "$2" ]; then echo "ok $_n - $3"; else echo "not ok $_n - $3"; printf '#   got:      %q\n#   expected: %q\n' "$1" "$2"; _fail=$((_fail+1)); fi; }
diag() { printf '# %s\n' "$*"; }
# times N: N × STRESS_SCALE, at least 1
times() { local n=$(($1 * SCALE)); echo $((n > 0 ? n : 1)); }
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }

# ---- busy loops ---------------------------------------------------------------------------------
# One per CPU. Each checks every few thousand iterations that this file still runs, so a loop
# cannot outlive it even if the file is killed with SIGKILL.
SPIN=()
_spin_start() {
	local i
	for i in $(seq "$(nproc)"); do
		sh -c 'while kill -0 "$1" 2>/dev/null; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; done' spin $$ \
			</dev/null >/dev/null 2>&1 &
		SPIN+=($!)
	done
}
_spin_stop() {
	local p
	for p in "${SPIN[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	SPIN=()
}
SPIN_STARTED=$(now_us)

# ---- services -----------------------------------------------------------------------------------
SERVICES=()
service() { SERVICES+=("$1"); }
# stop_services: TERM each, 10 s to exit; one that does not is a failure (and is KILLed)
stop_services() {
	local p i
	for p in "${SERVICES[@]}"; do
		kill -TERM "$p" 2>/dev/null
		for i in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		if kill -0 "$p" 2>/dev/null; then
			ok 1 "$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)(pid $p) exits on SIGTERM"
			kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	SERVICES=()
}

# par N CMD…: CMD… WORKER in N parallel workers (WORKER = 1..N); waits for all
par() {
	local n=$1 i pids=(); shift
	for i in $(seq "$n"); do "$@" "$i" & pids+=($!); done
	wait "${pids[@]}"
}

# ---- one run --------------------------------------------------------------------------------------
# check GROUP RC STDOUT STDERR CMD…: records one line in $WORK/res.GROUP (ok, hang, status or
# output, with the time) and, for a failure, how to reproduce it in $WORK/diag.GROUP.
# Safe to call from parallel subshells (each writes its own output files; lines are appended).
check() {
	local g=$1 wrc=$2 wout=$3 werr=$4; shift 4
	if [ "$MAX_FAILS" != 0 ] && [ -f "$WORK/nfail.$g" ] && [ "$(wc -l <"$WORK/nfail.$g")" -ge "$MAX_FAILS" ]; then
		echo "skipped 0" >>"$WORK/res.$g"; return
	fi
	local o=$WORK/o.$BASHPID e=$WORK/e.$BASHPID t0 ms rc out= err= why=
	t0=$(now_us)
	# in the background and waited for, so that an interrupt is handled at once
	timeout -k 5 "$WATCHDOG_S" "$@" >"$o" 2>"$e" </dev/null & wait $!; rc=$?
	ms=$((($(now_us) - t0) / 1000))
	IFS= read -r -d '' out <"$o"; IFS= read -r -d '' err <"$e"
	if [ "$rc" = 124 ] || [ "$rc" = 137 -a "$wrc" != 137 ] || [[ $err == *"EXECUTION TIMED OUT"* ]] \
		|| [ "$ms" -gt $((LIMIT_S * 1000)) ]; then
		why=hang
	elif [ "$rc" != "$wrc" ]; then why=status
	elif [ "$out" != "$wout" ] || [ "$err" != "$werr" ]; then why=output
	fi
	if [ -z "$why" ]; then echo "ok $ms" >>"$WORK/res.$g"; return; fi
	echo "$why $ms" >>"$WORK/res.$g"; echo x >>"$WORK/nfail.$g"
	{
		printf '%s after %d ms: exit %s (want %s); command:' "$why" "$ms" "$rc" "$wrc"; printf ' %q' "$@"; echo
		printf '    stdout %q (want %q)\n    stderr %q (want %q)\n' "${out:0:300}" "$wout" "${err:0:300}" "$werr"
	} >>"$WORK/diag.$g"
}

# report GROUP N DESCRIPTION: one TAP line; fails unless all N runs were recorded and right
report() {
	local g=$1 want=$2 desc=$3 n=0 bad=0 slow=0 hang=0 status=0 output=0 skipped=0 w ms
	if [ -f "$WORK/res.$g" ]; then
		while read -r w ms; do
			n=$((n+1)); [ "$ms" -gt "$slow" ] && slow=$ms
			case $w in ok) ;; hang) hang=$((hang+1)) ;; status) status=$((status+1)) ;;
				output) output=$((output+1)) ;; skipped) skipped=$((skipped+1)) ;; esac
		done <"$WORK/res.$g"
	fi
	bad=$((hang + status + output))
	TOTAL_RUNS=$((TOTAL_RUNS + n - skipped)); TOTAL_HANGS=$((TOTAL_HANGS + hang))
	if [ "$n" = "$want" ] && [ "$bad" = 0 ]; then
		ok 0 "$desc: $n runs, exact output and status, none over ${LIMIT_S} s (slowest $slow ms)"
	else
		ok 1 "$desc: $bad of $((n - skipped)) runs failed ($hang hung, $status wrong status, $output wrong output$(
			[ "$skipped" = 0 ] || echo "; $skipped not run after $MAX_FAILS failures")$(
			[ "$n" = "$want" ] || echo "; $n recorded of $want"))"
		[ -f "$WORK/diag.$g" ] && sed 's/^/#   /' "$WORK/diag.$g"
	fi
}
TOTAL_RUNS=0 TOTAL_HANGS=0

# ---- the programs ---------------------------------------------------------------------------------
# Two per runtime: A prints 42 and exits 0; B prints o on stdout, e on stderr and exits 3 (as
# code for -e and as a file in $WORK). Quick programs: the shortest runs there are, the ones
# whose exit was missed.
RUNTIMES="python node bun deno bash"
declare -A PROG_A=([python]='print(6 * 7)' [node]='console.log(6 * 7)' [bun]='console.log(6 * 7)'
	[deno]='console.log(6 * 7)' [bash]='echo $((6 * 7))')
declare -A PROG_B=([python]='import sys; print("o"); print("e", file=sys.stderr); sys.exit(3)'
	[node]='console.log("o"); console.error("e"); process.exit(3)'
	[bun]='console.log("o"); console.error("e"); process.exit(3)'
	[deno]='console.log("o"); console.error("e"); Deno.exit(3)'
	[bash]='echo o; echo e >&2; exit 3')
declare -A EXT=([python]=py [node]=js [bun]=js [deno]=ts [bash]=sh)
for rt in $RUNTIMES; do
	printf '%s\n' "${PROG_A[$rt]}" >"$WORK/a-$rt.${EXT[$rt]}"; printf '%s\n' "${PROG_B[$rt]}" >"$WORK/b-$rt.${EXT[$rt]}"
done
printf 'echo quick\n' >"$WORK/quick.sh"
# program RT I: sets PROG (the run's input arguments), WRC, WOUT, WERR for iteration I of RT,
# cycling through A as code, B as a file, B as code, A as a file
program() {
	local rt=$1 i=$2
	case $((i % 4)) in
		0) PROG=(-r "$rt" -e "${PROG_A[$rt]}") ;;
		1) PROG=(-r "$rt" "$WORK/b-$rt.${EXT[$rt]}") ;;
		2) PROG=(-r "$rt" -e "${PROG_B[$rt]}") ;;
		3) PROG=(-r "$rt" "$WORK/a-$rt.${EXT[$rt]}") ;;
	esac
	if [ $((i % 4)) = 0 ] || [ $((i % 4)) = 3 ]; then WRC=0 WOUT=$'42\n' WERR=
	else WRC=3 WOUT=$'o\n' WERR=$'e\n'; fi
}

# ---- what is left behind --------------------------------------------------------------------------
# cgroup directories of this file's parent, in every hierarchy (v1 controllers, unified, or a v2 root)
_cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/"$ISOL8_CGROUP_PARENT" /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT"; do
		[ -d "$d" ] && find "$d" -mindepth 1 -type d
	done
}
# processes of this run dir: in one of its cgroups, rooted or working in it, or started with it
# as ISOL8_RUN_DIR (supervisors, runs, servers); not this shell nor its busy loops
_procs() {
	local p pid l v here=$PWD skip=" $$ $BASHPID ${SPIN[*]} "
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[[ $skip == *" $pid "* ]] && continue
		{
			while IFS= read -r l; do
				[[ $l == *":/$ISOL8_CGROUP_PARENT/"* || $l == *":/$ISOL8_CGROUP_PARENT" ]] && { echo "$pid (cgroup ${l#*:*:})"; continue 2; }
			done <"$p/cgroup"
			while IFS= read -r -d '' v; do
				[ "$v" = "ISOL8_RUN_DIR=$ISOL8_RUN_DIR" ] && { echo "$pid (ISOL8_RUN_DIR)"; continue 2; }
			done <"$p/environ"
			# (cd -P, not readlink: hundreds of forks take seconds on loaded CPUs)
			for l in root cwd; do
				cd -P "$p/$l" && [[ $PWD == "$ISOL8_RUN_DIR"/* ]] && { echo "$pid ($l $PWD)"; cd "$here"; continue 2; }
			done
			cd "$here"
		} 2>/dev/null
	done
}
_mounts() {
	local f a b c d mp rest
	for f in /proc/self/mountinfo /proc/1/mountinfo; do
		while read -r a b c d mp rest; do
			[[ $mp == "$ISOL8_RUN_DIR" || $mp == "$ISOL8_RUN_DIR"/* ]] && echo "$mp"
		done <"$f"
	done | sort -u
}
_files() {
	local d
	for d in sandboxes sessions root; do
		[ -d "$ISOL8_RUN_DIR/$d" ] && find "$ISOL8_RUN_DIR/$d" -mindepth 1
	done
}
# left_behind: waits up to 5 s for teardown to settle; sets LEFT_PROCS, LEFT_CGROUPS, LEFT_MOUNTS,
# LEFT_FILES (one item a line)
left_behind() {
	local i
	for i in $(seq 50); do
		LEFT_PROCS=$(_procs); LEFT_CGROUPS=$(_cgroup_dirs); LEFT_MOUNTS=$(_mounts); LEFT_FILES=$(_files)
		[ -z "$LEFT_PROCS$LEFT_CGROUPS$LEFT_MOUNTS$LEFT_FILES" ] && return
		sleep 0.1
	done
}
_left() {
	if [ -z "$1" ]; then ok 0 "no $2 left behind"; else
		ok 1 "no $2 left behind: $(printf '%s\n' "$1" | wc -l) found"; printf '%s\n' "$1" | head -20 | sed 's/^/#   /'
	fi
}

_cleaned=0
_cleanup() {
	[ "$_cleaned" = 1 ] && return; _cleaned=1
	local p c
	_spin_stop
	for p in "${SERVICES[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	# whatever is still here after a failure or an interrupt (parallel workers, runs, sandboxes'
	# processes: all carry this run dir or cgroup parent), then its sandboxes' records and cgroups
	for p in $(_procs | cut -d' ' -f1); do kill -KILL "$p" 2>/dev/null; done
	"$BIN/isol8-cleanup" --persisted --orphan-age 0 >/dev/null 2>&1
	for c in $(_cgroup_dirs | sort -r); do rmdir "$c" 2>/dev/null; done
	for c in /sys/fs/cgroup/"$ISOL8_CGROUP_PARENT" /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT"; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
	rm -rf "$ISOL8_RUN_DIR" "$WORK"
}
trap _cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT
trap 'echo "# terminated"; exit 143' TERM HUP

# finish: stops the services, checks what is left behind, prints the plan; the exit status
finish() {
	stop_services
	left_behind
	_left "$LEFT_PROCS" "process of this run dir's sandboxes, sessions or servers"
	_left "$LEFT_CGROUPS" "cgroup under $ISOL8_CGROUP_PARENT (any hierarchy)"
	_left "$LEFT_MOUNTS" "mount under the run dir"
	_left "$LEFT_FILES" "file under the run dir's sandboxes/, sessions/ or root/"
	diag "$TOTAL_RUNS runs, $TOTAL_HANGS hung, with $(nproc) busy loops for $((($(now_us) - SPIN_STARTED) / 1000000)) s"
	_cleanup
	echo "1..$_n"
	[ "$_fail" = 0 ]
}

_spin_start

# ---- the isol8 run workload (cold and warm) --------------------------------------------------------
# Runs per runtime (bun and deno start slower: fewer) and per quick program.
declare -A ITER=([python]=24 [node]=24 [bun]=12 [deno]=12 [bash]=24)
QUICK=120
_cli_runtime() { # MODE RT N
	local i
	for i in $(seq "$3"); do
		program "$2" "$i"
		check "$1-$2" "$WRC" "$WOUT" "$WERR" "$ISOL8" run --timeout "$RUN_MS" "${PROG[@]}"
	done
}
_cli_quick() { # MODE N WORKER: the three quick programs in turn
	local i
	for i in $(seq "$2"); do
		case $((i % 3)) in
			0) check "$1-par" 0 "" "" "$ISOL8" run --timeout "$RUN_MS" --cmd true ;;
			1) check "$1-par" 0 $'\n' "" "$ISOL8" run --timeout "$RUN_MS" -r bash -e echo ;;
			2) check "$1-par" 0 $'quick\n' "" "$ISOL8" run --timeout "$RUN_MS" "$WORK/quick.sh" ;;
		esac
	done
}
# With POOL set (an isol8-pool serves the run dir), each group must have had sandboxes from it
# (and python's and node's, pre-started interpreters): a run the pool cannot serve at once runs
# cold, so under load not every run is a hit, but a group with none did not test the warm path.
_pool_mark() { [ -z "${POOL:-}" ] || POOL_MARK=$("$POOL" status | jq -r '"\(.hits) \(.warmHits)"'); }
_pool_report() { # DESCRIPTION WANT-WARM
	[ -z "${POOL:-}" ] && return
	local h0 w0 h1 w1
	read -r h0 w0 <<<"$POOL_MARK"; _pool_mark; read -r h1 w1 <<<"$POOL_MARK"
	if [ "${2:-}" = 1 ]; then
		ok $([ $((w1 - w0)) -gt 0 ]; echo $?) "$1: $((h1 - h0)) of them from the pool, $((w1 - w0)) with the interpreter running"
	else
		ok $([ $((h1 - h0)) -gt 0 ]; echo $?) "$1: $((h1 - h0)) of them from the pool"
	fi
}
# cli_workload MODE: every runtime, then each quick program $QUICK times, then the three mixed
# in two parallel workers
cli_workload() {
	local m=$1 rt i n
	for rt in $RUNTIMES; do
		n=$(times "${ITER[$rt]}")
		_pool_mark
		_cli_runtime "$m" "$rt" "$n"
		report "$m-$rt" "$n" "$m $rt (isol8 run, -e and file, exit 0 and 3)"
		_pool_report "$m $rt" $([[ " ${WARM_RUNTIMES:-} " == *" $rt "* ]] && echo 1)
	done
	n=$(times $QUICK)
	_pool_mark
	for i in $(seq "$n"); do check "$m-true" 0 "" "" "$ISOL8" run --timeout "$RUN_MS" --cmd true; done
	report "$m-true" "$n" "$m: isol8 run --cmd true"
	_pool_report "$m: --cmd true"
	for i in $(seq "$n"); do check "$m-echo" 0 $'\n' "" "$ISOL8" run --timeout "$RUN_MS" -r bash -e echo; done
	report "$m-echo" "$n" "$m: isol8 run -r bash -e echo"
	_pool_report "$m: -r bash -e echo"
	for i in $(seq "$n"); do check "$m-file" 0 $'quick\n' "" "$ISOL8" run --timeout "$RUN_MS" "$WORK/quick.sh"; done
	report "$m-file" "$n" "$m: isol8 run quick.sh (file-based bash)"
	_pool_report "$m: quick.sh"
	n=$(times $((QUICK / 2)))
	par 2 _cli_quick "$m" "$n"
	report "$m-par" $((2 * n)) "$m: the quick programs in two parallel streams"
	_pool_report "$m: two parallel streams"
}
