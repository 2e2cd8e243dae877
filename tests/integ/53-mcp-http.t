#!/usr/bin/env bash
# 53-mcp-http.t — what the MCP server refuses and what the operator decides (another tenant of
# the key database is tried as well as another static key):
#  - /mcp on isol8-serve: no key (401) or a wrong key (403), another key's Mcp-Session-Id (404, and its
#    sessions unknown to the other key), an Origin not listed (403, the DNS-rebinding attack) and
#    one listed, an unknown MCP-Protocol-Version (400), GET (405), no Mcp-Session-Id (400), a
#    malformed one (404), a body over serve.maxBodyBytes (413), DELETE ending the client;
#  - mcp.* config: languages, maxTimeoutMs, timeoutMs, maxSessions, and values refused at start.
#  - list_files and read_file against planted links and FIFOs.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
MCP="$BIN/isol8-mcp"
KA=mcp-key-a-0123456789abcdef KB=mcp-key-b-0123456789abcdef
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'

# post KEY SID BODY [HEADER…]: CODE, OUT (body), HDR (headers)
post() {
	local k=$1 s=$2 b=$3 args=(-s -D "$WORK/hdr" -o "$WORK/body" -w '%{http_code}' --max-time 60
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
	shift 3
	[ -n "$k" ] && args+=(-H "Authorization: Bearer $k")
	[ -n "$s" ] && args+=(-H "Mcp-Session-Id: $s")
	for h in "$@"; do args+=(-H "$h"); done
	CODE=$(curl "${args[@]}" --data-binary "$b" "$URL/mcp"); OUT=$(cat "$WORK/body"); HDR=$(tr -d '\r' <"$WORK/hdr")
}
call() { # call KEY SID ID TOOL ARGS-JSON
	post "$1" "$2" "{\"jsonrpc\":\"2.0\",\"id\":$3,\"method\":\"tools/call\",\"params\":{\"name\":\"$4\",\"arguments\":$5}}"
}

cat >"$WORK/c.json" <<'JSON'
{"mcp": {"allowedOrigins": ["https://agent.example"]}, "serve": {"maxBodyBytes": 65536}}
JSON
ISOL8_CONFIG="$WORK/c.json" start_server "$WORK/s.log" --key "$KA" --key "$KB"
trap 'kill ${SPID:-} 2>/dev/null' EXIT

post "" "" "$INIT"
is "$CODE" 401 "/mcp without a key: 401"
post "wrong-key-0123456789abcdef" "" "$INIT"
is "$CODE" 403 "…with a key the server does not know: 403"
post "$KA" "" "$INIT"
SA=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
is "$CODE/$(jqr .result.serverInfo.name)" "200/isol8" "initialize: 200, the server's info"
like "$SA" '^[0-9a-f]{32}$' "…and an Mcp-Session-Id"
post "$KA" "$SA" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
is "$CODE" 202 "a notification: 202"
call "$KA" "$SA" 2 create_session '{"language":"python","name":"secret-work"}'
is "$CODE/$(jqr .result.structuredContent.sessionId)" "200/secret-work" "key A creates a named session"
call "$KA" "$SA" 3 run_code '{"language":"python","code":"x = 7","sessionId":"secret-work"}'
is "$(jqr .result.isError)" false "…and runs in it"

# the attack: key B replays key A's Mcp-Session-Id, then names A's session
post "$KB" "$SA" '{"jsonrpc":"2.0","id":4,"method":"tools/list"}'
is "$CODE" 404 "key B with key A's Mcp-Session-Id: 404, as one never issued"
post "$KB" "" "$INIT"
SB=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
call "$KB" "$SB" 5 run_code '{"language":"python","code":"print(x)","sessionId":"secret-work"}'
is "$(jqr .result.isError)" true "key B naming key A's session: not found…"
like "$(jqr '.result.content[0].text')" '^Unknown session: secret-work' "…Unknown session"
call "$KB" "$SB" 6 list_sessions '{}'
is "$(jqr '.result.structuredContent.sessions | length')" 0 "…and B's list_sessions has none of A's"
call "$KB" "$SB" 7 close_session '{"sessionId":"secret-work"}'
is "$(jqr .result.isError)" true "…nor can B close it"
call "$KA" "$SA" 8 run_code '{"language":"python","code":"print(x)","sessionId":"secret-work"}'
is "$(jqr '.result.structuredContent.stdout')" 7 "…which still holds A's state"

# tenants: database keys of two tenants, the same attack
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
ISOL8_CONFIG="$WORK/c.json" start_server "$WORK/t.log" --key "$KA" --auth-db "$WORK/keys.db"
req POST /auth/keys "$KA" '{"name":"a","tenantId":"acme"}'; TA=$(jqr .key)
req POST /auth/keys "$KA" '{"name":"b","tenantId":"globex"}'; TB=$(jqr .key)
post "$TA" "" "$INIT"
ST=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
call "$TA" "$ST" 2 create_session '{"language":"python","name":"acme-work"}'
is "$CODE/$(jqr .result.isError)" "200/false" "tenant acme's key opens an MCP session and a session"
post "$TB" "$ST" '{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
is "$CODE" 404 "tenant globex with acme's Mcp-Session-Id: 404"
post "$TB" "" "$INIT"
SG=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
call "$TB" "$SG" 4 run_code '{"language":"python","code":"print(1)","sessionId":"acme-work"}'
is "$(jqr .result.isError)" true "…and naming acme's session: unknown"
call "$TA" "$ST" 5 close_session '{"sessionId":"acme-work"}'
is "$(jqr .result.structuredContent.closed)" true "acme closes its own"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
ISOL8_CONFIG="$WORK/c.json" start_server "$WORK/s.log" --key "$KA" --key "$KB"

# DNS rebinding: a page in a browser posts to the local server
post "$KA" "$SA" '{"jsonrpc":"2.0","id":9,"method":"ping"}' 'Origin: http://evil.example'
is "$CODE" 403 "an Origin not in mcp.allowedOrigins: 403"
like "$OUT" 'mcp.allowedOrigins' "…saying which config allows it"
post "$KA" "$SA" '{"jsonrpc":"2.0","id":10,"method":"ping"}' 'Origin: https://agent.example'
is "$CODE" 200 "a listed Origin: served"
post "$KA" "$SA" '{"jsonrpc":"2.0","id":11,"method":"ping"}' 'MCP-Protocol-Version: 1999-01-01'
is "$CODE" 400 "an unknown MCP-Protocol-Version: 400"
post "$KA" "$SA" '{"jsonrpc":"2.0","id":12,"method":"ping"}' 'MCP-Protocol-Version: 2025-06-18'
is "$CODE" 200 "a known one: served"
post "$KA" "" '{"jsonrpc":"2.0","id":13,"method":"tools/list"}'
is "$CODE" 400 "no Mcp-Session-Id on a request other than initialize: 400"
post "$KA" "../../etc" '{"jsonrpc":"2.0","id":14,"method":"tools/list"}'
is "$CODE" 404 "a malformed Mcp-Session-Id (a path): 404"
post "$KA" "$SA" "$(head -c 70000 /dev/zero | tr '\0' x)"
is "$CODE" 413 "a body over serve.maxBodyBytes: 413"
post "$KA" "$SA" '{not json'
is "$CODE/$(jqr .error.code)" "200/-32700" "malformed JSON: a JSON-RPC parse error"
post "$KA" "$SA" '[{"jsonrpc":"2.0","id":15,"method":"ping"}]'
is "$(jqr .error.code)" -32600 "a batch: invalid request (batches are not in the current protocol)"
CODE=$(curl -s -o /dev/null -D "$WORK/hdr" -w '%{http_code}' -H "Authorization: Bearer $KA" -H "Mcp-Session-Id: $SA" "$URL/mcp")
is "$CODE/$(sed -n 's/^Allow: //Ip' "$WORK/hdr" | tr -d '\r')" "405/POST, DELETE" "GET /mcp: 405 (no server-sent stream), Allow"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $KB" -H "Mcp-Session-Id: $SA" "$URL/mcp")
is "$CODE" 404 "DELETE of another key's client: 404"
call "$KA" "$SA" 16 create_session '{"language":"python"}'
UNNAMED=$(jqr .result.structuredContent.sessionId)
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $KA" -H "Mcp-Session-Id: $SA" "$URL/mcp")
is "$CODE" 200 "DELETE /mcp: 200"
post "$KA" "$SA" '{"jsonrpc":"2.0","id":17,"method":"ping"}'
is "$CODE" 404 "…then the id is unknown"
post "$KA" "" "$INIT"
SA=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
call "$KA" "$SA" 18 list_sessions '{}'
is "$(jqr '[.result.structuredContent.sessions[].sessionId] | sort | join(" ")')" "secret-work" \
	"…its unnamed session ($UNNAMED) was closed, the named one stays"
call "$KA" "$SA" 19 close_session '{"sessionId":"secret-work"}'
is "$(jqr .result.structuredContent.closed)" true "close_session"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=

# ---- the operator's config ------------------------------------------------------------------
# mcp CONFIG MESSAGE…: one stdio client (initialize first), each request answered before the
# next is sent (tests/helpers/mcp_seq.py); OUT is every line the server wrote
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
mcp() {
	local cfg=$1; shift
	capture env ISOL8_CONFIG="$cfg" python3 "$HELPERS/mcp_seq.py" "$MCP" "$@"
}
cat >"$WORK/m.json" <<'JSON'
{"mcp": {"languages": ["python"], "maxTimeoutMs": 2000, "timeoutMs": 700, "maxSessions": 1}}
JSON
mcp "$WORK/m.json" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
	'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"node","code":"1"}}}' \
	'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"python","code":"1","timeoutMs":5000}}}' \
	'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"python","code":"import time; time.sleep(5)"}}}'
by() { printf '%s\n' "$OUT" | jq -c "select(.id == $1)"; }
is "$(by 2 | jq -c '[.result.tools[].name]')" '["run_code","write_file","read_file","list_files","create_session","list_sessions","close_session"]' \
	"mcp.languages without bash: no run_command"
is "$(by 2 | jq -c '.result.tools[0].inputSchema.properties.language.enum')" '["python"]' "…and run_code offers python only"
is "$(by 3 | jq -r .error.code)" -32602 "a language the operator left out: invalid params"
like "$(by 3 | jq -r .error.message)" 'not one this server runs: \["python"\]' "…saying which it runs"
is "$(by 4 | jq -r .error.code)" -32602 "timeoutMs over mcp.maxTimeoutMs: invalid params"
is "$(by 5 | jq -r .result.structuredContent.status)" timeout "mcp.timeoutMs bounds a call that asks for none"
mcp "$WORK/m.json" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"python"}}}' \
	'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"python"}}}'
