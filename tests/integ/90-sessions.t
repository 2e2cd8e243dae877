#!/usr/bin/env bash
# Persistent sessions: interpreter state in all five runtimes, exit codes that keep the
# session, recovery after the interpreter dies or an exec times out, files in and out
# (binary-safe, no escapes), serialized execs, runtime-switch error, supervisor crash +
# cleanup, idle expiry, and the documented --persistent example.
. "$(dirname "$0")/lib.sh"
S="$BIN/isol8-session"
CLEAN="$BIN/isol8-cleanup"

declare -A SET=([python]='x = 40' [node]='let x = 40; function two() { return 2 }' [bun]='let x = 40; function two() { return 2 }'
	[deno]='let x = 40; function two() { return 2 }' [bash]='x=40; two() { echo 2; }; cd /tmp')
declare -A USE=([python]='print(x + 2)' [node]='console.log(x + two())' [bun]='console.log(x + two())'
	[deno]='console.log(x + two())' [bash]='echo $((x + $(two))) $PWD')
declare -A WANT=([python]=42 [node]=42 [bun]=42 [deno]=42 [bash]='42 /tmp')
declare -A EXIT3=([python]='import sys; sys.exit(3)' [node]='process.exit(3)' [bun]='process.exit(3)' [deno]='process.exit(3)'
	[bash]='exit 3; echo never')
declare -A DIE=([python]='import os; os._exit(1)' [node]='require("fs").writeSync(1, "bye\n"); process.reallyExit(1)'
	[bun]='process.reallyExit(1)' [deno]='Deno.exit(1)' [bash]='kill -9 $$')

for rt in python node bun deno bash; do
	capture "$S" create -r $rt --id t-$rt
	is "$OUT" "{\"id\":\"t-$rt\",\"runtime\":\"$rt\"}" "$rt: session created"
	capture "$S" exec t-$rt -e "${SET[$rt]}"
	is "$RC" 0 "$rt: first block runs"
	capture "$S" exec t-$rt -e "${USE[$rt]}"
	is "$OUT" "${WANT[$rt]}" "$rt: the next block sees its variables (and functions, cwd)"
	capture "$S" exec t-$rt -e "${EXIT3[$rt]}"
	is "$RC" 3 "$rt: an exit code ends the block with that code"
	capture "$S" exec t-$rt -e "${USE[$rt]}"
	is "$OUT" "${WANT[$rt]}" "$rt: …and the session keeps its state"
	capture "$S" exec t-$rt --json -e "${DIE[$rt]}"
	like "$(printf '%s' "$OUT" | jq -r .status)" '^(error|signal)$' "$rt: the interpreter dying ends that exec"
	capture "$S" exec t-$rt --json --cmd 'echo still-here > /sandbox/mark; cat /sandbox/mark'
	is "$(printf '%s' "$OUT" | jq -r .stdout)" still-here "$rt: --cmd runs in the same sandbox"
	capture "$S" exec t-$rt --json -e "${USE[$rt]}"
	is "$(printf '%s' "$OUT" | jq -r .interpreterRestarted)" true "$rt: the next exec starts a fresh interpreter"
	like "$(printf '%s' "$OUT" | jq -r .stderr)" 'started a new .* interpreter \(variables are gone, files remain\)' "$rt: …and says so"
	capture "$S" delete t-$rt
	is "$OUT" "[OK] Session \"t-$rt\" destroyed." "$rt: deleted"
done

"$S" create -r python --id main > /dev/null
capture "$S" exec main -r node -e 'console.log(1)'
is "$ERR" '[ERR] Cannot switch runtime from "python" to "node". Each persistent container supports a single runtime. Create a new Isol8 instance for a different runtime.' "switching runtime: the reference's message"
is "$RC" 1 "…exit 1"

head -c 256 /dev/zero | python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > "$WORK/all.bin"
"$S" put main /sandbox/in/all.bin "$WORK/all.bin"
capture "$S" exec main -e 'd = open("/sandbox/in/all.bin","rb").read(); print(len(d), d == bytes(range(256)))'
is "$OUT" "256 True" "put: all 256 byte values arrive"
"$S" exec main -e 'open("/sandbox/out.bin","wb").write(bytes(range(255,-1,-1)))'
"$S" get main /sandbox/out.bin > "$WORK/out.bin"
is "$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read() == bytes(range(255,-1,-1)))' "$WORK/out.bin")" True "get: all 256 byte values come back"
capture "$S" put main /etc/cron.d/evil "$WORK/all.bin"
like "$ERR" 'File path must be inside /sandbox or /tmp' "put outside /sandbox and /tmp is refused"
capture "$S" put main /sandbox/../etc/passwd "$WORK/all.bin"
like "$ERR" 'File path must be inside /sandbox or /tmp' "put with .. is refused"
"$S" exec main --cmd 'ln -s /etc/hostname /sandbox/link; ln -s /etc /sandbox/etcdir' >/dev/null
capture "$S" get main /sandbox/link
is "$ERR" '[ERR] cannot read /sandbox/link: a symbolic link is on the way (links are not followed)' "get through a planted symlink is refused, and says why"
capture "$S" put main /sandbox/etcdir/evil "$WORK/all.bin"
is "$ERR" '[ERR] cannot write /sandbox/etcdir/evil: a symbolic link is on the way (links are not followed)' "put through a planted directory symlink is refused"
ok $([ ! -e /etc/evil ]; echo $?) "…and nothing reached the host"
capture "$S" ls main /sandbox
is "$(printf '%s\n' "$OUT" | jq -rc 'select(.name == "link" or .name == "etcdir" or .name == "in") | [.name, .type] | join(":")' | tr '\n' ' ')" \
	"etcdir:symlink in:directory link:symlink " "ls: entries sorted by name, links named and not followed"
