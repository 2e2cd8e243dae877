#!/usr/bin/env bash
# Zygotes (docs/zygote.md): isol8-pool forks its warm python sandboxes from one interpreter started
# once. Nothing one run does reaches the next run forked from the same zygote, nor the zygote;
# the zygote is replaced after zygote.maxForks forks and after zygote.maxAgeMs; one that cannot
# start or dies is reported and replaced, and the pool keeps serving; zygote.* is checked.
# Python sessions start from a second zygote, whose forks run the session driver: they behave as
# sessions started in their sandbox. (Equivalence with python3 -c: every case of 96-warm.t runs
# through a zygote.)
. "$(dirname "$0")/lib.sh"
ZKIND=python
. "$(dirname "$0")/zygote.sh"
# the pool's zygote for runs (its children running python3; a zygote's forks are the zygote's
# children), and its zygote for sessions (the driver's last argument says which)
zygotes() { pgrep -P "$pl" -f '^python3 -c def _isol8_warm.*False\)\)' | tr '\n' ' '; }
session_zygotes() { pgrep -P "$pl" -f '^python3 -c def _isol8_warm.*True\)\)' | tr '\n' ' '; }

start_pool
zp=$(zygotes)
like "$zp|$(session_zygotes)" '^[0-9]+ \|[0-9]+ $' "the pool runs one zygote for python runs and one for python sessions"
zygote_clean "${zp% }"

# ---- one run leaves nothing for the next ------------------------------------------------------
zrun -e 'import builtins, os, sys, signal, threading, time
open("/sandbox/left.txt", "w").write("a"); open("/tmp/left.txt", "w").write("a")
builtins.isol8_left = os.isol8_left = 1
sys.modules["isol8_left"] = sys
x = 42
signal.signal(signal.SIGUSR1, lambda *a: None)
os.dup2(os.open("/sandbox/left.txt", os.O_RDONLY), 50, inheritable=True)
threading.Thread(target=lambda: time.sleep(30), daemon=True).start()
os.environ["ISOL8_LEFT"] = "1"
print("left", hash("isol8"))'
h1=${OUT#left }
is "${OUT%% *}|$RC|$ZH" "left|0|1" "a run leaves a file, a global, module attributes, a module, a signal handler, an fd, a thread and a variable"
zrun -e 'import builtins, os, sys, signal, threading
print(os.path.exists("/sandbox/left.txt"), os.path.exists("/tmp/left.txt"), "x" in globals(),
      hasattr(builtins, "isol8_left"), hasattr(os, "isol8_left"), "isol8_left" in sys.modules,
      signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, os.listdir("/proc/self/fd"), threading.active_count(),
      "ISOL8_LEFT" in os.environ, [p for p in os.listdir("/proc") if p.isdigit()] == [str(os.getpid())])
print(hash("isol8"))'
is "$(head -1 <<<"$OUT")|$RC|$ZH" "False False False False False False True ['0', '1', '2', '3'] 1 False True|0|1" \
	"the next run from the same zygote sees none of it (no process but itself in /proc)"
is "$(tail -1 <<<"$OUT")|$(zygotes)" "$h1|$zp" "…and shares the zygote's hash seed, as the man page says (same zygote)"

# ---- a run cannot reach the zygote --------------------------------------------------------------
zrun -e "import ctypes, errno, os, signal
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, 1, 0, 0)
print('ptrace init', r, errno.errorcode.get(ctypes.get_errno()))
try:
    os.kill(${zp% }, 0); print('zygote signalled')
except OSError as e:
    print('kill zygote', errno.errorcode[e.errno])
try:
    open('/proc/1/maps').read(); print('read init maps')
except OSError as e:
    print('init maps', 'refused' if e.errno in (errno.EACCES, errno.ENOENT) else errno.errorcode[e.errno])
