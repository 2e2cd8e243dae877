#!/usr/bin/env bash
# Sessions under load: isol8-session create, exec and delete in every runtime, a few sessions of
# each with execs that keep state, exit 3 (the session lives on) and come from a file; then the
# quick programs in one bash session, and in two sessions at once. Each exec is checked for its
# exact output, stderr (a restarted interpreter would say so there) and status.
. "$(dirname "$0")/lib.sh"
S="$BIN/isol8-session"
declare -A SET=([python]='x = 40' [node]='let x = 40' [bun]='let x = 40' [deno]='let x = 40' [bash]='x=40')
declare -A USE=([python]='print(x + 2)' [node]='console.log(x + 2)' [bun]='console.log(x + 2)'
	[deno]='console.log(x + 2)' [bash]='echo $((x + 2))')
# exit 3 that ends the block, not the interpreter (Deno.exit would end the interpreter)
PROG_B[deno]='console.log("o"); console.error("e"); process.exit(3)'
for rt in $RUNTIMES; do printf '%s\n' "${PROG_B[$rt]}" >"$WORK/sb-$rt.${EXT[$rt]}"; done
declare -A CYCLES=([python]=3 [node]=3 [bun]=2 [deno]=2 [bash]=3)
declare -A EXECS=([python]=8 [node]=8 [bun]=6 [deno]=6 [bash]=8)

for rt in $RUNTIMES; do
	nc=$(times "${CYCLES[$rt]}") ne=$(times "${EXECS[$rt]}")
	for c in $(seq "$nc"); do
		id=st-$rt-$c
		check "session-$rt-life" 0 "{\"id\":\"$id\",\"runtime\":\"$rt\"}"$'\n' "" "$S" create -r "$rt" --id "$id"
		check "session-$rt" 0 "" "" "$S" exec "$id" --timeout "$RUN_MS" -e "${SET[$rt]}"
		for i in $(seq "$ne"); do
			case $((i % 3)) in
				0) check "session-$rt" 0 $'42\n' "" "$S" exec "$id" --timeout "$RUN_MS" -e "${USE[$rt]}" ;;
				1) check "session-$rt" 3 $'o\n' $'e\n' "$S" exec "$id" --timeout "$RUN_MS" "$WORK/sb-$rt.${EXT[$rt]}" ;;
				2) check "session-$rt" 0 $'42\n' "" "$S" exec "$id" --timeout "$RUN_MS" -e "${PROG_A[$rt]}" ;;
			esac
		done
		check "session-$rt-life" 0 "[OK] Session \"$id\" destroyed."$'\n' "" "$S" delete "$id"
	done
	report "session-$rt" $((nc * (ne + 1))) "session $rt: exec (state kept, exit 0 and 3, code and file)"
	report "session-$rt-life" $((nc * 2)) "session $rt: create and delete"
done

n=$(times $QUICK)
check session-quick-life 0 '{"id":"quick","runtime":"bash"}'$'\n' "" "$S" create -r bash --id quick
for i in $(seq "$n"); do check session-true 0 "" "" "$S" exec quick --timeout "$RUN_MS" --cmd true; done
report session-true "$n" "session: isol8-session exec --cmd true"
for i in $(seq "$n"); do check session-echo 0 $'\n' "" "$S" exec quick --timeout "$RUN_MS" -e echo; done
report session-echo "$n" "session: isol8-session exec -e echo (bash)"
check session-quick-life 0 '[OK] Session "quick" destroyed.'$'\n' "" "$S" delete quick
report session-quick-life 2 "session: the quick session's create and delete"

# two sessions, one worker each, the quick programs in turn
_worker() { # N WORKER
	local i id=par-$2
	check session-par-life 0 "{\"id\":\"$id\",\"runtime\":\"bash\"}"$'\n' "" "$S" create -r bash --id "$id"
	for i in $(seq "$1"); do
		case $((i % 3)) in
			0) check session-par 0 "" "" "$S" exec "$id" --timeout "$RUN_MS" --cmd true ;;
			1) check session-par 0 $'\n' "" "$S" exec "$id" --timeout "$RUN_MS" -e echo ;;
			2) check session-par 0 $'quick\n' "" "$S" exec "$id" --timeout "$RUN_MS" "$WORK/quick.sh" ;;
		esac
	done
	check session-par-life 0 "[OK] Session \"$id\" destroyed."$'\n' "" "$S" delete "$id"
}
n=$(times $((QUICK / 2)))
par 2 _worker "$n"
report session-par $((2 * n)) "session: the quick programs in two sessions at once"
report session-par-life 4 "session: …their create and delete"
finish
