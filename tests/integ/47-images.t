#!/usr/bin/env bash
# 47-images.t — built images: isol8 build (a python wheel, a node, bun and deno package, and
# Debian packages from a package index and apt repository on loopback — one bigger than the
# config's /sandbox —, a setup-only bash image), list-custom, runs on them with no install and no
# network, the reference's resolution (exact set, superset, none, --image wins), rebuilds
# (skipped, --force, a failed one leaves the image intact, two at once, a session keeping its
# layer), the reference's messages, the image's setup script and the request's as two scripts,
# isol8 setup with prebuiltImages, the HTTP API (only the operator's images), cleanup --images.
# Runs in a network and mount namespace of its own, as 15-seed-examples.t: the index listens on
# 127.0.0.1:80 there and nowhere else.
if [ -z "${ISOL8_IMAGES_NS:-}" ]; then
	exec unshare --mount --net env ISOL8_IMAGES_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
SERVE="$BIN/isol8-serve"
export ISOL8_IMAGE_DIR="$WORK/store"
index_up() {
	python3 "$HELPERS/pkg_index.py" 80 & IDX=$!
	for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:80/simple/numpy/ && break; sleep 0.05; done
}
index_down() { kill "$IDX" 2>/dev/null; wait "$IDX" 2>/dev/null; }
trap 'kill "$IDX" "${SPID:-}" 2>/dev/null' EXIT
# the host's configured registries, as a host with a mirror would have them
export PIP_INDEX_URL=http://localhost/simple/ NPM_CONFIG_REGISTRY=http://localhost/ ISOL8_PROXY_ALLOW_PRIVATE=1
index_up

# ---- build and list ---------------------------------------------------------------------------
capture "$ISOL8" build --base python --install numpy --tag py-np --setup 'echo image-setup-ran'
is "$RC" 0 "isol8 build: python, a wheel from the configured index"
like "$ERR" "\[OK\] Built image: py-np" "…the reference's [OK] line"
is "$(printf '%s' "$OUT" | sed -n '2,6p')" "[DONE] Custom image build complete!
       Runtime: python
       Packages: numpy
       Setup: echo image-setup-ran
       Image: py-np" "…and its summary"
capture "$ISOL8" build --base node --install lodash --tag js-lo
is "$RC" 0 "isol8 build: node, a package from the configured registry"
capture "$ISOL8" build --base python --install 'pandas, numpy' --install numpy --tag py-both
is "$RC" 0 "a second python image: pandas and numpy (comma-separated, deduplicated)"
capture "$ISOL8" build --base bash --setup 'echo bash-image' --tag sh-setup
is "$RC" 0 "a setup-only image (no packages)"
capture "$ISOL8" list-custom
like "$OUT" "^js-lo
  Runtime: node
  Dependencies: lodash" "list-custom lists every tag (not only isol8*), with runtime and dependencies"
like "$OUT" "py-both
  Runtime: python
  Dependencies: numpy, pandas" "…packages normalised: sorted and deduplicated"
like "$OUT" "sh-setup
  Runtime: bash
  Dependencies: \(none\)" "…(none) without packages"
capture "$BIN/isol8-image" list --json
is "$(jqr 'map(.tag) | join(" ")')" "js-lo py-both py-np sh-setup" "isol8-image list --json: every image, by tag"

# ---- bash (Debian packages), bun and deno images ------------------------------------------------
# the host's apt, as a host with a local mirror would have it (APT_CONFIG is apt's own variable)
mkdir -p "$WORK/apt/parts"
echo 'deb [trusted=yes] http://localhost/apt ./' >"$WORK/apt/sources.list"
printf 'Dir::Etc::SourceList "%s";\nDir::Etc::SourceParts "%s";\n' "$WORK/apt/sources.list" "$WORK/apt/parts" >"$WORK/apt/apt.conf"
export APT_CONFIG="$WORK/apt/apt.conf"
capture "$ISOL8" build --base bash --install hello-isol8 --tag sh-hello
is "$RC" 0 "isol8 build: bash, a Debian package from the host's apt sources"
layer=$(readlink -f "$ISOL8_IMAGE_DIR/sh-hello")/layer/bash
ok $([ -x "$layer/usr/bin/hello-isol8" ] && [ -f "$layer/usr/lib/hello-isol8/greeting" ] && echo 0 || echo 1) \
	"…unpacked into the layer with what it depends on (libhello-isol8)"
