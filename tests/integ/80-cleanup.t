#!/usr/bin/env bash
# isol8-cleanup: removes what a killed `isol8 run` or --persist leaves, never touches live work,
# never mistakes a recycled pid, and is safe to run concurrently (cron + a person).
. "$(dirname "$0")/lib.sh"
CLEAN="$BIN/isol8-cleanup"

capture "$CLEAN"
is "$OUT" '{"removed":0,"failed":0,"errors":[]}' "nothing to do: a zero summary"; is "$RC" 0 "…exit 0"

# kill -9 of isol8 run mid-execution: the sandbox dies with it (PDEATHSIG); its cgroup and
# record stay as evidence until cleanup runs
kill_run_midway 300
is "$(leftovers)" 5 "after kill -9 of isol8 run: its cgroup (4 hierarchies) and record remain"
capture "$CLEAN" --dry-run
is "$(jqr '[.removed, .dryRun, .sandboxes[0].reason] | join(" ")')" "1 true supervisor gone" "--dry-run names it and removes nothing"
is "$(leftovers)" 5 "…really nothing"
capture "$CLEAN"
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "cleanup removes it"
is "$(leftovers)" 0 "no cgroup, no record left"
is "$(pgrep -u 65534 -f 'sleep 300' | wc -l)" 0 "no sandbox process left"

# a live run is never touched, even by concurrent cleanups
"$RUN" --json --cmd 'sleep 2; echo finished' > "$WORK/live.json" & runpid=$!
sleep 0.5
capture "$CLEAN"; a=$OUT
capture "$CLEAN"; b=$OUT
wait $runpid; rc=$?
is "$a$b" '{"removed":0,"failed":0,"errors":[]}{"removed":0,"failed":0,"errors":[]}' "a live run is not removed"
is "$(jq -r '.stdout + " " + .status' "$WORK/live.json") $rc" "finished ok 0" "…and completes normally"

# --persist: kept by default, stopped with --persisted
capture "$RUN" --persist --cmd 'sleep 1000 & echo started'
pid=$(printf '%s' "$ERR" | grep -o 'init pid [0-9]*' | grep -o '[0-9]*$')
capture "$CLEAN"
is "$OUT" '{"removed":0,"failed":0,"errors":[]}' "a --persist sandbox is kept by default"
ok $(kill -0 "$pid" 2>/dev/null; echo $?) "…and still running"
capture "$CLEAN" --persisted
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "--persisted stops and removes it"
# exited: gone, or a zombie waiting for the host's PID 1 to reap it (this VM's does not)
ok $([ ! -e /proc/$pid ] || grep -q ') Z ' /proc/$pid/stat; echo $?) "…its init has exited"
is "$(pgrep -u 65534 -f 'sleep 1000' | wc -l)" 0 "…and its background process too"
is "$(leftovers)" 0 "…and its cgroup and record"

# a recycled pid: the record names a live host process with another start time
sleep 300 & victim=$!
mkdir -p "$ISOL8_RUN_DIR/sandboxes"
printf '{"id":"00000000000000aa","pid":%d,"startTime":1,"bootId":"%s","supervisor":%d,"supervisorStartTime":1,"persist":false}\n' \
	$victim "$(cat /proc/sys/kernel/random/boot_id)" $victim > "$ISOL8_RUN_DIR/sandboxes/00000000000000aa.json"
capture "$CLEAN"
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "a stale record whose pid was recycled is removed"
ok $(kill -0 $victim 2>/dev/null; echo $?) "…and the unrelated process holding that pid is untouched"
kill $victim
# a record whose supervisor is alive but whose init has exited (a failed pool hand-over leaves
# one naming the live pool): stale once past the grace, never before
sleep 300 & sup=$!
sst=$(awk '{print $22}' /proc/$sup/stat)
printf '{"id":"00000000000000dd","pid":999999,"startTime":1,"bootId":"%s","supervisor":%d,"supervisorStartTime":%s,"persist":false}\n' \
	"$(cat /proc/sys/kernel/random/boot_id)" $sup $sst > "$ISOL8_RUN_DIR/sandboxes/00000000000000dd.json"