is "$(by 2 | jq -r .result.isError)/$(by 3 | jq -r .result.isError)" "false/true" "mcp.maxSessions: one more is refused"
like "$(by 3 | jq -r '.result.content[0].text')" 'too many sessions \(1\)' "…saying so"
is "$(ls "$ISOL8_RUN_DIR/sessions" 2>/dev/null | wc -l)" 0 "stdin's end closed the unnamed session"
# two creates at once (a stdio server runs calls concurrently): the count and the start are one step
capture env ISOL8_CONFIG="$WORK/m.json" bash -c 'printf "%s\n" "$@" | "$0"' "$MCP" "$INIT" \
	'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"python"}}}' \
	'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"python"}}}'
is "$(printf '%s\n' "$OUT" | jq -r 'select(.id == 2 or .id == 3) | .result.isError' | sort | tr '\n' ' ')" "false true " \
	"mcp.maxSessions holds for two creates at once"
is "$(ls "$ISOL8_RUN_DIR/sessions" 2>/dev/null | wc -l)" 0 "…and the one made is closed when stdin ends"
for bad in '{"mcp": {"languages": ["cobol"]}}' '{"mcp": {"memoryLimit": "lots"}}' '{"mcp": {"network": "everywhere"}}' \
	'{"mcp": {"maxSessions": "8"}}' '{"mcp": {"nosuch": 1}}'; do
	echo "$bad" >"$WORK/bad.json"
	capture env ISOL8_CONFIG="$WORK/bad.json" "$MCP"
	ok $([ "$RC" != 0 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] && echo 0 || echo 1) \
		"refused at start, in one line: $bad"
	[ "$RC" != 0 ] || diag "$OUT"
	diag "$ERR"
