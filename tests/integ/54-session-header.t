#!/usr/bin/env bash
# 54-session-header.t — the session's routing key outside the body. Load balancers hash on the
# X-Isol8-Session header (a balancer that reads the body sees only its first buffer, ~16 KB in
# HAProxy), so the remote client sends it on every request about a session, and isol8-serve
# refuses one whose header and body name different sessions — or a session and none — with
# 400: such a request was routed for another session.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
KEY=hdr-key-0123456789abcdef

# what the remote client sends: a server of our own that records each request's head
python3 - "$WORK/heads" >"$WORK/fake.port" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
with open(sys.argv[1], "w") as log:
    for _ in range(3):
        c, _ = s.accept(); c.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk: break
            data += chunk
        log.write(data.split(b"\r\n\r\n")[0].decode() + "\n\n"); log.flush()
        body = b'{"error":"recorded"}'
        c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        c.close()
PY
FAKE=$!
for i in $(seq 100); do [ -s "$WORK/fake.port" ] && break; sleep 0.05; done
FURL=http://127.0.0.1:$(cat "$WORK/fake.port")
capture "$ISOL8" run --host "$FURL" --key "$KEY" --persistent --session-id routed-1 -e 'print(1)'
capture "$ISOL8" run --host "$FURL" --key "$KEY" -e 'print(1)'
capture "$BIN/isol8-session" stop routed-2 --host "$FURL" --key "$KEY"
wait $FAKE
heads=$(tr -d '\r' <"$WORK/heads")
is "$(printf '%s\n' "$heads" | awk -v RS= 'NR==1' | grep -i '^X-Isol8-Session:')" "X-Isol8-Session: routed-1" \
	"the remote client sends a session's id in X-Isol8-Session"
is "$(printf '%s\n' "$heads" | awk -v RS= 'NR==2' | grep -ci '^X-Isol8-Session:')" 0 "…and none for an ephemeral run"
is "$(printf '%s\n' "$heads" | awk -v RS= 'NR==3' | grep -i '^X-Isol8-Session:')" "X-Isol8-Session: routed-2" \
	"…and with DELETE /session/ID"

start_server "$WORK/s.log" --key "$KEY"
trap 'kill ${SPID:-} 2>/dev/null' EXIT
H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
code() { curl -s -o "$WORK/body" -w '%{http_code}' "${H[@]}" "$@"; }
EXEC='{"request":{"runtime":"python","code":"x = 1"},"sessionId":"s1"}'
is "$(code -H 'X-Isol8-Session: s1' --data-binary "$EXEC" "$URL/execute")" 200 "header and body agree: served"
is "$(code -H 'X-Isol8-Session: s2' --data-binary "$EXEC" "$URL/execute")" 400 "header names another session: 400"
like "$(cat "$WORK/body")" 'X-Isol8-Session header and the request.s session id disagree' "…saying why"
is "$(code -H 'X-Isol8-Session: s1' --data-binary '{"request":{"runtime":"python","code":"1"}}' "$URL/execute")" 400 \
	"header names a session, the body none: 400 (it was routed as the session's)"
is "$(code -H 'X-Isol8-Session: s1' -H 'X-Isol8-Session: s2' --data-binary "$EXEC" "$URL/execute")" 400 \
	"two headers: 400 (a balancer may route by one, the check see the other)"
is "$(code -H 'X-Isol8-Session: s2' --data-binary '{"sessionId":"s1","path":"/sandbox/a","content":"eA=="}' "$URL/file")" 400 "POST /file: 400 on a mismatch"
is "$(code -H 'X-Isol8-Session: s1' --data-binary '{"sessionId":"s1","path":"/sandbox/a","content":"eA=="}' "$URL/file")" 200 "…served when they agree"
is "$(code -H 'X-Isol8-Session: s2' "$URL/file?sessionId=s1&path=/sandbox/a")" 400 "GET /file: 400 on a mismatch"
is "$(code -H 'X-Isol8-Session: s1' "$URL/file?sessionId=s1&path=/sandbox/a")/$(jq -r .content "$WORK/body")" "200/eA==" "…served when they agree"
is "$(code -X DELETE -H 'X-Isol8-Session: s2' "$URL/session/s1")" 400 "DELETE /session/ID: 400 on a mismatch"
is "$(code -X DELETE -H 'X-Isol8-Session: s1' "$URL/session/s1")" 200 "…served when they agree"
is "$(code --data-binary "$EXEC" "$URL/execute")" 200 "no header: served as before (a client without a balancer)"
code -X DELETE "$URL/session/s1" >/dev/null
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
finish
