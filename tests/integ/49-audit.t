#!/usr/bin/env bash
# 49-audit.t — the audit log: one line per execution of every kind (isol8 run, isol8-session
# exec, buffered HTTP, SSE, an HTTP session exec) with the reference's fields and ours (status,
# tenant and key id, client address, network mode, the proxy's refusals), includeCode and
# includeOutput with a secret masked, stdout (strict JSON lines: after output without a newline,
# isol8-serve's own lines on stderr, /mcp's records never in an answer, --inetd and isol8-mcp on
# stdio refusing it) and syslog destinations, retention pruning,
# postLogScript (one that cannot run: refused at start, or counted when it stops being runnable),
# 8 writers at once never interleaving, a full disk that fails no run, and
# executions that fail (no sandbox, a session gone during an exec): a line each, status failed.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
MASTER=master-key-0123456789abcdef
AUD="$WORK/audit"
LOG="$AUD/executions.log"
trap 'kill ${SPID:-} ${SYSLOGD:-} 2>/dev/null; umount "$WORK/full" 2>/dev/null' EXIT
cfg() { printf '{"audit": {"enabled": true, "logDir": "%s"%s}}\n' "$AUD" "${1:+, $1}" >"$ISOL8_CONFIG"; }
lines() { [ -f "$LOG" ] && wc -l <"$LOG" || echo 0; }
last() { tail -n 1 "$LOG" | jq -r "$1"; }

# ---- isol8 run --------------------------------------------------------------------------------
cfg
capture "$ISOL8" run -e 'print("plain")'
is "$(lines)" 1 "isol8 run: one line per execution"
is "$(last '[.source, .runtime, .exitCode, .status, .network, (.executionId | length), (.codeHash == "'"$(printf '%s' 'print("plain")' | sha256sum | cut -c1-64)"'"), (.resourceUsage | has("cpuMs")), has("code"), has("stdout")] | map(tostring) | join(" ")')" \
	"cli python 0 ok none 36 true true false false" "…with source, runtime, exit code, status, network, id, the code's SHA-256, resources; no code or output unless asked"
is "$(stat -c %a "$LOG")" 600 "…in a file only its owner reads"
capture "$ISOL8" run --request <(printf '%s' '{"runtime":"bash","code":"exit 3","metadata":{"userId":"u-7","team":"data"}}')
is "$(last '[.userId, .metadata.team, .exitCode] | map(tostring) | join(" ")')" "u-7 data 3" "metadata.userId is the record's userId; metadata is kept"

cfg '"trackResources": false'
capture "$ISOL8" run -r bash -e 'true'
is "$(last 'has("resourceUsage")')" false "trackResources false: no resourceUsage"

cfg '"includeCode": true, "includeOutput": true'
capture "$ISOL8" run --secret TOKEN=hunter2-secret -e 'print("token hunter2-secret"); import sys; print("err hunter2-secret", file=sys.stderr)'
is "$(last '[.code, .stdout, .stderr] | join("|")')" 'print("token ***"); import sys; print("err ***", file=sys.stderr)|token ***
|err ***' "includeCode and includeOutput: code and output in the record, the secret masked in all three"
unlike "$(cat "$LOG")" "hunter2" "…the secret appears nowhere in the log"

# the proxy's refusals: securityEvents (a secret the code puts in a refused URL is masked there too)
cfg
capture "$ISOL8" run --net filtered --allow '^allowed\.invalid$' --secret TOKEN=hunter2-secret -r bash \
	-e 'curl -s -o /dev/null -w "%{http_code}" "http://blocked.invalid/x?t=$TOKEN"; echo'
is "$OUT" 403 "a filtered run asks for a host the rules refuse"
is "$(last '[.network, .securityEvents[0].type, .securityEvents[0].details.host, .securityEvents[0].details.path] | join(" ")')" \
	"filtered network_blocked blocked.invalid /x?t=***" "…the record's securityEvents name the refused request, the secret in it masked"
