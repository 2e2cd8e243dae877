#!/usr/bin/env bash
# 52-mcp-sdk.t — isol8's MCP server driven by the official MCP TypeScript SDK's Client
# (tests/helpers/mcp_sdk.mjs), as an agent's client would: over stdio (`isol8 mcp` as its
# subprocess) and over Streamable HTTP (isol8-serve's /mcp). Each scenario is a run
# of the client; each of its JSON lines is a TAP result, and after each nothing of its sandboxes
# may be left. The scenarios: core (initialize, tools/list, results, isError, progress, error
# codes), cancel (an aborted call ends its sandbox), sessions (state, files, paths outside
# /sandbox refused, close), disconnect (unnamed sessions end with the client, named ones stay),
# figures (a matplotlib plot as an image/png block).
. "$(dirname "$0")/lib.sh"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
SDK=${ISOL8_TEST_NODE:-/opt/isol8/test-node}/node_modules/@modelcontextprotocol/sdk
SCENARIOS=(core cancel sessions disconnect figures)
# sdk LABEL SCENARIO TRANSPORT…: one run of the client; each line it prints is a TAP result
sdk() {
	local label=$1 scenario=$2 line n=0; shift 2
	capture node "$HELPERS/mcp_sdk.mjs" "$scenario" "$@"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		n=$((n+1))
		if ! jq -e 'has("ok") and has("name")' >/dev/null 2>&1 <<<"$line"; then
			ok 1 "$label $scenario: a line that is not a check: $line"
		elif [ "$(jq -r .ok <<<"$line")" = true ]; then
			ok 0 "$label $scenario: $(jq -r .name <<<"$line")"
		else
			ok 1 "$label $scenario: $(jq -r .name <<<"$line")"
			diag "$(jq -r .diag <<<"$line")"
		fi
	done <<<"$OUT"
	ok $([ "$RC" = 0 ] && [ "$n" -gt 0 ] && echo 0 || echo 1) "$label $scenario: the client ran to its end ($n checks, exit $RC)"
	[ -z "$ERR" ] || diag "$ERR"
	is "$(count_leftovers)" 0 "$label $scenario: nothing of its sandboxes left"
	[ "$(count_leftovers)" = 0 ] || show_leftovers
}

# stdio: each scenario starts `isol8 mcp` as the client's subprocess, as an agent's config does
stdio_transport() {
	local s
	for s in "${SCENARIOS[@]}"; do sdk stdio "$s" stdio -- "$ISOL8" mcp; done
}

# Streamable HTTP: POST/GET/DELETE /mcp on isol8-serve, the bearer key from ISOL8_MCP_KEY; core
# also checks the Mcp-Session-Id and a refused keyless client, disconnect ends the MCP session
# with terminateSession() (DELETE) and checks that its id is then answered 404.
http_transport() {
	local s
	SERVE="$BIN/isol8-serve"
	export ISOL8_MCP_KEY=mcp-key-0123456789abcdef
	start_server "$WORK/serve.log" --key "$ISOL8_MCP_KEY"
	trap 'kill ${SPID:-} 2>/dev/null' EXIT
	ok $([ -n "$PORT_" ] && echo 0 || echo 1) "isol8-serve listens"
	for s in "${SCENARIOS[@]}"; do sdk http "$s" http "$URL/mcp"; done
	kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
	[ "$_fail" = 0 ] || diag "$(tail -20 "$WORK/serve.log")"
}

if [ ! -f "$SDK/package.json" ]; then
	ok 1 "the MCP TypeScript SDK is installed in $SDK (make deps)"
else
	diag "@modelcontextprotocol/sdk $(jq -r .version "$SDK/package.json")"
	stdio_transport
	http_transport
fi
finish
