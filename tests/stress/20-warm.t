#!/usr/bin/env bash
# Warm runs under load: the cold suite's workload with an isol8-pool serving the run dir (python
# and node interpreters already running, plain sandboxes for the rest), so that the pool hands
# sandboxes over and rebuilds them while busy loops hold every CPU.
. "$(dirname "$0")/lib.sh"
POOL="$BIN/isol8-pool"
"$POOL" --size 2 2>"$WORK/pool.log" & service $!
for i in $(seq 200); do "$POOL" status 2>/dev/null | grep -q '"ready":6' && break; sleep 0.05; done
is "$("$POOL" status | jq -c '[.ready, .kinds]')" '[6,{"plain":2,"python":2,"node":2}]' "the pool is ready: 2 plain, 2 python, 2 node"
cli_workload warm
st=$("$POOL" status)
hits=$(jq -r .hits <<<"$st") warm=$(jq -r .warmHits <<<"$st") miss=$(jq -r .misses <<<"$st")
diag "pool: $hits hits ($warm with the interpreter running), $miss misses"
ok $([ "$hits" -ge $((TOTAL_RUNS / 2)) ]; echo $?) "the pool served at least half of the $TOTAL_RUNS runs ($hits)"
ok $([ "$warm" -gt 0 ]; echo $?) "…$warm of them with the interpreter already running"
finish
