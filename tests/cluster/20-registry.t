#!/usr/bin/env bash
# 20-registry.t — the shared session registry (issue 15): three isol8-serve nodes (--node,
# --advertise, each its own run dir and cgroup parent) keep their sessions in the tables of a
# PostgreSQL this test starts on a unix socket in a temporary directory, behind HAProxy running
# contrib/haproxy.cfg, on loopback:
#  - 30 sessions through the balancer keep their state over 5 calls (one with a body over 64 KB)
#    and each exists once: one registry row, one session directory, on the node the row names;
#  - a node's name in use by a live node elsewhere is refused at start;
#  - a request for a session sent straight to a node that does not hold it is 421 naming the
#    owner and its address, and makes nothing there (nor does a DELETE end it);
#  - GET /sessions of a tenant's key lists the tenant's sessions on every node (node, state),
#    another tenant's none; POST /cleanup removes them on every node (the others at a heartbeat);
#  - a node whose server is SIGKILLed (its keeper marks it stopped): its sessions are 410 through
#    the balancer and never made again elsewhere; the others' still work; a DELETE of a lost one,
#    then a fresh session; restarted with its name and run dir it rejoins, gets back the sessions
#    that outlived it and makes new ones;
#  - a node killed with its keeper (no goodbye): 421 while its heartbeat is within
#    cluster.nodeTimeoutMs, 410 after;
#  - a drained node (SIGTERM) finishes its execution and exits: its sessions "ended", then 410;
#  - at the end nothing is left: no session, sandbox or cgroup on any node (isol8-cleanup
#    --persisted takes what the killed nodes' sessions left).
. "$(dirname "$0")/../integ/lib.sh"
command -v haproxy >/dev/null || { ok 1 "haproxy is installed (make deps)"; finish; exit 1; }
SERVE="$BIN/isol8-serve"
KEY=cluster-key-0123456789abcdef
CFG="$(cd "$(dirname "$0")/../.." && pwd)/contrib/haproxy.cfg"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDIR=$(mktemp -d /tmp/isol8-pg.XXXXXX)
DB="postgresql://isol8@/postgres?host=$PGDIR"
pg_ctl_() { runuser -u nobody -- "$PGBIN/pg_ctl" -D "$PGDIR/data" "$@" >/dev/null 2>&1; }
sql() { (cd / && runuser -u nobody -- "$PGBIN/psql" -h "$PGDIR" -U isol8 postgres -Atc "$1" 2>/dev/null); }
declare -a NODE_PID NODE_URL NODE_DIR PORT
PIDS=()
# on any exit: every process it started killed, the sessions they left stopped, the database gone
on_exit() {
	local n
	kill -KILL ${PIDS[*]:-} 2>/dev/null
	for n in 1 2 3; do
		[ -d "$WORK/node$n" ] && ISOL8_RUN_DIR="$WORK/node$n" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-n$n" \
			"$BIN/isol8-cleanup" --persisted >/dev/null 2>&1
	done
	for n in 1 2 3; do rmdir /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT-n$n" 2>/dev/null; done
	pg_ctl_ -m immediate -w stop
	rm -rf "$PGDIR"
}
trap on_exit EXIT
trap 'exit 1' INT TERM
chown nobody "$PGDIR"
ok $([ -n "$PGBIN" ] && runuser -u nobody -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U isol8 >/dev/null 2>&1 &&
	pg_ctl_ -o "-k $PGDIR -c listen_addresses=" -l "$PGDIR/log" -w start && echo 0 || echo 1) \
	"a PostgreSQL of the test's own, on a unix socket in a temporary directory"
[ -s "$PGDIR/data/postmaster.pid" ] || finish

# the advertised address names the port, so the ports are picked first (--listen: the last wins)
read -r PORT[1] PORT[2] PORT[3] LBPORT < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
# start_node N LOG: node nN on its port, run dir and cgroup parent; sets NODE_PID[N]
start_node() {
	local n=$1 d="$WORK/node$1"
	ISOL8_RUN_DIR="$d" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-n$n" ISOL8_CONFIG="$d/config.json" \
		start_server "$WORK/$2" --key "$KEY" --auth-db "$DB" --node "n$n" --advertise "http://127.0.0.1:${PORT[$n]}" \
		--listen "127.0.0.1:${PORT[$n]}"
	NODE_PID[$n]=$SPID; PIDS+=("$SPID")
}
# sessions never idle out here (autoPrune off): what a SIGKILLed node leaves, isol8-cleanup
# --persisted takes at the end
for n in 1 2 3; do
	d="$WORK/node$n"; mkdir -p "$d"; NODE_DIR[$n]=$d NODE_URL[$n]=http://127.0.0.1:${PORT[$n]}
	echo '{"cluster": {"heartbeatMs": 300, "nodeTimeoutMs": 3000}, "serve": {"maxSessionsPerKey": 64},
	      "cleanup": {"autoPrune": false}}' >"$d/config.json"
	start_node $n node$n.log
