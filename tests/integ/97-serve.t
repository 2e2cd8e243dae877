#!/usr/bin/env bash
# isol8-serve: every route with curl against a real server, auth and key scoping, the policy
# on client options, SSE timing, the three ways to run, saturation, the remote CLI and the
# library example against the server, sessions across a restart.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
KA=key-a-0123456789abcdef
KB=key-b-0123456789abcdef
cat > "$ISOL8_CONFIG" <<'EOF'
{"maxConcurrent": 2, "serve": {"maxBodyBytes": 65536, "maxQueue": 1, "queueTimeoutMs": 20000}}
EOF

# ---- start-up --------------------------------------------------------------------------------
capture env -u ISOL8_API_KEY "$SERVE" --listen 127.0.0.1:0
is "$RC/$ERR" "1/[ERR] API key required. Use --key or ISOL8_API_KEY env var." "refuses to start without a key"
capture "$SERVE" --key short --listen 127.0.0.1:0
like "$RC/$ERR" "^1/.*API key too short" "refuses a short key"
capture env ISOL8_PORT=99999 "$SERVE" --key "$KA"
is "$RC/$ERR" "1/[ERR] Invalid port from ISOL8_PORT: 99999. Expected 1-65535." "invalid port: the reference's message"
capture "$SERVE" --key "$KA" --bogus
is "$RC/$ERR" "1/[ERR] Unknown argument: --bogus (see isol8-serve --help)" "unknown argument"
echo '{"defaults": {"memoryLimit": "4g"}}' > "$WORK/bad.json"
capture env ISOL8_CONFIG="$WORK/bad.json" "$SERVE" --key "$KA" --listen 127.0.0.1:0
like "$RC/$ERR" "^1/.*defaults do not fit its own serve bounds: memoryLimit" "defaults beyond the server's bounds refuse to start"

start_server "$WORK/s1.log" --key "$KA" --key "$KB"
like "$(cat "$WORK/s1.log")" "listening on http://127.0.0.1:[0-9]+" "the ready line names the address"

# ---- routes ----------------------------------------------------------------------------------
req GET /health
is "$CODE $OUT" '200 {"status":"ok","version":"0.1.0"}' "GET /health needs no key"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(2 ** 10)"}}'
is "$CODE $(jqr '[.stdout, .exitCode, .status] | map(tostring) | join(" ")')" "200 1024 0 ok" "POST /execute runs the code"
like "$(jqr .executionId)" '^[0-9a-f-]{36}$' "…with an ExecutionResult"
req POST /execute "" '{"request":{"runtime":"python","code":"print(1)"}}'
is "$CODE $OUT" '401 {"error":"Missing Authorization header"}' "no Authorization: 401"
req POST /execute "wrong-key-0123456789" '{"request":{"runtime":"python","code":"print(1)"}}'
is "$CODE $OUT" '403 {"error":"Invalid API key"}' "wrong key: 403"
CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: $KA" "$URL/sessions")
is "$CODE" 200 "a bare token without 'Bearer' is accepted, as the reference"
req GET /metrics "wrong-key-0123456789"
is "$CODE" 403 "unknown paths and /metrics need a key too"
req POST /execute "$KA" '{"request":'
is "$CODE $(jqr .error | cut -c1-17)" "400 Invalid JSON body" "malformed JSON: 400 (the reference says 500)"
req POST /execute "$KA" '{"request":{"runtime":"cobol","code":"x"}}'
like "$CODE $(jqr .error)" '^400 Unknown runtime: "cobol"' "invalid request: 400 with the reference's message"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"1","cmd":"ls"}}'
like "$CODE $(jqr .error)" "^400 .*mutually exclusive" "exclusive fields: 400"
req GET /nope "$KA"
is "$CODE" 404 "unknown route: 404"
big=$(head -c 70000 /dev/zero | tr '\0' a)
req POST /execute "$KA" "{\"request\":{\"runtime\":\"python\",\"code\":\"#$big\"}}"
like "$CODE $(jqr .error)" "^413 request body too large" "oversize body: 413 (limit serve.maxBodyBytes)"
head -c 2000000 /dev/zero | tr '\0' a > "$WORK/huge"
CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $KA" --data-binary @"$WORK/huge" "$URL/execute")
is "$CODE" 413 "a 2 MB body (curl waits for 100-continue) gets its 413 too"
req GET "/file?sessionId=nosuch&path=/sandbox/x" "$KA"
is "$CODE $OUT" '404 {"error":"Session not found"}' "GET /file of an unknown session: 404"
req GET "/file?path=/sandbox/x" "$KA"
is "$CODE $OUT" '400 {"error":"Missing sessionId or path"}' "GET /file without sessionId: 400"
req POST /file "$KA" '{"sessionId":"nosuch","path":"/sandbox/x","content":"eA=="}'
is "$CODE" 404 "POST /file to an unknown session: 404"
req DELETE /session/nosuch "$KA"
is "$CODE $OUT" '200 {"ok":true}' "DELETE of an unknown session: 200 (idempotent, as the reference)"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"import os; print(os.environ.get(\"ISOL8_API_KEY\"), os.environ.get(\"TOKEN\"))"},"options":{"secrets":{"TOKEN":"s3cr3t-value"}}}'
is "$(jqr .stdout)" "None ***" "sandboxes never see the server's key; secrets are masked"
unlike "$OUT" "s3cr3t-value|$KA" "the response echoes neither the key nor the secret"

