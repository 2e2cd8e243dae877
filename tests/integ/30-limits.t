#!/usr/bin/env bash
# Limits: wall-clock timeout, memory (OOM from the cgroup), pids (fork bomb), tmpfs sizes
# (disk fill), output cap (100 MB flood), and that each ends cleanly with nothing left over.
. "$(dirname "$0")/lib.sh"

start=$(date +%s%N)
capture "$RUN" --timeout 1000 -e 'while True: pass'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$RC" 137 "infinite loop: exit 137"
like "$ERR" '^\[ERR\] EXECUTION TIMED OUT$' "infinite loop: EXECUTION TIMED OUT (streaming)"
# bounded loosely: a sandbox's start and end take seconds under ASan on a loaded machine
ok $([ $ms -lt 5000 ] && echo 0 || echo 1) "infinite loop with --timeout 1000 ends in ${ms} ms (< 5 s)"
capture "$RUN" --json --timeout 1000 -r node -e 'setInterval(()=>{}, 1000)'
is "$(jqr '[.status,.exitCode,.signal]|join(" ")')" "timeout 137 SIGKILL" "timeout: status, exit code and signal in the result"
like "$(jqr .stderr)" 'EXECUTION TIMED OUT' "timeout marker in buffered stderr"
capture "$RUN" --no-stream --timeout 1000 --cmd 'sleep 30 & sleep 30'
is "$RC" 137 "timeout kills background processes too (--no-stream)"

capture "$RUN" --json --memory 64m -e 'x = bytearray(200 * 1024 * 1024); print("survived")'
is "$(jqr .status)" oom "memory hog under --memory 64m: status oom"
is "$(jqr .exitCode)" 137 "oom: exit 137"
unlike "$(jqr .stdout)" survived "oom: the program did not get its memory"
ok $([ "$(jqr .resourceUsage.peakMemoryBytes)" -le $((64 << 20)) ] && echo 0 || echo 1) "oom: peak memory within the limit"
capture "$RUN" --json --memory 64m --timeout 2000 -e 'import time; time.sleep(3)'
is "$(jqr .status)" timeout "a timeout is not reported as oom"
capture "$RUN" --json --memory 128m -r node -e 'const a=[]; for(;;) a.push(new Array(1e6).fill(1))'
is "$(jqr .status)" oom "node memory hog: status oom"

# the shell stays 2 s: `wait` returned as soon as the first level had forked its own, and under a
# slow (sanitizer) build the run could end before any fork had failed (seen once in CI)
capture "$RUN" --json --pids-limit 16 --timeout 10000 --cmd ':(){ :|:& };: ; sleep 2; echo done-bombing'
like "$(jqr .stderr)" 'Resource temporarily unavailable' "fork bomb: fork fails at --pids-limit"
like "$(jqr .status)" '^(ok|error|timeout)$' "fork bomb: contained ($(jqr .status))"
capture "$RUN" --pids-limit 8 -e '
import os
n = 0
try:
    for i in range(50):
        if os.fork() == 0:
            import time; time.sleep(2); os._exit(0)
        n += 1
except OSError as e:
    print("blocked after", n, e.strerror)'
like "$OUT" '^blocked after [0-9] Resource temporarily unavailable$' "fork loop stops below --pids-limit 8"

capture "$RUN" --sandbox-size 8m -e '
try:
    open("/sandbox/big", "wb").write(b"x" * (20 << 20))
except OSError as e:
    print(e.errno)'
is "$OUT" 28 "filling /sandbox gets ENOSPC inside"
capture "$RUN" --tmp-size 4m --cmd 'head -c 10m /dev/zero > /tmp/fill; echo $?'
like "$OUT" '^1$' "filling /tmp gets an error inside"
like "$ERR" 'No space left on device' "…which is ENOSPC"
capture "$RUN" --sandbox-size 32m --cmd 'head -c 30m /dev/zero > /sandbox/f; stat -f -c %T /sandbox; du -sm /sandbox/f | cut -f1'
is "$OUT" $'tmpfs\n30' "a 30 MB write lands in the sandbox's own size-capped tmpfs"
is "$(find "$ISOL8_RUN_DIR/root" -mindepth 1 | wc -l)" 0 "…and nothing of it on the host (the staging dir stays empty)"
capture "$RUN" --cmd 'cp /bin/true /tmp/t && /tmp/t; echo $?'
like "$OUT" '126' "/tmp is noexec"

capture /usr/bin/time -f '%e %M' "$RUN" --json --max-output 1024 -e '
import sys
for i in range(100000): sys.stdout.write("x" * 1000)'
tl=$(printf '%s\n' "$ERR" | tail -1); secs=${tl% *}; rss=${tl#* }
is "$(jqr .truncated)" true "100 MB flood: truncated"
is "$(jqr .status)" output_limit "100 MB flood: status output_limit"
like "$(jqr .stdout)" '^x{1024}'$'\n\n''--- OUTPUT TRUNCATED \([0-9]+ bytes, limit: 1024\) ---$' "flood: first 1024 bytes and the reference marker"
ok $(awk -v s="$secs" 'BEGIN{exit !(s < 5)}'; echo $?) "flood returns quickly (${secs} s, < 5)"
capture /usr/bin/time -f '%M' "$RUN" --json -e 'print(1)'
base=$(printf '%s\n' "$ERR" | tail -1)
ok $([ "$rss" -lt $((base + 8192)) ] && echo 0 || echo 1) "isol8's own memory stays bounded (${rss} KB max RSS for 100 MB printed, ${base} KB for print(1))"
capture "$RUN" --max-output 100 -e 'print("y" * 5000)'
like "$OUT" '^y{100}'$'\n\n''--- OUTPUT TRUNCATED' "the cap holds in streaming mode too"
capture "$RUN" --no-stream --max-output 100 -e 'import sys; print("z" * 500, file=sys.stderr)'
like "$ERR" 'OUTPUT TRUNCATED' "stderr is capped too"
like "$ERR" '\[WARN\] Output was truncated' "--no-stream warns about truncation"

capture "$RUN" --json --cpu 0.5 --timeout 3000 -e 'while True: pass'
cpu=$(jqr .resourceUsage.cpuMs | cut -d. -f1)
ok $([ "$cpu" -lt 2200 ] && echo 0 || echo 1) "--cpu 0.5 caps CPU time (${cpu} ms of CPU in 3 s)"

finish
