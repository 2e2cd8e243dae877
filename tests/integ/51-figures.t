#!/usr/bin/env bash
# 51-figures.t — matplotlib figures of python runs as results (docs/figures.md): shown and left
# open, creation order, PNG (decoded outside the sandbox, its size checked against figsize *
# dpi) and SVG, the outputs.* caps and their note, a program forging files in the outputs
# directory, --outputs DIR, sessions (each exec its own figures), HTTP, the remote CLI, the
# warm pool, the audit log, the font cache of isol8 setup, and the runs that get none.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
KEY=figures-key-0123456789abcdef
export ISOL8_CACHE_DIR="$WORK/cache"
trap 'kill ${SPID:-} ${POOL_PID_:-} 2>/dev/null' EXIT

if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
	echo "1..0 # SKIP python3-matplotlib is not installed (make deps)"
	exit 0
fi

# pnginfo: a base64 PNG on stdin, decoded outside the sandbox (every chunk's CRC, the pixel data
# inflated to exactly height rows of width pixels): prints WxH
pnginfo() {
	/usr/bin/python3 -c '
import base64, struct, sys, zlib
d = base64.b64decode(sys.stdin.read())
assert d[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, idat = 8, b""
while pos < len(d):
    n, t = struct.unpack(">I4s", d[pos:pos + 8])
    body = d[pos + 8:pos + 8 + n]
    assert zlib.crc32(t + body) & 0xffffffff == struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])[0], "crc"
    if t == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    if t == b"IDAT":
        idat += body
    pos += 12 + n
channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
assert len(zlib.decompress(idat)) == h * (1 + w * channels * depth // 8), "pixel data"
print("%dx%d" % (w, h))' 2>&1
}
# sizes: the outputs of the last captured result as "type WxH" lines
sizes() { jqr '[.outputs[]? | "\(.type) \(.width)x\(.height)"] | join(",")'; }

# ---- the font cache: built once by isol8 setup, copied into every sandbox -----------------------
capture "$ISOL8" setup
like "$ERR" "\[OK\] matplotlib font cache $ISOL8_CACHE_DIR/matplotlib/fontlist-v[0-9]+\.json" "isol8 setup builds matplotlib's font cache in a sandbox"
CACHE=$(ls "$ISOL8_CACHE_DIR"/matplotlib/fontlist-v*.json 2>/dev/null)
is "$(jq -r 'has("_version")' "$CACHE" 2>&1)" true "…a JSON font list"
unlike "$(cat "$CACHE")" "$WORK|/root/" "…listing only fonts the sandbox sees (no host home)"
FM='import logging; logging.basicConfig(level=logging.INFO); import matplotlib.font_manager'
capture "$RUN" -e "$FM"
unlike "$ERR" "generated new fontManager" "with the cache, a run's first import builds no font list"
capture env ISOL8_CACHE_DIR="$WORK/nocache" "$RUN" -e "$FM"
like "$ERR" "generated new fontManager" "…without it, each run builds its own (what the cache saves)"

# ---- a plot shown, and figures left open, in creation order ------------------------------------
capture "$RUN" --json -e '
import matplotlib.pyplot as plt
plt.figure(figsize=(4, 3), dpi=50); plt.plot([1, 2, 3])
plt.show()
print("after show")'
is "$(sizes)" "image/png 200x150" "plt.show(): one PNG of figsize * dpi"
is "$(jqr '.outputs[0].data' | pnginfo)" 200x150 "…that decodes outside the sandbox (CRCs, pixel rows) at that size"
is "$(jqr '[.stdout, .stderr, .exitCode, has("outputsNote")] | map(tostring) | join("|")')" "after show||0|false" \
	"…the program's output untouched, no warning from matplotlib, no note"

capture "$RUN" --json -e '
import matplotlib.pyplot as plt
a = plt.figure(figsize=(2, 1), dpi=100); plt.plot([1, 2])
b = plt.figure(figsize=(1, 2), dpi=100); plt.plot([2, 1])
plt.figure(a.number)   # the active figure is a again: the order stays the order of creation'
is "$(sizes)" "image/png 200x100,image/png 100x200" "figures left open at the end come back, in creation order"
is "$(jqr '.outputs[1].data' | pnginfo)" 100x200 "…each a whole PNG"

