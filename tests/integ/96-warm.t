#!/usr/bin/env bash
# Pre-started interpreters (isol8-pool's fast strategy) against the cold path: each program runs
# cold (ISOL8_NO_POOL=1) and warm, in a pooled sandbox whose python3/node was already running,
# and must print the same stdout and stderr and exit with the same code. Node's stack traces
# differ below the user's frames (node's internals); for those the first lines are compared.
# Warm python and bash sandboxes are forked from the pool's zygotes (docs/zygote.md);
# WARM_POOL_ARGS=--no-zygote (96-warm-nozygote.t) runs every case against interpreters started in
# their sandbox instead, and bash cold in a plain pooled sandbox (it has no other warm driver).
. "$(dirname "$0")/lib.sh"
POOL="$BIN/isol8-pool"
POOL_ARGS=(${WARM_POOL_ARGS:-})
ZYGOTE=1; [ "${WARM_POOL_ARGS:-}" = --no-zygote ] && ZYGOTE=0
"$POOL" --size 1 "${POOL_ARGS[@]}" 2>"$WORK/pool.err" & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done

status() { "$POOL" status; }
# waits until the pool has a ready sandbox of kind $1 (python, node: the interpreter running)
wait_warm() { for i in $(seq 200); do [ "$(status | jq -r ".kinds.$1 // 0")" -ge 1 ] && return; sleep 0.05; done; }

# same RUNTIME NAME [STDERR_LINES] -- ARGS… : cold and warm agree; the warm run was a
# pre-started interpreter (warmHits went up by one), forked by the zygote for python and bash
# unless zygotes are off (zygoteHits; bash is then neither)
same() {
	local rt=$1 name=$2 lines=1000 z=0 w=1 kind=$1
	if [ "$3" = -- ]; then shift 3; else lines=$3; shift 4; fi
	[ "$rt" = python ] && z=$ZYGOTE
	[ "$rt" = bash ] && z=$ZYGOTE w=$ZYGOTE
	[ "$rt" = bash ] && [ "$ZYGOTE" = 0 ] && kind=plain
	capture env ISOL8_NO_POOL=1 "$RUN" -r "$rt" "$@"
	local cold="$OUT|$(head -n "$lines" <<<"$ERR")|$RC"
	wait_warm "$kind"
	local h0 z0; h0=$(status | jq .warmHits) z0=$(status | jq .zygoteHits)
	capture "$RUN" -r "$rt" "$@"
	local warm="$OUT|$(head -n "$lines" <<<"$ERR")|$RC"
	is "$warm|$(( $(status | jq .warmHits) - h0 )) $(( $(status | jq .zygoteHits) - z0 ))" "$cold|$w $z" "$name"
}

# ---- python, inline (python3 -c) ------------------------------------------------------------
same python "python -c: __name__, argv, path[0], the globals it starts with" -- \
	-e 'import sys; print(__name__, sys.argv, repr(sys.path[0]), sorted(globals()))'
same python "python -c: the modules loaded are python3's own, none of the driver's" -- \
	-e 'import sys; print(sorted(sys.modules))'
same python "python -c: a traceback names <string>, not the driver" -- -e 'x = 1
def f():
    return x / 0
f()'
same python "python -c: a syntax error" -- -e 'x = ('
same python "python -c: sys.exit(7)" -- -e 'import sys; sys.exit(7)'
same python "python -c: sys.exit(\"bye\") prints and exits 1" -- -e 'import sys; sys.exit("bye")'
same python "python -c: sys.exit(300), -1, 2**70: the low byte of a C long" -- \
	-e 'import os, sys
for c in (300, -1, 2**70):
    if os.fork() == 0:
        sys.exit(c)
    print(os.waitstatus_to_exitcode(os.wait()[1]))
sys.exit(300)'
same python "python -c: sys.exit of an int subclass" -- -e 'import sys
class I(int): pass
sys.exit(I(3))'
same python "python -c: a replaced stdout whose flush fails at exit: 120" -- -e 'import io, os, sys
sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(os.dup(1), "w")))
print("never flushed")
os.close(sys.stdout.fileno())'
# the driver ends the process once the interpreter state is being cleared (after everything
# above): a finalizer that only runs later than that — one hung on a codec error handler — is
# the one thing that runs cold and not warm
late='import codecs, os
class Late:
    def __del__(self, w=os.write):
        w(1, b"after the codec registry\n")
