#!/usr/bin/env bash
# The bash zygote (docs/zygote.md): isol8-pool forks its warm bash sandboxes from one bash started
# once with isol8-zygote-bash.so, a loadable builtin. Nothing one run does reaches the next run
# forked from the same zygote, nor the zygote; one that dies is replaced; without its library
# bash runs cold, as before. (Equivalence with bash -c and bash FILE: the bash cases of 96-warm.t.)
. "$(dirname "$0")/lib.sh"
ZKIND=bash
. "$(dirname "$0")/zygote.sh"
# the pool's bash zygote: its child running bash with the builtin
zygotes() { pgrep -P "$pl" -f '^bash -c enable -f .*isol8-zygote-bash.so isol8_zygote' | tr '\n' ' '; }

start_pool
zp=$(zygotes)
like "$zp|$(status | jq -c '.kinds | keys')" '^[0-9]+ \|\["bash","plain"\]$' "the pool runs one bash zygote, and keeps bash sandboxes forked from it"
zygote_clean "${zp% }"

# ---- one run leaves nothing for the next ------------------------------------------------------
zrun -e 'echo a >/sandbox/left.txt; echo a >/tmp/left.txt; echo a >/dev/shm/left.txt; echo a >/.isol8/mpl/left.txt
export LEFT_X=1; left_y=2; left() { :; }; shopt -s expand_aliases; alias ll=ls; trap "echo usr1" USR1
set -o noclobber; shopt -s nullglob; exec 50</sandbox/left.txt; cd /tmp; ls >/dev/null; ulimit -S -n 100
(exec -a isol8-left sleep 60) & disown
echo "left $RANDOM $SRANDOM"'
r1=$OUT
is "${OUT%% *}|$RC|$ZH" "left|0|1" "a run leaves files (/sandbox, /tmp, /dev/shm, /.isol8), variables, a function, an alias, a trap, options, an fd, a directory, a hashed command, a limit and a process"
zrun -e 'echo "$([ -e /sandbox/left.txt ]; echo $?) $([ -e /tmp/left.txt ]; echo $?) $([ -e /dev/shm/left.txt ]; echo $?) $([ -e /.isol8/mpl/left.txt ]; echo $?) ${LEFT_X-none} ${left_y-none} $(type -t left || echo none) $(alias ll 2>/dev/null || echo none)"
echo "$(trap -p USR1 | wc -l) $(set -o | grep -c "noclobber.*on") $(shopt nullglob | grep -c on) $(ls /proc/self/fd | tr "\n" " ")"
echo "$PWD $(hash 2>&1) $(ulimit -S -n) $(for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline; echo; done | grep -c "^isol8-left")"
echo "next $RANDOM $SRANDOM"'
is "$(head -3 <<<"$OUT")|$RC|$ZH" "1 1 1 1 none none none none
0 0 0 0 1 2 3 
/sandbox hash: hash table empty 4096 0|0|1" \
	"the next run from the same zygote sees none of it"
[ "${r1#left }" != "$(tail -1 <<<"$OUT" | sed 's/^next //')" ]; ok $? "…and draws other random numbers (RANDOM, SRANDOM): ${r1#left } then $(tail -1 <<<"$OUT")"

# ---- the root template -----------------------------------------------------------------------------
# the zygote built the part of the root every sandbox shares (runtime dirs, /etc, /dev, mount
# points) once, read-only, in a mount namespace of its own; each fork's root is its copy: the
# same tmpfs in every fork, where cold sandboxes each make their own
staging=$ISOL8_RUN_DIR/root
is "$(grep -c " $staging " /proc/self/mountinfo)|$(awk -v s="$staging" '$5 == s {print $6}' /proc/${zp% }/mountinfo | cut -d, -f1)" "0|ro" \
	"the zygote holds a read-only root template at the staging dir, in its own mount namespace (not the host's)"