capture "$ISOL8" build --base bash --install no-such-deb --tag sh-bad
is "$RC" 1 "a Debian package apt does not know: the build fails"
like "$ERR" "Build failed \\(exit code 100\\): E: Unable to locate package no-such-deb" "…with apt's reason"
# the build's writable space is its own (--max-size), not the config's /sandbox and /tmp for runs
echo '{"defaults": {"sandboxSize": "1m", "tmpSize": "1m"}}' >"$ISOL8_CONFIG"
capture "$ISOL8" build --base bash --install big-isol8 --tag sh-big
is "$RC" 0 "a Debian package bigger than the config's 1m /sandbox and /tmp: the build fits"
layer=$(readlink -f "$ISOL8_IMAGE_DIR/sh-big")/layer
is "$(stat -c %s "$layer/bash/usr/share/big-isol8/blob" 2>/dev/null) $(ls -A "$layer")" "3145728 bash" \
	"…unpacked whole; the build's downloads and caches are not left in the layer"
echo '{}' >"$ISOL8_CONFIG"
capture "$ISOL8" build --base bun --install lodash --tag bun-lo
is "$RC" 0 "isol8 build: bun, a package from the configured registry"
capture "$ISOL8" build --base deno --install lodash --tag deno-lo
is "$RC" 0 "isol8 build: deno, an npm package into deno's cache"
is "$("$BIN/isol8-image" list --json | jq -r '.[] | select(.tag == "deno-lo") | .registry')" "http://localhost/" \
	"…the manifest names the registry deno's cache is filed under"
is "$(ls -Ad "$ISOL8_IMAGE_DIR"/.layers/*/layer/.isol8-build 2>/dev/null | wc -l)" 0 \
	"no build leaves its scratch directory (downloads, caches) in its layer"
unset APT_CONFIG

