# tests/cluster/lib.sh — what every balancer's test checks the same way (after ../integ/lib.sh).

# sessions_through URL LABEL CALLS: 10 sessions made through the balancer at URL keep their state
# over CALLS calls and one with a 70 KB body (a balancer that reads the body sees only its first
# buffer: the X-Isol8-Session header routes them), each exists once (NODE_DIR[1..3]) and the
# nodes share them; a file put and get, and SSE streaming, reach the session's node. Sets H.
sessions_through() {
	local lb=$1 label=$2 calls=$3 bad=0 s call o held=0 spread=0 n code got
	printf '# %s\nprint(n + 1)\n' "$(head -c 70000 /dev/zero | tr '\0' '#')" >"$WORK/big.py"
	for s in $(seq 10); do
		"$ISOL8" run --host "$lb" --key "$KEY" --persistent --session-id "c$s" -e "n = $s" >/dev/null 2>&1 || bad=$((bad+1))
		for call in $(seq "$calls"); do
			o=$("$ISOL8" run --host "$lb" --key "$KEY" --persistent --session-id "c$s" -e "n += 1; print(n)" 2>/dev/null)
			[ "$o" = $((s + call)) ] || { bad=$((bad+1)); diag "c$s call $call: $o"; }
		done
		o=$("$ISOL8" run --host "$lb" --key "$KEY" --persistent --session-id "c$s" "$WORK/big.py" 2>/dev/null)
		[ "$o" = $((s + calls + 1)) ] || { bad=$((bad+1)); diag "c$s big body: ${o:0:200}"; }
	done
	is "$bad" 0 "10 sessions through $label keep their state over $((calls + 2)) calls, one with a 70 KB body"
	for n in 1 2 3; do
		o=$(ls "${NODE_DIR[$n]}/sessions" 2>/dev/null | wc -l)
		held=$((held + o))
		[ "$o" -gt 0 ] && spread=$((spread+1))
	done
	is "$held" 10 "…each session exists once, on one node (no second, empty one elsewhere)"
	ok $([ "$spread" -ge 2 ] && echo 0 || echo 1) "…spread over the nodes ($spread of 3 hold some)"
	H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
	code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H 'X-Isol8-Session: c1' \
		--data-binary '{"sessionId":"c1","path":"/sandbox/f.txt","content":"aGVsbG8="}' "$lb/file")
	got=$(curl -s "${H[@]}" -H 'X-Isol8-Session: c1' "$lb/file?sessionId=c1&path=/sandbox/f.txt" | jq -r .content)
	is "$code/$got" "200/aGVsbG8=" "file put and get through $label reach the session's node"
	o=$("$ISOL8" run --host "$lb" --key "$KEY" --persistent --session-id c2 -e 'import time
for i in range(3): print(i, flush=True); time.sleep(0.1)
print(n)' 2>/dev/null)
	is "$o" "$(printf '0\n1\n2\n%d' $((2 + calls)))" "SSE streaming of a session's exec through $label"
}