st = dict(l.split(':\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\t' in l)
print(st['Uid'].split()[0], st['CapEff'], st['NoNewPrivs'], st['Seccomp'])
print('shared writable', sum(1 for l in open('/proc/self/maps') if l.split()[1].startswith('rw') and l.split()[1][3] == 's'))
try:
    os.kill(-1, signal.SIGKILL); print('killed some')
except OSError as e:
    print('kill -1', errno.errorcode[e.errno])"
is "$OUT|$ZH" "ptrace init -1 EPERM
kill zygote ESRCH
init maps refused
65534 0000000000000000 1 2
shared writable 0
kill -1 ESRCH|1" "a fork cannot ptrace its init, signal the zygote or read the init, nor find anything to kill; it is the sandbox user, no capabilities, seccomp"
zrun -e 'print("after")'
is "$OUT|$ZH|$(zygotes)" "after|1|$zp" "the zygote serves on, the same one"

# ---- sessions ---------------------------------------------------------------------------------
S="$BIN/isol8-session"
wait_session() { for i in $(seq 200); do [ "$(status | jq -r '.kinds["python-session"] // 0')" -ge 1 ] && return; sleep 0.05; done; }
probe='import os, sys
print(sorted(os.environ.items()), sys.argv, __name__, sorted(globals()), sys.path, os.getcwd(),
      sorted(os.listdir("/proc/self/fd")), sorted(sys.modules), os.getuid(), open("/proc/self/status").read().count("Seccomp:\t2"))'
wait_session
z0=$(status | jq .zygoteHits)
"$S" create --id zs -r python >/dev/null
capture "$S" exec zs -e "$probe"
pooled="$OUT|$ERR|$RC"
is "$(( $(status | jq .zygoteHits) - z0 ))" 1 "a python session takes its interpreter from the session zygote"
ISOL8_NO_POOL=1 "$S" create --id cs -r python >/dev/null
capture "$S" exec cs -e "$probe"
is "$pooled" "$OUT|$ERR|$RC" "…which looks as a session's own interpreter does: environment, argv, globals, path, fds, modules, user, seccomp"
capture "$S" exec zs -e 'x = 41'
capture "$S" exec zs -e 'x += 1; print(x)'
is "$OUT|$RC" "42|0" "…keeps its variables from one exec to the next"
capture "$S" exec zs -e 'import os; os._exit(3)'
capture "$S" exec zs -e 'print(globals().get("x"))'
like "$OUT|$ERR" '^None\|.*started a new python interpreter' "…and when it dies, the next exec starts a new one, as without a pool"
capture "$S" exec zs --figures svg -e 'import os; print(os.environ.get("MPLBACKEND"), os.environ.get("ISOL8_FIGURES"))'
is "$OUT" "module://isol8_mpl svg" "…with the figures' variables, as a session's own interpreter has them"
"$S" create --id zt -r python >/dev/null
capture "$S" exec zt -e 'import os, builtins; print(os.path.exists("/sandbox/left.txt"), hasattr(builtins, "isol8_left"), "x" in globals())'
is "$OUT" "False False False" "two sessions from one zygote share nothing"
for s in zs cs zt; do "$S" delete "$s" >/dev/null; done
# what changes the sandbox before the first code exec lets the pool's interpreter go, so that the
# one that runs sees it as it starts: here a .pth file in the user site directory, written by a
# --cmd exec (and a put), which python3 runs at start-up
site=/sandbox/.local/lib/python3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info.minor)')/site-packages
pth_case() {
	"$S" create --id "$1" -r python >/dev/null
	"$S" exec "$1" --cmd "mkdir -p $site && echo 'X = 5' >$site/isol8probe.py" >/dev/null
	printf 'import isol8probe\n' | "$S" put "$1" "$site/isol8probe.pth" - >/dev/null
	capture "$S" exec "$1" -e 'import sys; print("isol8probe" in sys.modules)'
}
wait_session
z0=$(status | jq .zygoteHits)
pth_case zp1
pooled="$OUT|$ERR|$RC|$(( $(status | jq .zygoteHits) - z0 ))"
ISOL8_NO_POOL=1 pth_case zp2
is "$pooled" "$OUT|$ERR|$RC|1" "a --cmd exec and a put before the first code exec: its interpreter starts after them, as without a pool (no restart said)"
for s in zp1 zp2; do "$S" delete "$s" >/dev/null; done
# a variable python3 reads as it starts, which os.environ could only set too late
wait_session
"$S" create --id zh -r python --secret PYTHONHASHSEED=123 >/dev/null
capture "$S" exec zh -e 'print(hash("isol8"))'
is "$OUT|$RC" "$(PYTHONHASHSEED=123 /usr/bin/python3 -c 'print(hash("isol8"))')|0" \
	"a start-up variable (PYTHONHASHSEED): the session's interpreter started with it, not the pool's"
"$S" delete zh >/dev/null

# ---- replaced after zygote.maxForks and zygote.maxAgeMs ---------------------------------------
stop_pool
is "$(kill -0 ${zp% } 2>/dev/null; echo $?)" 1 "the zygotes end with their pool"
echo '{"zygote":{"maxForks":2}}' >"$WORK/forks.json"
ISOL8_CONFIG="$WORK/forks.json" start_pool
hs=
for i in 1 2 3 4 5 6; do zrun -e 'print(hash("isol8"))'; hs+="$OUT"$'\n'; done
is "$(sort <<<"$hs" | uniq -c | awk '$1 > 2' | wc -l) $([ "$(sort -u <<<"$hs" | grep -c .)" -ge 3 ] && echo 3+)" "0 3+" \
	"maxForks 2: six runs from three zygotes or more, none from more than two forks of one (hash seeds: $(tr '\n' ' ' <<<"$hs"))"