# ---- runs on images: no install, no network --------------------------------------------------
index_down
unset PIP_INDEX_URL NPM_CONFIG_REGISTRY
capture "$ISOL8" run --image py-np -e 'import numpy; print(numpy.array([1, 2, 3]))'
is "$OUT" "image-setup-ran
[1 2 3]" "--image NAME: the image's package, with no index reachable; its setup script ran first"
capture "$ISOL8" run -r node --image js-lo -e 'console.log(require("lodash").chunk([1, 2, 3, 4], 2))'
is "$OUT" "[ [ 1, 2 ], [ 3, 4 ] ]" "node on its image"
capture "$ISOL8" run --install numpy -e 'import numpy; print(numpy.array([7]))'
is "$OUT" "image-setup-ran
[7]" "--install numpy: the image with exactly that set is used (py-np, whose setup ran; not py-both); nothing installed at run time"
capture "$ISOL8" run --install pandas -e 'import pandas, numpy; print("both")'
is "$OUT" "both" "--install pandas: an image that covers it (a superset) is used"
capture "$ISOL8" run --install requests --timeout 20000 -e 'print(1)'
like "$ERR" "Package install failed" "no image covers it: installed at run time as before (and here that fails: no index)"
capture "$ISOL8" run --image py-both --install numpy -e 'import pandas; print("named")'
is "$OUT" "named" "--image wins over the resolution"
capture "$ISOL8" run --setup 'echo request-setup' -r bash --image sh-setup -e 'echo code'
is "$OUT" "bash-image
request-setup
code" "the image's setup script, then the request's, then the code"
"$ISOL8" build --base bash --setup 'echo img-a; exit 0' --tag sh-exit >/dev/null 2>&1
capture "$ISOL8" run -r bash --image sh-exit --setup 'echo req-b' -e 'echo code'
is "$OUT" "img-a
req-b
code" "an image's script that ends with exit 0 does not skip the request's: two scripts, the image's first"
"$ISOL8" build --base bash --setup 'echo img-f; exit 3' --tag sh-fail >/dev/null 2>&1
capture "$ISOL8" run -r bash --image sh-fail --setup 'echo req-b' -e 'echo code'
is "$RC $OUT" "3 img-f" "an image's script that fails: the run ends with its exit code, the request's script and the code never run"
like "$ERR" "Setup script failed \(exit code 3\)" "…with the reference's line"
capture "$ISOL8" run -r bash --image sh-hello -e 'hello-isol8; echo "$LD_LIBRARY_PATH" | grep -c isol8-image'
is "$OUT" "hello from a Debian package
1" "bash on its image: the package's program on PATH, its libraries on LD_LIBRARY_PATH"
capture "$ISOL8" run -r bash --install hello-isol8 -e 'hello-isol8'
is "$OUT" "hello from a Debian package" "bash --install: resolved to the image that has it"
capture "$ISOL8" run -r bash --install curl-not-built -e 'true'
like "$ERR" "not available for bash at run time.*isol8 build --base bash" "bash --install no image covers: refused, saying how to get one"
capture "$ISOL8" run -r bun --image bun-lo -e 'import _ from "lodash"; console.log(_.chunk([1, 2, 3], 2).length)'
is "$OUT" "2" "bun on its image"
capture "$ISOL8" run -r deno --image deno-lo -e 'import _ from "npm:lodash"; console.log(_.chunk([1, 2, 3], 2).length)'
is "$OUT" "2" "deno on its image: npm:lodash from the image's cache, no registry reachable"
capture "$ISOL8" run -r deno --install lodash -e 'import _ from "npm:lodash"; console.log("resolved")'
is "$OUT" "resolved" "deno --install: resolved to its image"
capture "$ISOL8" run -r deno --image deno-lo --install other -e '1'
like "$ERR" 'image "deno-lo" is a deno image: it takes no packages at run time' "a deno image with run-time installs: refused with what to do"
capture "$ISOL8" run -e 'import numpy' --image js-lo
is "$ERR" '[ERR] image "js-lo" is for node, not python' "an image of another runtime is refused"
capture "$ISOL8" run -e 1 --image no-such-image
like "$ERR" '^\[ERR\] --image: "no-such-image" is neither a directory nor an image' "an unknown image is refused"
capture "$ISOL8" run -e 'open("/isol8-image/python/x", "w")' --image py-np
like "$ERR" "Read-only file system" "a run cannot write its image"

# ---- sessions on images -------------------------------------------------------------------------
S="$BIN/isol8-session"
capture "$S" create -r python --image py-np --id img-s
is "$RC" 0 "isol8-session create --image NAME"
capture "$S" exec img-s -e 'import numpy; x = numpy.array([4])'
is "$OUT" "image-setup-ran" "…the first exec runs the image's setup script, then the code with the image's package"
capture "$S" exec img-s -e 'print(x)'
is "$OUT" "[4]" "…later execs do not run it again (as the reference), and the state is kept"
capture "$S" exec img-s --setup 'echo request-setup' -e 'print("code")'
is "$OUT" "request-setup
code" "isol8-session exec --setup: the request's setup script, every exec that carries one"
"$S" delete img-s >/dev/null
"$S" create -r bash --image sh-exit --id img-x >/dev/null
capture "$S" exec img-x --setup 'echo req-b' -e 'echo code'
is "$OUT" "img-a
req-b
code" "a session on an image: the image's script (exit 0 in it), then the request's, then the code"
capture "$S" exec img-x --setup 'echo req-c' -e 'echo code2'
is "$OUT" "req-c
code2" "…the image's only at the first exec"
"$S" delete img-x >/dev/null
capture "$S" create -r node --image py-np --id img-bad
is "$RC $ERR" '1 [ERR] image "py-np" is for python, not node' "a session on an image of another runtime is refused"
capture "$ISOL8" run --persistent --session-id img-p -r bash --image sh-hello -e 'hello-isol8'
is "$OUT" "hello from a Debian package" "isol8 run --persistent --image NAME"
"$S" delete img-p >/dev/null
"$S" create -r deno --image deno-lo --id img-d >/dev/null
capture "$S" exec img-d -e 'import("npm:lodash").then((m) => console.log(m.default.chunk([1, 2, 3], 2).length))'
is "$OUT" "2" "a deno session on its image: import() of the image's npm package"
"$S" delete img-d >/dev/null

