#!/usr/bin/env bash
# 46-setup.t — setup scripts: run before the code, in the same sandbox, as the sandbox user in
# /sandbox, with the request's files in place; their own budget; the reference's failure and
# timeout messages; events of phase "setup"; and (unlike the reference) secrets masked in their
# output. From the CLI, a --request, isol8-serve (JSON and SSE) and its sessions; refused where
# the operator turned them off, and with isol8 run --persistent.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
KEY=key-setup-0123456789abcdef

# ---- success, and what the script sees -----------------------------------------------------
capture "$ISOL8" run --setup 'echo prepared > /sandbox/p; echo "setup as $(id -u) in $PWD"' \
	-e 'print(open("/sandbox/p").read().strip())'
is "$RC" 0 "a setup script that succeeds, then the code"
is "$OUT" "setup as 65534 in /sandbox
prepared" "…it ran first, as the sandbox user in /sandbox, and the code sees what it wrote"
printf 'echo from-a-file\n' > "$WORK/setup.sh"
capture "$ISOL8" run --setup "$WORK/setup.sh" --setup 'echo literal' -r bash -e 'echo code'
is "$OUT" "from-a-file
literal
code" "--setup takes a file's contents, or the text; several are joined in order"

# ---- failure and timeout: the code never runs ------------------------------------------------
capture "$ISOL8" run --setup 'echo why >&2; exit 3' -e 'open("/sandbox/ran", "w"); print("code ran")'
is "$RC" 3 "a failing setup script: the run ends with its exit code"
is "$OUT" "" "…and the code did not run"
is "$ERR" "why
[ERR] Setup script failed (exit code 3)" "…with the reference's line after the script's stderr"
capture "$ISOL8" run --json --setup 'echo why >&2; exit 4' -e 'print(1)'
is "$(jqr '[.exitCode, .status, .stderr] | map(tostring) | join("|")')" "4|error|why
Setup script failed (exit code 4)" "--json: exit code, status error, stderr with the line"
t0=$(date +%s%N)
capture "$ISOL8" run --timeout 1500 --setup 'sleep 30' -e 'print("never")'
t1=$(date +%s%N)
is "$RC" 137 "a setup script past its budget is killed: 137"
is "$ERR" "[ERR] SETUP SCRIPT TIMED OUT" "…with the reference's message"
ok $([ $(( (t1 - t0) / 1000000 )) -lt 10000 ] && echo 0 || echo 1) "…within its budget, not after the sleep ($(( (t1 - t0) / 1000000 )) ms)"

# ---- secrets masked, files in place, events in order -----------------------------------------
capture "$ISOL8" run --secret TOKEN=s3cr3t-value-42 --setup 'echo "token=$TOKEN"; echo "$TOKEN" >&2' -e 'print(2)'
is "$OUT" "token=***
2" "a secret the setup script prints is masked (the reference leaks it)"
unlike "$ERR" "s3cr3t" "…on stderr too"
cat > "$WORK/req.json" <<'JSON'
{"request": {"runtime": "bash", "code": "cat /sandbox/data.txt; cat /sandbox/seen",
 "files": {"/sandbox/data.txt": "injected"}, "setupScript": "cp /sandbox/data.txt /sandbox/seen"}}
JSON
capture "$ISOL8" run --request "$WORK/req.json"
is "$OUT" "injectedinjected" "the request's files are in place before the setup script (the reference's order is a bug)"
capture "$ISOL8" run --events --setup 'echo s1; echo s2 >&2' -e 'print(1)'
# Chunks may split anywhere (unbuffered python writes "1" and "\n" apart): consecutive events of
# one type and phase are joined before they are compared.
is "$(printf '%s\n' "$OUT" | jq -rs '[.[] | select(.type != "result")]
	| reduce .[] as $e ([]; if length > 0 and .[-1].type == $e.type and .[-1].phase == $e.phase
		then .[-1].data += $e.data else . + [$e] end)
	| .[] | [.type, .phase, (.data | rtrimstr("\n"))] | join(":")' | sort -s -t: -k2,2r | tr '\n' ' ')" \
	"stdout:setup:s1 stderr:setup:s2 exit:setup:0 stdout:code:1 exit:code:0 " "--events: the setup's events (phase setup, ending in exit 0), then the code's"