stop_pool
echo '{"zygote":{"maxAgeMs":1000}}' >"$WORK/age.json"
ISOL8_CONFIG="$WORK/age.json" start_pool
z0=$(zygotes)
sleep 1.3
# the sandbox forked before its zygote grew old is handed out first (that zygote's hash seed);
# then the next comes from a new zygote (waiting for states, not times: a pool that fills
# slowly under load has still forked its first sandbox from its first zygote)
zrun -e 'print(hash("isol8"))'; a=$OUT
zrun -e 'print(hash("isol8"))'; b=$OUT
z1=$(zygotes)
[[ -n "$a" && -n "$b" && "$a" != "$b" && -n "$z1" && " $z1" != *" $z0"* ]]
ok $? "maxAgeMs 1000: a zygote older than that forks no more (hashes $a then $b; zygote $z0 then $z1)"
stop_pool

# ---- off, refused, broken -----------------------------------------------------------------------
echo '{"zygote":{"enabled":false}}' >"$WORK/off.json"
ISOL8_CONFIG="$WORK/off.json" start_pool
h0=$(status | jq .warmHits)
capture "$RUN" -e 'print(1)'
is "$OUT|$(( $(status | jq .warmHits) - h0 ))|$(status | jq .zygoteForks)|$(zygotes)" "1|1|0|" \
	"zygote.enabled false: warm python started in its sandbox, no zygote"
stop_pool
start_pool --no-zygote
is "$(status | jq .zygoteForks)|$(zygotes)" "0|" "--no-zygote: the same"
stop_pool
for bad in '{"zygote":{"maxForks":0}}' '{"zygote":{"maxAgeMs":"1s"}}' '{"zygote":{"enabled":"yes"}}' '{"zygote":{"forks":3}}'; do
	echo "$bad" >"$WORK/bad.json"
	capture env ISOL8_CONFIG="$WORK/bad.json" timeout 10 "$POOL" --size 1
	like "$RC|$ERR" '^1\|.*zygote\.' "a bad zygote config is refused, naming the key: $bad"
done
# a pool without isol8-zygote.so beside it: says so, and keeps warm python the old way
mkdir -p "$WORK/lone"; cp "$POOL" "$WORK/lone/"
"$WORK/lone/isol8-pool" --size 1 --runtimes python 2>"$WORK/lone.err" & pl=$!
for i in $(seq 200); do grep -q 'not forking python from a zygote' "$WORK/lone.err" && break; sleep 0.05; done
like "$(head -1 "$WORK/lone.err")" 'isol8-zygote.so is not beside isol8-pool' "no zygote library: the pool says where it looked"
wait_warm
h0=$(status | jq .warmHits)
capture "$RUN" -e 'print(2)'
is "$OUT|$(( $(status | jq .warmHits) - h0 ))|$(status | jq .zygoteHits)" "2|1|0" "…and python is still kept warm, started in its sandbox"
for i in 1 2 3; do wait_warm; "$RUN" -e 'print(2)' >/dev/null; done
like "$(grep -c 'isol8-zygote.so' "$WORK/lone.err") $(grep -c 'not forking python from a zygote' "$WORK/lone.err") $(grep -c 'not forking python-session from a zygote' "$WORK/lone.err")" '^6 1 1$' \
	"…three tries for runs and three for sessions, then it stops trying until SIGHUP"
stop_pool
# a library in a directory anyone may write to: refused (the zygote runs as root); and the same
# tree below a sticky directory such as /tmp is fine (nobody else can replace what is ours there)
mkdir -p "$WORK/open/bin"; cp "$POOL" "$BIN/isol8-zygote.so" "$WORK/open/bin/"; chmod 0777 "$WORK/open"
"$WORK/open/bin/isol8-pool" --size 1 --runtimes python 2>"$WORK/open.err" & pl=$!
for i in $(seq 200); do grep -q 'not beside' "$WORK/open.err" && break; sleep 0.05; done
like "$(head -1 "$WORK/open.err")" 'is not beside isol8-pool nor in ../lib/isol8/ \(or is writable by others\)' \
	"isol8-zygote.so below a directory anyone may write to: no zygote"
stop_pool
chmod 1777 "$WORK/open"
"$WORK/open/bin/isol8-pool" --size 1 --runtimes python 2>"$WORK/open.err" & pl=$!
wait_warm
zrun -e 'print(7)'
is "$OUT|$ZH|$(cat "$WORK/open.err" | grep -c ERR)" "7|1|0" "…below a sticky one (as /tmp): zygotes as usual"
stop_pool
# a zygote killed: the pool starts another and keeps serving
start_pool
zp=$(zygotes)
kill -KILL ${zp% }
for i in $(seq 5); do capture "$RUN" -e 'print(3)'; [ "$OUT|$RC" = "3|0" ] || break; done
is "$OUT|$RC" "3|0" "a killed zygote: every run still succeeds"
zrun -e 'print(4)'
like "$OUT|$ZH|$(zygotes)" "^4\|1\|[0-9]+ $" "…and a new zygote forks again"
[ "$(zygotes)" != "$zp" ]; ok $? "…a new one ($(zygotes)), not $zp"
stop_pool
finish