# ---- rebuilds ---------------------------------------------------------------------------------
index_up
export PIP_INDEX_URL=http://localhost/simple/
before=$("$BIN/isol8-image" list --json | jq -r '.[] | select(.tag == "py-np") | .created')
capture "$ISOL8" build --base python --install numpy --tag py-np --setup 'echo image-setup-ran'
like "$RC $ERR" "^0 .*py-np: Up to date" "unchanged: the rebuild is skipped"
capture "$ISOL8" build --base python --install numpy --tag py-np --setup 'echo image-setup-ran' --force
after=$("$BIN/isol8-image" list --json | jq -r '.[] | select(.tag == "py-np") | .created')
ok $([ "$RC" = 0 ] && [ "$before" != "$after" ] && echo 0 || echo 1) "--force rebuilds it"
capture "$ISOL8" build --base python --install definitely-not-in-the-index --tag py-np
is "$RC" 1 "a failed build fails"
like "$ERR" "\[ERR\] Build failed \(exit code [0-9]+\): .*definitely-not-in-the-index" "…with the package manager's reason"
capture "$ISOL8" run --image py-np -e 'import numpy; print("intact")'
is "$OUT" "image-setup-ran
intact" "…and the image under that tag is the one before"
# a rebuild or a removal under a session: the session keeps its layer until it ends
"$ISOL8" build --base python --install numpy --tag py-rb >/dev/null 2>&1
capture "$S" create -r python --image py-rb --id rbs
is "$RC" 0 "a session on an image (py-rb)"
capture "$ISOL8" build --base python --install numpy --tag py-rb --force
is "$RC" 0 "…that image is rebuilt (--force) while the session lives"
capture "$S" exec rbs -e 'import numpy; print(numpy.array([8]))'
is "$OUT" "[8]" "…and the session's next exec still has its layer"
is "$(ls "$ISOL8_IMAGE_DIR/.layers" | grep -c '^py-rb-')" 2 "…the store keeps the retired layer the session uses, beside the new one"
capture "$BIN/isol8-image" rm py-rb
is "$RC" 0 "…the image is removed while the session lives"
capture "$S" exec rbs -e 'import os; print(os.path.exists("/isol8-image/python/numpy/__init__.py"))'
is "$OUT" "True" "…and the session still has its layer"
is "$(ls "$ISOL8_IMAGE_DIR/.layers" | grep -c '^py-rb-')" 1 "…only the layer in use stays (the rebuilt one, unused, is gone)"
is "$(ls -A "$ISOL8_IMAGE_DIR" | grep -c '^\.lock-py-rb$')" 0 "…and the removed image's lock file is gone"
"$S" delete rbs >/dev/null
capture "$BIN/isol8-cleanup"
is "$(ls "$ISOL8_IMAGE_DIR/.layers" | grep -c '^py-rb-')" 0 "once the session has ended, isol8-cleanup removes the retired layer"
is "$(jqr .layers)" 1 "…and counts it"
"$ISOL8" build --base python --install pandas --tag py-race >/dev/null 2>"$WORK/r1" & R1=$!
"$ISOL8" build --base python --install pandas --tag py-race >/dev/null 2>"$WORK/r2" & R2=$!
wait $R1; rc1=$?; wait $R2; rc2=$?
is "$rc1 $rc2 $(ls "$ISOL8_IMAGE_DIR/.layers" | grep -c '^py-race-')" "0 0 1" "two builds of one tag at once: both succeed, one image"
capture "$ISOL8" build --base python --install numpy --tag py-both --force --max-size 1
is "$RC" 1 "a build past --max-size fails"
like "$ERR" "over the 1-byte cap" "…naming the cap"
capture "$ISOL8" run --image py-both -e 'import pandas; print("still")'
is "$OUT" "still" "…and the image under that tag is the one before"
capture "$ISOL8" build --base python --install 'numpy; rm -rf /' --tag bad
is "$ERR" '[ERR] Invalid package name: "numpy; rm -rf /". Only alphanumeric, -, _, ., /, @, and = are allowed.' "bad package names: the reference's message"
capture "$ISOL8" build --base ruby --install x --tag bad
is "$ERR" "[ERR] Invalid runtime: ruby. Expected one of: python, node, bun, deno, bash" "a bad runtime: the reference's message"
capture "$ISOL8" build --base python --tag bad
is "$ERR" "[ERR] No packages or setup script specified. Use --install <package> or --setup <command>." "nothing to build: the reference's message"
capture "$ISOL8" build --base python --install numpy --tag ../etc
like "$ERR" "invalid tag" "a tag that is not a plain name is refused"