done
ready=0
for n in 1 2 3; do
	grep -qxF "       Node: n$n at ${NODE_URL[$n]} (sessions in the shared registry)" "$WORK/node$n.log" && ready=$((ready+1))
done
is "$ready" 3 "three nodes up, each saying in its ready line which node it is and where (Node: nN at URL)"
is "$(sql "select string_agg(name || ' ' || state || ' ' || address, ',' order by name) from isol8_nodes")" \
	"n1 up ${NODE_URL[1]},n2 up ${NODE_URL[2]},n3 up ${NODE_URL[3]}" "…and each joined the registry (isol8_nodes)"

# a second node under a name a live node has, from another run dir: refused
mkdir -p "$WORK/dup"; echo '{}' >"$WORK/dup/config.json"
ISOL8_RUN_DIR="$WORK/dup" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-dup" ISOL8_CONFIG="$WORK/dup/config.json" \
	capture timeout 15 "$SERVE" --listen 127.0.0.1:0 --key "$KEY" --auth-db "$DB" --node n2
is "$RC" 1 "a node named like a live one (n2) from another run dir does not start"
like "$ERR" 'node "n2" is already running on .* \(run dir '"${NODE_DIR[2]}"', heartbeat [0-9]+ ms ago\)' "…saying where that one runs"

ISOL8_LB_BIND=127.0.0.1:$LBPORT ISOL8_NODE1=127.0.0.1:${PORT[1]} ISOL8_NODE2=127.0.0.1:${PORT[2]} \
	ISOL8_NODE3=127.0.0.1:${PORT[3]} haproxy -db -f "$CFG" >"$WORK/haproxy.log" 2>&1 & LB=$!
PIDS+=("$LB")
LBURL=http://127.0.0.1:$LBPORT
for i in $(seq 100); do curl -s -o /dev/null "$LBURL/health" && break; sleep 0.1; done
sleep 2.2 # the health checks have marked every node up (rise 2, inter 1 s)

# ---- helpers -----------------------------------------------------------------------------------
# x URL KEY SID CODE: python CODE in session SID (with its X-Isol8-Session); CODE_ status, OUT body
x() {
	CODE_=$(curl -s -o "$WORK/xb" -w '%{http_code}' --max-time 60 -H "Authorization: Bearer $2" -H "X-Isol8-Session: $3" \
		--data-binary "$(jq -cn --arg s "$3" --arg c "$4" '{sessionId: $s, request: {runtime: "python", code: $c}}')" "$1/execute")
	OUT=$(cat "$WORK/xb")
}
# where SID: the nodes whose run dir has a session SID ("2", "13", "" for none)
where() {
	local n r=
	for n in 1 2 3; do ls "${NODE_DIR[$n]}/sessions" 2>/dev/null | grep -q -- "-$1\$" && r+=$n; done
	echo "$r"
}
# holder SID: the node the registry names for it (the ids are unique over the keys here)
holder() { sql "select node from isol8_sessions where session_id = '$1'"; }
dirs() { local n t=0; for n in 1 2 3; do t=$((t + $(ls "${NODE_DIR[$n]}/sessions" 2>/dev/null | wc -l))); done; echo $t; }
# on N: the c-sessions node N holds (their numbers)
on() { local s; for s in $(seq 30); do [ "$(where "c$s")" = "$1" ] && echo "$s"; done; }
# lb_wait SID: asks the balancer for SID's session until a node answers it (HAProxy takes a dead
# node out after two failed checks: 503 until then)
lb_wait() {
	local i
	for i in $(seq 80); do x "$LBURL" "$KEY" "$1" 'print(n)'; [ "$CODE_" != 503 ] && break; sleep 0.1; done
}

