#!/usr/bin/env bash
# Attacks on the file operations that reach into a sandbox (outputPaths, isol8-session get/put,
# --files): a FIFO, a unix socket, a symlink to a device, a huge sparse file, a program that
# stops or kills every process it can while isol8 serves a file; secrets in output files and
# in command lines; session ids with a NUL, a slash or too long. Every call that used to hang
# runs under `timeout`, so a regression fails instead of hanging the suite.
. "$(dirname "$0")/lib.sh"
S="$BIN/isol8-session"
T="timeout -k 2 20"

# ---- isol8-session get/put on things that are not regular files --------------------------
$T "$S" create -r python --id fa > /dev/null
$T "$S" exec fa -e '
import os, socket
os.mkfifo("/sandbox/fifo")
s = socket.socket(socket.AF_UNIX); s.bind("/sandbox/sock")
os.symlink("/dev/zero", "/sandbox/zero")
os.symlink("/dev/urandom", "/tmp/random")
os.mkdir("/sandbox/dir")
f = open("/sandbox/sparse", "wb"); f.truncate(1 << 40); f.close()
' > /dev/null

capture $T "$S" get fa /sandbox/fifo
is "$ERR:$RC" "[ERR] cannot read /sandbox/fifo: not a regular file (only regular files are read or written):1" "get of a FIFO: refused at once, not a hang"
capture $T "$S" get fa /sandbox/sock
is "$ERR:$RC" "[ERR] cannot read /sandbox/sock: not a regular file (only regular files are read or written):1" "get of a unix socket: refused"
capture $T "$S" get fa /sandbox/zero
is "$ERR:$RC" "[ERR] cannot read /sandbox/zero: a symbolic link is on the way (links are not followed):1" "get of a symlink to /dev/zero: the link is not followed"
capture $T "$S" get fa /tmp/random
like "$ERR:$RC" '^\[ERR\] cannot read /tmp/random: a symbolic link.*:1$' "get of a symlink to /dev/urandom under /tmp: not followed"
capture $T "$S" get fa /sandbox/dir
is "$ERR:$RC" "[ERR] cannot read /sandbox/dir: not a regular file (only regular files are read or written):1" "get of a directory: refused"
capture $T "$S" get fa /sandbox/sparse
is "$ERR:$RC" "[ERR] cannot read /sandbox/sparse: larger than the 64 MiB limit:1" "get of a 1 TiB sparse file: refused by size before reading"
echo data > "$WORK/data"
capture $T "$S" put fa /sandbox/fifo "$WORK/data"
is "$ERR:$RC" "[ERR] cannot write /sandbox/fifo: not a regular file (only regular files are read or written):1" "put onto a FIFO: refused, not a hang"
capture $T "$S" put fa /sandbox/sock "$WORK/data"
like "$ERR:$RC" '^\[ERR\] cannot write /sandbox/sock: not a regular file .*:1$' "put onto a unix socket: refused"
capture $T "$S" put fa /sandbox/zero "$WORK/data"
like "$ERR:$RC" 'symbolic link.*:1$' "put onto a symlink to /dev/zero: the link is not followed"
capture $T "$S" exec fa --cmd 'echo alive; ls -la /sandbox/zero | cut -c1'
is "$OUT:$RC" "alive
l:0" "the session still serves execs afterwards (and the link is untouched)"
capture $T "$S" get fa /sandbox/nothing
is "$ERR:$RC" "[ERR] cannot read /sandbox/nothing: no such file:1" "get of a missing file says so"

# A program that stops (then kills) every process it is allowed to signal while a file is
# served: the helper that reads for the init must be bounded in time, and the session must
# still be able to stop.
$T "$S" exec fa --cmd 'head -c 48000000 /dev/urandom > /sandbox/big; (while :; do kill -STOP -1; done) >/dev/null 2>&1 &' > /dev/null
start=$(date +%s%N)
capture $T "$S" get fa /sandbox/big
took=$(( ($(date +%s%N) - start) / 1000000 ))
ok $([ "$RC" != 124 ] && [ "$RC" != 137 ]; echo $?) "get while the program stops every process it can: returns ($RC, ${took} ms), no hang"
ok $([ "$RC" = 0 ] && [ "${#OUT}" -gt 0 ] || printf '%s' "$ERR" | grep -q '^\[ERR\] cannot read /sandbox/big: it \(did not finish in time\|was interrupted\)'; echo $?) "…with the file, or a clear error (${ERR:0:80})"
capture $T "$S" stop fa
is "$OUT:$RC" "[OK] Session \"fa\" destroyed.:0" "stop still works"
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/fa" ]; echo $?) "…and the session is gone"

