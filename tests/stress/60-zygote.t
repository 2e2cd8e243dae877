#!/usr/bin/env bash
# Sustained load on zygotes: 2,000 python runs and 1,000 bash runs at concurrency 8 through an
# isol8-pool whose warm python and bash sandboxes are forked from its zygotes (docs/zygote.md),
# while busy loops hold every CPU.
# The zygote is replaced every 300 forks, so replacement happens under load too. No run may fail
# or hang; nothing may be left behind, the zygotes included.
. "$(dirname "$0")/lib.sh"
POOL="$BIN/isol8-pool"
echo '{"zygote":{"maxForks":300}}' >"$ISOL8_CONFIG"
"$POOL" --size 2 --runtimes python,bash 2>"$WORK/pool.log" & pool=$!
service $pool
for i in $(seq 200); do "$POOL" status 2>/dev/null | grep -q '"python":2.*"bash":2' && break; sleep 0.05; done
z0=$("$POOL" status | jq .zygoteHits)

# worker W: its share of GROUP's runs (PER_WORKER of RT), cycling through RT's four programs
_zygote_worker() {
	local i
	for i in $(seq "$PER_WORKER"); do
		program "$RT" $((i + $1))
		check "$GROUP" "$WRC" "$WOUT" "$WERR" "$ISOL8" run --timeout "$RUN_MS" "${PROG[@]}"
	done
}
RT=python GROUP=zygote PER_WORKER=$(times 250)
par 8 _zygote_worker
report zygote $((8 * PER_WORKER)) "python at concurrency 8 through a pool with zygotes"
zh=$(( $("$POOL" status | jq .zygoteHits) - z0 ))
ok $([ "$zh" -gt 0 ]; echo $?) "$zh of them forked by a zygote"

# the same for bash, from its own zygote
RT=bash GROUP=zbash PER_WORKER=$(times 125)
zb=$("$POOL" status | jq .zygoteHits)
par 8 _zygote_worker
report zbash $((8 * PER_WORKER)) "bash at concurrency 8 through a pool with zygotes"
zh=$(( $("$POOL" status | jq .zygoteHits) - zb ))
ok $([ "$zh" -gt 0 ]; echo $?) "$zh of them forked by bash's zygote"

# python sessions whose interpreters the session zygote forked: create, three execs that keep a
# variable, delete; four workers at once
_session_worker() {
	local i id
	for i in $(seq "$SESSIONS_PER_WORKER"); do
		id=z$1-$i
		check zsession 0 '{"id":"'"$id"'","runtime":"python"}'$'\n' "" "$BIN/isol8-session" create --id "$id" -r python
		check zsession 0 "" "" "$BIN/isol8-session" exec "$id" --timeout "$RUN_MS" -e 'n = 6'
		check zsession 0 $'42\n' "" "$BIN/isol8-session" exec "$id" --timeout "$RUN_MS" -e 'n *= 7; print(n)'
		check zsession 3 $'o\n' $'e\n' "$BIN/isol8-session" exec "$id" --timeout "$RUN_MS" -e "${PROG_B[python]}"
		check zsession 0 '[OK] Session "'"$id"'" destroyed.'$'\n' "" "$BIN/isol8-session" delete "$id"
	done
}
SESSIONS_PER_WORKER=$(times 25)
z1=$("$POOL" status | jq .zygoteHits)
par 4 _session_worker
report zsession $((4 * SESSIONS_PER_WORKER * 5)) "python sessions from the pool, four at once (create, three execs, delete)"
zh=$(( $("$POOL" status | jq .zygoteHits) - z1 ))
ok $([ "$zh" -gt 0 ]; echo $?) "$zh of those sessions' interpreters forked by the session zygote"
diag "pool: $("$POOL" status | jq -c '{hits, warmHits, zygoteHits, zygoteForks, misses, discarded}')"
zygotes=$(pgrep -P $pool -f '^(python3 -c def _isol8_warm|bash -c enable -f .*isol8_zygote)' | tr '\n' ' ')
ok $([ "$(wc -w <<<"$zygotes")" -ge 3 ]; echo $?) "the pool has its zygotes: python's, python sessions' and bash's ($zygotes)"
stop_services
left=
for z in $zygotes; do kill -0 "$z" 2>/dev/null && left+="$z "; done
is "$left" "" "no zygote outlives its pool"
finish