capture "$ISOL8" run --events --setup 'exit 5' -e 'print(1)'
is "$(printf '%s\n' "$OUT" | jq -rc 'select(.type != "result") | [.type, .phase, .data] | join(":")' | tr '\n' ' ')" \
	"error:setup:Setup script failed (exit code 5) exit:setup:5 " "--events, failure: error and exit of phase setup, no code events"

capture "$ISOL8" run --persistent --session-id setup-p --setup 'echo first' -r bash -e 'x=1; echo code'
is "$RC $OUT" "0 first
code" "--persistent --setup: the setup script, then the code, in the session"
capture "$ISOL8" run --persistent --session-id setup-p --setup 'echo again' -r bash -e 'echo x=$x'
is "$OUT" "again
x=1" "…at every exec that carries one, the session's state kept"
capture "$ISOL8" run --persistent --session-id setup-p --setup 'exit 4' -r bash -e 'echo not-run'
is "$RC" 4 "…a failing one stops that exec with its exit code"
like "$ERR" "Setup script failed \(exit code 4\)" "…and the reference's message"
unlike "$OUT" "not-run" "…and its code does not run"
"$ISOL8" session stop setup-p >/dev/null

# ---- isol8-serve ----------------------------------------------------------------------------
start_server "$WORK/s.log" --key "$KEY"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(open(\"/sandbox/x\").read())","setupScript":"printf hi > /sandbox/x"}}'
is "$CODE $(jqr .stdout)" "200 hi" "POST /execute with a setupScript"
curl -s -N -H "Authorization: Bearer $KEY" --data-binary '{"request":{"runtime":"bash","code":"echo c","setupScript":"echo s"}}' \
	"$URL/execute/stream" >"$WORK/sse"
is "$(sed -n 's/^data: //p' "$WORK/sse" | jq -rc 'select(.type != "result") | [.type, .phase] | join(":")' | tr '\n' ' ')" \
	"stdout:setup exit:setup stdout:code exit:code " "SSE: the setup's frames first, with their phase"
# in a session: before every exec that carries one; the interpreter's state survives a success
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"x = open(\"/sandbox/s\").read().strip()","setupScript":"echo one > /sandbox/s"},"sessionId":"sx"}'
is "$CODE $(jqr .exitCode)" "200 0" "a session exec with a setupScript"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(x, open(\"/sandbox/s\").read().strip())","setupScript":"echo two > /sandbox/s"},"sessionId":"sx"}'
is "$(jqr .stdout)" "one two" "…runs before each exec that has one, and the session's state stays"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(\"never\")","setupScript":"exit 6"},"sessionId":"sx"}'
is "$CODE $(jqr '[.exitCode, .status, .stdout] | map(tostring) | join(" ")')" "200 6 error " "a failing one in a session: its exit code, and the code does not run"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(x)"},"sessionId":"sx"}'
is "$(jqr .stdout)" "one" "…and the session's interpreter is still there"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(1)","setupScript":"sleep 30","timeoutMs":1500},"sessionId":"sx"}'
is "$(jqr '[.exitCode, .status] | map(tostring) | join(" ")')" "137 timeout" "one past its budget in a session: killed, 137"
like "$(jqr .stderr)" "SETUP SCRIPT TIMED OUT" "…with the reference's message"
req DELETE /session/sx "$KEY"
kill "$SPID"; wait "$SPID" 2>/dev/null
echo '{"serve": {"setupScripts": false}}' > "$WORK/off.json"
ISOL8_CONFIG="$WORK/off.json" start_server "$WORK/s2.log" --key "$KEY"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(1)","setupScript":"echo s"}}'
is "$CODE $(jqr .error)" "400 request.setupScript is turned off on this server (config serve.setupScripts)" "the operator can turn them off"
kill "$SPID"; wait "$SPID" 2>/dev/null

finish