capture "$CLEAN"
is "$OUT" '{"removed":0,"failed":0,"errors":[]}' "an exited sandbox whose supervisor lives is left alone during the grace"
capture "$CLEAN" --dry-run --orphan-age 0
is "$(printf '%s' "$OUT" | jq -r '.sandboxes[0].reason')" "sandbox exited" "…and seen as stale after it"
capture "$CLEAN" --orphan-age 0
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "…and removed"
ok $(kill -0 $sup; echo $?) "…without touching the live supervisor"
kill $sup

# a record from a previous boot
printf '{"id":"00000000000000bb","pid":1,"startTime":1,"bootId":"not-this-boot","supervisor":1,"supervisorStartTime":1,"persist":false}\n' \
	> "$ISOL8_RUN_DIR/sandboxes/00000000000000bb.json"
capture "$CLEAN" --dry-run
is "$(jqr '.sandboxes[0].reason')" "previous boot" "a record from a previous boot is stale"
capture "$CLEAN"
ok $(kill -0 1; echo $?) "…and pid 1 of this boot was not signalled"
echo 'not json' > "$ISOL8_RUN_DIR/sandboxes/0000000000000bad.json"
capture "$CLEAN"
is "$(jqr '[.failed, .errors[0]] | join(" ")')" "1 0000000000000bad: unreadable record (left in place)" "an unreadable record is reported, not guessed at"
is "$RC" 1 "…exit 1"
rm "$ISOL8_RUN_DIR/sandboxes/0000000000000bad.json"

# an empty cgroup with no record (crash between cgroup creation and the record)
for c in memory pids cpu cpuacct; do mkdir -p /sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT/00000000000000cc; done
capture "$CLEAN"
is "$OUT" '{"removed":0,"failed":0,"errors":[]}' "a young record-less cgroup is left alone (it may be mid-creation)"
capture "$CLEAN" --orphan-age 0
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "…and removed once old enough"

# a record's temporary file, left by a writer killed between writing it and renaming it into
# place (a pool killed with SIGKILL while it hands a record over): removed once old enough
# (a younger one may be being written right now), and never anything else in that directory
T="$ISOL8_RUN_DIR/sandboxes/00000000000000dd.json.tmp"
echo '{"id":"00000000000000dd"' >"$T"; echo keep >"$ISOL8_RUN_DIR/sandboxes/notes.txt"
capture "$CLEAN"
is "$OUT:$(ls "$ISOL8_RUN_DIR/sandboxes" | tr '\n' ' ')" '{"removed":0,"failed":0,"errors":[]}:00000000000000dd.json.tmp notes.txt ' \
	"a young record's temporary file is left alone (it may be being written)"
touch -d '-2 minutes' "$T" "$ISOL8_RUN_DIR/sandboxes/notes.txt"
capture "$CLEAN"
is "$OUT:$(ls "$ISOL8_RUN_DIR/sandboxes" | tr '\n' ' ')" '{"removed":0,"failed":0,"errors":[]}:notes.txt ' \
	"…and removed once older than --orphan-age; a file of another name stays"
rm "$ISOL8_RUN_DIR/sandboxes/notes.txt"

# two cleanups at once over two stale sandboxes: each removed exactly once
for k in 1 2; do kill_run_midway 30$k; done
"$CLEAN" > "$WORK/c1" & "$CLEAN" > "$WORK/c2"; wait
is "$(cat "$WORK/c1" "$WORK/c2" | jq -s 'map(.removed) | add')" 2 "concurrent cleanups remove each sandbox once"
is "$(cat "$WORK/c1" "$WORK/c2" | jq -s 'map(.failed) | add')" 0 "…without errors"

# the dispatcher asks first (the reference's behaviour); --force skips the question
kill_run_midway 303
capture bash -c "echo n | '$ISOL8' cleanup"
like "$ERR" 'Found 1 stale isol8 sandbox' "isol8 cleanup lists what it found"
like "$ERR" 'Cleanup cancelled' "…and anything but y cancels"
is "$(leftovers)" 5 "…leaving everything in place"
capture bash -c "echo y | '$ISOL8' cleanup"
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "y removes"
kill_run_midway 304
capture "$ISOL8" cleanup --force
is "$OUT" '{"removed":1,"failed":0,"errors":[]}' "isol8 cleanup --force does not ask"
capture "$CLEAN" --bogus
like "$ERR" '^\[ERR\] unknown option' "bad flag: one clear error"

finish