codecs.register_error("isol8-test", lambda e, late=Late(): ("", e.end))
print("main")'
capture env ISOL8_NO_POOL=1 "$RUN" -e "$late"
cold="$OUT|$RC"
wait_warm python
capture "$RUN" -e "$late"
is "$cold // $OUT|$RC" "main
after the codec registry|0 // main|0" "python: the interpreter's last teardown is skipped (a finalizer run after the codec registry is cleared: cold only)"
same python "python -c: an uncaught KeyboardInterrupt ends by SIGINT" -- -e 'raise KeyboardInterrupt'
# this file starts the pool in the background of a non-interactive shell, which ignores SIGINT and
# SIGQUIT in it: a zygote started with those kept ignored would pass them on to its forks
same python "python -c: signal dispositions are python3's own, none inherited from the pool's parent" -- \
	-e 'import signal; print([str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM, signal.SIGCHLD)])'
same python "python -c: SIGINT sent to itself raises KeyboardInterrupt" -- -e 'import os, signal; os.kill(os.getpid(), signal.SIGINT)'
same python "python -c: threads are joined, then atexit, then __del__ at shutdown" -- -e '
import atexit, threading, time
class Late:
    def __del__(self):
        print("del")
late = Late()
atexit.register(print, "atexit")
threading.Thread(target=lambda: (time.sleep(0.2), print("thread"))).start()
print("main")'
same python "python -c: import __main__ is the module the code runs in" -- \
	-e 'import __main__, sys; print(__main__.__dict__ is globals(), __main__ is sys.modules["__main__"], repr(__main__))'
mkdir -p "$WORK/mods"
printf 'class A:\n    def __del__(self):\n        print("mod del")\na = A()\n' >"$WORK/mods/mod.py"
same python "python -c: an imported module's objects are torn down at exit too" -- --files "$WORK/mods" -e 'import mod; print("imported")'
same python "python -c: only fds 0, 1, 2 are open" -- -e 'import os; print(sorted(os.listdir("/proc/self/fd")))'
same python "python -c: stdio are pipes (python3 asked whether they can seek as it started)" -- \
	-e 'import sys; print([f.seekable() for f in (sys.stdin, sys.stdout, sys.stderr)])'
same python "python -c: the process is dumpable: its own /proc files are the sandbox user's" -- \
	-e 'import os; print(os.stat("/proc/self/environ").st_uid, len(open("/proc/self/environ", "rb").read()) > 0, open("/proc/self/status").read().count("Uid:\t65534"))'
same python "python -c: stdin" -- --stdin 'from stdin' -e 'import sys; print(sys.stdin.read().upper())'
same python "python -c: a secret is in the environment and masked" -- \
	--secret TOKEN=s3cr3t-value -e 'import os; print(os.environ["TOKEN"], len(os.environ))'
same python "python -c: the environment is the cold one" -- \
	-e 'import os; print(sorted(os.environ.items()))'
same python "python -c: a subprocess inherits it" -- --secret K=v4lue -e 'import subprocess; subprocess.run(["sh", "-c", "echo $K $HOME"])'
same python "python -c: limits apply (pids)" -- -e '
import os
n = 0
try:
    while n < 200:
        if os.fork() == 0:
            import time; time.sleep(3); os._exit(0)
        n += 1
except OSError as e:
    print("stopped", e.errno)'

# ---- python, a file (python3 /sandbox/main.py) ------------------------------------------------
cat >"$WORK/prog.py" <<'PY'
import sys
print(__name__, __file__, sys.argv, sys.path[0], __spec__, type(__loader__).__name__, sorted(globals()))
def f():
    raise ValueError("v")
f()
PY
same python "python FILE: __file__, argv, path[0], loader; a traceback with source lines" -- "$WORK/prog.py"
printf '# -*- coding: latin-1 -*-\nprint("\xe9")\n' >"$WORK/latin.py"
same python "python FILE: a coding declaration" -- "$WORK/latin.py"
printf 'open("/sandbox/out.txt", "w").write("x")\nf = open("/sandbox/left-open.txt", "w")\nf.write("flushed at exit")\n' >"$WORK/files.py"
echo "{\"runtime\":\"python\",\"code\":$(jq -Rs . <"$WORK/files.py"),\"outputPaths\":[\"/sandbox/left-open.txt\"]}" >"$WORK/req.json"
wait_warm python
capture "$RUN" --json --request "$WORK/req.json"
is "$(printf '%s' "$OUT" | jq -r '.files["/sandbox/left-open.txt"] | @base64d')" "flushed at exit" "a file left open is flushed at interpreter exit, as cold"

