#!/usr/bin/env bash
# Output rules: secrets masked in every mode (split writes included), right-trim, events,
# binary safety, --out, exit codes.
. "$(dirname "$0")/lib.sh"
SPLIT='import os, sys, time
k = os.environ["API_KEY"]
for ch in k:
    sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.005)
print()
print("hex:", k.encode().hex())
print("inline", k, "end", file=sys.stderr)'

capture "$RUN" --secret API_KEY=sk-live-abcdef123 -e "$SPLIT"
is "$OUT" $'***\nhex: ***' "streaming: secret written one byte at a time is masked; hex form too"
is "$ERR" "inline *** end" "streaming: masked on stderr"
capture "$RUN" --no-stream --secret API_KEY=sk-live-abcdef123 -e "$SPLIT"
is "$OUT" $'***\nhex: ***' "buffered: masked"
capture "$RUN" --json --secret API_KEY=sk-live-abcdef123 -e "$SPLIT"
is "$(printf '%s' "$OUT" | jq -r .stdout)" $'***\nhex: ***' "--json: masked"
unlike "$OUT" 'sk-live' "--json: the secret appears nowhere in the result"
capture "$RUN" --events --secret API_KEY=sk-live-abcdef123 -e "$SPLIT"
unlike "$OUT" 'sk-live|736b2d6c697665' "--events: the secret appears in no event"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.type=="stdout") | .data' | tr -d '\n')" '***hex: ***' "--events: the streamed chunks join to the masked text"
capture "$RUN" --secret A=first-secret --secret B=second-secret -e 'import os; print(os.environ["A"], os.environ["B"])'
is "$OUT" "*** ***" "several --secret flags"
capture "$RUN" --secret K=hunter2secret -e 'import base64;print(base64.b64encode(b"user:hunter2secret").decode())'
is "$OUT" "dXNlcj***" "a secret 5 bytes into base64 (Basic auth) is masked"
capture "$RUN" --secret K=hunter2secret -e 'import base64, sys, time
for ch in base64.urlsafe_b64encode(b"id=hunter2secret!").decode():
    sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.003)'
is "$OUT" "aWQ9***E=" "base64url written one character at a time is masked"

capture "$RUN" --no-stream -e 'print("  padded  \n\n")'
is "$OUT" "  padded" "--no-stream right-trims stdout as the reference"
capture "$RUN" --json -e 'print("x\n\n\n")'
is "$(printf '%s' "$OUT" | jq -c '[.stdout, .exitCode, .truncated, .status, .signal, .runtime, (.executionId|length)]')" '["x",0,false,"ok",null,"python",36]' "--json: result fields"
capture "$RUN" --json -e 'import sys; sys.exit(3)'
is "$(printf '%s' "$OUT" | jq -r '.status')" error "non-zero exit: status error"; is "$RC" 3 "--json keeps the program's exit code"
capture "$RUN" --json -e 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'
is "$(printf '%s' "$OUT" | jq -c '[.status, .signal, .exitCode]')" '["signal","SIGSEGV",139]' "killed by a signal: status signal, 128+n"
like "$(printf '%s' "$OUT" | jq -r '.resourceUsage | "\(.cpuMs) \(.peakMemoryBytes)"')" '^[0-9.]+ [0-9]+$' "resourceUsage carries CPU time and peak memory"

capture "$RUN" --events -e 'import sys, time; print("one"); sys.stdout.flush(); time.sleep(0.3); print("two", file=sys.stderr)'
# (a write may arrive as one event or several: compare the sequence with repeats squeezed)
is "$(printf '%s\n' "$OUT" | jq -c '[.type, .phase]' | uniq | tr '\n' ' ')" '["stdout","code"] ["stderr","code"] ["exit","code"] ["result",null] ' "--events: stdout, stderr, exit, then the result line"
is "$(printf '%s\n' "$OUT" | tail -1 | jq -r '.data.stdout')" "one" "--events: the result line carries the ExecutionResult"
capture "$RUN" --events --timeout 500 -e 'import time; time.sleep(5)'
is "$(printf '%s\n' "$OUT" | jq -c 'select(.type!="result") | [.type,.data]' | tr '\n' ' ')" '["error","EXECUTION TIMED OUT"] ["exit","137"] ' "--events: timeout is error then exit 137"

capture "$RUN" --events -e 'import sys; sys.stdout.buffer.write(b"\xff\x00\x01caf\xc3\xa9")'
is "$(printf '%s\n' "$OUT" | jq -r 'select(.type=="stdout") | .encoding')" base64 "--events: non-UTF-8 output is base64 with encoding set"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.type=="stdout") | .data' | base64 -d | od -An -tx1 | tr -d ' \n')" "ff0001636166c3a9" "--events: binary output survives byte for byte"
capture "$RUN" --events -e 'import sys, time
for ch in "é€😀":
    b = ch.encode()
    for i in range(len(b)):
        sys.stdout.buffer.write(b[i:i+1]); sys.stdout.flush(); time.sleep(0.01)'
is "$(printf '%s\n' "$OUT" | jq -r 'select(.type=="stdout") | .data' | tr -d '\n')" "é€😀" "--events: a UTF-8 character split across writes is never split across events"
unlike "$OUT" base64 "…and stays text"
"$RUN" -e 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > "$WORK/raw.bin"
python3 -c 'import sys; sys.exit(0 if open(sys.argv[1],"rb").read() == bytes(range(256)) else 1)' "$WORK/raw.bin"
ok $? "streaming mode writes all 256 byte values raw"

capture "$RUN" --out "$WORK/out.txt" -e 'print("to file")'
is "$(cat "$WORK/out.txt")" "to file" "--out writes stdout to a file (streaming)"
is "$OUT" "to file" "…and it is still printed"
capture "$RUN" --no-stream --out "$WORK/out2.txt" --secret S=hidden-value -e 'import os; print(os.environ["S"])'
is "$(cat "$WORK/out2.txt")" "***" "--out gets masked output"
like "$OUT" "\[Run\] Output written to $WORK/out2.txt" "--no-stream --out says where"

capture "$RUN" --debug -e 'print(1)'
like "$ERR" '^\[DEBUG\] sandbox [0-9a-f]{16} (prepared|taken from isol8-pool(, interpreter running)?) in [0-9.]+ ms \(init pid [0-9]+, (cgroup v[12]|none)' "--debug: how the sandbox was built, on stderr"
like "$ERR" 'status ok, exit 0' "…and how it ended"
is "$OUT" 1 "…stdout unchanged"
capture "$RUN" -e 'print(1)'
is "$ERR" "" "without --debug, nothing on stderr"

capture bash -c "'$RUN' --json -e 'print(2 ** 10)' | jq -r .stdout"
is "$OUT" 1024 "a jq pipeline over --json"

finish