# ---- isol8 setup: prebuiltImages ---------------------------------------------------------------
cat > "$ISOL8_CONFIG" <<'JSON'
{"prebuiltImages": [{"tag": "pre-np", "runtime": "python", "installPackages": ["numpy"]},
                    {"tag": "py-np", "runtime": "python", "installPackages": ["numpy"]}]}
JSON
capture "$ISOL8" setup
is "$RC" 0 "isol8 setup builds the config's prebuiltImages"
like "$ERR" "\[OK\] pre-np \(python: numpy\)" "…a missing one is built"
like "$ERR" "\[OK\] py-np \(already exists\)" "…an existing one is left"
like "$OUT" "\[DONE\] Setup complete!" "…and says it is done"

# ---- isol8-serve: images only from the operator's list ------------------------------------------
KEY=key-images-0123456789abcdef
cat > "$ISOL8_CONFIG" <<'JSON'
{"serve": {"images": ["py-np"]}}
JSON
index_down
start_server "$WORK/s.log" --key "$KEY"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"import numpy; print(numpy.array([5]))"},"options":{"image":"py-np"}}'
is "$CODE $(jqr .stdout)" "200 [5]" "POST /execute on an image the operator lists (its setup's output is not the code's)"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"1"},"options":{"image":"py-both"}}'
is "$CODE" 400 "an image the operator does not list is refused"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"import numpy; print(numpy.array([9]))","installPackages":["numpy"]}}'
is "$CODE $(jqr .stdout)" "200 [9]" "installPackages: resolved to an image the operator lists (py-np), nothing installed"
req POST /execute "$KEY" '{"request":{"runtime":"python","code":"import pandas; print(\"unlisted\")","installPackages":["pandas"],"timeoutMs":20000}}'
unlike "$OUT" "unlisted" "installPackages never resolves to an image the operator does not list (py-both has pandas)"
like "$OUT" "Package install failed" "…it is installed at run time instead (and here that fails: no index)"
req POST /execute "$KEY" '{"sessionId":"img-h","request":{"runtime":"python","code":"import numpy; y = numpy.array([6])"},"options":{"image":"py-np"}}'
is "$CODE" 200 "a sessionId request with an image: the session is made on it"
req POST /execute "$KEY" '{"sessionId":"img-h","request":{"runtime":"python","code":"print(y)"}}'
is "$CODE $(jqr .stdout)" "200 [6]" "…and keeps its state"
req POST /execute "$KEY" '{"sessionId":"img-h2","request":{"runtime":"python","code":"1"},"options":{"image":"py-both"}}'
is "$CODE" 400 "…an image the operator does not list is refused for sessions too"
req DELETE /session/img-h "$KEY"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=