# ---- node, inline (node -e) -----------------------------------------------------------------
same node "node -e: its globals, argv, execArgv length" -- \
	-e 'console.log(typeof require, typeof module, __filename, __dirname, process.argv.length, process.execArgv.length, process.execArgv[1] === process._eval, require.main, process._eval.length)'
same node "node -e: top-level declarations do not clash with the driver's" -- -e 'const fs = 1, vm = 2; let Module = 3; function isol8Warm() { return 4 } console.log(fs + vm + Module + isol8Warm())'
same node "node -e: an uncaught error names [eval] (first lines)" 5 -- -e 'const x = 1;
throw new Error("boom " + x)'
same node "node -e: process.exitCode" -- -e 'process.exitCode = 4'
same node "node -e: timers, then process.exit(5)" -- -e 'setTimeout(() => { console.log("later"); process.exit(5) }, 50)'
same node "node -e: dynamic import, with no warning" -- -e 'import("node:path").then(m => console.log(typeof m.join))'
same node "node -e: nextTick before promises, as in a main script" -- \
	-e 'Promise.resolve().then(() => console.log("p")); process.nextTick(() => console.log("t")); console.log("s")'
same node "node -e: an 'exit' listener prints and sets process.exitCode" -- \
	-e 'process.on("exit", c => { console.log("bye", c); process.exitCode = 9 }); console.log("main")'
same node "node -e: an exit code above 255" -- -e 'process.exitCode = 300'
same node "node -e: process.exit() inside an 'exit' listener" -- \
	-e 'process.on("exit", () => { console.log("a"); process.exit(6) }); console.log("main")'
same node "node -e: an error thrown by an 'exit' listener (first lines)" 4 -- \
	-e 'process.on("exit", () => { throw new Error("in exit") }); console.log("main")'
same node "node -e: a program that patches EventEmitter.prototype.emit sees process's events" -- \
	-e 'const E = require("events"), e = E.prototype.emit; E.prototype.emit = function (n, ...a) { if (n === "exit") console.log("seen", n); return e.call(this, n, ...a) }'
same node "node -e: a program that replaces process.emit" -- \
	-e 'const e = process.emit; process.emit = function (...a) { return e.apply(this, a) }; process.exitCode = 2; console.log("x")'
same node "node -e: 600 kB written just before the end, all of it" -- \
	-e 'process.stdout.write("y".repeat(600000) + "\n"); process.stderr.write("z".repeat(70000)); process.exitCode = 3'
wait_warm node
capture "$RUN" --debug -r node -e 'console.log(1)'
like "$ERR" 'exit code from the running interpreter, its teardown not waited for' \
	"node: the exit code comes from the interpreter after the 'exit' listeners, not after its teardown"
wait_warm node
capture "$RUN" --debug -r node -e 'throw new Error("e")'
unlike "$ERR" 'its teardown not waited for' "…but not for an uncaught error (node prints it after the 'exit' listeners)"
same node "node -e: stdin" -- --stdin 'abc' -e 'process.stdin.on("data", d => console.log(String(d).toUpperCase()))'
same node "node -e: the environment is the cold one" -- --secret TOKEN=n0de-secret \
	-e 'console.log(Object.entries(process.env).sort())'
same node "node -e: an unhandled rejection (first lines)" 4 -- -e 'Promise.reject(new Error("nope"))'

# ---- node, files (node /sandbox/main.mjs, main.js) ------------------------------------------
printf 'console.log(typeof require, import.meta.url, process.argv.slice(1), process.execArgv)\nthrow new Error("esm")\n' >"$WORK/prog.mjs"
same node "node FILE.mjs: an ES module, no CommonJS globals (first lines)" 6 -- "$WORK/prog.mjs"
mkdir -p "$WORK/tla"
printf 'console.log("before")\nawait new Promise(() => {})\n' >"$WORK/tla/main.mjs"
same node "node FILE.mjs: an unsettled top-level await (node's warning and exit 13)" -- "$WORK/tla/main.mjs"
printf 'console.log(require.main === module, __filename, typeof exports, process.argv.slice(1))\nnull.x\n' >"$WORK/prog.js"
same node "node FILE.js: CommonJS, require.main (first lines)" 6 -- "$WORK/prog.js"