# ---- a session can be stopped while an exec runs ----------------------------------------
$T "$S" create -r bash --id busy > /dev/null
$T "$S" exec busy --timeout 60000 --cmd 'sleep 50' > /dev/null 2>&1 & execpid=$!
sleep 0.5
start=$(date +%s%N)
capture $T "$S" stop busy
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$OUT:$RC" "[OK] Session \"busy\" destroyed.:0" "stop during a 50 s exec: done"
ok $([ "$took" -lt 8000 ]; echo $?) "…within seconds (${took} ms), not after the exec"
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/busy" ]; echo $?) "…and the session is gone"
timeout 10 tail --pid=$execpid -f /dev/null; ok $?  "…and the exec's client ended"

# ---- outputPaths naming a FIFO, a socket, a device link, a sparse file ----------------------
cat > "$WORK/req.json" <<'EOF'
{"request":{"runtime":"bash","code":"mkfifo /sandbox/f; python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"/sandbox/s\")' 2>/dev/null; ln -s /dev/zero /sandbox/z; truncate -s 1T /sandbox/sparse; echo ok > /sandbox/plain",
 "outputPaths":["/sandbox/f","/sandbox/s","/sandbox/z","/sandbox/sparse","/sandbox/plain"]}}
EOF
start=$(date +%s%N)
capture $T "$ISOL8" run --json --timeout 5000 --request "$WORK/req.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$RC" 0 "outputPaths naming a FIFO, a socket, a /dev/zero link and a sparse file: the run ends (${took} ms)"
is "$(printf '%s' "$OUT" | jq -r '.files | keys | join(" ")')" "/sandbox/plain" "…and only the regular file comes back"
is "$(printf '%s' "$OUT" | jq -r '.files["/sandbox/plain"]' | base64 -d)" "ok" "…with its content"

# ---- --files on the host side: a FIFO or a link in the directory is named, never read ------
mkdir -p "$WORK/proj"
echo data > "$WORK/proj/a.txt"
mkfifo "$WORK/proj/pipe"
ln -s /etc/passwd "$WORK/proj/link"
capture $T "$ISOL8" run --files "$WORK/proj" -e 'import os; print(sorted(os.listdir("/sandbox")))'
is "$RC/$OUT" "0/['a.txt']" "--files with a FIFO and a link in the directory: only the regular file, no hang"
like "$ERR" 'WARN\] --files: pipe not copied' "…and the FIFO is named on stderr, not skipped silently"
like "$ERR" 'WARN\] --files: link not copied' "…and so is the link"