# ---- policy on client options ----------------------------------------------------------------
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)"},"options":{"network":"host"}}'
is "$CODE $(jqr .error)" '400 network "host" is not allowed by this server (config serve.networks)' "network host: refused"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)"},"options":{"memoryLimit":"64g"}}'
is "$CODE $(jqr .error)" "400 memoryLimit exceeds this server's maximum of 2g (config serve.*)" "64 GB of memory: refused"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)","timeoutMs":900000}}'
like "$CODE $(jqr .error)" "^400 timeoutMs exceeds" "a request timeout over the bound: refused"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)"},"options":{"persist":true}}'
like "$CODE $(jqr .error)" "^400 options.persist is not allowed" "persist: refused (sandboxes would outlive requests)"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)"},"options":{"security":{"seccomp":"unconfined"}}}'
like "$CODE $(jqr .error)" '^400 options.security.seccomp "unconfined" is not allowed' "unconfined seccomp: refused"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(1)"},"options":{"image":"/"}}'
like "$CODE $(jqr .error)" "^400 options.image is not one of this server's images" "an image path on the server: refused"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"import resource; print(1)"},"options":{"memoryLimit":"256m","timeoutMs":5000,"debug":true}}'
is "$CODE $(jqr .stdout)" "200 1" "options within the bounds apply (debug is ignored)"

# ---- sessions (the documented walk-through), key scoping -----------------------------------------
req POST /execute "$KA" '{"request":{"runtime":"python","code":"x = 41"},"sessionId":"walk"}'
is "$CODE $(jqr .sessionId)" "200 walk" "create a session with sessionId"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(x + 1)"},"sessionId":"walk"}'
is "$(jqr .stdout)" 42 "a follow-up sees the state"
req POST /file "$KA" "{\"sessionId\":\"walk\",\"path\":\"/sandbox/data.txt\",\"content\":\"$(printf 'hello\n' | base64)\"}"
is "$CODE $OUT" '200 {"ok":true}' "POST /file uploads"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(open(\"/sandbox/data.txt\").read().strip())"},"sessionId":"walk"}'
is "$(jqr .stdout)" hello "the program reads the uploaded file"
req GET "/file?sessionId=walk&path=%2Fsandbox%2Fdata.txt" "$KA"
is "$CODE $(jqr .content | base64 -d)" "200 hello" "GET /file downloads"
req GET "/file?sessionId=walk&path=/etc/passwd" "$KA"
like "$CODE" "^400" "GET /file outside /sandbox and /tmp: refused"
req GET /sessions "$KA"
is "$(jqr '[.sessions[] | .id + " " + .runtime + " " + (.isActive|tostring)] | join(",")')" "walk python false" "GET /sessions lists it"
req GET /sessions "$KB"
is "$OUT" '{"sessions":[]}' "another key does not see it"
req GET "/file?sessionId=walk&path=/sandbox/data.txt" "$KB"
is "$CODE" 404 "another key gets 404 for its files"
req DELETE /session/walk "$KB"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(x)"},"sessionId":"walk"}'
is "$(jqr .stdout)" 41 "another key's DELETE does not touch it"
req POST /execute "$KB" '{"request":{"runtime":"python","code":"print(globals().get(\"x\"))"},"sessionId":"walk"}'
is "$(jqr .stdout)" None "the same sessionId under another key is another session"
req POST /execute "$KA" '{"request":{"runtime":"node","code":"1"},"sessionId":"walk"}'
like "$CODE" "^400" "another runtime in a session: 400"
req DELETE /session/walk "$KA"
is "$CODE $OUT" '200 {"ok":true}' "DELETE /session/walk ends it"
is "$(ls "$ISOL8_RUN_DIR/sessions" | grep -c walk)" 1 "…only the other key's session remains on disk"
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(globals().get(\"x\"))"},"sessionId":"walk"}'
is "$(jqr .stdout)" None "after DELETE the sessionId starts afresh"
req DELETE /session/walk "$KA"
req DELETE /session/walk "$KB"