capture "$RUN" --json -e '
import matplotlib.pyplot as plt
plt.figure(figsize=(1, 1), dpi=100); plt.show()
plt.figure(figsize=(3, 1), dpi=100)'
is "$(sizes)" "image/png 100x100,image/png 300x100" "a shown figure comes back then, one still open at the end after it"

capture "$RUN" --json -e 'print("no plot")'
is "$(jqr '[has("outputs"), has("outputsNote"), .stdout] | map(tostring) | join(" ")')" "false false no plot" \
	"a run without figures has no outputs member"
capture "$RUN" -e 'import os; print(os.listdir("/tmp"), os.listdir("/sandbox"))'
is "$OUT" "[] []" "…and finds /tmp and /sandbox empty (matplotlib's config dir is not there)"

# ---- SVG on request ------------------------------------------------------------------------------
capture "$RUN" --json --figures svg -e 'import matplotlib.pyplot as plt; plt.plot([1, 2])'
is "$(sizes)" "image/svg+xml 640x480" "--figures svg: an SVG, its size in pixels at the figure's dpi"
like "$(jqr '.outputs[0].data' | base64 -d | head -c 200)" '^<\?xml' "…an SVG document"
capture "$RUN" --json --figures png,svg -e 'import matplotlib.pyplot as plt; plt.figure(dpi=50); plt.plot([1, 2])'
is "$(sizes)" "image/png 320x240,image/svg+xml 320x240" "--figures png,svg: both, PNG first, the same size"
printf '%s' '{"request":{"runtime":"python","code":"import matplotlib.pyplot as plt; plt.plot([1])","figureFormats":["svg","png"]}}' >"$WORK/req.json"
capture "$RUN" --request "$WORK/req.json" --json
is "$(sizes)" "image/png 640x480,image/svg+xml 640x480" "request figureFormats [\"svg\",\"png\"]: both"
capture "$RUN" --request <(printf '%s' '{"request":{"runtime":"python","code":"1","figureFormats":["gif"]}}')
is "$RC|$ERR" '1|[ERR] request.figureFormats must be a non-empty array of "png" and/or "svg", each once' "an unknown format: one line, nothing run"
capture "$RUN" --figures jpg -e 1
is "$RC|$ERR" '1|[ERR] --figures must be png, svg or png,svg, not "jpg"' "--figures jpg: one line"

# ---- the caps, and the note on what was dropped -------------------------------------------------
echo '{"outputs": {"maxCount": 2, "maxPixels": 10000}}' >"$WORK/caps.json"
echo '{"outputs": {"maxBytes": 20000}}' >"$WORK/bytes.json"
capture env ISOL8_CONFIG="$WORK/caps.json" "$RUN" --json -e '
import matplotlib.pyplot as plt
for i in range(3):
    plt.figure(figsize=(0.5, 0.5), dpi=100)'
is "$(sizes)|$(jqr .outputsNote)" "image/png 50x50,image/png 50x50|1 figure dropped: over outputs.maxCount (2)" "outputs.maxCount: the first two, and a note"
capture env ISOL8_CONFIG="$WORK/caps.json" "$RUN" --json -e '
import matplotlib.pyplot as plt
plt.figure(figsize=(2, 1), dpi=100)
plt.figure(figsize=(0.5, 0.5), dpi=100)'
is "$(sizes)|$(jqr .outputsNote)" "image/png 50x50|1 figure dropped: over outputs.maxPixels (10000)" "outputs.maxPixels: 200x100 dropped, 50x50 kept"
capture env ISOL8_CONFIG="$WORK/bytes.json" "$RUN" --json -e '
import matplotlib.pyplot as plt, numpy as np
plt.figure(figsize=(0.5, 0.5), dpi=100)
plt.figure(figsize=(3, 3), dpi=100); plt.imshow(np.random.default_rng(1).random((300, 300)))'
is "$(sizes)|$(jqr .outputsNote)" "image/png 50x50|1 figure dropped: over outputs.maxBytes (20000)" "outputs.maxBytes: noise that does not compress is dropped"
for bad in '"maxCount": 0' '"maxPixels": -1' '"maxBytes": 1e12' '"enabled": "no"'; do
	printf '{"outputs": {%s}}' "$bad" >"$WORK/bad.json"
	capture env ISOL8_CONFIG="$WORK/bad.json" "$RUN" -e 'print(1)'
	like "$RC|$(printf '%s\n' "$ERR" | wc -l)|$ERR" '^1\|1\|\[ERR\] config [^ ]*bad.json: "outputs\.[a-zA-Z]+" must be ' \
		"outputs: {$bad} refused in one line"