# ---- what cannot be told apart is never tried -------------------------------------------------
wait_warm python
wait_warm plain
h0=$(status | jq .warmHits)
echo '{"runtime":"python","code":"import sys; print(sys.flags.hash_randomization)","env":{"PYTHONHASHSEED":"0"}}' >"$WORK/req.json"
capture "$RUN" --json --request "$WORK/req.json"
is "$(printf '%s' "$OUT" | jq -r '[.stdout, .warm] | map(tostring) | join(" ")')|$(( $(status | jq .warmHits) - h0 ))" "0 true|0" \
	"PYTHONHASHSEED (read at start-up): a plain pooled sandbox, the interpreter started for the run"
capture "$RUN" --json --workdir /sandbox/sub -e 'import os; print(os.getcwd())'
is "$(printf '%s' "$OUT" | jq -r .stdout)|$(( $(status | jq .warmHits) - h0 ))" "/sandbox/sub|0" "another working directory: not pre-started"
wait_warm plain
capture env ISOL8_RUNTIMES=/var/tmp/isol8-elsewhere "$RUN" --json -e 'import os; print(os.environ["PATH"].split(":")[3])'
is "$(printf '%s' "$OUT" | jq -r '[.stdout, .warm] | map(tostring) | join(" ")')|$(( $(status | jq .warmHits) - h0 ))" \
	"/var/tmp/isol8-elsewhere/bin true|0" "a client whose interpreters' environment differs from the pool's (another ISOL8_RUNTIMES): plain"
wait_warm plain
echo '{"runtime":"python","code":"print(1)","env":{"LD_PRELOAD":"/nonexistent.so"}}' >"$WORK/req.json"
capture "$RUN" --json --request "$WORK/req.json"
like "$(printf '%s' "$OUT" | jq -r '[.stdout, .warm, .stderr] | map(tostring) | join(" ")')|$(( $(status | jq .warmHits) - h0 ))" \
	"^1 true .*nonexistent.so.*cannot be preloaded.*\|0$" "LD_PRELOAD (read by the dynamic loader): a plain pooled sandbox, the preload tried as cold"
# an environment execve refuses: the cold path says so, and a pre-started interpreter, which
# would get it through a pipe, must not run it
for rt in python bash; do
	printf '{"runtime":"%s","code":"%s","env":{"BIG":"%s"}}\n' "$rt" "$([ $rt = python ] && echo 'print(1)' || echo 'echo 1')" \
		"$(head -c 140000 /dev/zero | tr '\0' x)" >"$WORK/big.json"
	capture env ISOL8_NO_POOL=1 "$RUN" --request "$WORK/big.json"
	cold="$OUT|$ERR|$RC"
	wait_warm plain
	h0=$(status | jq .warmHits)
	capture "$RUN" --request "$WORK/big.json"
	is "$OUT|$ERR|$RC|$(( $(status | jq .warmHits) - h0 ))" "$cold|0" "$rt: an environment variable of 140 kB (execve: too long) fails as cold, never pre-started"
done
like "$cold" "Argument list too long" "…which says why"
if [ "$ZYGOTE" = 1 ]; then
	wait_warm plain
	h0=$(status | jq .warmHits)
	echo '{"runtime":"bash","code":"echo after","env":{"SSH_CLIENT":"10.0.0.1 22 22","BASH_ENV":"/sandbox/env.sh"},"files":{"/sandbox/env.sh":"echo from BASH_ENV"}}' >"$WORK/req.json"
	capture env ISOL8_NO_POOL=1 "$RUN" --request "$WORK/req.json"
	cold="$OUT|$ERR|$RC"
	capture "$RUN" --request "$WORK/req.json"
	is "$OUT|$ERR|$RC|$(( $(status | jq .warmHits) - h0 ))" "$cold|0" "bash: SSH_CLIENT (bash -c then reads ~/.bashrc, not BASH_ENV): a plain pooled sandbox, as cold"
	wait_warm plain
	echo '{"runtime":"bash","code":"echo ${POSIXLY_CORRECT-unset}; shopt -qo posix && echo posix","env":{"POSIXLY_CORRECT":"1"}}' >"$WORK/req.json"
	capture "$RUN" --json --request "$WORK/req.json"
	is "$(printf '%s' "$OUT" | jq -r '[.stdout, .warm] | map(tostring) | join(" ")')|$(( $(status | jq .warmHits) - h0 ))" "1