# ---- SSE ------------------------------------------------------------------------------------
cat > "$WORK/sse.py" <<'EOF'
import http.client, json, sys, time
url, key, body = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = url.split("//")[1].split(":")
c = http.client.HTTPConnection(host, int(port), timeout=60)
t0 = time.time()
c.request("POST", "/execute/stream", body, {"Authorization": "Bearer " + key})
r = c.getresponse()
first = None
frames = []
buf = b""
while True:
    line = r.fp.readline()
    if not line:
        break
    if line.startswith(b"data: "):
        if first is None:
            first = time.time() - t0
        frames.append(json.loads(line[6:]))
end = time.time() - t0
print(r.status, r.getheader("Content-Type"), "%.2f %.2f" % (first or -1, end))
for f in frames:
    print(f["type"], json.dumps(f.get("data"))[:60])
EOF
out=$(python3 "$WORK/sse.py" "$URL" "$KA" '{"request":{"runtime":"python","code":"import time\nprint(\"one\", flush=True)\ntime.sleep(2)\nprint(\"two\")"}}')
head=$(printf '%s\n' "$out" | head -1)
like "$head" "^200 text/event-stream " "POST /execute/stream answers text/event-stream"
first=$(echo "$head" | cut -d' ' -f3) end=$(echo "$head" | cut -d' ' -f4)
python3 -c "import sys; sys.exit(0 if $end - $first >= 0.8 else 1)"
ok $? "the first frame arrives before the program ends (first ${first}s, end ${end}s)"
# A pipe read may split one line over several frames: the order and the text are the contract.
like "$(printf '%s\n' "$out" | tail -n +2 | cut -d' ' -f1 | tr '\n' ' ')" "^stdout (stdout )+exit result $" "frames: stdout (at least two: one per print), exit, then the result"
is "$(printf '%s\n' "$out" | tail -n +2 | grep '^stdout ' | cut -d' ' -f2- | python3 -c 'import sys,json; print(repr("".join(json.loads(l) for l in sys.stdin)))')" "'one\\ntwo\\n'" "…whose text is the program's output, in order"
out=$(python3 "$WORK/sse.py" "$URL" "$KA" '{"request":{"runtime":"python","code":"import time\ntime.sleep(10)","timeoutMs":500}}')
is "$(printf '%s\n' "$out" | tail -n +2 | head -2 | tr '\n' ' ')" 'error "EXECUTION TIMED OUT" exit "137" ' "a timeout streams the error and exit 137 frames"
out=$(python3 "$WORK/sse.py" "$URL" "$KA" '{"request":{"runtime":"python","code":"print(1)"},"sessionId":"ss"}')
like "$(printf '%s\n' "$out" | tail -n +2 | cut -d' ' -f1 | tr '\n' ' ')" "^(stdout )+exit result $" "a session streams the same frames"
req DELETE /session/ss "$KA"

# ---- the remote CLI and the library -----------------------------------------------------------
capture env ISOL8_API_KEY="$KA" "$ISOL8" run --host "$URL/" -e 'import sys; print("out"); print("err", file=sys.stderr); sys.exit(3)'
is "$RC|$OUT|$ERR" "3|out|err" "isol8 run --host streams stdout/stderr and the exit code"
capture "$ISOL8" run --host "$URL" --key "$KA" --no-stream -e 'print(6 * 7)'
is "$RC $OUT" "0 42" "--key and --no-stream (POST /execute)"
capture "$ISOL8" run --host "$URL" --key "$KA" --json --memory 128m -e 'print(1)'
is "$(jqr '[.stdout, .status] | join(" ")')" "1 ok" "--json with a limit flag"
capture env -u ISOL8_API_KEY "$ISOL8" run --host "$URL" -e 'print(1)'
is "$RC/$ERR" "1/[ERR] API key required. Use --key, ISOL8_API_KEY env var, or \`isol8 login\`." "no key: the reference's message"
capture "$ISOL8" run --host "$URL" --key "wrong-key-0123456789" -e 'print(1)'
is "$RC/$ERR" "1/[ERR] Stream failed: Invalid API key" "wrong key: 'Stream failed: Invalid API key'"
capture "$ISOL8" run --host "$URL" --key "$KA" --no-stream --net host -e 'print(1)'
like "$RC/$ERR" '^1/\[ERR\] Execution failed: network "host" is not allowed' "the server's policy error, as 'Execution failed: …'"
capture "$ISOL8" run --host "$URL" --key "$KA" --session-id cli1 -e 'y = 5'
capture "$ISOL8" run --host "$URL" --key "$KA" --session-id cli1 -e 'print(y * 2)'
is "$OUT" 10 "--session-id keeps state on the server"
capture "$ISOL8" session list --host "$URL" --key "$KA"
like "$(echo $OUT)" "1 active session\(s\): cli1 \[idle\] last accessed: " "isol8 session list --host"
capture "$ISOL8" session stop cli1 --host "$URL" --key "$KA"
is "$OUT" '[OK] Session "cli1" destroyed.' "isol8 session stop --host"
capture "$ISOL8" run --host "$URL" --key "$KA" --persistent -e 'print(3)'
like "$OUT|$ERR" "^3\|\[Run\] Session ID: cli-[0-9]+$" "--persistent: a throw-away session…"
req GET /sessions "$KA"
is "$OUT" '{"sessions":[]}' "…deleted at exit"
capture env ISOL8_API_KEY="$KA" "$BIN/../examples/engine" "$URL"
is "$RC" 0 "the library example runs against the server"
like "$(echo $OUT)" "remote stream stdout: 1025 remote stream exit: 0 remote result exitCode=0 status=ok remote get_file: from C" "…through every call of the remote engine"
like "$(echo $OUT)" "local stream stdout: 1025 local stream exit: 0 local result exitCode=0 status=ok local get_file: from C" "…and of the local engine"

