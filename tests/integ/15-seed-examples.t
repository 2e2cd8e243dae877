#!/usr/bin/env bash
# The documented command lines, replayed as written. Every `isol8 …` and `curl …` line below is
# copied from the user documentation's examples (the `isol8 run` reference page, and the
# persistent-mode guide's CLI and Server API sections); only the scripts they name are made up
# here, with small content that shows the option did what the documentation says.
#
# The file runs in a network and mount namespace of its own (re-executed under unshare), so the
# documented names and ports can be served for real without touching the machine: lo is the
# only interface, a private /etc/hosts points api.openai.com, cdn.jsdelivr.net, mirror.example.ru
# and remote-server at 127.0.0.1, an HTTPS origin listens on 443, a package index on 80 and
# isol8 serve on 3000. Both namespaces end with this file; nothing else can be reached.
if [ -z "${ISOL8_SEED_NS:-}" ]; then
	exec unshare --mount --net env ISOL8_SEED_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
printf '127.0.0.1 localhost api.openai.com cdn.jsdelivr.net mirror.example.ru remote-server\n::1 localhost\n' > "$WORK/hosts"
mount --bind "$WORK/hosts" /etc/hosts
export PATH="$BIN:$PATH"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null' EXIT
mkdir -p "$WORK/ex" && cd "$WORK/ex"

# ---- origins ----------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=api.openai.com \
	-addext subjectAltName=DNS:api.openai.com,DNS:cdn.jsdelivr.net,DNS:mirror.example.ru,IP:127.0.0.1 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 2>/dev/null
python3 "$HELPERS/https_origin.py" 443 "$WORK/cert.pem" "$WORK/key.pem" & PIDS+=($!)
# A package index for --install (tests/helpers/pkg_index.py): stand-in numpy, pandas and lodash.
python3 "$HELPERS/pkg_index.py" 80 & PIDS+=($!)
export ISOL8_API_KEY=seed-examples-key-0123456789abcdef # isol8-serve wants 16 characters or more
isol8 serve --port 3000 >"$WORK/serve.log" 2>&1 & PIDS+=($!)
for i in $(seq 100); do
	curl -s -o /dev/null http://127.0.0.1:80/simple/numpy/ && curl -sk -o /dev/null https://127.0.0.1:443/ &&
		curl -s -o /dev/null http://localhost:3000/health && break
	sleep 0.1