posix true|0" "bash: POSIXLY_CORRECT (read before the zygote's fork re-initialises): a plain pooled sandbox"
fi

# ---- bash, inline (bash -c) and files (bash /sandbox/main.sh) -----------------------------------
# everything a shell can list about itself, but what changes from run to run by design
state='declare -p | grep -Ev "^declare -[-a-zA-Z]* (BASHPID|RANDOM|SRANDOM|EPOCHSECONDS|EPOCHREALTIME|SECONDS|BASH_COMMAND|_)="
declare -f; alias; hash; jobs; dirs; trap -p; enable -a; shopt -p; set -o; umask; ulimit -a
echo "$-|$0|$#|$@|$LINENO|${BASH_SOURCE[*]}|${FUNCNAME[*]}|$BASH_SUBSHELL|$SHLVL|$PPID|$$|$BASH|$HOSTNAME"
grep -E "^(Sig|Shd|Cap|NoNewPrivs|Seccomp|Uid|Gid|Groups)" /proc/self/status; ls -l /proc/self/fd | sed -E "s/[a-z]+:\[[0-9]+\]/P/; s/ [A-Z][a-z]{2} +[0-9]+ [0-9:]+ / /"'
same bash "bash -c: variables, functions, aliases, traps, options, builtins, signals, fds and ids are a fresh bash's" -- -e "$state"
same bash "bash -c: BASH_EXECUTION_STRING is the code" -- -e 'printf "%s\n" "$BASH_EXECUTION_STRING"'
same bash "bash -c: a pipe into head: SIGPIPE at its default, no 'Broken pipe'" -- -e 'yes | head -2; echo "${PIPESTATUS[*]}"'
# run from a caller that ignores SIGINT, SIGQUIT, SIGPIPE and glibc's own 32 and 33 (which
# glibc's signal() refuses to touch): none of it may reach the program
ignoring() { /usr/bin/python3 -c 'import ctypes, os, signal, sys
class A(ctypes.Structure):
    _fields_ = [("h", ctypes.c_void_p), ("f", ctypes.c_ulong), ("r", ctypes.c_void_p), ("m", ctypes.c_uint64)]
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, 32, 33):
    ctypes.CDLL(None).syscall(13, s, ctypes.byref(A(1, 0, None, 0)), None, 8)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"; }
capture ignoring env ISOL8_NO_POOL=1 "$RUN" -r bash -e 'yes | head -1; grep SigIgn /proc/self/status'
is "$OUT|$ERR" "y
SigIgn:	0000000000000000|" "a sandboxed program starts with no signal ignored, whatever its caller ignores (SIGPIPE, SIGINT, SIGQUIT, glibc's 32 and 33)"
same bash "bash -c: set -x prints one + per level, PS4 once" -- -e 'set -x; echo a; PS4="[$LINENO] "; echo $(echo b)'
same bash "bash -c: \$BASH_COMMAND in an EXIT trap is the run's last command" -- -e 'set -e
trap '"'"'echo "failed: $BASH_COMMAND" >&2'"'"' EXIT
false'
same bash "bash -c: exit 7" -- -e 'echo out; echo err >&2; exit 7'
same bash "bash -c: killed by SIGTERM" -- -e 'kill -TERM $$'
same bash "bash -c: set -e and an EXIT trap" -- -e 'trap "echo trap \$?" EXIT; set -e; false; echo never'
same bash "bash -c: a syntax error" -- -e 'if then fi'
same bash "bash -c: stdin" -- --stdin $'one\ntwo' -e 'while read -r l; do echo "<$l>"; done; echo $?'
same bash "bash -c: the environment is the cold one" -- --secret TOKEN=ba5h-secret -e 'env | sort; declare -px | wc -l'
same bash "bash -c: jobs, subshells, substitutions and the command hash" -- -e 'sleep 0.1 & j=$!; wait $j; echo "wait $?"
( exit 3 ); echo "subshell $? $BASH_SUBSHELL $( echo "$BASH_SUBSHELL" )"; [ "$BASHPID" = "$$" ] && echo "main is \$\$"
cat <(echo procsub); type -t ls; hash; echo "${RANDOM:+random}"'
echo '{"runtime":"bash","code":"echo after","env":{"BASH_ENV":"/sandbox/env.sh"},"files":{"/sandbox/env.sh":"echo from BASH_ENV"}}' >"$WORK/bashenv.json"
same bash "bash -c: BASH_ENV is read (a non-interactive shell's start-up file)" -- --request "$WORK/bashenv.json"
printf 'echo "$0|${BASH_SOURCE[*]}|$LINENO|$#"\nf() { echo "${FUNCNAME[*]}|${BASH_LINENO[*]}"; }\nf\nread -r l; echo "got $l"\nexit 5\n' >"$WORK/prog.sh"
same bash "bash FILE: \$0, BASH_SOURCE, FUNCNAME, stdin and the exit code" -- --stdin hello "$WORK/prog.sh"

# ---- the library, from a program that leaves SIGPIPE at its default ----------------------------
# the program closes its stdin while 4 MB are still to be written to it: EPIPE for the run, and
# no SIGPIPE killing the caller (cold and warm)
code='import os, time; os.close(0); time.sleep(0.2); print("closed")'
capture env ISOL8_NO_POOL=1 "$ISOL8_TESTS/lib-run" python "$code" 4000000
is "$RC|$OUT" "0|exit 0 warm 0
closed" "library, cold: a program that closes its stdin does not kill the caller with SIGPIPE"
wait_warm python
capture "$ISOL8_TESTS/lib-run" python "$code" 4000000
is "$RC|$OUT" "0|exit 0 warm 1
closed" "library, warm: the same"

# ---- what the cgroup counted --------------------------------------------------------------------
# The pool sweeps a handed-over sandbox's cgroup as soon as its init is dead; the run must have
# read the numbers before it killed that init.
bad=0
for i in $(seq 10); do
	wait_warm python
	u=$("$RUN" --json -e 'print(1)' | jq -r '[.warm, .resourceUsage.cpuMs > 0, .resourceUsage.peakMemoryBytes > 0] | map(tostring) | join(" ")')
	[ "$u" = "true true true" ] || { bad=$((bad + 1)); diag "resource usage: $u"; }
done
is "$bad" 0 "warm runs report CPU time and peak memory (10 runs)"
kill -TERM $pl; wait $pl 2>/dev/null
printf '{"defaults":{"memoryLimit":"64m"}}\n' >"$WORK/small.json"
ISOL8_CONFIG="$WORK/small.json" "$POOL" --size 1 --runtimes python "${POOL_ARGS[@]}" 2>>"$WORK/pool.err" & pl=$!
for i in $(seq 100); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
wait_warm python
h0=$(status | jq .warmHits)
capture env ISOL8_CONFIG="$WORK/small.json" "$RUN" --json -e 'x = bytearray(200 * 1024 * 1024); print("survived")'
is "$(printf '%s' "$OUT" | jq -r '[.status, .exitCode, .warm] | map(tostring) | join(" ")')|$(( $(status | jq .warmHits) - h0 ))" \
	"oom 137 true|1" "a memory hog in a pre-started python (pool and run at 64m): status oom, exit 137"

# ---- the driver's own failure modes ---------------------------------------------------------
kill -TERM $pl; wait $pl 2>/dev/null
# a "node" that exits at once (outside /tmp: the sandbox has its own /tmp)
rt=$(mktemp -d /var/tmp/isol8-rt.XXXXXX); mkdir -p "$rt/bin"; printf '#!/bin/sh\nexit 3\n' >"$rt/bin/node"
chmod 755 "$rt" "$rt/bin" "$rt/bin/node"
ISOL8_RUNTIMES="$rt" "$POOL" --size 1 --runtimes node 2>"$WORK/pool.err" & pl=$!
for i in $(seq 100); do grep -q "not keeping node warm" "$WORK/pool.err" && break; sleep 0.1; done
like "$(grep -c 'the node interpreter did not start: it exited with 3' "$WORK/pool.err") $(grep -c 'not keeping node warm' "$WORK/pool.err")" "^3 1$" \
	"an interpreter that cannot start: said once per try, then the pool stops pre-starting it"
capture "$RUN" --json -e 'print(5)'
is "$(printf '%s' "$OUT" | jq -r '[.stdout, .warm] | map(tostring) | join(" ")')" "5 true" "…and keeps serving plain sandboxes"
kill -TERM $pl; wait $pl 2>/dev/null
rm -rf "$rt"
finish