unlike "$(cat "$LOG")" "hunter2" "…the secret appears nowhere in the log"

# ---- isol8-session exec ---------------------------------------------------------------------------
"$BIN/isol8-session" create -r python --id aud >/dev/null
n=$(lines)
capture "$BIN/isol8-session" exec aud -e 'x = 1'
is "$(( $(lines) - n )) $(last .source)" "1 session" "isol8-session exec: one line, source session"
# kill_session DIR: its supervisor killed (SIGKILL), so an exec in it ends without a result
kill_session() {
	kill -KILL "$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/$1/meta.json")"
	sleep 0.3
	"$BIN/isol8-cleanup" >/dev/null 2>&1
}
"$BIN/isol8-session" exec aud -e 'import time; time.sleep(20)' >/dev/null 2>&1 & EXEC=$!
sleep 1.5
n=$(lines)
kill_session aud
wait $EXEC
is "$(( $(lines) - n )) $(last '[.source, .status, (.error | length > 0)] | map(tostring) | join(" ")')" "1 session failed true" \
	"isol8-session exec that ends without a result: one line, status failed, with the reason"

# a run that fails after the code was accepted (no process may start): still a line
n=$(lines)
capture "$ISOL8" run -r bash --pids-limit 1 -e 'echo never'
is "$RC $(( $(lines) - n ))" "1 1" "isol8 run that fails to start the sandbox: exit 1, and one line"
is "$(last '[.source, .status, .runtime, (.error | test("sandbox setup failed")), (.codeHash | length)] | map(tostring) | join(" ")')" \
	"cli failed bash true 64" "…status failed, the reason in error, the code's hash"

# ---- isol8-serve: buffered, SSE, session exec; tenant, key and client --------------------------------
cfg
start_server "$WORK/s.log" --key "$MASTER" --auth-db "$WORK/keys.db"
req POST /auth/keys "$MASTER" '{"name":"k","tenantId":"acme"}'
DK=$(jqr .key) DKID=$(jqr .id)
n=$(lines)
req POST /execute "$DK" '{"request":{"runtime":"python","code":"print(1)"}}'
is "$(last '[.source, .tenantId, .keyId, .client] | join(" ")')" "http acme $DKID 127.0.0.1" "POST /execute: a line with the tenant, key id and client address"
curl -s -N -H "Authorization: Bearer $DK" --data-binary '{"request":{"runtime":"bash","code":"echo sse"}}' "$URL/execute/stream" >/dev/null
is "$(last '[.source, .runtime, .status] | join(" ")')" "http bash ok" "POST /execute/stream: audited too (the reference never audits streams)"
req POST /execute "$DK" '{"sessionId":"as","request":{"runtime":"python","code":"y = 2"}}'
is "$(last '[.source, .tenantId] | join(" ")')" "http-session acme" "a session exec over HTTP: audited"
is "$(( $(lines) - n ))" 3 "…one line each"
req POST /execute "$MASTER" '{"request":{"runtime":"python","code":"print(2)"}}'
is "$(last '[has("tenantId"), has("keyId")] | map(tostring) | join(" ")')" "false false" "a static master key: no tenant or key id"
req DELETE /session/as "$DK"

# executions that fail: each still one line, status failed, with the reason
n=$(lines)
req POST /execute "$DK" '{"request":{"runtime":"bash","code":"echo never"},"options":{"pidsLimit":1}}'
is "$CODE $(( $(lines) - n ))" "500 1" "POST /execute that fails to start the sandbox: 500, and one line"
is "$(last '[.source, .status, .tenantId, (.error | test("sandbox setup failed"))] | map(tostring) | join(" ")')" \
	"http failed acme true" "…status failed, the tenant, the reason"
curl -s -N -H "Authorization: Bearer $DK" --data-binary '{"request":{"runtime":"bash","code":"echo never"},"options":{"pidsLimit":1}}' \
	"$URL/execute/stream" >/dev/null