done
# the origins are on loopback: let the proxy of --net filtered reach them
export ISOL8_PROXY_ALLOW_PRIVATE=1
# pipe_run CMD: OUT, ERR, RC of a shell line that itself pipes (capture takes argv only)
pipe_run() { OUT=$(bash -c "$1" 2>"$WORK/err"); RC=$?; ERR=$(cat "$WORK/err"); }
# timed_lines CMD: the command's stdout lines, each followed by the ms since it started (a
# line that comes before the reader is ready is stamped late, so gaps below are lower bounds
# of what streaming must show, with half a second of slack)
timed_lines() { local t0; t0=$(date +%s%N); bash -c "$1" 2>/dev/null | python3 -c '
import sys, time
t0 = int(sys.argv[1]) / 1e9
for l in sys.stdin: print(l.rstrip("\n"), int((time.time() - t0) * 1000))' "$t0"; }

# ---- Basic execution ---------------------------------------------------------------------------
printf 'print("hello from script.py")\n' > script.py
printf 'console.log("hello from app.js")\n' > app.js
printf 'const n: number = 2;\nconsole.log(typeof Bun !== "undefined" ? "bun" : "not bun", n);\n' > handler.ts
capture isol8 run -e "print(2 ** 10)"
is "$OUT:$RC" "1024:0" 'isol8 run -e "print(2 ** 10)"'
capture isol8 run -e "console.log('hello')" --runtime node
is "$OUT:$RC" "hello:0" "isol8 run -e \"console.log('hello')\" --runtime node"
capture isol8 run script.py
is "$OUT:$RC" "hello from script.py:0" "isol8 run script.py"
capture isol8 run app.js
is "$OUT:$RC" "hello from app.js:0" "isol8 run app.js"
capture isol8 run handler.ts   # Uses bun runtime
is "$OUT:$RC" "bun 2:0" "isol8 run handler.ts   # Uses bun runtime"
pipe_run "echo \"console.log('hello')\" | isol8 run --runtime node"
is "$OUT:$RC" "hello:0" "echo \"console.log('hello')\" | isol8 run --runtime node"
pipe_run "cat script.py | isol8 run --runtime python"
is "$OUT:$RC" "hello from script.py:0" "cat script.py | isol8 run --runtime python"

# ---- Real-time streaming -----------------------------------------------------------------------
printf 'import time\nprint("step 1")\ntime.sleep(1)\nprint("step 2")\n' > long_task.py
lines=$(timed_lines "isol8 run long_task.py --stream")
like "$lines" $'^step 1 [0-9]+\nstep 2 [0-9]+$' "isol8 run long_task.py --stream"
ok $(awk 'NR==1{a=$3} NR==2{b=$3} END{exit !(b - a >= 300)}' <<<"$lines"; echo $?) "…step 1 is seen a second before step 2 (streamed, not buffered)"
lines=$(timed_lines "isol8 run -e \"import time; print('start'); time.sleep(1); print('done')\" --runtime python --stream")
like "$lines" $'^start [0-9]+\ndone [0-9]+$' "isol8 run -e \"import time; print('start'); time.sleep(1); print('done')\" --runtime python --stream"
ok $(awk 'NR==1{a=$2} NR==2{b=$2} END{exit !(b - a >= 300)}' <<<"$lines"; echo $?) "…start is seen a second before done"

# ---- Package installation (from the loopback index above: the host's configured registry) -----
export PIP_INDEX_URL=http://localhost/simple/ NPM_CONFIG_REGISTRY=http://localhost/
capture isol8 run -e "import numpy; print(numpy.array([1,2,3]))" --runtime python --install numpy
is "$OUT:$RC" "[1 2 3]:0" 'isol8 run -e "import numpy; print(numpy.array([1,2,3]))" --runtime python --install numpy'
capture isol8 run -e "import pandas; import numpy" --runtime python \
  --install numpy --install pandas
is "$OUT:$ERR:$RC" "::0" 'isol8 run -e "import pandas; import numpy" --runtime python --install numpy --install pandas'
capture isol8 run -e "const _ = require('lodash'); console.log(_.chunk([1,2,3,4], 2))" \
  --runtime node --install lodash
is "$OUT:$RC" "[ [ 1, 2 ], [ 3, 4 ] ]:0" "isol8 run -e \"const _ = require('lodash'); …\" --runtime node --install lodash"
unset PIP_INDEX_URL NPM_CONFIG_REGISTRY

# ---- Resource configuration --------------------------------------------------------------------
# more than the defaults allow (512m memory, 64m /sandbox), within what the example asks for
cat > script.py <<'PY'
big = bytearray(700 << 20)
with open("/sandbox/data.bin", "wb") as f:
    f.write(bytes(100 << 20))
print("held 700 MB, wrote 100 MB")
PY
capture isol8 run script.py --memory 2g --sandbox-size 256m --timeout 60000
is "$OUT:$RC" "held 700 MB, wrote 100 MB:0" "isol8 run script.py --memory 2g --sandbox-size 256m --timeout 60000"
capture isol8 run script.py
unlike "$OUT:$RC" ":0$" "…the same script without them fails (the defaults are smaller)"
start=$(date +%s%N)
capture isol8 run -e "while True: pass" --runtime python --cpu 0.5 --timeout 5000
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$ERR:$RC" "[ERR] EXECUTION TIMED OUT:137" 'isol8 run -e "while True: pass" --runtime python --cpu 0.5 --timeout 5000'
ok $([ "$took" -ge 5000 ] && [ "$took" -lt 9000 ]; echo $?) "…stopped after its 5 s ($took ms)"
printf 'for i in range(60000):\n    print(f"report line {i:06d} " + "x" * 40)\n' > generate_report.py
capture isol8 run generate_report.py --max-output 10485760
is "$(printf '%s' "$OUT" | wc -l):$(printf '%s' "$OUT" | tail -1 | cut -c1-18):$RC" "59999:report line 059999:0" \
	"isol8 run generate_report.py --max-output 10485760 (3.2 MB, past the 1 MB default)"
# 24 processes at once where 16 are allowed: forks fail until earlier ones end. bash retries a
# refused fork after sleeping, but gives up on the script ("fork: Interrupted system call", exit 254)
# when a child's exit interrupts that sleep, so the forks run in a subshell the script outlives.
printf '#!/bin/bash\n(for i in $(seq 24); do sleep 0.5 & done; wait)\necho all done\n' > script.sh
capture isol8 run script.sh --pids-limit 16
is "$OUT:$RC" "all done:0" "isol8 run script.sh --pids-limit 16"
like "$ERR" "fork: (retry: )?Resource temporarily unavailable" "…and forks past 16 processes are refused"

# ---- Secrets -----------------------------------------------------------------------------------
capture isol8 run -e "import os; print(os.environ['API_KEY'])" \
  --runtime python --secret API_KEY=sk-1234
is "$OUT:$RC" "***:0" "isol8 run -e \"import os; print(os.environ['API_KEY'])\" --runtime python --secret API_KEY=sk-1234 # stdout: ***"
printf 'import os\ndb, tok = os.environ["DB_PASSWORD"], os.environ["API_TOKEN"]\nprint(db, tok, len(db), len(tok))\n' > script.py
capture isol8 run script.py \
  --secret DB_PASSWORD=hunter2 \
  --secret API_TOKEN=tok_abc123
is "$OUT:$RC" "*** *** 7 10:0" "isol8 run script.py --secret DB_PASSWORD=hunter2 --secret API_TOKEN=tok_abc123"

# ---- Network filtering -------------------------------------------------------------------------
# script.py asks three hosts over HTTPS through the proxy of --net filtered
cat > script.py <<'PY'
import ssl, urllib.request
ctx = ssl._create_unverified_context()  # the test's own certificate
for host in ("api.openai.com", "cdn.jsdelivr.net", "mirror.example.ru"):
    try:
        print(host, urllib.request.urlopen(f"https://{host}/", context=ctx, timeout=10).read().decode())
    except Exception as e:
        print(host, "blocked" if "403" in str(e) else f"error: {e}")
PY
capture isol8 run script.py --net filtered --allow "^api\.openai\.com$"
is "$OUT:$RC" $'api.openai.com secure-ok\ncdn.jsdelivr.net blocked\nmirror.example.ru blocked:0' \
	'isol8 run script.py --net filtered --allow "^api\.openai\.com$"'
capture isol8 run script.py --net filtered \
  --allow "^api\.openai\.com$" \
  --allow "^cdn\.jsdelivr\.net$"
is "$OUT:$RC" $'api.openai.com secure-ok\ncdn.jsdelivr.net secure-ok\nmirror.example.ru blocked:0' \
	'isol8 run script.py --net filtered --allow "^api\.openai\.com$" --allow "^cdn\.jsdelivr\.net$"'
capture isol8 run script.py --net filtered --deny ".*\.ru$"
is "$OUT:$RC" $'api.openai.com secure-ok\ncdn.jsdelivr.net secure-ok\nmirror.example.ru blocked:0' \
	'isol8 run script.py --net filtered --deny ".*\.ru$"'
# --net host: no proxy, the host's own network (here: the test namespace's loopback origin)
cat > script.py <<'PY'
import os, socket, ssl
s = ssl._create_unverified_context().wrap_socket(socket.create_connection(("127.0.0.1", 443), timeout=5))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
reply = b"".join(iter(lambda: s.recv(4096), b"")).decode()
print(reply.split("\r\n\r\n")[1], "proxy:", os.environ.get("HTTPS_PROXY", "none"))
PY
capture isol8 run script.py --net host
is "$OUT:$RC" "secure-ok proxy: none:0" "isol8 run script.py --net host"
capture isol8 run script.py
like "$OUT$ERR" "Connection refused" "…while without it the host's loopback is out of reach"

# ---- Persistent sessions (local) ---------------------------------------------------------------
mkdir -p "$WORK/p1" && cd "$WORK/p1"
capture isol8 run --persistent -e \
  "import json; json.dump({'count': 42}, open('/sandbox/data.json', 'w'))" \
  --runtime python
is "$RC" 0 "isol8 run --persistent -e \"import json; json.dump({'count': 42}, …)\" --runtime python"
capture isol8 run --persistent -e \
  "import json; print(json.load(open('/sandbox/data.json')))" \
  --runtime python
is "$OUT:$RC" "{'count': 42}:0" "isol8 run --persistent -e \"import json; print(json.load(…))\" --runtime python"
isol8 session stop "$(printf '%s' "$ERR" | sed -n 's/^\[Run\] Session ID: //p')" > /dev/null
# the persistent-mode guide: --persistent --persist leaves it running for isol8 cleanup
mkdir -p "$WORK/p2" && cd "$WORK/p2"
capture isol8 run --persistent --persist -e "x = 42" --runtime python
sid=$(printf '%s' "$ERR" | sed -n 's/^\[Run\] Session ID: //p')
is "$RC" 0 'isol8 run --persistent --persist -e "x = 42" --runtime python'
like "$sid" '^cli-python-[0-9a-f]+$' "…prints its session id"
capture isol8 session list --json
is "$(printf '%s' "$OUT" | jq -r --arg s "$sid" '.[] | select(.id == $s) | .alive')" true "…and leaves it running"
capture isol8 cleanup --force
is "$(printf '%s' "$OUT" | jq -c '[.removed >= 1, .failed]'):$(ls "$ISOL8_RUN_DIR/sessions" 2>/dev/null | wc -l)" "[true,0]:0" \
	"isol8 cleanup removes it later"
cd "$WORK/ex"

# ---- Remote execution and the Server API -------------------------------------------------------
# The documentation's placeholder key, my-api-key, is 10 characters: isol8 serve refuses keys
# under 16, so no server can accept it. Each remote example is replayed as written (the server
# answers 401 "Invalid API key", and the CLI says so in one line), then with this server's key.
printf 'print("hello from script.py")\n' > script.py
capture isol8 run -e "print('hello')" --host http://remote-server:3000 --key my-api-key
is "$ERR:$RC" "[ERR] Stream failed: Invalid API key:1" "isol8 run -e \"print('hello')\" --host http://remote-server:3000 --key my-api-key (placeholder key: refused)"
capture isol8 run -e "print('hello')" --host http://remote-server:3000 --key "$ISOL8_API_KEY"
is "$OUT:$RC" "hello:0" "…with the server's key: runs there"
key=$ISOL8_API_KEY
pipe_run 'export ISOL8_API_KEY=my-api-key
isol8 run script.py --host http://remote-server:3000'
is "$ERR:$RC" "[ERR] Stream failed: Invalid API key:1" "export ISOL8_API_KEY=my-api-key; isol8 run script.py --host http://remote-server:3000 (placeholder key: refused)"
pipe_run "export ISOL8_API_KEY=$key
isol8 run script.py --host http://remote-server:3000"
is "$OUT:$RC" "hello from script.py:0" "…with the server's key in ISOL8_API_KEY: runs there"
capture isol8 run --persistent -e "x = 42" --runtime python \
  --host http://remote-server:3000 --key my-api-key
like "$ERR" "^\[ERR\] Stream failed: Invalid API key$" "isol8 run --persistent -e \"x = 42\" --runtime python --host http://remote-server:3000 --key my-api-key (placeholder key: refused)"
is "$RC" 1 "…exit 1"
capture isol8 run --persistent -e "x = 42" --runtime python \
  --host http://remote-server:3000 --key "$ISOL8_API_KEY"
is "$RC" 0 "…with the server's key: a remote session"
like "$ERR" '^\[Run\] Session ID: cli-[0-9]+$' "…that prints its id"
capture curl -s http://localhost:3000/sessions -H "Authorization: Bearer $ISOL8_API_KEY"
is "$(printf '%s' "$OUT" | jq -c .sessions)" "[]" "…and is deleted when the run ends"

# the persistent-mode guide's Server API: sessionId, a follow-up, then DELETE
capture curl -X POST http://localhost:3000/execute \
  -H "Authorization: Bearer $ISOL8_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "agent-session-123",
    "request": {
      "code": "history = []",
      "runtime": "python"
    }
  }'
is "$(printf '%s' "$OUT" | jq -c '[.exitCode, .stdout]')" '[0,""]' "curl -X POST http://localhost:3000/execute … \"code\": \"history = []\""
capture curl -X POST http://localhost:3000/execute \
  -H "Authorization: Bearer $ISOL8_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "sessionId": "agent-session-123",
    "request": {
      "code": "history.append(\"first action\"); print(history)",
      "runtime": "python"
    }
  }'
is "$(printf '%s' "$OUT" | jq -r .stdout)" "['first action']" "curl -X POST http://localhost:3000/execute … history.append(\"first action\"); print(history)"
capture curl -X DELETE http://localhost:3000/session/agent-session-123 \
  -H "Authorization: Bearer $ISOL8_API_KEY"
is "$(printf '%s' "$OUT" | jq -c .)" '{"ok":true}' "curl -X DELETE http://localhost:3000/session/agent-session-123"
capture curl -s http://localhost:3000/sessions -H "Authorization: Bearer $ISOL8_API_KEY"
is "$(printf '%s' "$OUT" | jq -c .sessions)" "[]" "…and the session is gone"

kill "${PIDS[@]}" 2>/dev/null
wait 2>/dev/null
cd /
finish