# ---- secrets are masked in output files --------------------------------------------------
cat > "$WORK/sec.json" <<'EOF'
{"request":{"runtime":"bash","code":"printf 'key=%s\\n' \"$TOKEN\" > /sandbox/out.txt","outputPaths":["/sandbox/out.txt"]}}
EOF
capture $T "$ISOL8" run --json --secret TOKEN=hunter2xyz --request "$WORK/sec.json"
is "$(printf '%s' "$OUT" | jq -r '.files["/sandbox/out.txt"]' | base64 -d)" "key=***" "isol8 run: a secret written to an output file comes back masked"
$T "$S" create -r bash --id sf --secret TOKEN=hunter2xyz > /dev/null
# an exec request on the session socket (what isol8-serve forwards) with outputPaths
sock() { timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n"); s.shutdown(socket.SHUT_WR)
print(s.makefile().read().strip().splitlines()[-1])' "$ISOL8_RUN_DIR/sessions/$1/ctl.sock" "$2"; }
reply=$(sock sf '{"op":"exec","request":{"cmd":"printf \"key=%s\\n\" \"$TOKEN\" > /sandbox/s.txt","outputPaths":["/sandbox/s.txt"]}}')
is "$(printf '%s' "$reply" | jq -r '.data.files["/sandbox/s.txt"]' | base64 -d)" "key=***" "session exec: a secret in an output file comes back masked"
capture $T "$S" get sf /sandbox/s.txt
is "$OUT" "key=***" "isol8-session get: a secret in the file comes back masked"

# ---- secrets in command lines and under the run dir ---------------------------------------
hits() { local n=0 f; for f in /proc/[0-9]*/cmdline; do grep -qa -- "$1" "$f" 2>/dev/null && n=$((n+1)); done; echo $n; }
is "$(hits hunter2xyz)" 0 "create --secret: no process's command line holds the value"
is "$(grep -rla hunter2xyz "$ISOL8_RUN_DIR" | wc -l)" 0 "…and no file under the run dir"
$T "$S" delete sf > /dev/null
cd "$WORK"
capture $T "$ISOL8" run --persistent --session-id psec -r bash --secret TOKEN=hunter2pqr -e 'echo $TOKEN'
is "$OUT" "***" "isol8 run --persistent --secret: masked"
is "$(hits hunter2pqr)" 0 "…and the session it left holds the value in no command line"
is "$(grep -rla hunter2pqr "$ISOL8_RUN_DIR" | wc -l)" 0 "…and in no file under the run dir"
$T "$S" delete psec > /dev/null
# while the run is under way too: isol8 run blanks its own argv, and --persistent hands the
# secrets to isol8-session in a memfd, never in its argv
for how in "" "--persistent --session-id plive"; do
	"$ISOL8" run $how -r bash --secret TOKEN=hunter2live -e 'sleep 1.5' > /dev/null 2>&1 &
	sleep 0.8
	is "$(hits hunter2live)" 0 "isol8 run ${how:+$how }--secret: no command line holds the value during the run"
	wait
done
D=$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/plive/meta.json")
ok $([ -d "/proc/$D/fd" ]; echo $?) "the persistent session's supervisor runs"
is "$(ls -l /proc/$D/fd 2>/dev/null | grep -c memfd)" 0 "…and the session's supervisor keeps no descriptor of the secrets' memfd"
$T "$S" delete plive > /dev/null

# ---- ids ----------------------------------------------------------------------------------
$T "$S" create -r bash --id abc > /dev/null
for bad in 'abc/def' '../abc' "$(printf 'x%.0s' $(seq 65))" 'a b' '.abc' ''; do
	capture "$S" exec "$bad" --cmd 'echo reached'
	like "$RC:$ERR" '^1:\[ERR\] session ids are 1-64 ' "exec with id \"${bad:0:20}\": refused with the usage error"
done
capture "$S" create -r bash --id 'abc/x'
like "$RC:$ERR" '^1:\[ERR\] session ids are' "create --id with a slash: refused"
# a NUL cannot travel in argv; it can in JSON: {"sessionId":"abc\u0000def"} must not reach "abc"
printf '%s' '{"request":{"runtime":"bash","code":"echo reached"},"sessionId":"abc\u0000def"}' > "$WORK/nul.json"
capture $T "$ISOL8" run --request "$WORK/nul.json"
unlike "$OUT" reached "isol8 run --request with sessionId \"abc\\u0000def\": never runs"
like "$RC:$ERR" '^1:\[ERR\] sessionId' "…refused with a clear error"
printf '%s' '{"request":{"runtime":"bash","code":"echo hi","outputPaths":["/sandbox/a\u0000b"]}}' > "$WORK/nulp.json"
capture $T "$ISOL8" run --request "$WORK/nulp.json"
like "$RC:$ERR" '^1:\[ERR\] request.outputPaths: the path "/sandbox/a…" contains a NUL byte' "an outputPath with a NUL byte: refused, not cut"
printf '%s' '{"request":{"runtime":"bash","code":"echo hi","files":{"/sandbox/a\u0000b":"x"}}}' > "$WORK/nulf.json"
capture $T "$ISOL8" run --request "$WORK/nulf.json"
like "$RC:$ERR" '^1:\[ERR\] request.files: the path "/sandbox/a…" contains a NUL byte' "a files path with a NUL byte: refused, not cut"
# the session socket: a path with a NUL must not be cut to another file
$T "$S" exec abc --cmd 'echo secret-a > /sandbox/a' > /dev/null
reply=$(sock abc '{"op":"get","path":"/sandbox/a\u0000.txt"}')
is "$reply" '{"error":"the path contains a NUL byte; remove it"}' "session socket: get of \"/sandbox/a\\u0000.txt\" is refused, not read as /sandbox/a"
$T "$S" delete abc > /dev/null

finish