capture "$S" ls main /sandbox/etcdir
is "$ERR" '[ERR] cannot list /sandbox/etcdir: a symbolic link is on the way (links are not followed)' "ls through a planted directory symlink is refused"
capture "$S" ls main /etc
like "$ERR" 'File path must be inside /sandbox or /tmp' "ls outside /sandbox and /tmp is refused"
capture "$S" ls main /sandbox/in
is "$OUT" '{"name":"all.bin","type":"file","size":256}' "ls of a subdirectory: name, type, size"

# a client that goes away mid-exec: nobody waits, so the exec ends (an MCP cancel reaches it so)
"$S" exec main -e 'x_before = 1' >/dev/null
"$S" exec main -e 'import time; time.sleep(30)' >/dev/null 2>&1 & EP=$!
sleep 1; kill -9 $EP; wait $EP 2>/dev/null
T0=$(date +%s%N)
capture "$S" exec main -e 'print("after")'
is "$OUT" "after" "an exec whose client was killed ends; the next one runs"
ok $([ $(( ($(date +%s%N) - T0) / 1000000 )) -lt 10000 ] && echo 0 || echo 1) "…at once, not after the 30 s sleep"
like "$ERR" 'cancelled \(its client went away\)' "…and says the previous exec was cancelled"

capture "$S" exec main --timeout 500 -e 'while True: pass'
is "$RC" 137 "a timed-out exec: 137"
like "$ERR" 'EXECUTION TIMED OUT' "…EXECUTION TIMED OUT"
capture "$S" exec main -e 'print(open("/sandbox/in/all.bin","rb").read()[:3])'
is "$OUT" "b'\\x00\\x01\\x02'" "a timeout kills the processes, not the session's files"

# two execs sent at once run one after the other: B is sent once A has started (its mark seen
# through the sandbox init's root), and must wait for A's end
spid=$(jq -r .sandboxPid "$ISOL8_RUN_DIR/sessions/main/meta.json")
"$S" exec main -e 'import time; open("/sandbox/log","a").write("A-start\n"); time.sleep(2); open("/sandbox/log","a").write("A-end\n")' &
for i in $(seq 400); do grep -q A-start /proc/$spid/root/sandbox/log 2>/dev/null && break; sleep 0.05; done
"$S" exec main -e 'open("/sandbox/log","a").write("B\n")'
wait
capture "$S" exec main --cmd 'cat /sandbox/log | tr "\n" " "'
is "$OUT" "A-start A-end B " "concurrent execs are serialized, not interleaved"

capture "$S" exec main --json --max-output 100 -e 'print("y" * 5000)'
is "$(printf '%s' "$OUT" | jq -r '[.truncated, .status] | join(" ")')" "true output_limit" "the output cap holds per exec"
"$S" create -r python --id sec --secret TOKEN=hunter2-secret > /dev/null
capture "$S" exec sec -e 'import os; print(os.environ["TOKEN"])'
is "$OUT" "***" "session secrets are masked"
"$S" delete sec > /dev/null

# a supervisor killed with SIGKILL: its sandbox dies with it; cleanup removes the rest
pid=$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/main/meta.json")
spid=$(jq -r .sandboxPid "$ISOL8_RUN_DIR/sessions/main/meta.json")
kill -KILL "$pid"
for i in $(seq 200); do [ ! -e /proc/$spid ] || grep -q ') Z ' /proc/$spid/stat && break; sleep 0.05; done
ok $([ ! -e /proc/$spid ] || grep -q ') Z ' /proc/$spid/stat; echo $?) "kill -9 of the supervisor: the sandbox dies with it"
capture "$CLEAN"
is "$(printf '%s' "$OUT" | jq -r .removed)" 2 "isol8-cleanup removes the session and its sandbox"
is "$(ls "$ISOL8_RUN_DIR/sessions" | wc -l)" 0 "…no session directory left"

