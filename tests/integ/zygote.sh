# zygote.sh — what 96-zygote.t and 96-zygote-bash.t share (sourced after lib.sh): a pool of
# size 1 that keeps only ZKIND (python, bash) warm, and runs of that kind that must come from its
# zygote. Set ZKIND before sourcing.
POOL="$BIN/isol8-pool"
status() { "$POOL" status; }
wait_warm() { for i in $(seq 200); do [ "$(status | jq -r ".kinds.$ZKIND // 0")" -ge 1 ] && return; sleep 0.05; done; }
start_pool() {
	"$POOL" --size 1 --runtimes "$ZKIND" "$@" 2>"$WORK/pool.err" & pl=$!
	for i in $(seq 200); do [ -S "$ISOL8_RUN_DIR/pool.sock" ] && break; sleep 0.05; done
	wait_warm
}
stop_pool() { kill -TERM "$pl" 2>/dev/null; for i in $(seq 100); do kill -0 "$pl" 2>/dev/null || break; sleep 0.05; done; wait "$pl" 2>/dev/null; }
# zrun ARGS…: one ZKIND run, which must come from a zygote (ZH: zygoteHits went up by it)
zrun() {
	wait_warm
	local z0; z0=$(status | jq .zygoteHits)
	capture "$RUN" -r "$ZKIND" "$@"
	ZH=$(( $(status | jq .zygoteHits) - z0 ))
}
# zygote_clean PID: what every zygote must be — the pool's user, with the sandbox's environment
# (nothing of the pool's own), and no shared writable mapping (a fork shares nothing writable
# with it or its siblings)
zygote_clean() {
	is "$(stat -c %U /proc/$1)|$(tr '\0' '\n' </proc/$1/environ | grep -c '^ISOL8_')" "root|0" \
		"it runs as the pool's user, with the sandbox's environment (nothing of the pool's own)"
	is "$(awk '$2 ~ /^rw.s/' /proc/$1/maps | wc -l)" 0 "it has no shared writable mapping: a fork shares nothing writable with it or its siblings"
}