done

# ---- clients that vanish: isol8-cleanup ends their state ------------------------------------
# a stdio server killed with SIGKILL cannot close its unnamed session; cron's isol8-cleanup does
python3 - "$MCP" "$INIT" <<'PY'
import json, os, signal, subprocess, sys
p = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
for m in (sys.argv[2], '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"python"}}}'):
    p.stdin.write(m + "\n"); p.stdin.flush(); p.stdout.readline()
os.kill(p.pid, signal.SIGKILL); p.wait()
PY
is "$(ls "$ISOL8_RUN_DIR/sessions" | wc -l)/$(ls "$ISOL8_RUN_DIR/mcp" | grep -c '^stdio-')" "1/1" "a killed stdio server leaves its unnamed session and its state"
capture "$BIN/isol8-cleanup" --dry-run
like "$(jqr '[.sandboxes[].reason] | join(",")')" 'mcp client gone' "isol8-cleanup --dry-run names it: mcp client gone"
capture "$BIN/isol8-cleanup"
is "$(ls "$ISOL8_RUN_DIR/sessions" | wc -l)/$(ls "$ISOL8_RUN_DIR/mcp" | grep -c '^stdio-')" "0/0" "isol8-cleanup stops the session and removes the state"
# an HTTP client that never sends DELETE /mcp: ended once unused for mcp.sessionIdleMs
ISOL8_CONFIG="$WORK/c.json" start_server "$WORK/s3.log" --key "$KA"
post "$KA" "" "$INIT"
SA=$(sed -n 's/^Mcp-Session-Id: //Ip' <<<"$HDR")
call "$KA" "$SA" 2 create_session '{"language":"python"}'
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
capture "$BIN/isol8-cleanup"
is "$(ls "$ISOL8_RUN_DIR/mcp" | grep -c "^$SA\$")" 1 "an HTTP client in use is left alone"
touch -d '2 hours ago' "$ISOL8_RUN_DIR/mcp/$SA/client.json"
capture "$BIN/isol8-cleanup"
is "$(ls "$ISOL8_RUN_DIR/sessions" | wc -l)/$(ls "$ISOL8_RUN_DIR/mcp" | grep -c "^$SA\$")" "0/0" \
	"one unused past mcp.sessionIdleMs: its unnamed session stopped, its state removed"

