#!/usr/bin/env bash
# isol8-serve under attack: slowloris connections without a key (per-address cap, head and
# body deadlines, /health and keyed requests still served), one key holding every execution
# slot on a FIFO (per-key share, bounded waits), JSON bodies with a trailing newline, session
# ids with a NUL, a slash or too long, an eviction crossing a key check, one key's connections
# on a busy session (per-key connection cap), a run with installs, and the watchdog firing.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
ATTACK="/usr/bin/python3 $(cd "$(dirname "$0")/../helpers" && pwd)/serve_attack.py"
KA=key-a-0123456789abcdef
KB=key-b-0123456789abcdef
cat > "$ISOL8_CONFIG" <<'EOF'
{"maxConcurrent": 2, "serve": {"maxQueue": 1, "queueTimeoutMs": 3000, "headTimeoutMs": 2000, "bodyTimeoutMs": 2000,
 "graceMs": 2000}}
EOF
# elapsed CMD…: runs CMD, sets SECS to its wall time (one decimal)
elapsed() { local t0=$(date +%s.%N); "$@"; SECS=$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f'); }
lt() { [ "$(echo "$1 < $2" | bc)" = 1 ] && echo 0 || echo 1; }

start_server "$WORK/s1.log" --key "$KA" --key "$KB"

# ---- 1. slowloris: 50 half heads without a key ------------------------------------------------
capture $ATTACK slowloris "$URL" "$KA" 50 5
is "$(echo "$OUT" | sed -n 2p)" "health 200" "50 slow unauthenticated connections: /health is still served"
is "$(echo "$OUT" | sed -n 3p)" "exec 200 42" "…and so is a keyed execution from the same address"
is "$(echo "$OUT" | sed -n 4p)" "slow 408=50 other=0 closed=0 open=0" "…and every slow connection got a 408, none is left open"
capture $ATTACK slowloris "$URL" "$KA" 50 5 127.0.0.2
is "$(echo "$OUT" | sed -n 2,3p | tr '\n' ' ')" "health 200 exec 200 42 " "50 slow connections from another address: /health and keyed executions served"
like "$(echo "$OUT" | sed -n 1p)" "^held [1-8]$" "…that address holds at most serve.maxUnauthenticatedPerAddress (8) connections"

# the head deadline (serve.headTimeoutMs 2000)
head_wait() {
	/usr/bin/python3 - "$PORT_" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
s.settimeout(15)
print(s.recv(4096).split(b"\r\n")[0].decode())
EOF
}
elapsed capture head_wait
is "$OUT" "HTTP/1.1 408 Request Timeout" "an unfinished head gets 408"
ok $(lt "$SECS" 4) "…after serve.headTimeoutMs (2 s), not later (${SECS}s)"
# the body deadline (serve.bodyTimeoutMs 2000), for a keyed client too
body_wait() {
	/usr/bin/python3 - "$PORT_" "$KA" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /execute HTTP/1.1\r\nAuthorization: Bearer " + sys.argv[2].encode() + b"\r\nContent-Length: 100\r\n\r\n{\"req")
s.settimeout(15)
print(s.recv(4096).split(b"\r\n")[0].decode())
EOF
}
elapsed capture body_wait
is "$OUT" "HTTP/1.1 408 Request Timeout" "an unfinished body gets 408"
ok $(lt "$SECS" 4) "…after serve.bodyTimeoutMs (2 s), not later (${SECS}s)"
req GET /metrics "$KA"
like "$(grep reason=.slow_client <<<"$OUT")" 'isol8_rejected_total\{reason="slow_client"\} [1-9]' "/metrics counts the 408s"
like "$(grep reason=.unauthenticated_evicted <<<"$OUT")" 'isol8_rejected_total\{reason="unauthenticated_evicted"\} [1-9]' "…and the connections closed to make room"

# ---- 3. a JSON body that ends with a newline (curl --data-binary @file) ------------------------
printf '{"request":{"runtime":"python","code":"print(5)"}}\n' > "$WORK/nl.json"
req POST /execute "$KA" "@$WORK/nl.json"
is "$CODE $(jqr .stdout)" "200 5" "a JSON body ending in a newline is accepted"
printf '{\n  "request": {"runtime": "python",\n    "code": "print(6)"}\n}\n\n' > "$WORK/pretty.json"
req POST /execute "$KA" "@$WORK/pretty.json"
is "$CODE $(jqr .stdout)" "200 6" "…and one pretty-printed over several lines"
printf '{"request":{"runtime":"python","code":"print(5)"}}\nx' > "$WORK/junk.json"
req POST /execute "$KA" "@$WORK/junk.json"
like "$CODE $(jqr .error)" "^400 Invalid JSON body" "trailing garbage after the JSON value is still refused"

# ---- 4. ids: NUL, slash, over-long ---------------------------------------------------------------
req POST /execute "$KA" '{"request":{"runtime":"python","code":"x = 41"},"sessionId":"abc"}'
is "$CODE" 200 "session abc created"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(x)"},"sessionId":"abc\u0000def"}'
is "$CODE $(jqr .error)" "400 sessionId must not contain a NUL byte" "sessionId \"abc\\u0000def\": 400, not session abc"
unlike "$OUT" "41" "…which did not run in session abc"
long=$(printf 'a%.0s' $(seq 129))
req POST /execute "$KA" "{\"request\":{\"runtime\":\"python\",\"code\":\"1\"},\"sessionId\":\"$long\"}"
like "$CODE $(jqr .error)" "^400 sessionId must be 1-48 " "an over-long sessionId: 400"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"1"},"sessionId":"a/b"}'
like "$CODE $(jqr .error)" "^400 sessionId must be 1-48 " "a sessionId with a slash: 400"
req GET "/file?sessionId=abc%00def&path=/sandbox/x" "$KA"
is "$CODE $(jqr .error)" "400 sessionId must not contain a NUL byte" "GET /file with sessionId abc%00def: 400"
req GET "/file?sessionId=a%2Fb&path=/sandbox/x" "$KA"
like "$CODE $(jqr .error)" "^400 sessionId must be 1-48 " "GET /file with a slash in the sessionId: 400"
req GET "/file?sessionId=$long&path=/sandbox/x" "$KA"
like "$CODE $(jqr .error)" "^400 sessionId must be 1-48 " "GET /file with an over-long sessionId: 400"
req GET "/file?sessionId=$long$long$long&path=/sandbox/x" "$KA"
like "$CODE $(jqr .error)" "^400 sessionId must be 1-48 " "…even one longer than the server reads"
req POST /file "$KA" '{"sessionId":"abc\u0000def","path":"/sandbox/x","content":"eA=="}'
is "$CODE $(jqr .error)" "400 sessionId must not contain a NUL byte" "POST /file with sessionId \"abc\\u0000def\": 400"
req DELETE "/session/abc%00def" "$KA"
like "$CODE $(jqr .error)" "^400 the request path contains %00: a NUL byte is never part of a path or an id" "DELETE /session/abc%00def: 400"
req DELETE "/session/a%2Fb" "$KA"
like "$CODE $(jqr .error)" "^400 session id must be 1-48 " "DELETE /session/a%2Fb: 400"
req DELETE "/session/$long" "$KA"
like "$CODE $(jqr .error)" "^400 session id must be 1-48 " "DELETE of an over-long session id: 400"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(x)"},"sessionId":"abc"}'
is "$(jqr .stdout)" 41 "session abc is untouched"
req DELETE /session/abc "$KA"