# ---- the pool keeps sandboxes of named images (config poolImages) ------------------------------
echo '{"poolImages": ["no-such-image"]}' >"$ISOL8_CONFIG"
capture "$BIN/isol8-pool" --size 1
like "$RC $ERR" '^1 .*poolImages: "no-such-image" is not an image of' "poolImages naming no image: the pool refuses to start"
echo '{"poolImages": ["sh-hello"]}' >"$ISOL8_CONFIG"
"$BIN/isol8-pool" --size 1 --runtimes none 2>"$WORK/pool.err" & PPID_=$!
for i in $(seq 200); do grep -q ready "$WORK/pool.err" && break; sleep 0.05; done
capture "$BIN/isol8-pool" status
is "$(jqr '.kinds["image:sh-hello"]')" 1 "isol8-pool status: one sandbox of the image ready"
capture "$ISOL8" run --json -r bash --image sh-hello -e 'hello-isol8'
is "$(jqr '[.stdout, .warm] | join(" ")')" "hello from a Debian package true" "a run on the image gets the pool's sandbox of it"
capture "$ISOL8" run --json -r bash -e 'ls /isol8-image 2>&1 | head -c 0; test -e /isol8-image/bash && echo has-layer || echo no-layer'
is "$(jqr .stdout)" "no-layer" "a run without the image never gets a sandbox with its layer"
cat >"$WORK/ask.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"op":"acquire","layer":"/etc","memory":536870912,"cpu":1,"pids":64,"sandboxSize":536870912,"tmpSize":268435456,"seccomp":"strict"}\n')
print(s.recv(4096).decode().strip())
PY
capture python3 "$WORK/ask.py" "$ISOL8_RUN_DIR/pool.sock"
like "$OUT" '"miss"' "asking for a layer the pool does not keep (/etc) gets no sandbox"
capture "$ISOL8" build --base bash --install hello-isol8 --tag sh-hello --force
like "$RC $ERR" "^1 " "(a rebuild that fails: no index) leaves the pool's image as it was"
index_up
export APT_CONFIG="$WORK/apt/apt.conf"
"$ISOL8" build --base bash --install hello-isol8 --tag sh-hello --force >/dev/null 2>&1
unset APT_CONFIG
index_down
for i in $(seq 100); do [ "$("$BIN/isol8-pool" status | jq .discarded)" -ge 1 ] && break; sleep 0.1; done
# (one or more: demand may have added a second sandbox of the image)
is "$([ "$("$BIN/isol8-pool" status | jq .discarded)" -ge 1 ]; echo $?)" 0 "a rebuilt image: the pool drops its sandboxes of the old layer"
for i in $(seq 100); do [ "$("$BIN/isol8-pool" status | jq '.kinds["image:sh-hello"]')" = 1 ] && break; sleep 0.1; done
capture "$ISOL8" run --json -r bash --image sh-hello -e 'hello-isol8'
is "$(jqr '[.stdout, .warm] | join(" ")')" "hello from a Debian package true" "…and keeps one of the new layer, which the next run gets"
kill -TERM "$PPID_"; wait "$PPID_" 2>/dev/null
echo '{}' >"$ISOL8_CONFIG"

# ---- removal -----------------------------------------------------------------------------------
capture "$BIN/isol8-image" rm py-race
is "$RC $ERR" "0 [OK] Removed py-race" "isol8-image rm TAG"
capture "$BIN/isol8-image" rm py-race
like "$RC $ERR" "^1 \[ERR\] no image \"py-race\"" "…an unknown tag is an error"
"$ISOL8" run --persist -r bash -e 'true' >/dev/null 2>&1 # a sandbox left running on purpose
capture "$ISOL8" cleanup --images
like "$ERR" "Found 1 stale isol8 sandbox\(es\) and [0-9]+ image\(s\)" "cleanup --images lists the sandboxes and the images"
like "$ERR" "Remove all these sandboxes and images\? \[y/N\]" "…asks first"
like "$ERR" "Cleanup cancelled" "…and no answer cancels"
capture "$ISOL8" list-custom
like "$OUT" "^js-lo" "…and removes no image"
is "$(ls "$ISOL8_RUN_DIR/sandboxes" | wc -l)" 1 "…nor the sandbox"

# ---- cleanup --images --------------------------------------------------------------------------
capture "$ISOL8" cleanup --images --force
is "$RC $(jqr .removed)" "0 1" "cleanup --images --force removes the sandboxes too (--images: also the images)"
is "$(ls "$ISOL8_RUN_DIR/sandboxes" | wc -l)" 0 "…none is left"
capture "$ISOL8" list-custom
is "$OUT" "No custom isol8 images found." "cleanup --images --force removes every image"
is "$(ls -A "$ISOL8_IMAGE_DIR/.layers" | wc -l)" 0 "…with their layers"
is "$(ls -A "$ISOL8_IMAGE_DIR" | grep -c '^\.lock-')" 0 "…and their lock files"

finish
