#!/usr/bin/env bash
# MCP under load: isol8 mcp clients, one after the other and two at once, each running
# concurrent calls, cancelling a call and a session's exec after their first output, and
# leaving (the unnamed session closed): every call answered right, no cancelled one answered,
# nothing left (tests/stress/mcp_cycle.py). The lives take a few seconds each: 20 s is a hang.
STRESS_LIMIT_S=${STRESS_LIMIT_S:-20}
. "$(dirname "$0")/lib.sh"
CYCLE="$(cd "$(dirname "$0")" && pwd)/mcp_cycle.py"
n=$(times 6)
for i in $(seq "$n"); do check mcp 0 $'ok\n' "" /usr/bin/python3 "$CYCLE" "$BIN/isol8-mcp" "$ISOL8_RUN_DIR"; done
report mcp "$n" "isol8 mcp: concurrent calls, cancels, a session, the client leaving"
n=$(times 3)
for i in $(seq "$n"); do
	check mcp-two 0 $'ok\n' "" /usr/bin/python3 "$CYCLE" "$BIN/isol8-mcp" "$ISOL8_RUN_DIR" & a=$!
	check mcp-two 0 $'ok\n' "" /usr/bin/python3 "$CYCLE" "$BIN/isol8-mcp" "$ISOL8_RUN_DIR" & b=$!
	wait "$a" "$b" # not a bare wait: the busy loops are background jobs too
done
report mcp-two $((n * 2)) "isol8 mcp: two clients at once"
finish
