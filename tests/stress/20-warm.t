#!/usr/bin/env bash
# Warm runs under load: the cold suite's workload with an isol8-pool serving the run dir (python
# and node interpreters already running, bash forked by its zygote, plain sandboxes for the rest), so that the pool hands
# sandboxes over and rebuilds them while busy loops hold every CPU.
. "$(dirname "$0")/lib.sh"
POOL="$BIN/isol8-pool"
"$POOL" --size 2 2>"$WORK/pool.log" & service $!
for i in $(seq 200); do "$POOL" status 2>/dev/null | grep -q '"ready":10' && break; sleep 0.05; done
is "$("$POOL" status | jq -c '[.ready, .kinds]')" '[10,{"plain":2,"python":2,"node":2,"bash":2,"python-session":2}]' \
	"the pool is ready: 2 plain, 2 python, 2 node, 2 bash, 2 python sessions' interpreters"
WARM_RUNTIMES="python node bash"
cli_workload warm
diag "pool: $("$POOL" status | jq -c '{hits, warmHits, misses, discarded}')"
finish