# ---- metrics, cleanup ------------------------------------------------------------------------
req GET /metrics "$KA"
like "$OUT" 'isol8_executions_total\{runtime="python",status="ok"\} [1-9]' "GET /metrics counts executions by runtime and status"
like "$OUT" 'isol8_executions_total\{runtime="python",status="timeout"\} 1' "…a timeout as a timeout"
like "$OUT" 'isol8_request_duration_seconds_count [1-9]' "…a latency histogram"
like "$OUT" 'isol8_rejected_total\{reason="body_too_large"\} 2' "…rejects by reason"
like "$OUT" 'isol8_in_flight 0' "…in-flight and queue gauges"
req POST /cleanup "$KA"
is "$CODE $(jqr '[.ok, .sessions.removed, .containers.failed] | map(tostring) | join(" ")')" "200 true 0 0" "POST /cleanup answers the reference's shape"

# ---- saturation: 200 requests at concurrency 8 against 2 slots + a queue of 1 ------------------
seq 200 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H "Authorization: Bearer $KA" \
	--data-binary '{"request":{"runtime":"python","code":"print(1)"}}' "$URL/execute" > "$WORK/codes"
is "$(wc -l < "$WORK/codes")" 200 "200 requests all answered (none hang)"
is "$(grep -cvE '^(200|429|503)$' "$WORK/codes")" 0 "each got 200, 429 or 503 ($(sort "$WORK/codes" | uniq -c | tr -s ' ' | tr '\n' ','))"
ok $([ "$(grep -c '^200$' "$WORK/codes")" -gt 0 ] && echo 0 || echo 1) "…and some ran"
req GET /metrics "$KA"
like "$OUT" 'isol8_in_flight 0' "no slot is still held after the burst"