done

# ---- a program that forges files in the outputs directory ----------------------------------------
cat >"$WORK/forge.py" <<'EOF'
import os, struct, subprocess, zlib
import matplotlib.pyplot as plt
d = "/tmp/.isol8-outputs"
os.makedirs(d, exist_ok=True)
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
# a PNG that claims 100000x100000 (its IHDR and CRC are right), a link to /etc/passwd, a FIFO
# (opened the ordinary way it would wait forever), a directory, a sparse 1 GiB file, garbage
huge = struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0)
open(d + "/000101.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", huge) + chunk(b"IEND", b""))
os.symlink("/etc/passwd", d + "/000102.png")
os.mkfifo(d + "/000103.png")
os.mkdir(d + "/000104.png")
open(d + "/000106.png", "wb").write(b"\x89PNG\r\n\x1a\nnot really")
open(d + "/passwd.txt", "w").write(open("/etc/passwd").read())
with open(d + "/000107.png", "wb") as f:
    f.truncate(1 << 30)
plt.figure(figsize=(1, 1), dpi=100)
# and something still writing there after the program's end
subprocess.Popen(["bash", "-c", "while :; do echo x >> /tmp/.isol8-outputs/000108.png; done"])
while not os.path.exists(d + "/000108.png"):
    pass
EOF
SECONDS=0
capture timeout 60 "$RUN" --json "$WORK/forge.py"
took=$SECONDS
is "$(sizes)" "image/png 100x100" "forged files: only the real figure comes back"
is "$(jqr .outputsNote)" "1 figure dropped: over outputs.maxPixels (4000000); 2 figures dropped: over outputs.maxBytes (8388608); 5 figures dropped: not a valid PNG or SVG figure" \
	"…the huge claimed size, the sparse file and the rest (link, FIFO, directory, garbage, stray name) are dropped with a note"
unlike "$OUT" "$(head -c 12 /etc/passwd | base64)" "…nothing of /etc/passwd in the result"
ok $([ "$took" -lt 10 ] && echo 0 || echo 1) "…and it never hangs (${took}s)"
capture "$RUN" --json -e 'import os; os.mkdir("/tmp/.isol8-outputs"); print("empty")'
is "$(jqr '[.stdout, has("outputs"), has("outputsNote"), .exitCode] | map(tostring) | join(" ")')" "empty false false 0" \
	"an empty outputs directory: no outputs, no note"
capture "$RUN" --json -e '
import os; os.symlink("/etc", "/tmp/.isol8-outputs")
import matplotlib.pyplot as plt; plt.plot([1])'
is "$(jqr '[(.outputs | length), .outputsNote, .exitCode] | map(tostring) | join("|")')" \
	"0|figures were not collected: cannot read /tmp/.isol8-outputs: a symbolic link is on the way (links are not followed)|0" \
	"the directory replaced by a link to /etc: not followed, said so"

# ---- --outputs DIR ---------------------------------------------------------------------------------
capture "$RUN" --figures png,svg --outputs "$WORK/figs/new" -e '
import matplotlib.pyplot as plt
plt.figure(dpi=50); plt.plot([1, 2]); plt.show(); print("hi")'
is "$RC|$OUT" "0|hi" "--outputs DIR: nothing extra on stdout"
is "$(cd "$WORK/figs/new" && stat -c '%n %a' * | tr '\n' ' ')" "figure-1.png 644 figure-2.svg 644 " "…DIR made, figure-1.png and figure-2.svg, mode 0644"
is "$(base64 -w0 "$WORK/figs/new/figure-1.png" | pnginfo)" 320x240 "…the PNG as the result has it"
capture "$RUN" --outputs "$WORK/figs/new" -e 'import matplotlib.pyplot as plt; plt.plot([1])'
is "$RC|$ERR" "1|[ERR] --outputs: $WORK/figs/new/figure-1.png already exists: remove it or choose another directory" "…an existing file is an error, one line"
mkdir -p "$WORK/figs/link" && echo keep >"$WORK/target" && ln -s "$WORK/target" "$WORK/figs/link/figure-1.png"
capture "$RUN" --outputs "$WORK/figs/link" -e 'import matplotlib.pyplot as plt; plt.plot([1])'
is "$RC|$(cat "$WORK/target")" "1|keep" "…a symlink planted there is not written through"
capture "$RUN" --outputs "$WORK/target/x" -e 'print(1)'
like "$RC|$ERR" "^1\|\[ERR\] --outputs $WORK/target/x: cannot create the directory" "…a DIR that cannot be made stops the run before it starts"