tdev=$(stat -c %d "/proc/${zp% }/root$staging")
zrun -e 'stat -c %d /'; d1=$OUT
zrun -e 'stat -c %d /; for p in / /etc /dev /usr; do touch $p/isol8-x 2>&1 | grep -c "Read-only"; done | tr "\n" " "'
is "$d1|$(head -1 <<<"$OUT")|$(tail -1 <<<"$OUT")|$ZH" "$tdev|$tdev|1 1 1 1 |1" \
	"each fork's root is the template (device $tdev), which none of them can write (/, /etc, /dev, /usr)"
capture env ISOL8_NO_POOL=1 "$RUN" -r bash -e 'stat -c %d /'
[ -n "$OUT" ] && [ "$OUT" != "$tdev" ]; ok $? "…where a cold sandbox makes a root of its own (device $OUT)"

# ---- a run cannot reach the zygote --------------------------------------------------------------
zrun -e "kill -0 ${zp% } 2>&1 | sed 's/.* - //'
cat /proc/1/maps >/dev/null 2>&1 && echo 'read init maps' || echo 'init maps refused'
grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/self/status | awk '{print \$2}' | tr '\n' ' '; echo
awk '\$2 ~ /^rw.s/' /proc/self/maps | wc -l
kill -9 -1 2>/dev/null; echo \"kill -1 \$?\"
enable -a | grep -c isol8"
is "$OUT|$ZH" "No such process
init maps refused
65534 0000000000000000 1 2 
0
kill -1 1
0|1" "a fork cannot signal the zygote or read the init, nor find anything to kill; it is the sandbox user, no capabilities, seccomp; the builtin is gone"
zrun -e 'echo after'
is "$OUT|$ZH|$(zygotes)" "after|1|$zp" "the zygote serves on, the same one"

# ---- killed, off, missing -----------------------------------------------------------------------
kill -KILL ${zp% }
for i in $(seq 5); do capture "$RUN" -r bash -e 'echo 3'; [ "$OUT|$RC" = "3|0" ] || break; done
is "$OUT|$RC" "3|0" "a killed zygote: every bash run still succeeds"
zrun -e 'echo 4'
like "$OUT|$ZH|$(zygotes)" "^4\|1\|[0-9]+ $" "…and a new zygote forks again"
[ "$(zygotes)" != "$zp" ]; ok $? "…a new one ($(zygotes)), not $zp"
stop_pool
is "$(kill -0 ${zp% } 2>/dev/null; echo $?)" 1 "the zygote ends with its pool"
start_pool --no-zygote
h0=$(status | jq .warmHits)
capture "$RUN" -r bash -e 'echo 5'
is "$OUT|$(status | jq -c '.kinds | keys')|$(( $(status | jq .warmHits) - h0 ))|$(zygotes)" '5|["plain"]|0|' \
	"--no-zygote: no bash zygote and no warm bash: it runs in a plain pooled sandbox"
stop_pool
# a pool with isol8-zygote.so but not isol8-zygote-bash.so beside it: says so, bash runs cold
mkdir -p "$WORK/lone"; cp "$POOL" "$BIN/isol8-zygote.so" "$WORK/lone/"
"$WORK/lone/isol8-pool" --size 1 --runtimes bash 2>"$WORK/lone.err" & pl=$!
for i in $(seq 200); do grep -q 'not forking bash from a zygote' "$WORK/lone.err" && break; sleep 0.05; done
like "$(head -1 "$WORK/lone.err")" 'isol8-zygote-bash.so is not beside isol8-pool' "no bash zygote library: the pool says where it looked"
like "$(grep -c 'isol8-zygote-bash.so' "$WORK/lone.err") $(grep -c 'not forking bash from a zygote' "$WORK/lone.err")" '^3 1$' \
	"…three tries, then it stops trying until SIGHUP"
capture "$RUN" -r bash -e 'echo 6'
is "$OUT|$RC|$(status | jq .zygoteHits)" "6|0|0" "…and bash runs as before"
stop_pool
finish