is "$(( $(lines) - n )) $(last '[.source, .status] | join(" ")')" "2 http failed" "…the same over SSE"
req POST /execute "$DK" '{"sessionId":"gone","request":{"runtime":"python","code":"1"}}'
n=$(lines)
req POST /execute "$DK" '{"sessionId":"gone","request":{"runtime":"python","code":"import time; time.sleep(20)"}}' & EXEC=$!
sleep 1.5
kill_session "$(ls "$ISOL8_RUN_DIR/sessions" | grep -- '-gone$')"
wait $EXEC
is "$(( $(lines) - n )) $(last '[.source, .status, (.error | test("session ended"))] | map(tostring) | join(" ")')" \
	"1 http-session failed true" "a session exec whose session ends meanwhile: one line, status failed"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=

# ---- destinations: stdout, syslog -----------------------------------------------------------------
printf '{"audit": {"enabled": true, "destination": "stdout"}}\n' >"$ISOL8_CONFIG"
capture "$ISOL8" run -r bash -e 'echo program'
is "$(printf '%s\n' "$OUT" | head -1)" "program" "destination stdout: the program's output first"
is "$(printf '%s\n' "$OUT" | sed -n 2p | jq -r '.source + " " + .runtime')" "cli bash" "…then the record, one strict JSON line"
# the audit line always starts a line of its own, even after output without a final newline
capture "$ISOL8" run -r bash -e 'printf abc'
is "$(printf '%s\n' "$OUT" | head -1)" "abc" "destination stdout after output without a newline: the output's line is ended…"
is "$(printf '%s\n' "$OUT" | sed -n 2p | jq -r .source)" "cli" "…and the record is a line of its own"
"$BIN/isol8-session" create -r bash --id so >/dev/null
capture "$BIN/isol8-session" exec so -e 'printf xyz'
is "$(printf '%s\n' "$OUT" | head -1) $(printf '%s\n' "$OUT" | sed -n 2p | jq -r .source)" "xyz session" \
	"…the same for isol8-session exec"
"$BIN/isol8-session" delete so >/dev/null
# isol8-serve: stdout carries the records only, its own [INFO] lines go to stderr
"$SERVE" --listen 127.0.0.1:0 --key "$MASTER" >"$WORK/so.out" 2>"$WORK/so.err" & SPID=$!
for i in $(seq 300); do grep -qs 'listening on' "$WORK/so.out" "$WORK/so.err" && break; sleep 0.05; done
URL=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/so.out" "$WORK/so.err")
req POST /execute "$MASTER" '{"request":{"runtime":"bash","code":"printf no-newline"}}'
mcp_post() { curl -s -D "$WORK/mh" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
	-H "Authorization: Bearer $MASTER" ${1:+-H "Mcp-Session-Id: $1"} --data-binary "$2" "${@:3}" "$URL/mcp"; }
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >/dev/null
MSID=$(tr -d '\r' <"$WORK/mh" | sed -n 's/^Mcp-Session-Id: //Ip')
MOUT=$(mcp_post "$MSID" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"bash","code":"echo via-mcp"}}}')
like "$MOUT" 'via-mcp' "/mcp on a server auditing to stdout: the call is answered…"
unlike "$MOUT" 'codeHash' "…and its record never reaches the client"
mcp_post "$MSID" '' -X DELETE >/dev/null
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
is "$(jq -r .source "$WORK/so.out" 2>&1 | tr '\n' ' ')" "http mcp-http " "isol8-serve with destination stdout: its stdout is the records, one strict JSON line each"
like "$(cat "$WORK/so.err")" 'listening on' "…its own [INFO] lines are on stderr"
capture "$SERVE" --inetd --key "$MASTER"
like "$RC $ERR" '^1 \[ERR\] .*audit.destination "stdout" .*--inetd' "--inetd refuses destination stdout: stdout is the client's connection there"
capture "$BIN/isol8-mcp"
like "$RC $ERR" '^1 .*audit.destination "stdout" .*MCP' "isol8-mcp on stdio refuses it: stdout is the protocol there"
python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[2], "wb") as out:
    while True:
        out.write(s.recv(65536) + b"\n"); out.flush()