# idle expiry: the supervisor expires itself
"$S" create -r bash --id short --idle-timeout 800 > /dev/null
for i in $(seq 200); do [ -e "$ISOL8_RUN_DIR/sessions/short" ] || break; sleep 0.05; done
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/short" ]; echo $?) "a session idle past its timeout removes itself"
capture "$S" exec short -e 'echo hi'
like "$ERR" 'no session "short"' "…and is gone"

# isol8-cleanup stops a session idle past its timeout (a backstop: the supervisor normally
# expires itself; here its record is aged by hand)
"$S" create -r bash --id aged --idle-timeout 60000 > /dev/null
jq '.lastUsedMs = 0' "$ISOL8_RUN_DIR/sessions/aged/meta.json" > "$WORK/m" && cat "$WORK/m" > "$ISOL8_RUN_DIR/sessions/aged/meta.json"
capture "$CLEAN" --dry-run
is "$(printf '%s' "$OUT" | jq -r '.sandboxes[0].reason')" "session idle past its timeout" "cleanup sees a session idle past its timeout"
capture "$CLEAN"
is "$(printf '%s' "$OUT" | jq -c '[.removed, .failed]')" "[1,0]" "…stops it (its supervisor removes its own sandbox)"
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/aged" ]; echo $?) "…and its directory is gone"

# create: limits are checked before anything starts; an id is generated when none is given
capture "$S" create -r python --id tiny --memory 1k
is "$ERR:$RC" "[ERR] --memory must be at least 8m:1" "create refuses a memory limit the runtime cannot start in, with the run's message"
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/tiny" ]; echo $?) "…and creates nothing"
capture "$S" create -r bash
gen=$(printf '%s' "$OUT" | jq -r .id)
like "$gen" '^s-[0-9a-f]{12}$' "create without --id prints the id it generated"
"$S" delete "$gen" > /dev/null

# a --cmd exec starts no interpreter: the first code exec after it is no restart
for rt in python bash; do
	"$S" create -r $rt --id cmd-first-$rt > /dev/null
	"$S" exec cmd-first-$rt --cmd true > /dev/null
	capture "$S" exec cmd-first-$rt --json -e "$([ $rt = python ] && echo 'print(1)' || echo 'echo 1')"
	is "$(printf '%s' "$OUT" | jq -c '[.stdout, .stderr, .interpreterRestarted]')" '["1","",false]' "$rt: a code exec after a --cmd exec is not reported as a restart"
	"$S" delete cmd-first-$rt > /dev/null
done

# the documented example, literally
cd "$WORK"
capture "$ISOL8" run --persistent -e "import json; json.dump({'count': 42}, open('/sandbox/data.json', 'w'))" --runtime python
like "$ERR" '^\[Run\] Session ID: cli-python-' "isol8 run --persistent prints its session id"
capture "$ISOL8" run --persistent -e "import json; print(json.load(open('/sandbox/data.json')))" --runtime python
is "$OUT" "{'count': 42}" "isol8 run --persistent: step two reads what step one wrote"
capture "$ISOL8" run --persistent -e 'x = 40' --runtime python
capture "$ISOL8" run --persistent -e 'print(x + 2)' --runtime python
is "$OUT" 42 "isol8 run --persistent: x = 40, then print(x + 2) prints 42"
capture "$ISOL8" run --session-id named-one -r bash -e 'v=7'
capture "$ISOL8" run --session-id named-one -r bash -e 'echo $v'
is "$OUT" 7 "--session-id names a local session"
capture "$ISOL8" session list --json
is "$(printf '%s' "$OUT" | jq -r 'map(.id) | sort | join(" ")')" "$(printf '%s' "$OUT" | jq -r 'map(.id) | sort | join(" ")' | grep -o 'cli-python-[0-9a-f]*') named-one" "isol8 session list shows both"
for id in $(printf '%s' "$OUT" | jq -r '.[].id'); do "$ISOL8" session stop "$id" > /dev/null; done
capture "$ISOL8" session list
is "$OUT" "[INFO] No active sessions." "isol8 session stop ends them"

capture "$S" create -r python --image no-such-built-image --id img
like "$RC $ERR" '^1 \[ERR\] --image: "no-such-built-image" is neither a directory nor an image of ' \
	"an unknown built image's name in a session is refused, not mounted as a directory"

# --no-stream shows the program's bytes, also when they are not UTF-8 (they travel as base64)
"$S" create -r bash --id bytes >/dev/null
"$S" exec bytes --no-stream --cmd "printf 'a\\377b\\n'" >"$WORK/bytes.out" 2>"$WORK/bytes.err"
is "$(od -An -tx1 "$WORK/bytes.out" | tr -d ' ')" "61ff620a" "isol8-session exec --no-stream: bytes that are not UTF-8 come out as they were written"
"$S" exec bytes --no-stream --cmd "printf 'x\\377' >&2" >/dev/null 2>"$WORK/bytes.err"
is "$(od -An -tx1 "$WORK/bytes.err" | tr -d ' ')" "78ff0a" "…on stderr too"
"$S" delete bytes >/dev/null

finish
