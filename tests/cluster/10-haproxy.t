#!/usr/bin/env bash
# 10-haproxy.t — three isol8-serve nodes (each its own run dir and cgroup parent) behind HAProxy
# running contrib/haproxy.cfg itself, on loopback:
#  - sessions made through the balancer keep their state over several calls, including calls
#    whose body is over 64 KB (a balancer that reads the body sees only its first buffer: the
#    X-Isol8-Session header routes them); file put and get, and SSE streaming, through it;
#  - ephemeral requests are spread over every node;
#  - an MCP client (initialize, then calls) sticks to the node that issued its Mcp-Session-Id;
#  - a node drained with SIGTERM finishes its running execution, its health turns 503 and the
#    balancer sends it no new work.
# The shared session registry of the nodes (421 to the owner, 410 for a lost node): 20-registry.t.
. "$(dirname "$0")/../integ/lib.sh"
. "$(dirname "$0")/lib.sh"
command -v haproxy >/dev/null || { ok 1 "haproxy is installed (make deps)"; finish; exit 1; }
SERVE="$BIN/isol8-serve"
KEY=cluster-key-0123456789abcdef
CFG="$(cd "$(dirname "$0")/../.." && pwd)/contrib/haproxy.cfg"
declare -a NODE_PID NODE_URL NODE_DIR
PIDS=()
trap 'kill ${PIDS[*]:-} 2>/dev/null' EXIT
for n in 1 2 3; do
	d="$WORK/node$n"; mkdir -p "$d"; echo '{}' >"$d/config.json"
	ISOL8_RUN_DIR="$d" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-n$n" ISOL8_CONFIG="$d/config.json" \
		start_server "$WORK/node$n.log" --key "$KEY"
	NODE_PID[$n]=$SPID NODE_URL[$n]=$URL NODE_DIR[$n]=$d; PIDS+=("$SPID")
