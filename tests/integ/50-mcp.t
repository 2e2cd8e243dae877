#!/usr/bin/env bash
# 50-mcp.t — isol8-mcp over stdio, driven by a small JSON-RPC client (tests/helpers/mcp_stdio.py):
# initialize and version negotiation, tools/list, run_code and run_command results (isError for a
# failing program), progress notifications, cancellation ending the run with nothing left,
# malformed messages, unknown methods and tools, wrong argument types, an oversized message.
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
finish