# ---- 30 sessions: state over calls, large bodies, each exactly once ------------------------------
BIG=$(head -c 70000 /dev/zero | tr '\0' '#')
printf '# %s\nprint(n + 1)\n' "$BIG" >"$WORK/big.py"
worker() { # sessions $1, $1 + 6, …: 5 calls each, the last with a 70 KB body; a line per failure
	local s o call e="$WORK/err.$1"
	for s in $(seq "$1" 6 30); do
		"$ISOL8" run --host "$LBURL" --key "$KEY" --persistent --session-id "c$s" -e "n = $s" >/dev/null 2>"$e" ||
			echo "c$s: first call failed: $(tail -1 "$e")"
		for call in 1 2 3; do
			o=$("$ISOL8" run --host "$LBURL" --key "$KEY" --persistent --session-id "c$s" -e "n += 1; print(n)" 2>"$e")
			[ "$o" = $((s + call)) ] || echo "c$s call $call: ${o:0:100} $(tail -1 "$e")"
		done
		o=$("$ISOL8" run --host "$LBURL" --key "$KEY" --persistent --session-id "c$s" "$WORK/big.py" 2>"$e")
		[ "$o" = $((s + 4)) ] || echo "c$s big body: ${o:0:100} $(tail -1 "$e")"
	done
}
W=()
for w in $(seq 6); do worker "$w" >"$WORK/bad.$w" & W+=($!); done
for p in "${W[@]}"; do wait "$p"; done
cat "$WORK"/bad.* | head -5 | while read -r l; do diag "$l"; done
is "$(cat "$WORK"/bad.* | wc -l)" 0 "30 sessions through the balancer (6 clients at once) keep their state over 5 calls, one with a 70 KB body"
is "$(sql "select count(*) from isol8_sessions where state = 'active'")/$(dirs)" 30/30 \
	"…30 active rows in the registry, 30 session directories over the three run dirs"
bad=0
for s in $(seq 30); do w=$(where "c$s"); [ "${#w}" = 1 ] && [ "$(holder "c$s")" = "n$w" ] || { bad=$((bad+1)); diag "c$s: dirs on '$w', registry '$(holder "c$s")'"; }; done
is "$bad" 0 "…each session on exactly one node, the one its row names"
declare -a HELD AT
for n in 1 2 3; do HELD[$n]=$(on $n | tr '\n' ' '); done
for s in $(seq 30); do AT[$s]=$(where "c$s"); done
ok $([ -n "${HELD[1]}" ] && [ -n "${HELD[2]}" ] && [ -n "${HELD[3]}" ] && echo 0 || echo 1) \
	"…spread over all three nodes (n1: ${HELD[1]}; n2: ${HELD[2]}; n3: ${HELD[3]})"

# ---- the wrong node, directly: 421 naming the owner ---------------------------------------------------
h=$(where c1) o=$(( $(where c1) % 3 + 1 ))
x "${NODE_URL[$o]}" "$KEY" c1 'n = 0'
is "$CODE_" 421 "POST /execute of c1 straight to n$o, which does not hold it: 421"
is "$(jq -r .error <<<"$OUT")" "Misdirected Request: session c1 is held by node n$h (${NODE_URL[$h]}): send its requests there, or through the load balancer with the X-Isol8-Session header" \
	"…the error names the node that holds it and its address"
is "$(jq -c '[.node, .address]' <<<"$OUT")" "[\"n$h\",\"${NODE_URL[$h]}\"]" "…and so do node and address (the owner, n$h)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "${NODE_URL[$o]}/file?sessionId=c1&path=/sandbox/x")
code2=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $KEY" "${NODE_URL[$o]}/session/c1")
is "$code/$code2" 421/421 "…GET /file and DELETE /session/c1 there: 421 too"
x "$LBURL" "$KEY" c1 'print(n)'
is "$CODE_/$(jq -r .stdout <<<"$OUT")/$(where c1)/$(holder c1)" "200/4/$h/n$h" \
	"…no copy made on n$o, the session untouched (its state, its one directory, its row)"

# ---- tenants: listings over every node, cleanup over every node -------------------------------------
newkey() { curl -s -H "Authorization: Bearer $KEY" --data-binary "{\"name\":\"$1\",\"tenantId\":\"$2\"}" "$LBURL/auth/keys" | jq -r .key; }
A=$(newkey a1 A) B=$(newkey b1 B)
like "$A $B" '^isol8_[0-9a-f]{64} isol8_[0-9a-f]{64}$' "the master key makes a key for tenant A and one for B (POST /auth/keys through the balancer)"
bad=0
for i in $(seq 6); do
	x "$LBURL" "$A" "a$i" "v = $i"
	[ "$CODE_" = 200 ] || { bad=$((bad+1)); diag "a$i: $CODE_ $OUT"; }