# ---- 2. one key on a FIFO must not hold every execution slot --------------------------------------
req POST /execute "$KA" '{"request":{"runtime":"python","code":"import os; os.mkfifo(\"/sandbox/p\")"},"sessionId":"fifo"}'
is "$CODE" 200 "a session with a FIFO in it"
t0=$(date +%s.%N)
curl -s -o "$WORK/get.out" -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KA" \
	"$URL/file?sessionId=fifo&path=/sandbox/p" > "$WORK/get.code" & g=$!
sleep 0.5
for i in 1 2; do
	curl -s -o "$WORK/ex$i.out" -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KA" \
		--data-binary '{"request":{"runtime":"python","code":"print(1)","timeoutMs":1000},"sessionId":"fifo"}' \
		"$URL/execute" > "$WORK/ex$i.code" & eval e$i=\$!
done
for i in 1 2; do
	curl -s -o "$WORK/op$i.out" -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KA" \
		--data-binary '{"request":{"runtime":"python","code":"import os; os.mkfifo(\"/sandbox/q\")","outputPaths":["/sandbox/q"],"timeoutMs":1000}}' \
		"$URL/execute" > "$WORK/op$i.code" & eval o$i=\$!
done
sleep 1
req POST /execute "$KB" '{"request":{"runtime":"python","code":"print(7)"}}'
is "$CODE $(jqr .stdout)" "200 7" "another key still runs while the first one's requests hang on a FIFO"
wait $g $e1 $e2 $o1 $o2
secs=$(echo "$(date +%s.%N) - $t0" | bc)
ok $(lt "$secs" 15) "every request of the first key ended, bounded by timeout + serve.graceMs (${secs%.*}s)"
codes="$(cat "$WORK/get.code") $(sort "$WORK/ex1.code" "$WORK/ex2.code" "$WORK/op1.code" "$WORK/op2.code" | tr '\n' ' ')"
like "$codes" "^(400|504) " "GET /file on a FIFO: refused or 504, not a hang ($codes)"
# The key's share (serve.maxConcurrentPerKey: 1, half the slots with two keys), without a race.
# The four requests above need not overlap (none of them hangs any more), and when they do, the
# key's connection cap (serve.maxConnectionsPerKey: 2) may refuse them before its share does. So
# one execution of the key hangs on a FIFO of its own until its timeout, and one more comes
# while it holds the share. Each step waits for a state, not for a time: first every connection
# process of the server (a child of it) has ended, so no earlier request holds a share or a
# connection; then the hanging one holds a slot (so the share); then it is the only connection
# left. The second execution is then the key's second connection of two: only the share can
# refuse it.
conns_left() { # conns_left N: wait (up to 15 s) until the server has N connection processes
	local i
	for i in $(seq 300); do [ "$(pgrep -P $SPID | wc -l)" = "$1" ] && return; sleep 0.05; done
	diag "the server still has $(pgrep -P $SPID | wc -l) connection processes, not $1"
}
conns_left 0
curl -s -o "$WORK/hold.out" -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KA" \
	--data-binary '{"request":{"runtime":"python","code":"import os; os.mkfifo(\"/sandbox/h\"); open(\"/sandbox/h\").read()","timeoutMs":3000}}' \
	"$URL/execute" > "$WORK/hold.code" & h=$!
