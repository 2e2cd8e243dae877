#!/usr/bin/env bash
# 30-nginx.t — three isol8-serve nodes (each its own run dir and cgroup parent) behind nginx
# running contrib/nginx.conf itself (its address placeholders replaced in a copy), on loopback,
# with every file nginx writes in a temporary prefix:
#  - sessions made through nginx keep their state over several calls, including a call whose
#    body is over 64 KB (routed by the X-Isol8-Session header), and each exists on one node only;
#    file put and get, and SSE streaming (each event as it happens), through it;
#  - a body over nginx's default limit (1 MiB) passes, one over the nodes' 16 MiB does not;
#  - ephemeral requests are spread over the nodes;
#  - an MCP client (initialize, then calls) stays on the node that issued its Mcp-Session-Id.
# Open-source nginx has no active health checks, so the drain of 10-haproxy.t is not repeated.
. "$(dirname "$0")/../integ/lib.sh"
. "$(dirname "$0")/lib.sh"
# make deps installs nginx: a missing one is a broken set-up, not a reason to skip
command -v nginx >/dev/null || { ok 1 "nginx is installed (make deps)"; finish; exit 1; }
SERVE="$BIN/isol8-serve"
KEY=cluster-key-0123456789abcdef
CFG="$(cd "$(dirname "$0")/../.." && pwd)/contrib/nginx.conf"
declare -a NODE_PID NODE_URL NODE_DIR
PIDS=()
# nginx's prefix: its workers run as nobody and must enter it (mktemp makes it 0700)
NGX=$(mktemp -d /tmp/isol8-nginx.XXXXXX); chmod 755 "$NGX"
trap 'kill ${PIDS[*]:-} 2>/dev/null; for p in ${PIDS[*]:-}; do wait "$p" 2>/dev/null; done; rm -rf "$NGX"' EXIT
for n in 1 2 3; do
	d="$WORK/node$n"; mkdir -p "$d"; echo '{}' >"$d/config.json"
	ISOL8_RUN_DIR="$d" ISOL8_CGROUP_PARENT="$ISOL8_CGROUP_PARENT-n$n" ISOL8_CONFIG="$d/config.json" \
		start_server "$WORK/node$n.log" --key "$KEY"
	NODE_PID[$n]=$SPID NODE_URL[$n]=$URL NODE_DIR[$n]=$d; PIDS+=("$SPID")