' "$WORK/syslog.sock" "$WORK/syslog.out" & SYSLOGD=$!
for i in $(seq 100); do [ -f "$WORK/syslog.sock.ready" ] && break; sleep 0.05; done
printf '{"audit": {"enabled": true, "destination": "syslog", "syslogSocket": "%s"}}\n' "$WORK/syslog.sock" >"$ISOL8_CONFIG"
capture "$ISOL8" run -r bash -e 'echo to-syslog'
for i in $(seq 50); do [ -s "$WORK/syslog.out" ] && break; sleep 0.05; done
like "$(cat "$WORK/syslog.out")" '^<14>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} isol8-audit\[[0-9]+\]: \{"executionId":' "destination syslog: an RFC 3164 datagram, user.info, ident isol8-audit, the record"
printf '{"audit": {"enabled": true, "destination": "syslog", "syslogSocket": "%s"}}\n' "$WORK/nobody-listens.sock" >"$ISOL8_CONFIG"
capture "$ISOL8" run -r bash -e 'echo still'
is "$RC $OUT" "0 still" "a syslog socket nobody listens on does not fail the run…"
like "$ERR" '\[WARN\] audit: cannot send to the syslog socket' "…it is reported"

# ---- retention, postLogScript ----------------------------------------------------------------------
mkdir -p "$AUD"
touch -d '100 days ago' "$AUD/executions-2026-01.log" "$AUD/executions-old.jsonl"
touch -d '100 days ago' "$AUD/executions.log.1" "$AUD/executions.log.2.gz" "$AUD/executions.log-20260101"
touch -d '100 days ago' "$AUD/keep.txt" "$AUD/someone-elses.log" "$AUD/executionsX.txt"
touch -d '10 days ago' "$AUD/executions-recent.log" "$AUD/executions.log.3"
cat >"$WORK/post.sh" <<SH
#!/bin/sh
echo "called with \$# arg: \$1" >>"$WORK/post.out"
SH
chmod +x "$WORK/post.sh"
cfg "\"retentionDays\": 30, \"postLogScript\": \"$WORK/post.sh\""
capture "$ISOL8" run -r bash -e 'true'
ok $([ ! -e "$AUD/executions-2026-01.log" ] && [ ! -e "$AUD/executions-old.jsonl" ] && [ -e "$AUD/executions-recent.log" ] &&
	[ -e "$AUD/keep.txt" ] && [ -e "$AUD/someone-elses.log" ] && [ -e "$AUD/executionsX.txt" ] && echo 0 || echo 1) \
	"retentionDays: the log's own files older than it are deleted; newer ones and other programs' files kept"
is "$(cd "$AUD" && ls executions.log.* executions.log-* 2>/dev/null | tr '\n' ' ')" "executions.log.3 " \
	"…its rotated copies too (executions.log.1, .2.gz, -20260101), when older than it"
for i in $(seq 100); do [ -s "$WORK/post.out" ] && break; sleep 0.05; done
is "$(cat "$WORK/post.out")" "called with 1 arg: $LOG" "postLogScript runs with the log file's path as its one argument (no shell)"
cat >"$WORK/hang.sh" <<'SH'
#!/bin/sh
sleep 600
SH
chmod +x "$WORK/hang.sh"
cfg "\"postLogScript\": \"$WORK/hang.sh\""
t0=$(date +%s%N)
capture "$ISOL8" run -r bash -e 'echo quick'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ "$RC" = 0 ] && [ "$ms" -lt 5000 ] && echo 0 || echo 1) "a postLogScript that hangs does not hold the run (${ms} ms)"
pkill -f "$WORK/hang.sh"
# a postLogScript that cannot run is refused at start, with one line, and nothing runs
cfg '"postLogScript": "/nonexistent/script"'
n=$(lines)
capture "$ISOL8" run -r bash -e 'echo never'
like "$RC $ERR" '^1 \[ERR\] config .*"audit.postLogScript" /nonexistent/script cannot be run' \
	"a postLogScript that does not exist: refused at start, one line"