# ---- sessions survive a restart -----------------------------------------------------------------
req POST /execute "$KA" '{"request":{"runtime":"python","code":"kept = \"yes\""},"sessionId":"restart"}'
kill -TERM $SPID; wait $SPID
like "$(tail -2 "$WORK/s1.log" | tr '\n' '|')" "^\[INFO\] Shutting down isol8 server...\|\[INFO\] Server cleanup complete\|$" "SIGTERM: the reference's shutdown lines"
# the restarted server: keys from a file, an access log, at most one session per key
printf '# keys\n%s\n\n' "$KA" > "$WORK/keys"
echo '{"maxConcurrent": 2, "serve": {"maxSessionsPerKey": 1}}' > "$WORK/s2.json"
ISOL8_CONFIG="$WORK/s2.json" start_server "$WORK/s2.log" --key-file "$WORK/keys" --debug
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(kept)"},"sessionId":"restart"}'
is "$(jqr .stdout)" yes "a session survives a restart of isol8-serve (key from --key-file)"
like "$(cat "$WORK/s2.log")" '^\[DEBUG\] POST /execute 200 [0-9.]+ms$' "--debug: one access-log line per request"
unlike "$(cat "$WORK/s2.log")" "$KA" "…which never shows the key"
# a session made through the server holds no more descriptors than one made by the CLI
"$BIN/isol8-session" exec cli-made --create -r python -e 1 >/dev/null   # started its driver, like the served one
fds() { ls /proc/$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/$1/meta.json")/fd | wc -l; }
served=$(ls "$ISOL8_RUN_DIR/sessions" | grep -- '-restart$')
is "$(fds "$served")" "$(fds cli-made)" "a server-made session supervisor inherits no stray descriptor"
"$BIN/isol8-session" delete cli-made >/dev/null
req POST /execute "$KA" '{"request":{"runtime":"python","code":"1"},"sessionId":"second"}'
is "$CODE $(jqr .error)" "429 this key already has 1 sessions (config serve.maxSessionsPerKey): delete one first" \
	"a key over serve.maxSessionsPerKey: 429"
req DELETE /session/restart "$KA"
busy=$PORT_
capture "$SERVE" --key "$KA" --listen "127.0.0.1:$busy"
like "$RC/$ERR" "^1/\[ERR\] cannot listen on 127.0.0.1:$busy: Address already in use" "--listen on a busy port: an error"
"$SERVE" --key "$KA" --port "$busy" >"$WORK/s3.log" 2>&1 & s3=$!
for i in $(seq 100); do grep -q listening "$WORK/s3.log" && break; sleep 0.05; done
like "$(cat "$WORK/s3.log")" "\[WARN\] Port $busy is in use. Falling back to available port [0-9]+" "--port on a busy port: the reference's fallback"
kill -TERM $s3; wait $s3
kill -TERM $SPID; wait $SPID

# ---- inetd, socket activation, readiness ----------------------------------------------------------
# inetd hands the accepted socket over as stdin/stdout
cat > "$WORK/inetd.py" <<'EOF'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdin=b, stdout=b, stderr=subprocess.DEVNULL)
b.close()
a.sendall(sys.stdin.buffer.read())
out = b""
while True:
    d = a.recv(65536)
    if not d:
        break
    out += d
p.wait()
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "|"))
EOF
out=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' | python3 "$WORK/inetd.py" "$SERVE" --inetd --key "$KA")
like "$out" '^HTTP/1.1 200 OK\|.*"status":"ok"' "--inetd serves one connection on stdin/stdout"
body='{"request":{"runtime":"python","code":"print(9)"}}'
out=$(printf 'POST /execute HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s' "$KA" ${#body} "$body" | python3 "$WORK/inetd.py" "$SERVE" --inetd --key "$KA")
like "$out" '"stdout":"9"' "--inetd runs an execution"
capture sh -c "echo x | '$SERVE' --inetd --key '$KA'"
is "$RC/$ERR" "1/[ERR] --inetd needs the client's socket on stdin (inetd, systemd Accept=yes, socat)" "--inetd on a pipe: a clear error"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
systemd-socket-activate -l 127.0.0.1:$port "$SERVE" --key "$KA" >"$WORK/sa.log" 2>&1 & sa=$!
for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.05; done
URL=http://127.0.0.1:$port
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(8)"}}'
is "$CODE $(jqr .stdout)" "200 8" "systemd socket activation (LISTEN_FDS)"
like "$(cat "$WORK/sa.log")" "listening on the socket systemd passed" "…uses the passed socket"
kill -TERM $sa; wait $sa 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
systemd-socket-activate --accept -l 127.0.0.1:$port "$SERVE" --key "$KA" >/dev/null 2>&1 & sa=$!
for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.05; done
URL=http://127.0.0.1:$port
req POST /execute "$KA" '{"request":{"runtime":"python","code":"print(7)"}}'
is "$CODE $(jqr .stdout)" "200 7" "socket activation with Accept=yes (one connection per process)"
kill -TERM $sa; wait $sa 2>/dev/null
cat > "$WORK/notify.py" <<'EOF'
import os, socket, subprocess, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); s.settimeout(10)
p = subprocess.Popen([sys.argv[2], "--key", sys.argv[3], "--listen", "127.0.0.1:0"], env=dict(os.environ, NOTIFY_SOCKET=path),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    msg = s.recv(256).decode()
    print(msg.replace("\n", " "), "(pid matches)" if ("MAINPID=%d" % p.pid) in msg else "(pid differs)")
finally:
    p.terminate(); p.wait()
EOF
capture python3 "$WORK/notify.py" "$WORK/notify.sock" "$SERVE" "$KA"
like "$OUT" "^READY=1 MAINPID=[0-9]+ \(pid matches\)" "readiness goes to NOTIFY_SOCKET"
is "$(ls "$ISOL8_RUN_DIR/sessions" 2>/dev/null | wc -l)" 0 "no session left behind"
is "$(ls "$ISOL8_RUN_DIR/serve" 2>/dev/null | grep -c state)" 0 "the last server out removed the shared state (and its semaphore)"
finish
