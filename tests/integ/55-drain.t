#!/usr/bin/env bash
# 55-drain.t — a node stopped with SIGTERM drains: /health turns to 503 "draining" (a balancer
# takes it out of rotation), new sandboxes and sessions are refused with 503, the execution that
# was running finishes and is answered, an existing session is still served, and the server
# exits once nothing is open. A second SIGTERM stops it at once.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
KEY=drain-key-0123456789abcdef
H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
code() { curl -s -o "$WORK/body" -w '%{http_code}' --max-time 60 "${H[@]}" "$@"; }

start_server "$WORK/s.log" --key "$KEY"
trap 'kill ${SPID:-} 2>/dev/null' EXIT
is "$(code "$URL/health")/$(jq -r .status "$WORK/body")" "200/ok" "health: ok"
is "$(code --data-binary '{"request":{"runtime":"python","code":"x = 5"},"sessionId":"kept"}' "$URL/execute")" 200 "a session before the drain"
curl -s -o "$WORK/long" -w '%{http_code}' --max-time 60 "${H[@]}" \
	--data-binary '{"request":{"runtime":"python","code":"import time; time.sleep(6); print(\"done\")"}}' "$URL/execute" >"$WORK/long.code" &
LONG=$!
# the long run is in flight before the drain starts, and outlasts the checks made during it
for i in $(seq 400); do code "$URL/metrics" >/dev/null; grep -qx 'isol8_in_flight 1' "$WORK/body" && break; sleep 0.05; done
kill -TERM "$SPID"
for i in $(seq 200); do [ "$(code "$URL/health")" = 503 ] && break; sleep 0.05; done
is "$(code "$URL/health")/$(jq -r .status "$WORK/body")" "503/draining" "after SIGTERM, health: 503 draining"
is "$(code --data-binary '{"request":{"runtime":"python","code":"print(1)"}}' "$URL/execute")" 503 "a new ephemeral execution: 503"
like "$(jq -r .error "$WORK/body")" 'draining' "…saying the node is draining"
is "$(code --data-binary '{"request":{"runtime":"python","code":"1"},"sessionId":"new-one"}' "$URL/execute")" 503 "a new session: 503"
is "$(code --data-binary '{"request":{"runtime":"python","code":"print(x)"},"sessionId":"kept"}' "$URL/execute")/$(jq -r .stdout "$WORK/body")" \
	"200/5" "an existing session is still served"
# Draining is the stopping server's own: another server on the same run dir (a second unit, a
# socket-activated one) still takes new work, and so does one started after the first is gone.
S1=$SPID URL1=$URL
start_server "$WORK/other.log" --key "$KEY"
is "$(code "$URL/health")/$(jq -r .status "$WORK/body")" "200/ok" "another server on the same run dir is not draining"
is "$(code --data-binary '{"request":{"runtime":"python","code":"print(2)"}}' "$URL/execute")/$(jq -r .stdout "$WORK/body")" \
	"200/2" "…and runs a new sandbox"
OTHER=$SPID SPID=$S1 URL=$URL1
wait "$LONG"
is "$(cat "$WORK/long.code")/$(jq -r .stdout "$WORK/long")" "200/done" "the execution that was running finishes and is answered"
for i in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
ok $(kill -0 "$SPID" 2>/dev/null && echo 1 || echo 0) "…then the server exits"
wait "$SPID" 2>/dev/null
like "$(cat "$WORK/s.log")" 'Draining: no new sandboxes or sessions' "its log says it drained"
SPID=$OTHER URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/other.log")
is "$(code --data-binary '{"request":{"runtime":"python","code":"print(3)"}}' "$URL/execute")" 200 "the other server still runs new sandboxes once the drained one is gone"
start_server "$WORK/third.log" --key "$KEY"
is "$(code "$URL/health")/$(jq -r .status "$WORK/body")" "200/ok" "a server started after the drained one is not draining"
kill -TERM "$SPID" "$OTHER"; wait "$SPID" "$OTHER" 2>/dev/null
"$BIN/isol8-session" delete "k$(printf '%s' "$KEY" | sha256sum | cut -c1-12)-kept" >/dev/null 2>&1

# a second SIGTERM does not wait
start_server "$WORK/s2.log" --key "$KEY"
curl -s -o /dev/null --max-time 60 "${H[@]}" \
	--data-binary '{"request":{"runtime":"python","code":"import time; time.sleep(20)"}}' "$URL/execute" &
LONG=$!
sleep 0.7
T0=$(date +%s%N)
kill -TERM "$SPID"; sleep 0.3; kill -TERM "$SPID"
for i in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
ok $([ $(( ($(date +%s%N) - T0) / 1000000 )) -lt 8000 ] && echo 0 || echo 1) "a second SIGTERM stops it without waiting for the run"
wait "$SPID" 2>/dev/null; SPID=
kill "$LONG" 2>/dev/null; wait "$LONG" 2>/dev/null
finish