is "$OUT $(( $(lines) - n ))" " 0" "…and nothing ran"
printf '#!/bin/sh\n' >"$WORK/noexec.sh"
chmod 644 "$WORK/noexec.sh"
cfg "\"postLogScript\": \"$WORK/noexec.sh\""
capture "$ISOL8" run -r bash -e 'echo never'
like "$RC $ERR" '^1 .*"audit.postLogScript" .*noexec.sh cannot be run' "…one that is not executable too"
cfg '"postLogScript": "post.sh"'
capture "$ISOL8" run -r bash -e 'echo never'
like "$RC $ERR" '^1 .*"audit.postLogScript" post.sh .*absolute path' "…and a relative path (no PATH lookup, no shell)"
# one that stops being runnable while a server runs: the line is written, the failure counted
cp "$WORK/post.sh" "$WORK/post2.sh"
cfg "\"postLogScript\": \"$WORK/post2.sh\""
start_server "$WORK/pl.log" --key "$MASTER"
chmod 644 "$WORK/post2.sh"
n=$(lines)
req POST /execute "$MASTER" '{"request":{"runtime":"bash","code":"echo fine"}}'
is "$CODE $(jqr .stdout) $(( $(lines) - n ))" "200 fine 1" "a postLogScript that stopped being runnable: the execution and its line are fine…"
req GET /metrics "$MASTER"
like "$(grep '^isol8_audit_failures_total' <<<"$OUT")" 'isol8_audit_failures_total 1' "…the failure to start it is counted"
like "$(cat "$WORK/pl.log")" 'postLogScript .*post2.sh could not be started' "…and logged"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=

# ---- 8 writers at once ----------------------------------------------------------------------------
cfg '"includeOutput": true'
n=$(lines)
pids=
for i in $(seq 8); do "$ISOL8" run -r bash -e "head -c 6000 /dev/zero | tr '\\0' $i" >/dev/null & pids="$pids $!"; done
wait $pids
is "$(( $(lines) - n ))" 8 "8 runs at once: 8 lines"
is "$(tail -n 8 "$LOG" | jq -c 'select(.stdout | test("^([1-8])\\1{5999}$"))' | wc -l)" 8 "…each a whole record (6 KB of output each), none interleaved"

# ---- a full disk --------------------------------------------------------------------------------------
mkdir -p "$WORK/full"
mount -t tmpfs -o size=64k tmpfs "$WORK/full"
head -c 60000 /dev/zero >"$WORK/full/filler" 2>/dev/null
printf '{"audit": {"enabled": true, "logDir": "%s", "includeOutput": true}}\n' "$WORK/full" >"$ISOL8_CONFIG"
capture "$ISOL8" run -r bash -e 'head -c 20000 /dev/zero | tr "\0" x; echo'
is "$RC ${#OUT}" "0 20000" "a full disk: the run succeeds with its output"
like "$ERR" '\[WARN\] audit: cannot write .*executions.log' "…and the audit failure is reported"
ok $( (! [ -s "$WORK/full/executions.log" ] || tail -c 1 "$WORK/full/executions.log" | od -c | grep -q '\\n') && echo 0 || echo 1) \
	"…leaving no half line behind"
start_server "$WORK/full.log" --key "$MASTER"
req POST /execute "$MASTER" '{"request":{"runtime":"bash","code":"head -c 20000 /dev/zero | tr \"\\0\" y"}}'
is "$CODE" 200 "isol8-serve on a full disk: the execution is answered"
req GET /metrics "$MASTER"
like "$OUT" 'isol8_audit_failures_total [1-9]' "…and the audit failure is counted in /metrics"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
umount "$WORK/full"
echo '{}' >"$ISOL8_CONFIG"

finish