# ---- files: what the program planted ----------------------------------------------------------
mcp "$ISOL8_CONFIG" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_session","arguments":{"language":"bash","name":"files-t"}}}' \
	'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"bash","sessionId":"files-t","code":"mkdir d; ln -s /etc etc; ln -s /etc/passwd pw; mkfifo ff; echo hi > d/f"}}}' \
	'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_files","arguments":{"sessionId":"files-t"}}}' \
	'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_files","arguments":{"sessionId":"files-t","path":"/sandbox/etc"}}}' \
	'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"read_file","arguments":{"sessionId":"files-t","path":"/sandbox/pw"}}}' \
	'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"sessionId":"files-t","path":"/sandbox/ff"}}}' \
	'{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"list_files","arguments":{"sessionId":"files-t","path":"/sandbox/d"}}}' \
	'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"write_file","arguments":{"sessionId":"files-t","path":"/sandbox/etc/x","content":"no"}}}' \
	'{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"list_files","arguments":{"sessionId":"../x"}}}' \
	'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"close_session","arguments":{"sessionId":"files-t"}}}'
is "$(by 4 | jq -c '[.result.structuredContent.entries[] | [.name, .type]]')" '[["d","directory"],["etc","symlink"],["ff","other"],["pw","symlink"]]' \
	"list_files names links and FIFOs, follows none"
is "$(by 5 | jq -r .result.isError)" true "listing through a link to /etc: refused"
like "$(by 5 | jq -r '.result.content[0].text')" 'symbolic link' "…because it is a link"
is "$(by 6 | jq -r .result.isError)" true "read_file of a link to /etc/passwd: refused"
like "$(by 7 | jq -r '.result.content[0].text')" 'not a regular file' "read_file of a FIFO: refused at once, not hung"
is "$(by 8 | jq -c '.result.structuredContent.entries')" '[{"name":"f","type":"file","size":3}]' "a subdirectory's entries"
is "$(by 9 | jq -r .result.isError)" true "write_file through a link: refused"
is "$(by 10 | jq -r .error.code)" -32602 "a sessionId that is a path: invalid params"
is "$(by 11 | jq -r .result.structuredContent.closed)" true "…and the session closes"
finish