done
LBPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ISOL8_LB_BIND=127.0.0.1:$LBPORT ISOL8_NODE1=${NODE_URL[1]#http://} ISOL8_NODE2=${NODE_URL[2]#http://} \
	ISOL8_NODE3=${NODE_URL[3]#http://} haproxy -db -f "$CFG" >"$WORK/haproxy.log" 2>&1 & LB=$!
PIDS+=("$LB")
LBURL=http://127.0.0.1:$LBPORT
for i in $(seq 100); do curl -s -o /dev/null "$LBURL/health" && break; sleep 0.1; done
sleep 2.5 # the health checks have marked every node up (rise 2, inter 1 s)
is "$(curl -s "$LBURL/health" | jq -r .status)" ok "HAProxy with contrib/haproxy.cfg answers in front of three nodes"

# ---- sessions: state over calls, large bodies, files, SSE ----------------------------------------
sessions_through "$LBURL" "the balancer" 3

# ---- ephemeral requests spread ---------------------------------------------------------------
EPH=()
for i in $(seq 12); do
	curl -s -o /dev/null "${H[@]}" --data-binary '{"request":{"runtime":"bash","code":"sleep 0.2"}}' "$LBURL/execute" &
	EPH+=($!)
done
for p in "${EPH[@]}"; do wait "$p" 2>/dev/null; done
served=0
for n in 1 2 3; do
	c=$(curl -s -H "Authorization: Bearer $KEY" "${NODE_URL[$n]}/metrics" | awk '/^isol8_executions_total\{runtime="bash"/ {s += $2} END {print s + 0}')
	[ "$c" -gt 0 ] && served=$((served+1))
done
is "$served" 3 "12 ephemeral requests at once: every node ran some (least connections)"

# ---- MCP sticks to the node that issued its id ----------------------------------------------
M=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sid=$(curl -s -D - -o /dev/null "${M[@]}" --data-binary '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}' "$LBURL/mcp" |
	tr -d '\r' | sed -n 's/^Mcp-Session-Id: //Ip')
like "$sid" '^[0-9a-f]{32}$' "MCP initialize through the balancer: an Mcp-Session-Id"
bad=0
for i in $(seq 6); do
	o=$(curl -s "${M[@]}" -H "Mcp-Session-Id: $sid" --data-binary \
		"{\"jsonrpc\":\"2.0\",\"id\":$((i+1)),\"method\":\"tools/call\",\"params\":{\"name\":\"run_code\",\"arguments\":{\"language\":\"python\",\"code\":\"print($i)\"}}}" \
		"$LBURL/mcp" | jq -r .result.structuredContent.stdout)
	[ "$o" = "$i" ] || { bad=$((bad+1)); diag "MCP call $i: $o"; }
done
is "$bad" 0 "…and its calls stick to that node (a hash of the id would miss it)"
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $KEY" -H "Mcp-Session-Id: $sid" "$LBURL/mcp"

# ---- a node drained with SIGTERM ----------------------------------------------------------------
# find the node holding session c3, start a long exec there, drain it
for n in 1 2 3; do [ -n "$(ls "${NODE_DIR[$n]}/sessions" 2>/dev/null | grep -- '-c3$')" ] && dn=$n; done
"$ISOL8" run --host "$LBURL" --key "$KEY" --persistent --session-id c3 -e 'import time; time.sleep(2); print("finished")' \
	>"$WORK/long.out" 2>/dev/null & LONG=$!
# drained once the exec runs there (its session's meta.json says busy), not after a fixed head start
wait_session_busy "${NODE_DIR[$dn]}" c3
kill -TERM "${NODE_PID[$dn]}"
sleep 2.5 # two failed checks: HAProxy takes the node out
for i in $(seq 9); do curl -s -o /dev/null "${H[@]}" --data-binary '{"request":{"runtime":"bash","code":"true"}}' "$LBURL/execute"; done
wait "$LONG"
is "$(cat "$WORK/long.out")" finished "the drained node finishes its running execution"
ok $(grep -q 'Draining' "$WORK/node$dn.log" && echo 0 || echo 1) "…says it drains"
for i in $(seq 100); do kill -0 "${NODE_PID[$dn]}" 2>/dev/null || break; sleep 0.1; done
ok $(kill -0 "${NODE_PID[$dn]}" 2>/dev/null && echo 1 || echo 0) "…and exits"
code=$(curl -s -o "$WORK/b" -w '%{http_code}' "${H[@]}" --data-binary '{"request":{"runtime":"bash","code":"echo ok"}}' "$LBURL/execute")
is "$code/$(jq -r .stdout "$WORK/b")" "200/ok" "new work goes to the other nodes"

# ---- the end: every session deleted, nothing left on any node --------------------------------------
for s in $(seq 10); do "$BIN/isol8-session" stop "c$s" --host "$LBURL" --key "$KEY" >/dev/null 2>&1; done
kill "${PIDS[@]:0:4}" 2>/dev/null
for p in "${PIDS[@]:0:4}"; do wait "$p" 2>/dev/null; done
PIDS=()
# the drained node's sessions outlive it (a restart keeps them): remove them as its operator would
ISOL8_RUN_DIR="${NODE_DIR[$dn]}" "$BIN/isol8-cleanup" >/dev/null 2>&1
for n in 1 2 3; do
	for s in $(ls "${NODE_DIR[$n]}/sessions" 2>/dev/null); do ISOL8_RUN_DIR="${NODE_DIR[$n]}" "$BIN/isol8-session" delete "$s" >/dev/null 2>&1; done
	left=$(ls "${NODE_DIR[$n]}/sessions" "${NODE_DIR[$n]}/sandboxes" 2>/dev/null | grep -cv ':$\|^$' || true)
	is "$left" 0 "node $n: no session or sandbox left"
	for c in /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT-n$n"; do [ -d "$c" ] && rmdir "$c"/* "$c" 2>/dev/null; done
done
finish
