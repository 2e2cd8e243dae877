#!/usr/bin/env bash
# isol8-serve under load: POST /execute in every runtime, sessions over HTTP (sessionId, then
# DELETE /session/ID), the remote CLI (isol8 run --host: POST /execute/stream), and the quick
# programs one at a time and two at once. Each answer is checked for its HTTP status, stdout,
# stderr, exit code and status.
. "$(dirname "$0")/lib.sh"
KEY=stress-key-0123456789abcdef
"$BIN/isol8-serve" --key "$KEY" --listen 127.0.0.1:0 >"$WORK/serve.log" 2>&1 & service $!
for i in $(seq 200); do grep -q 'listening on' "$WORK/serve.log" && break; sleep 0.05; done
URL=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
# post PATH BODY: prints "HTTP-STATUS [stdout, stderr, exitCode, status]" of the answer
cat >"$WORK/post" <<POST
#!/usr/bin/env bash
set -o pipefail
a=\$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $KEY" --data-binary "\$2" "$URL\$1") || exit
printf '%s ' "\${a##*\$'\n'}"; printf '%s' "\${a%\$'\n'*}" | jq -c '[.stdout, .stderr, .exitCode, .status]'
POST
chmod +x "$WORK/post"
# del ID: DELETE /session/ID, prints "HTTP-STATUS BODY"
cat >"$WORK/del" <<DEL
#!/usr/bin/env bash
curl -sS -w ' %{http_code}' -X DELETE -H "Authorization: Bearer $KEY" "$URL/session/\$1"
DEL
chmod +x "$WORK/del"
is "$(curl -s "$URL/health")" '{"status":"ok","version":"0.1.0"}' "the server answers /health"

json() { jq -cn --arg c "$2" --arg r "$1" --argjson t "$RUN_MS" '{request: {runtime: $r, code: $c, timeoutMs: $t}}'; }
OK42='200 ["42","",0,"ok"]'$'\n' O3='200 ["o","e",3,"error"]'$'\n'
declare -A SET=([python]='x = 40' [node]='let x = 40' [bun]='let x = 40' [deno]='let x = 40' [bash]='x=40')
declare -A USE=([python]='print(x + 2)' [node]='console.log(x + 2)' [bun]='console.log(x + 2)'
	[deno]='console.log(x + 2)' [bash]='echo $((x + 2))')
SB_DENO='console.log("o"); console.error("e"); process.exit(3)'

for rt in $RUNTIMES; do
	n=$(times "${ITER[$rt]}")
	a=$(json "$rt" "${PROG_A[$rt]}") b=$(json "$rt" "${PROG_B[$rt]}")
	for i in $(seq "$n"); do
		if [ $((i % 2)) = 0 ]; then check "http-$rt" 0 "$OK42" "" "$WORK/post" /execute "$a"
		else check "http-$rt" 0 "$O3" "" "$WORK/post" /execute "$b"; fi
	done
	report "http-$rt" "$n" "HTTP $rt: POST /execute (exit 0 and 3)"

	n=$(times $((ITER[$rt] / 3)))
	for i in $(seq "$n"); do
		program "$rt" "$i"
		check "remote-$rt" "$WRC" "$WOUT" "$WERR" "$ISOL8" run --host "$URL" --key "$KEY" --timeout "$RUN_MS" "${PROG[@]}"
	done
	report "remote-$rt" "$n" "HTTP $rt: isol8 run --host (streamed)"

	n=$(times $((ITER[$rt] / 2)))
	sb=${PROG_B[$rt]}; [ "$rt" = deno ] && sb=$SB_DENO
	s=$(json "$rt" "${SET[$rt]}") u=$(json "$rt" "${USE[$rt]}") b=$(json "$rt" "$sb")
	check "hsession-$rt" 0 '200 ["","",0,"ok"]'$'\n' "" "$WORK/post" /execute "${s%\}}, \"sessionId\": \"h-$rt\"}"
	for i in $(seq "$n"); do
		if [ $((i % 2)) = 0 ]; then check "hsession-$rt" 0 "$OK42" "" "$WORK/post" /execute "${u%\}}, \"sessionId\": \"h-$rt\"}"
		else check "hsession-$rt" 0 "$O3" "" "$WORK/post" /execute "${b%\}}, \"sessionId\": \"h-$rt\"}"; fi
	done
	check "hsession-$rt" 0 $'{"ok":true}\n 200' "" "$WORK/del" "h-$rt"
	report "hsession-$rt" $((n + 2)) "HTTP $rt: a session (sessionId keeps state, exit 3 keeps it; DELETE)"
done

n=$(times $QUICK)
t=$(jq -cn --argjson t "$RUN_MS" '{request: {runtime: "bash", cmd: "true", timeoutMs: $t}}') e=$(json bash echo)
for i in $(seq "$n"); do check http-true 0 '200 ["","",0,"ok"]'$'\n' "" "$WORK/post" /execute "$t"; done
report http-true "$n" "HTTP: POST /execute cmd true"
for i in $(seq "$n"); do check http-echo 0 '200 ["","",0,"ok"]'$'\n' "" "$WORK/post" /execute "$e"; done
report http-echo "$n" "HTTP: POST /execute bash echo"
_worker() { # N WORKER
	local i
	for i in $(seq "$1"); do
		case $((i % 3)) in
			0) check http-par 0 '200 ["","",0,"ok"]'$'\n' "" "$WORK/post" /execute "$t" ;;
			1) check http-par 0 '200 ["","",0,"ok"]'$'\n' "" "$WORK/post" /execute "$e" ;;
			2) check http-par 0 "" "" "$ISOL8" run --host "$URL" --key "$KEY" --timeout "$RUN_MS" --cmd true ;;
		esac
	done
}
n=$(times $((QUICK / 2)))
par 2 _worker "$n"
report http-par $((2 * n)) "HTTP: the quick programs (and isol8 run --host --cmd true) two at once"
finish