# ---- --events ----------------------------------------------------------------------------------------
capture "$RUN" --events -e 'import matplotlib.pyplot as plt; plt.plot([1])'
is "$(printf '%s\n' "$OUT" | tail -n 1 | jq -r '[.type, (.data.outputs | length), .data.outputs[0].type] | map(tostring) | join(" ")')" \
	"result 1 image/png" "--events: the result line carries the outputs"

# ---- runs that get none ------------------------------------------------------------------------------
capture "$RUN" --json -r node -e '
const fs = require("fs"); fs.mkdirSync("/tmp/.isol8-outputs");
fs.writeFileSync("/tmp/.isol8-outputs/000001.png", Buffer.from(process.argv[0]))'
is "$(jqr '[has("outputs"), has("outputsNote")] | map(tostring) | join(" ")')" "false false" "node: no outputs, whatever it writes there"
capture "$RUN" --json --cmd 'python3 -c "import matplotlib.pyplot as plt; plt.plot([1]); plt.show()"'
is "$(jqr '[has("outputs"), .exitCode] | map(tostring) | join(" ")')" "false 0" "bash running python3: no outputs"
echo '{"outputs": {"enabled": false}}' >"$WORK/off.json"
capture env ISOL8_CONFIG="$WORK/off.json" "$RUN" --json -e '
import os, matplotlib.pyplot as plt; plt.plot([1]); plt.savefig("/sandbox/own.png"); print(os.environ.get("MPLBACKEND"))'
is "$(jqr '[has("outputs"), .stdout, .exitCode] | map(tostring) | join(" ")')" "false None 0" "outputs.enabled false: no outputs, no backend set (a program's own savefig works)"
capture "$RUN" --json --request <(printf '%s' '{"runtime":"python","code":"import matplotlib.pyplot as plt; plt.plot([1])","env":{"MPLBACKEND":"agg"}}')
is "$(jqr 'has("outputs")')" false "a program that picks its own MPLBACKEND gets no outputs"
capture "$RUN" --json --request <(printf '%s' '{"runtime":"python","code":"import sys, matplotlib.pyplot as plt; plt.plot([1]); print(sys.path[1])","env":{"PYTHONPATH":"/sandbox/lib"}}')
is "$(jqr '[.stdout, (.outputs | length)] | map(tostring) | join(" ")')" "/sandbox/lib 1" "a program's own PYTHONPATH comes first, and figures still come back"

# ---- sessions: each exec its own figures -------------------------------------------------------
S="$BIN/isol8-session"
capture "$S" create -r python --id figs
capture "$S" exec figs --json -e 'import matplotlib.pyplot as plt; plt.figure(figsize=(2, 1), dpi=100)'
is "$(sizes)" "image/png 200x100" "session exec 1: the figure it left open"
capture "$S" exec figs --json -e 'import os; print(os.listdir("/tmp")); plt.figure(figsize=(1, 2), dpi=100); plt.show()'
is "$(sizes)|$(jqr .stdout)" "image/png 100x200|[]" "session exec 2: only its own figure; exec 1's are gone from /tmp"
capture "$S" exec figs --json -e 'print(plt.get_fignums())'
is "$(jqr '[.stdout, has("outputs")] | map(tostring) | join(" ")')" "[] false" "session exec 3: no figure, none open"
capture "$S" exec figs --json --figures svg -e 'plt.figure(dpi=50)'
is "$(sizes)" "image/svg+xml 320x240" "session exec --figures svg"
capture "$S" exec figs --json --timeout 2000 -e 'plt.figure(); plt.show(); import time; time.sleep(30)'
is "$(jqr '[.status, has("outputs")] | map(tostring) | join(" ")')" "timeout false" "a timed-out exec gives none…"
capture "$S" exec figs --json -e 'import os; print(os.listdir("/tmp"))'
is "$(jqr '[.stdout, has("outputs")] | map(tostring) | join(" ")')" "[] false" "…and leaves none for the next"
capture "$S" stop figs
cd "$WORK"
capture "$ISOL8" run --persistent --json --figures svg -e 'import matplotlib.pyplot as plt; plt.figure(dpi=50)'
is "$(sizes)" "image/svg+xml 320x240" "isol8 run --persistent --figures svg"
capture "$ISOL8" run --persistent --outputs "$WORK/p" -e 1
like "$RC|$ERR" "^1\|\[ERR\] --persistent cannot be combined with .*--outputs" "--persistent --outputs: refused in one line"
"$ISOL8" session stop "$(ls "$ISOL8_RUN_DIR/sessions")" >/dev/null
cd - >/dev/null

