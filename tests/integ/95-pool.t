#!/usr/bin/env bash
# isol8-pool: warm single-use sandboxes. Never handed out twice; a missing, empty or dead pool
# never makes isol8 run fail; pooled sandboxes that die are replaced; memory stays bounded.
. "$(dirname "$0")/lib.sh"
POOL="$BIN/isol8-pool"

capture "$RUN" --json -e 'print(1)'
is "$(jqr .warm)" false "without a pool: the cold path"
capture "$POOL" status
is "$OUT" '{"running":false}' "pool status says when no pool runs"

ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1" "$POOL" --size 2 2>/dev/null & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
capture "$POOL" status
is "$(jqr '[.running, .strategy, .size, .ready, .kinds.plain, .kinds.python, .kinds.node, .kinds["python-session"], .kinds.bash] | map(tostring) | join(" ")')" \
	"true fast 2 10 2 2 2 2 2" "the pool prepares its sandboxes: 2 plain, 2 with python running, 2 with node, 2 python sessions' interpreters, 2 with bash"

# every pooled sandbox holds only its own descriptors, whatever was built before it (an init
# that kept its supervisor's fds held the other sandboxes' pipes: a stdin never reached EOF);
# sandboxes of one kind (plain, python, node, bash: the payload's comm) hold the same number
counts=""
for rec in "$ISOL8_RUN_DIR"/sandboxes/*.json; do
	ipid=$(jq -r .pid "$rec")
	kids=$(cat /proc/$ipid/task/$ipid/children)
	counts="$counts $(cat /proc/${kids%% *}/comm):$(ls /proc/$ipid/fd | wc -l)/$(ls /proc/${kids%% *}/fd | wc -l)"
done
is "$(printf '%s\n' $counts | sort -u | wc -l)" 4 "pooled inits and payloads hold the same descriptors, none of their siblings' ($counts )"

export SECRET_ENV=host-only
capture "$RUN" --json --secret TOKEN=first-run-secret -e '
import os, subprocess
open("/sandbox/left-behind", "w").write("x"); open("/tmp/left-behind", "w").write("x")
subprocess.Popen(["sleep", "30"])
print(os.environ.get("TOKEN"))'
is "$(jqr '[.warm, .stdout] | map(tostring) | join(" ")')" "true ***" "a warm run: same output rules"
capture "$RUN" --json -e '
import os
print(os.listdir("/sandbox"), os.listdir("/tmp"), "TOKEN" in os.environ, sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))'
is "$(jqr .stdout)" "[] [] False [2]" "the next warm run sees no file, env var or process of the previous one"
is "$(jqr .warm)" true "…and it was warm too"

capture env ISOL8_NO_POOL=1 "$RUN" --json -e 'print(1)'
is "$(jqr .warm)" false "ISOL8_NO_POOL=1: the cold path even with a pool running"
capture "$ISOL8" pool status
is "$(jqr .running)" true "isol8 pool status (the dispatcher) reaches the pool"
# a pool busy building sandboxes answers late under load: status waits for it (it gave up after 1 s)
kill -STOP $pl; (sleep 2; kill -CONT $pl) & cont=$!
capture "$POOL" status; wait $cont
is "$(jqr .running)" true "pool status waits for a pool that answers 2 s late"
capture "$RUN" --json --memory 128m -e 'print(1)'
is "$(jqr .warm)" false "different limits: the cold path, not an error"
capture "$RUN" --json --net host -e 'print(1)'
is "$(jqr .warm)" false "another network: the cold path"
capture "$RUN" --json --writable -e 'print(1)'
is "$(jqr .warm)" false "--writable (a pooled root is read-only): the cold path"

# every runtime and exit path behaves as cold
capture "$RUN" -r node -e 'process.exit(42)'; is "$RC" 42 "warm node: exit code"
capture "$RUN" --timeout 800 -e 'while True: pass'; is "$RC" 137 "warm: timeout"
like "$ERR" 'EXECUTION TIMED OUT' "…with its message"
capture "$RUN" --json -e 'x = bytearray(600 << 20)'; is "$(jqr .status)" oom "warm: OOM from the cgroup"

# a pooled sandbox whose init is killed is discarded and replaced
victim=$(jq -r 'select(.persist == false) | .pid' "$ISOL8_RUN_DIR"/sandboxes/*.json | head -1)
kill -KILL "$victim"
for i in $(seq 100); do capture "$POOL" status; [ "$(jqr '.discarded >= 1 and .ready >= 10')" = true ] && break; sleep 0.1; done
is "$(jqr '.discarded >= 1 and .ready >= 10')" true "a pooled sandbox that died is discarded and replaced"
# a warm interpreter that dies (not its init) is discarded too
# (one of this pool's: the children of its sandboxes' inits, not another pool's on the machine)
wpid=$(for rec in "$ISOL8_RUN_DIR"/sandboxes/*.json; do
	i=$(jq -r .pid "$rec")
	for k in $(cat /proc/$i/task/$i/children 2>/dev/null); do [ "$(cat /proc/$k/comm)" = python3 ] && echo $k; done
done | head -1)
d0=$(jqr .discarded)
kill -KILL "$wpid"
for i in $(seq 100); do capture "$POOL" status; [ "$(jqr ".discarded > $d0 and .kinds.python >= 2")" = true ] && break; sleep 0.1; done
is "$(jqr ".discarded > $d0 and .kinds.python >= 2")" true "a pooled interpreter that died is discarded and replaced"
capture "$RUN" --json -e 'print(2)'
is "$(jqr '[.stdout, .status] | join(" ")')" "2 ok" "…and runs still work"

# bursts of 100 runs: the pool keeps its size plus what demand adds (at most 16 per kind, five
# kinds here), and its memory stays bounded: measured over a second burst, once the first has
# grown the allocator's caches and the sandboxes demand added. (Under AddressSanitizer freed
# memory waits in a quarantine, 256 MB by default, which would read as growth: this file's
# pool keeps 1 MB.)
burst() {
	local i pids=()
	for i in $(seq 100); do
		"$RUN" -e 'pass' >/dev/null 2>&1 & pids+=($!)
		if [ ${#pids[@]} = 8 ]; then wait "${pids[@]}"; pids=(); fi
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
}
burst
rss0=$(awk '/VmRSS/ {print $2}' /proc/$pl/status)
burst
rss1=$(awk '/VmRSS/ {print $2}' /proc/$pl/status)
capture "$POOL" status
ok $([ "$(jqr .ready)" -le $((5 * (2 + 16))) ] && echo 0 || echo 1) "after 200 runs the pool holds at most its size and what demand adds ($(jqr .ready) ready, $(jqr .hits) hits)"
ok $([ $((rss1 - rss0)) -lt 4096 ] && echo 0 || echo 1) "the pool's own memory stays bounded (RSS ${rss0} → ${rss1} KB over the second 100 runs)"

# --max-age: pooled sandboxes older than that are replaced
"$POOL" status >/dev/null
before=$(jqr .discarded)
kill -KILL $pl; wait $pl 2>/dev/null; rm -f "$ISOL8_RUN_DIR/pool.sock"
"$BIN/isol8-cleanup" >/dev/null
"$POOL" --size 1 --max-age 3000 --runtimes none 2>/dev/null & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
sleep 4
for i in $(seq 100); do capture "$POOL" status; [ "$(jqr '.discarded >= 1 and .ready == 1')" = true ] && break; sleep 0.1; done
ok $([ "$(jqr .discarded)" -ge 1 ] && [ "$(jqr .ready)" -eq 1 ] && echo 0 || echo 1) "--max-age replaces pooled sandboxes that grow old ($(jqr .discarded) discarded, $(jqr .ready) ready)"

# the secure strategy keeps no interpreter running: each starts when its run arrives
kill -TERM $pl; wait $pl 2>/dev/null
"$POOL" --size 1 --strategy secure 2>/dev/null & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
capture "$POOL" status
is "$(jqr '[.strategy, .ready, (.kinds | keys | join(","))] | map(tostring) | join(" ")')" "secure 1 plain" "--strategy secure: plain sandboxes only"
capture "$RUN" --json -e 'print(4)'
is "$(jqr '[.stdout, .warm] | map(tostring) | join(" ")')" "4 true" "…still warm (set-up done ahead)"
capture "$POOL" status
is "$(jqr '[.hits, .warmHits] | map(tostring) | join(" ")')" "1 0" "…with the interpreter started for the run"
capture "$POOL" --strategy quick
like "$RC $ERR" '^1 .*--strategy takes fast or secure' "--strategy: a bad value is one clear error"
capture "$POOL" --runtimes python,ruby
like "$RC $ERR" '^1 .*"ruby" cannot be pre-started' "--runtimes: a runtime without a warm driver is refused"

# SIGHUP re-reads the configuration: size and strategy
kill -TERM $pl; wait $pl 2>/dev/null
echo '{"poolStrategy":"fast","poolSize":1}' >"$WORK/pool.json"
ISOL8_CONFIG="$WORK/pool.json" "$POOL" --runtimes python 2>/dev/null & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
capture "$POOL" status
is "$(jqr '[.strategy, .size, (.kinds | keys | join(","))] | map(tostring) | join(" ")')" "fast 1 plain,python,python-session" "the config's poolStrategy and poolSize"
echo '{"poolStrategy":"secure","poolSize":2}' >"$WORK/pool.json"
kill -HUP $pl
for i in $(seq 100); do capture "$POOL" status; [ "$(jqr '[.strategy, .ready] | map(tostring) | join(" ")')" = "secure 2" ] && break; sleep 0.05; done
is "$(jqr '[.strategy, .size, .ready, (.kinds | keys | join(","))] | map(tostring) | join(" ")')" "secure 2 2 plain" "SIGHUP: the new strategy and size, and no interpreter kept"

# a sandbox in use is its holder's: the pool rewrites its record to name the run (after the
# handover, off the run's path), so neither the pool's death nor isol8-cleanup touches the run
"$RUN" --json -e 'import time; time.sleep(2); print("survived")' >"$WORK/held.json" & held=$!
for i in $(seq 60); do grep -qs "\"supervisor\":$held," "$ISOL8_RUN_DIR"/sandboxes/*.json && break; sleep 0.05; done
named=$(grep -ls "\"supervisor\":$held," "$ISOL8_RUN_DIR"/sandboxes/*.json | wc -l)
kill -KILL $pl; wait $pl 2>/dev/null
"$BIN/isol8-cleanup" >/dev/null
wait $held
is "$named|$(jq -r '[.stdout, .warm, .exitCode] | map(tostring) | join(" ")' "$WORK/held.json")" "1|survived true 0" \
	"a run in a pooled sandbox: its record names the run; killing the pool and isol8-cleanup leave it be"

# the daemon killed: runs fall back to cold; what it held is cleaned up
sleep 0.3
capture "$RUN" --json -e 'print(3)'
is "$(jqr '[.stdout, .warm] | map(tostring) | join(" ")')" "3 false" "with the pool killed: cold, not an error"
# The SIGKILL reaches the inits of sandboxes the pool was still building only through their
# parent-death signal, and one killed before the pool wrote its record leaves empty cgroups with
# no record: orphans, which cleanup takes only once older than --orphan-age (one that young may
# be a sandbox being made right now). Nothing else runs here, so age 0 is safe.
capture "$BIN/isol8-cleanup"
failed=$(jqr .failed)
for i in $(seq 50); do
	[ "$(count_leftovers)" = 0 ] && break
	capture "$BIN/isol8-cleanup" --orphan-age 0
	failed=$((failed + $(jqr .failed)))
	sleep 0.1
done
is "$failed $(count_leftovers)" "0 0" "isol8-cleanup removes the killed pool's sandboxes (and, at orphan age 0, what it was still building)"
[ "$(count_leftovers)" = 0 ] || show_leftovers
rm -f "$ISOL8_RUN_DIR/pool.sock"

finish