done
is "$bad" 0 "tenant A's key makes sessions a1…a6 through the balancer"
OUT=$(curl -s -H "Authorization: Bearer $A" "$LBURL/sessions")
want= nodes=
for i in $(seq 6); do want+="a$i python false $(holder "a$i") active,"; nodes+="$(where "a$i")"$'\n'; done
is "$(jq -r '[.sessions[] | "\(.id) \(.runtime) \(.isActive) \(.node) \(.state)"] | sort | join(",")' <<<"$OUT")," "$want" \
	"GET /sessions with A's key: all six, each with its runtime, isActive, node (the registry's) and state"
nn=$(sort -u <<<"$nodes" | grep -c .)
ok $([ "$nn" -ge 2 ] && echo 0 || echo 1) "…held by $nn different nodes, listed by whichever node answered"
is "$(curl -s -H "Authorization: Bearer $B" "$LBURL/sessions" | jq -c .sessions)" "[]" "tenant B's key lists none of them"
is "$(curl -s -H "Authorization: Bearer $KEY" "$LBURL/sessions" | jq -r '([.sessions[].id | select(startswith("c"))] | length), ([.sessions[].id | select(startswith("a"))] | length)' | tr '\n' ' ')" \
	"30 0 " "the master key lists its 30 sessions over the nodes, and none of A's"
OUT=$(curl -s -H "Authorization: Bearer $A" --data-binary '{}' "$LBURL/cleanup")
is "$(jq -c '[.ok, .sessions.removed, .sessions.failed, .sessions.errors]' <<<"$OUT")" '[true,6,0,[]]' \
	"POST /cleanup with A's key through the balancer: ok, sessions removed 6 (on every node)"
is "$(curl -s -H "Authorization: Bearer $A" "$LBURL/sessions" | jq -c .sessions)" "[]" "…GET /sessions lists none afterwards"
for i in $(seq 50); do [ -z "$(for s in a1 a2 a3 a4 a5 a6; do where $s; done)" ] && break; sleep 0.1; done
is "$(for s in a1 a2 a3 a4 a5 a6; do where $s; done | tr -d '\n')" "" "…and within a few heartbeats no node keeps one of them"
for i in $(seq 30); do [ "$(sql "select count(*) from isol8_sessions where session_id like 'a%'")" = 0 ] && break; sleep 0.1; done
is "$(sql "select count(*) from isol8_sessions where session_id like 'a%'")/$(dirs)" 0/30 "…nor the registry (their tombstones gone); the master key's 30 are there"

# ---- a node's server SIGKILLed: its keeper says so, its sessions 410 ------------------------------------
L1=(${HELD[1]})
rows=$(sql "select count(*) from isol8_sessions")
kill -KILL "${NODE_PID[1]}"; wait "${NODE_PID[1]}" 2>/dev/null
for i in $(seq 30); do [ "$(sql "select state from isol8_nodes where name = 'n1'")" = stopped ] && break; sleep 0.1; done
is "$(sql "select state from isol8_nodes where name = 'n1'")/$(sql "select string_agg(distinct state, ',') from isol8_sessions where node = 'n1'")" \
	stopped/ended "n1's server SIGKILLed: its keeper marks the node stopped and its sessions ended at once"
lb_wait "c${L1[0]}"
is "$CODE_ $OUT" '410 {"error":"Session lost: its node n1 is no longer available"}' "…its session c${L1[0]} through the balancer: 410"
bad=0
for s in "${L1[@]}"; do x "$LBURL" "$KEY" "c$s" 'print(n)'; [ "$CODE_" = 410 ] || { bad=$((bad+1)); diag "c$s: $CODE_ $OUT"; }; done
is "$bad" 0 "…every one of n1's ${#L1[@]} sessions: 410"
bad=0
for s in ${HELD[2]} ${HELD[3]}; do x "$LBURL" "$KEY" "c$s" 'print(n)'; [ "$CODE_/$(jq -r .stdout <<<"$OUT")" = "200/$((s + 3))" ] || { bad=$((bad+1)); diag "c$s: $CODE_ $OUT"; }; done
is "$bad" 0 "…the other nodes' sessions still work, with their state"
same=0
for s in $(seq 30); do [ "$(where "c$s")" = "${AT[$s]}" ] && same=$((same+1)); done
is "$(sql "select count(*) from isol8_sessions")/$(dirs)/$same" "$rows/30/30" "…and none was made again elsewhere (rows, directories, each where it was)"
OUT=$(curl -s -H "Authorization: Bearer $KEY" "$LBURL/sessions")
is "$(jq -r '[.sessions[] | select(.node == "n1") | .state] | unique | join(",")' <<<"$OUT") $(jq -r '[.sessions[] | select(.node != "n1") | .state] | unique | join(",")' <<<"$OUT")" \
	"lost active" "GET /sessions: n1's sessions are lost, the others active"