# ---- HTTP, SSE, sessions over HTTP, the remote CLI ----------------------------------------------------
start_server "$WORK/serve.log" --key "$KEY"
PLOT='import matplotlib.pyplot as plt; plt.figure(figsize=(1, 1), dpi=100); plt.plot([1])'
req POST /execute "$KEY" "{\"request\":{\"runtime\":\"python\",\"code\":\"$PLOT\",\"figureFormats\":[\"png\",\"svg\"]}}"
is "$CODE|$(sizes)" "200|image/png 100x100,image/svg+xml 100x100" "POST /execute: the outputs in the result"
is "$(jqr '.outputs[0].data' | pnginfo)" 100x100 "…a PNG that decodes"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"1","figureFormats":["bmp"]}}'
like "$CODE|$OUT" '^400\|\{"error":"request.figureFormats must be' "POST /execute with an unknown format: 400"
curl -sN -H "Authorization: Bearer $KEY" "$URL/execute/stream" -d "{\"request\":{\"runtime\":\"python\",\"code\":\"$PLOT\"}}" >"$WORK/sse"
is "$(grep '^data: {"type":"result"' "$WORK/sse" | sed 's/^data: //' | jq -r '[.data.outputs[] | .type] | join(",")')" "image/png" "SSE: the result frame carries the outputs"
req POST /execute "$KEY" "{\"request\":{\"runtime\":\"python\",\"code\":\"$PLOT\"},\"sessionId\":\"hf\"}"
is "$CODE|$(sizes)" "200|image/png 100x100" "HTTP session execute: its figure"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"print(1)"},"sessionId":"hf"}'
is "$CODE|$(jqr 'has("outputs")')" "200|false" "…and the next execute none"
req DELETE /session/hf "$KEY"
capture "$ISOL8" run --host "$URL" --key "$KEY" --outputs "$WORK/remote" --figures svg -e "$PLOT"
is "$RC|$(ls "$WORK/remote")" "0|figure-1.svg" "isol8 run --host --outputs: the remote result's figures as files"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=

# ---- the warm pool -------------------------------------------------------------------------------------
"$BIN/isol8-pool" --size 1 2>/dev/null & POOL_PID_=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
for i in $(seq 100); do [ "$("$BIN/isol8-pool" status | jq -r .kinds.python)" = 1 ] && break; sleep 0.1; done
capture "$RUN" --json -e "$PLOT"
is "$(jqr .warm)|$(sizes)" "true|image/png 100x100" "a run on a pooled interpreter: its figure comes back"
kill -TERM "$POOL_PID_"; wait "$POOL_PID_" 2>/dev/null; POOL_PID_=

# ---- the audit log: what figures, never their bytes ------------------------------------------------------
printf '{"audit": {"enabled": true, "logDir": "%s"}}\n' "$WORK/audit" >"$WORK/audit.json"
capture env ISOL8_CONFIG="$WORK/audit.json" "$RUN" --json -e "$PLOT"
is "$(tail -n 1 "$WORK/audit/executions.log" | jq -c .outputs)" '[{"type":"image/png","width":100,"height":100,"bytes":'"$(jqr '.outputs[0].data' | base64 -d | wc -c)"'}]' \
	"the audit log says which figures, with their size"
unlike "$(cat "$WORK/audit/executions.log")" "iVBOR|$(jqr '.outputs[0].data' | cut -c1-40)" "…and holds none of their data"

finish