done
LBPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/ISOL8_LB_BIND/127.0.0.1:$LBPORT/" -e "s/ISOL8_NODE1/${NODE_URL[1]#http://}/" \
	-e "s/ISOL8_NODE2/${NODE_URL[2]#http://}/" -e "s/ISOL8_NODE3/${NODE_URL[3]#http://}/" "$CFG" >"$NGX/nginx.conf"
nginx -c "$NGX/nginx.conf" -p "$NGX" -g 'daemon off;' >"$NGX/stderr" 2>&1 & LB=$!
PIDS+=("$LB")
LBURL=http://127.0.0.1:$LBPORT
for i in $(seq 100); do curl -s -o /dev/null "$LBURL/health" && break; sleep 0.1; done
is "$(curl -s "$LBURL/health" | jq -r .status)" ok "nginx with contrib/nginx.conf answers in front of three nodes"
[ -s "$NGX/stderr" ] && diag "nginx: $(head -5 "$NGX/stderr")"

# ---- sessions: state over calls, large bodies, files, SSE ----------------------------------------
sessions_through "$LBURL" "nginx" 2
# …and each event arrives as it happens, not when the execution ends (buffering would hold it):
# gap URL BODY CURL-ARGS…: the ms between the arrival of the line with "first and of the one with
# "last (printed 1.5 s apart)
PRINTS='import time\nprint(\"first\", flush=True)\ntime.sleep(1.5)\nprint(\"last\")'
gap() {
	local url=$1 body=$2 a b; shift 2
	curl -sN "$@" --data-binary "$body" "$url" | while IFS= read -r l; do printf '%s %s\n' "$(date +%s%N)" "$l"; done >"$WORK/sse"
	a=$(grep -m1 '"first' "$WORK/sse" | cut -d' ' -f1) b=$(grep -m1 '"last' "$WORK/sse" | cut -d' ' -f1)
	if [ -n "$a" ] && [ -n "$b" ]; then echo $(( (b - a) / 1000000 )); else echo "none: $(cut -c1-300 "$WORK/sse")"; fi
}
g=$(gap "$LBURL/execute/stream" "{\"sessionId\":\"c2\",\"request\":{\"runtime\":\"python\",\"code\":\"$PRINTS\"}}" "${H[@]}" -H 'X-Isol8-Session: c2')
ok $([ "$g" -ge 1000 ] 2>/dev/null && echo 0 || echo 1) "…each event as it happens: the first arrives $g ms before the last"

# ---- body limits ---------------------------------------------------------------------------------
python3 -c 'import json; print(json.dumps({"request":{"runtime":"python","code":"#"+"x"*2000000+"\nprint(7)"}}))' >"$WORK/2m.json"
code=$(curl -s -o "$WORK/b" -w '%{http_code}' "${H[@]}" --data-binary @"$WORK/2m.json" "$LBURL/execute")
is "$code/$(jq -r .stdout "$WORK/b" 2>/dev/null)" 200/7 "a 2 MB body passes (nginx's own default limit is 1 MiB)"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$WORK/17m"
code=$(curl -s -o "$WORK/b" -w '%{http_code}' "${H[@]}" --data-binary @"$WORK/17m" "$LBURL/execute")
grep -q '<center>nginx' "$WORK/b" && by=nginx || by="not nginx: $(head -c 200 "$WORK/b")"
is "$code by $by" "413 by nginx" "a body over 16 MiB (the nodes' limit) is refused by nginx itself (413)"
rm -f "$WORK/17m" "$WORK/2m.json"

# ---- ephemeral requests spread ---------------------------------------------------------------
bash_runs() { curl -s -H "Authorization: Bearer $KEY" "${NODE_URL[$1]}/metrics" | awk '/^isol8_executions_total\{runtime="bash"/ {s += $2} END {print s + 0}'; }
declare -a BEFORE
for n in 1 2 3; do BEFORE[$n]=$(bash_runs $n); done
EPH=()
for i in $(seq 12); do
	curl -s -o /dev/null "${H[@]}" --data-binary '{"request":{"runtime":"bash","code":"sleep 0.2"}}' "$LBURL/execute" &
	EPH+=($!)
done
for p in "${EPH[@]}"; do wait "$p" 2>/dev/null; done
served=0 total=0
for n in 1 2 3; do
	c=$(( $(bash_runs $n) - BEFORE[n] )); total=$((total + c))
	[ "$c" -gt 0 ] && served=$((served+1))
done
is "$total" 12 "12 ephemeral requests at once through nginx: all ran"
ok $([ "$served" -ge 2 ] && echo 0 || echo 1) "…on $served of 3 nodes (least connections)"

# ---- MCP stays on the node that issued its id -----------------------------------------------
M=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sid=$(curl -s -D - -o /dev/null "${M[@]}" --data-binary '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}' "$LBURL/mcp" |
	tr -d '\r' | sed -n 's/^Mcp-Session-Id: //Ip')
like "$sid" '^[0-9a-f]{32}$' "MCP initialize through nginx: an Mcp-Session-Id"
bad=0
for i in $(seq 6); do
	o=$(curl -s "${M[@]}" -H "Mcp-Session-Id: $sid" --data-binary \
		"{\"jsonrpc\":\"2.0\",\"id\":$((i+1)),\"method\":\"tools/call\",\"params\":{\"name\":\"run_code\",\"arguments\":{\"language\":\"python\",\"code\":\"print($i)\"}}}" \
		"$LBURL/mcp" | jq -r .result.structuredContent.stdout)
	[ "$o" = "$i" ] || { bad=$((bad+1)); diag "MCP call $i: $o"; }
done
is "$bad" 0 "…and its calls stay on that node (the client's address is hashed)"
# a call with a progressToken streams its output as progress notifications (SSE), and /mcp's reply
# does not ask nginx not to buffer (X-Accel-Buffering) as /execute/stream's does
g=$(gap "$LBURL/mcp" "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"_meta\":{\"progressToken\":1},\"name\":\"run_code\",\"arguments\":{\"language\":\"python\",\"code\":\"$PRINTS\"}}}" \
	"${M[@]}" -H "Mcp-Session-Id: $sid")
ok $([ "$g" -ge 1000 ] 2>/dev/null && echo 0 || echo 1) "…its progress notifications stream: the first arrives $g ms before the last"
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $KEY" -H "Mcp-Session-Id: $sid" "$LBURL/mcp"

# ---- the end: every session deleted, nginx and the nodes gone, nothing left --------------------------
for s in $(seq 10); do "$BIN/isol8-session" stop "c$s" --host "$LBURL" --key "$KEY" >/dev/null 2>&1; done
WORKERS=$(pgrep -P "$LB" | tr '\n' ' ')
kill "${PIDS[@]}" 2>/dev/null
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
alive=0
for p in $WORKERS; do kill -0 "$p" 2>/dev/null && alive=$((alive+1)); done
is "$alive" 0 "nginx stopped with its workers (${WORKERS:-none seen})"
for n in 1 2 3; do
	for s in $(ls "${NODE_DIR[$n]}/sessions" 2>/dev/null); do ISOL8_RUN_DIR="${NODE_DIR[$n]}" "$BIN/isol8-session" delete "$s" >/dev/null 2>&1; done
	left=$(ls "${NODE_DIR[$n]}/sessions" "${NODE_DIR[$n]}/sandboxes" 2>/dev/null | grep -cv ':$\|^$' || true)
	is "$left" 0 "node $n: no session or sandbox left"
	for c in /sys/fs/cgroup/*/"$ISOL8_CGROUP_PARENT-n$n"; do [ -d "$c" ] && rmdir "$c"/* "$c" 2>/dev/null; done
done
finish