S=c${L1[0]}
code=$(curl -s -o "$WORK/b" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $KEY" -H "X-Isol8-Session: $S" "$LBURL/session/$S")
is "$code $(cat "$WORK/b")" '200 {"ok":true}' "DELETE /session/$S (lost) through the balancer: 200"
x "$LBURL" "$KEY" "$S" 'print(n)'
like "$CODE_ $(jq -r .stderr <<<"$OUT" | tail -1)" "^200 NameError: name 'n' is not defined" "…then $S again is a fresh session (its old n is gone)"
nw=$(holder "$S")
ok $([ "$nw" = n2 ] || [ "$nw" = n3 ] && [ "$(where "$S")" = "1${nw#n}" ] && echo 0 || echo 1) \
	"…made on a live node ($nw; n1's own copy is still there, its server dead)"

# ---- n1 restarted with its name and run dir ---------------------------------------------------------
start_node 1 node1.again.log
ok $(grep -qxF "       Node: n1 at ${NODE_URL[1]} (sessions in the shared registry)" "$WORK/node1.again.log" && echo 0 || echo 1) \
	"n1 restarted with the same name and run dir: it starts"
is "$(sql "select state from isol8_nodes where name = 'n1'")" up "…rejoins the registry"
is "$(sql "select count(*) from isol8_sessions where node = 'n1' and state = 'active'")/$(where "$S")" \
	"$((${#L1[@]} - 1))/${nw#n}" "…its sessions that outlived its server are active again, the copy of $S (now $nw's) ended"
# HAProxy marks n1 up again after two good checks (rise 2, inter 1 s); until then its sessions
# reach n2 or n3, which answer 421 and change nothing
for i in $(seq 100); do x "$LBURL" "$KEY" "c${L1[1]}" 'print(n)'; [ "$CODE_" = 200 ] && break; sleep 0.1; done
bad=0
for s in "${L1[@]:1}"; do x "$LBURL" "$KEY" "c$s" 'print(n)'; [ "$CODE_/$(jq -r .stdout <<<"$OUT")" = "200/$((s + 3))" ] || { bad=$((bad+1)); diag "c$s: $CODE_ $OUT"; }; done
is "$bad" 0 "…and serves them again through the balancer, with their state"
x "${NODE_URL[1]}" "$KEY" r1 'print("new")'
is "$CODE_/$(jq -r .stdout <<<"$OUT")/$(holder r1)/$(where r1)" 200/new/n1/1 "…and makes new sessions"

# ---- n2 killed with its keeper: 421 until the node timeout, then 410 ----------------------------------
L2=(${HELD[2]})
KEEPER=$(pgrep -o -P "${NODE_PID[2]}")
ok $([ -n "$KEEPER" ] && [ "$(readlink "/proc/$KEEPER/exe")" = "$(readlink -f "$SERVE")" ] && echo 0 || echo 1) "n2's keeper is its oldest child ($KEEPER)"
kill -KILL "$KEEPER" "${NODE_PID[2]}"; wait "${NODE_PID[2]}" 2>/dev/null
T0=$(date +%s%N)
x "${NODE_URL[3]}" "$KEY" "c${L2[0]}" 'print(n)'
is "$CODE_ $(jq -c '[.node, .address]' <<<"$OUT")" "421 [\"n2\",\"${NODE_URL[2]}\"]" \
	"n2 and its keeper SIGKILLed: at once n2 still looks alive (heartbeat within 3000 ms): 421 naming n2"
for i in $(seq 100); do x "${NODE_URL[3]}" "$KEY" "c${L2[0]}" 'print(n)'; [ "$CODE_" = 410 ] && break; sleep 0.1; done
ms=$(( ($(date +%s%N) - T0) / 1000000 ))
is "$CODE_ $OUT" '410 {"error":"Session lost: its node n2 is no longer available"}' "…once its last heartbeat is cluster.nodeTimeoutMs (3000) old: 410"
ok $([ "$ms" -ge 2000 ] && echo 0 || echo 1) "…not long before (${ms} ms after the kill; heartbeats every 300 ms, late ones under load)"
lb_wait "c${L2[1]:-${L2[0]}}"
is "$CODE_ $OUT" '410 {"error":"Session lost: its node n2 is no longer available"}' "…and through the balancer"
is "$(sql "select string_agg(distinct state, ',') from isol8_sessions where node = 'n2'")/$(dirs)" "active/31" \
	"…its rows still say active (nobody said goodbye), and no session was made again (no directory more than the fresh $S, r1)"

# ---- n3 drained --------------------------------------------------------------------------------------
L3=(${HELD[3]})
( x "$LBURL" "$KEY" "c${L3[0]}" 'import time; time.sleep(2); print("finished")'; echo "$CODE_ $(jq -r .stdout <<<"$OUT")" >"$WORK/long.out" ) & LONG=$!
wait_session_busy "${NODE_DIR[3]}" "c${L3[0]}"
kill -TERM "${NODE_PID[3]}"
wait "$LONG"
is "$(cat "$WORK/long.out")" "200 finished" "n3 drained (SIGTERM): its running execution finishes"
for i in $(seq 100); do kill -0 "${NODE_PID[3]}" 2>/dev/null || break; sleep 0.1; done
ok $(kill -0 "${NODE_PID[3]}" 2>/dev/null && echo 1 || echo 0) "…and it exits"
is "$(sql "select state from isol8_nodes where name = 'n3'")/$(sql "select string_agg(distinct state, ',') from isol8_sessions where node = 'n3'")" \
	stopped/ended "…the node stopped, its sessions ended in the registry"
x "${NODE_URL[1]}" "$KEY" "c${L3[0]}" 'print(n)'
is "$CODE_ $OUT" '410 {"error":"Session lost: its node n3 is no longer available"}' "…then 410 from the other nodes"
lb_wait "c${L3[1]:-${L3[0]}}"
is "$CODE_ $OUT" '410 {"error":"Session lost: its node n3 is no longer available"}' "…and through the balancer"

# ---- the end: cleanup through the one node left, then nothing left anywhere -----------------------------
R=$(sql "select count(*) from isol8_sessions where state <> 'deleted' and session_id similar to '(c|r)[0-9]+'")
OUT=$(curl -s -H "Authorization: Bearer $KEY" --data-binary '{}' "$LBURL/cleanup")
is "$(jq -c '[.ok, .sessions.removed, .sessions.failed]' <<<"$OUT")" "[true,$R,0]" \
	"POST /cleanup with the master key: every one of its $R sessions removed, lost ones included"
is "$(curl -s -H "Authorization: Bearer $KEY" "$LBURL/sessions" | jq -c .sessions)/$(ls "${NODE_DIR[1]}/sessions" | wc -l)" \
	"[]/0" "…GET /sessions lists none; the live n1 keeps none"
kill -TERM "${NODE_PID[1]}" "$LB"
for p in "${NODE_PID[1]}" "$LB"; do wait "$p" 2>/dev/null; done
alive=0
for n in 1 2 3; do kill -0 "${NODE_PID[$n]}" 2>/dev/null && alive=$((alive+1)); done
is "$alive/$(sql "select string_agg(state, ',' order by name) from isol8_nodes")" "0/stopped,up,stopped" \
	"every node stopped (n2, killed with its keeper, never said so)"
PIDS=()
for n in 1 2 3; do
	ISOL8_RUN_DIR="${NODE_DIR[$n]}" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-n$n" "$BIN/isol8-cleanup" --persisted >/dev/null 2>&1
	left=$(ls "${NODE_DIR[$n]}/sessions" "${NODE_DIR[$n]}/sandboxes" 2>/dev/null | grep -cv ':$\|^$' || true)
	cg=0
	for c in memory pids cpu cpuacct unified; do
		p=/sys/fs/cgroup/$c/$ISOL8_CGROUP_PARENT-n$n
		[ -d "$p" ] && cg=$((cg + $(find "$p" -mindepth 1 -type d | wc -l)))
	done
	is "$left/$cg" 0/0 "n$n: after isol8-cleanup --persisted, no session, sandbox or cgroup left"
	for c in /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT-n$n"; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
done
finish
