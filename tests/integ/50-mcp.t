#!/usr/bin/env bash
# 50-mcp.t — isol8-mcp over stdio, driven by a small JSON-RPC client (tests/helpers/mcp_stdio.py):
# initialize and version negotiation, tools/list, run_code and run_command results (isError for a
# failing program), progress notifications, cancellation ending the run with nothing left,
# malformed messages, unknown methods and tools, wrong argument types, an oversized message; the
# audit log's line for every run, fresh or in a session, and for a session exec that never ended.
. "$(dirname "$0")/lib.sh"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
capture python3 "$HELPERS/mcp_stdio.py" "$BIN/isol8-mcp"
is "$RC" 0 "the stdio client ran its script"
while IFS= read -r line; do
	case "$line" in
	ok*) ok 0 "${line#ok }" ;;
	fail*) ok 1 "${line#fail }" ;;
	esac
done <<<"$OUT"
[ -z "$ERR" ] || diag "$ERR"

# ---- the audit log: every run, fresh or in a session, finished or not ----------------------------
AUD="$WORK/audit"
printf '{"audit": {"enabled": true, "logDir": "%s", "includeCode": true}}\n' "$AUD" >"$WORK/audit.json"
call() { printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2" "$3"; }
capture env ISOL8_CONFIG="$WORK/audit.json" python3 "$HELPERS/mcp_seq.py" "$BIN/isol8-mcp" \
	"$(call 2 create_session '{"language":"python","name":"aud"}')" \
	"$(call 3 run_code '{"language":"python","code":"x = 40","sessionId":"aud"}')" \
	"$(call 4 run_code '{"language":"python","code":"print(x + 2)","sessionId":"aud"}')" \
	"$(call 5 run_code '{"language":"python","code":"print(2)"}')" \
	"$(call 6 close_session '{"sessionId":"aud"}')"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.id == 4) | .result.structuredContent.stdout')" 42 "run_code in a session (stdio)"
is "$(jq -r '[.source, .code, .status] | join(" ")' "$AUD/executions.log" 2>/dev/null)" "mcp x = 40 ok
mcp print(x + 2) ok
mcp print(2) ok" "the audit log: a line for each session exec and for the fresh run, in order"

# a session exec whose session dies during it: still a line, status failed
coproc MCPP { ISOL8_CONFIG="$WORK/audit.json" "$BIN/isol8-mcp" 2>/dev/null; }
answer() { local l; while IFS= read -r -t 30 l <&"${MCPP[0]}"; do [ "$(jq -r .id <<<"$l")" = "$1" ] && { printf '%s' "$l"; return; }; done; }
echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >&"${MCPP[1]}"
answer 1 >/dev/null
call 2 create_session '{"language":"python","name":"doomed"}' >&"${MCPP[1]}"; echo >&"${MCPP[1]}"
answer 2 >/dev/null
call 3 run_code '{"language":"python","code":"import time; time.sleep(20)","sessionId":"doomed"}' >&"${MCPP[1]}"; echo >&"${MCPP[1]}"
sleep 1.5
kill -KILL "$(jq -r .daemon "$ISOL8_RUN_DIR/sessions/doomed/meta.json")"
R=$(answer 3)
exec {MCPP[1]}>&-
wait "$MCPP_PID" 2>/dev/null
"$BIN/isol8-cleanup" >/dev/null 2>&1
is "$(jq -r .result.isError <<<"$R")" true "a session killed during run_code: the call is an error result"
is "$(tail -n 1 "$AUD/executions.log" | jq -r '[.source, .code, .status, (.error | test("ended"))] | map(tostring) | join(" ")')" \
	"mcp import time; time.sleep(20) failed true" "…and the audit log has its line, status failed, with the reason"
finish