for i in $(seq 300); do req GET /metrics "$KB"; grep -qx 'isol8_in_flight 1' <<<"$OUT" && break; sleep 0.05; done
refused=$(sed -n 's/^isol8_rejected_total{reason="key_share"} //p' <<<"$OUT")
conns_left 1
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(2)"}}'
held=$(kill -0 $h 2>/dev/null && echo "while the first still ran" || echo "but the first had ended")
is "$CODE" 429 "the key's second concurrent execution: 429 ($held)"
like "$(jqr .error)" "serve\.maxConcurrentPerKey" "…which names the setting"
wait $h
conns_left 0
req GET /metrics "$KA"
is "$(grep '^isol8_in_flight' <<<"$OUT")" 'isol8_in_flight 0' "no execution slot is still held"
is "$(sed -n 's/^isol8_rejected_total{reason="key_share"} //p' <<<"$OUT")" "$((${refused:-0} + 1))" "/metrics counts the per-key refusal"
req DELETE /session/fifo "$KA"
is "$CODE" 200 "the session is deleted"
if [ "$CODE" != 200 ]; then # a stuck supervisor: end it, so the checks below see only this file's faults
	for m in "$ISOL8_RUN_DIR"/sessions/*-fifo/meta.json; do kill -KILL "$(jq -r .daemon "$m")" 2>/dev/null; done
	sleep 0.5; "$BIN/isol8-cleanup" >/dev/null 2>&1; rm -rf "$ISOL8_RUN_DIR"/sessions/*-fifo
fi
kill -TERM $SPID; wait $SPID

# ---- the per-address cap, configured -------------------------------------------------------------
echo '{"serve": {"maxUnauthenticatedPerAddress": 4, "headTimeoutMs": 5000}}' > "$WORK/cap.json"
ISOL8_CONFIG="$WORK/cap.json" start_server "$WORK/s2.log" --key "$KA"
capture $ATTACK cap "$URL" 10
is "$OUT" "answered 6 open 4
codes 408,408,408,408,408,408" "serve.maxUnauthenticatedPerAddress 4: the oldest of 10 slow connections are closed with 408"
req GET /health
is "$CODE" 200 "…and /health is served"
kill -TERM $SPID; wait $SPID
echo '{"serve": {"maxUnauthenticatedPerAddress": 0}}' > "$WORK/bad.json"
capture timeout 10 env ISOL8_CONFIG="$WORK/bad.json" "$SERVE" --key "$KA" --listen 127.0.0.1:0
like "$RC/$ERR" "^1/\[ERR\] config serve.maxUnauthenticatedPerAddress must be " "a cap of 0 refuses to start"

# ---- 5. an eviction that crosses authentication ----------------------------------------------------
# The accept loop learns that a connection authenticated only from its report; until then it may
# evict it. With a million keys checking one takes a while, so an eviction from a connection opened
# right after the keyed head often lands after the head was read and before the key matched: the
# keyed request must still be answered, never closed in silence.
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "key-%020d\n", i }' > "$WORK/keys"
echo "$KA" >> "$WORK/keys"
echo '{"serve": {"maxUnauthenticatedPerAddress": 1}}' > "$WORK/race.json"
ISOL8_CONFIG="$WORK/race.json" start_server "$WORK/s3.log" --key-file "$WORK/keys"
capture $ATTACK race "$URL" "$KA" 40
is "$OUT" "silent 0 answered 40" "a keyed request evicted while its key is checked is still answered"
kill -TERM $SPID; wait $SPID

# ---- 6. one key's connections: file operations on a busy session ------------------------------
# GET /file waits on a session that is busy with another execution (up to serve.graceMs).
# Authenticated connections are never evicted: one key's dozens of them must not take every
# connection the server takes (maxConcurrent + maxQueue + 16 = 19 here).
# wait_busy SID: until the run sent to session SID has started (the mark it leaves in /sandbox,
# seen through its sandbox init's root; the directory is k<owner>-<sessionId>)
wait_busy() {
	local p; p=$(jq -r .sandboxPid "$ISOL8_RUN_DIR"/sessions/k*-"$1"/meta.json)
	for i in $(seq 400); do [ -e /proc/$p/root/sandbox/busy ] && return; sleep 0.05; done
}
echo '{"maxConcurrent": 2, "serve": {"maxQueue": 1, "graceMs": 5000}}' > "$WORK/flood.json"
ISOL8_CONFIG="$WORK/flood.json" start_server "$WORK/s4.log" --key "$KA" --key "$KB"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"x = 1"},"sessionId":"busy"}'
is "$CODE" 200 "a session for the flood"
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $KA" \
	--data-binary '{"request":{"runtime":"python","code":"import time; open(\"/sandbox/busy\", \"w\").close(); time.sleep(5)","timeoutMs":8000},"sessionId":"busy"}' \
	"$URL/execute" & busy=$!
wait_busy busy
capture $ATTACK flood "$URL" "$KA" "$KB" busy 34
is "$(echo "$OUT" | sed -n 1p)" "health 200" "one key's 34 GET /file on a busy session: /health is still served"
is "$(echo "$OUT" | sed -n 2p)" "exec 200 7" "…and so is another key's execution"
like "$(echo "$OUT" | sed -n 3p)" "429=(3[0-4]|2[0-9])" "…the key's connections past serve.maxConnectionsPerKey get 429 ($(echo "$OUT" | sed -n 3p))"
unlike "$(echo "$OUT" | sed -n 3p)" "503" "…and nobody gets 503"
wait $busy
req GET /metrics "$KA"
like "$(grep reason=.key_connections <<<"$OUT")" 'isol8_rejected_total\{reason="key_connections"\} [1-9]' "/metrics counts them"
req DELETE /session/busy "$KA"
kill -TERM $SPID; wait $SPID
# all keys together hold at most maxConcurrent + maxQueue: a key allowed all of them leaves
# the accept loop's last 16 places free (/health), and the other key is told why it waits
echo '{"maxConcurrent": 2, "serve": {"maxQueue": 1, "graceMs": 5000, "maxConnectionsPerKey": 3}}' > "$WORK/flood2.json"
ISOL8_CONFIG="$WORK/flood2.json" start_server "$WORK/s4b.log" --key "$KA" --key "$KB"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"x = 1"},"sessionId":"busy"}'
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $KA" \
	--data-binary '{"request":{"runtime":"python","code":"import time; open(\"/sandbox/busy\", \"w\").close(); time.sleep(4)","timeoutMs":8000},"sessionId":"busy"}' \
	"$URL/execute" & busy=$!
wait_busy busy
capture $ATTACK flood "$URL" "$KA" "$KB" busy 34
is "$(echo "$OUT" | sed -n 1,2p | tr '\n' ' ')" "health 200 exec 429 - " "one key holding every keyed place: /health is served, another key gets 429, not a hang or 503"
wait $busy
req DELETE /session/busy "$KA"
kill -TERM $SPID; wait $SPID
echo '{"maxConcurrent": 1000, "serve": {"maxQueue": 100}}' > "$WORK/bad.json"
capture timeout 10 env ISOL8_CONFIG="$WORK/bad.json" "$SERVE" --key "$KA" --listen 127.0.0.1:0
like "$RC/$ERR" "^1/.*maxConcurrent \+ serve.maxQueue must be at most 1008" "maxConcurrent + maxQueue beyond the holder tables refuses to start"
echo '{"maxConcurrent": 2, "serve": {"maxQueue": 1, "maxConnectionsPerKey": 4}}' > "$WORK/bad.json"
capture timeout 10 env ISOL8_CONFIG="$WORK/bad.json" "$SERVE" --key "$KA" --listen 127.0.0.1:0
like "$RC/$ERR" "^1/\[ERR\] config serve.maxConnectionsPerKey must be a whole number from 1 to 3" "serve.maxConnectionsPerKey above maxConcurrent + maxQueue refuses to start"

# ---- 7. the bounds and the watchdog, with serve.graceMs 300 ------------------------------------------
echo '{"maxConcurrent": 2, "serve": {"maxQueue": 1, "graceMs": 300, "maxConcurrentPerKey": 2}}' > "$WORK/wd.json"
ISOL8_CONFIG="$WORK/wd.json" start_server "$WORK/s5.log" --key "$KA" --key "$KB"
# installs have a budget of their own (as long as the timeout): a run with installs may take
# about twice its timeout, and must not be ended at timeout + serve.graceMs
req POST /execute "$KA" '{"request":{"runtime":"python","code":"import time; time.sleep(2); print(8)","timeoutMs":3000,"installPackages":["pip"]}}'
is "$CODE $(jqr .stdout)" "200 8" "a run with installs gets its install budget too, not ended at timeout + serve.graceMs"
# a session that does not answer: 504 at the execution's timeout + serve.graceMs
req POST /execute "$KA" '{"request":{"runtime":"python","code":"x = 1"},"sessionId":"slow"}'
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $KA" \
	--data-binary '{"request":{"runtime":"python","code":"import time; open(\"/sandbox/busy\", \"w\").close(); time.sleep(5)","timeoutMs":8000},"sessionId":"slow"}' \
	"$URL/execute" & busy=$!
wait_busy slow
elapsed req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)","timeoutMs":500},"sessionId":"slow"}'
like "$CODE $(jqr .error)" "^504 session slow did not answer within the execution's timeout plus 300 ms" "a session that does not answer: 504 naming serve.graceMs"
ok $(lt "$SECS" 3) "…after timeout + serve.graceMs (${SECS}s), not the busy run's 5 s"
wait $busy
# The watchdog: a streaming client that stops reading blocks the server's writes, so neither the
# execution's timeout nor the session's deadline can act; the watchdog ends the connection at
# timeout + serve.graceMs (in a session: + 2 × serve.graceMs), with an SSE error frame.
spew='import sys\nwhile True: sys.stdout.write(\"\\x01\" * 65536)'
capture $ATTACK stall "$URL" "$KA" "{\"request\":{\"runtime\":\"python\",\"code\":\"$spew\",\"timeoutMs\":1000},\"options\":{\"maxOutputSize\":8388608}}" 2.5
is "$OUT" "status 200 frames many watchdog 1 last exit" "a stream whose client stops reading: ended by the watchdog, with an error frame"
req GET /metrics "$KA"
is "$(grep '^isol8_in_flight' <<<"$OUT")" 'isol8_in_flight 0' "…its slot is given back"
# a client that never reads again must not keep the process (and its slot) alive
$ATTACK stall "$URL" "$KB" "{\"request\":{\"runtime\":\"python\",\"code\":\"$spew\",\"timeoutMs\":1000},\"options\":{\"maxOutputSize\":8388608}}" 8 never >/dev/null & st=$!
sleep 5
req GET /metrics "$KA"
is "$(grep '^isol8_in_flight' <<<"$OUT")" 'isol8_in_flight 0' "a stream whose client never reads again: the watchdog still ends it, the slot is back"
req POST /execute "$KB" '{"request":{"runtime":"python","code":"print(9)"}}'
is "$CODE $(jqr .stdout)" "200 9" "…and the key's share: it runs again"
wait $st
capture $ATTACK stall "$URL" "$KA" "{\"request\":{\"runtime\":\"python\",\"code\":\"$spew\",\"timeoutMs\":1000},\"sessionId\":\"slow\"}" 2.5
is "$OUT" "status 200 frames many watchdog 1 last exit" "the same in a session: ended by the watchdog, with an error frame"
sleep 1.5
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(x + 1)"},"sessionId":"slow"}'
like "$CODE $(jqr .stdout)" "^200 " "…the session itself lives on and answers"
req DELETE /session/slow "$KA"
is "$CODE" 200 "…and is deleted"
kill -TERM $SPID; wait $SPID
# what a watchdog leaves: the dead sandboxes' cgroups and records, for the reaper
left=$(count_leftovers)
ok $([ "$left" -gt 0 ] && echo 0 || echo 1) "the watchdog left its sandboxes' records for the reaper ($left)"
"$BIN/isol8-cleanup" >/dev/null 2>&1
is "$(count_leftovers)" 0 "isol8-cleanup removes them"
is "$(ls "$ISOL8_RUN_DIR/sessions" 2>/dev/null | wc -l)" 0 "no session left behind"
finish
