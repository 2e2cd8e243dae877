#!/usr/bin/env bash
# The dispatcher, flag validation, input resolution and config errors: every mistake is one
# clear [ERR] line, exit 1, and nothing runs.
. "$(dirname "$0")/lib.sh"

capture "$ISOL8" --version;        is "$OUT" "0.1.0" "--version prints the bare version"
capture "$ISOL8";                  like "$OUT" "Commands:" "no arguments prints help"; is "$RC" 0 "help exits 0"
capture "$ISOL8" frobnicate;       is "$ERR" "error: unknown command 'frobnicate' (see isol8 --help)" "unknown subcommand"; is "$RC" 1 "unknown subcommand exits 1"
capture "$ISOL8" run --help;       like "$OUT" "Usage: isol8 run" "isol8 run --help execs isol8-run"
like "$OUT" "--image NAME\|DIR" "…and says --image takes an image's name or a directory"
# the image commands print their help and exit 0, as every other --help
for c in build setup list-custom; do
	capture "$ISOL8" $c --help
	is "$RC" 0 "isol8 $c --help exits 0"
	like "$OUT" "^usage: isol8-image" "…and prints the usage on stdout"
done
capture "$ISOL8" build --help
like "$OUT" "pip for python, npm for node, bun for bun, deno cache for deno, apt for bash" "…build's usage names the five runtimes' package managers"
capture "$ISOL8" build --tag x
is "$ERR" "[ERR] --base RUNTIME is required (python, node, bun, deno, bash)" "isol8 build without --base names every runtime"
capture "$ISOL8" doctor;           like "$OUT" "ok +seccomp" "doctor checks seccomp"; like "$OUT" "resource limits +cgroup v[12]" "doctor names the cgroup version in force"

err_case() { # NAME EXPECTED-ERR-REGEX ARGS...
	local name=$1 want=$2; shift 2
	capture "$RUN" "$@"
	like "$ERR" "^\[ERR\] $want" "$name: one clear error"
	is "$RC" 1 "$name: exit 1"
	is "$(printf '%s\n' "$ERR" | wc -l)" 1 "$name: exactly one line"
}
err_case "--cmd with -e" "--cmd cannot be combined" --cmd 'echo' -e 'print(1)'
err_case "missing file" "File not found: /nonexistent.py" /nonexistent.py
touch "$WORK/script.xyz"
err_case "undetectable runtime" "Cannot detect runtime for .*script.xyz. Use --runtime to specify." "$WORK/script.xyz"
err_case "unknown runtime" 'Unknown runtime: "cobol". Available: python, node, bun, deno, bash' -r cobol -e 'x'
err_case "bad timeout" "--timeout must be" --timeout 10s -e 'print(1)'
err_case "bad memory" 'Invalid memory limit format: "lots"' --memory lots -e 'print(1)'
err_case "bad cpu" "--cpu must be" --cpu -1 -e 'print(1)'
err_case "bad net" "--net must be none, host or filtered" --net wide -e 'print(1)'
err_case "bad package name" 'Invalid package name: "a b"' --install 'a b' -e 'print(1)'
err_case "bad filter pattern" 'invalid --deny pattern' --net filtered --deny '(' -e 'print(1)'
err_case "bad secret" "--secret must be KEY=VALUE" --secret NOEQUALS -e 'print(1)'
err_case "files not a dir" "--files path is not a directory" --files /etc/hostname -e 'print(1)'
err_case "workdir escape" "Working directory must be inside /sandbox" --workdir ../../etc -e 'print(1)'
err_case "image not a dir" "--image must name a root filesystem directory" --image /nonexistent -e 'print(1)'
echo '{"runtime": "python", "code": ' > "$WORK/bad.json"
err_case "malformed request JSON" "--request: invalid JSON" --request "$WORK/bad.json"
echo '{"runtime":"python","code":"print(1)","files":{"/etc/passwd":"x"}}' > "$WORK/esc.json"
err_case "request file path escape" 'File path must be inside /sandbox or /tmp: "/etc/passwd"' --request "$WORK/esc.json"
echo '{"runtime":"python","code":"print(1)","surprise":true}' > "$WORK/unk.json"
err_case "request unknown field" "unknown field request.surprise" --request "$WORK/unk.json"
head -c $((70 << 20)) /dev/zero | tr '\0' 'a' > "$WORK/huge.json"
err_case "huge request" "--request: input is larger than" --request "$WORK/huge.json"
err_case "no code on a terminal-less empty stdin" "ExecutionRequest must include exactly one of" -r python

echo '{"defaults":{"timeoutMS":5}}' > "$WORK/typo.json"
capture env ISOL8_CONFIG="$WORK/typo.json" "$RUN" -e 'print(1)'
like "$ERR" '^\[ERR\] config .*typo.json: unknown key "defaults.timeoutMS"' "config typo is an error, not silently ignored"
echo '{"defaults":{"memoryLimit":64}}' > "$WORK/type.json"
capture env ISOL8_CONFIG="$WORK/type.json" "$ISOL8" config
like "$ERR" '"defaults.memoryLimit" must be a string' "config wrong type is an error"
echo '{"defaults":{"timeoutMs":1234}}' > "$WORK/ok.json"
capture env ISOL8_CONFIG="$WORK/ok.json" "$ISOL8" config --json
is "$(printf '%s' "$OUT" | jq -c '[.defaults.timeoutMs, .defaults.memoryLimit, .maxConcurrent]')" '[1234,"512m",10]' "config --json merges a section over the defaults"
capture env ISOL8_CONFIG="$WORK/ok.json" "$ISOL8" config
like "$OUT" "Source: .*ok.json" "config names its source"
(cd "$WORK" && echo '{"defaults":{"timeoutMs":777}}' > isol8.config.json && env -u ISOL8_CONFIG HOME=/nonexistent "$ISOL8" config --json) > "$WORK/cwd.out"
is "$(jq .defaults.timeoutMs "$WORK/cwd.out")" 777 "./isol8.config.json is found in the current directory"
echo '{"defaults":{"timeoutMs":1000}}' > "$WORK/short.json"
capture env ISOL8_CONFIG="$WORK/short.json" "$RUN" --json -e 'import time; time.sleep(5)'
is "$(printf '%s' "$OUT" | jq -r .status)" timeout "defaults.timeoutMs from the config is used"

# Command lines as the documentation writes them: options anywhere after `run`, before and
# after the file; `--` ends the options; two files are still refused.
printf 'print("after-ok")\n' > "$WORK/opt.py"
printf 'import time; time.sleep(5)\n' > "$WORK/sleepy.py"
printf 'import os; print(os.environ["DB_PASSWORD"])\n' > "$WORK/sec.py"
capture "$ISOL8" run "$WORK/opt.py" --timeout 5000 --memory 256m
is "$OUT:$RC" "after-ok:0" "options after the file are options (isol8 run script.py --timeout 5000 --memory 256m)"
capture "$RUN" "$WORK/sleepy.py" --timeout 1000 --json
is "$(printf '%s' "$OUT" | jq -r .status)" timeout "…and take effect (--timeout 1000 after the file stops a 5 s sleep)"
capture "$RUN" --json "$WORK/sec.py" --secret DB_PASSWORD=hunter2
is "$(printf '%s' "$OUT" | jq -r .stdout)" "***" "options before and after the file combine (--secret after it is masked)"
capture "$RUN" "$WORK/opt.py" --bogus
is "$ERR:$RC" '[ERR] unknown option "--bogus" (see isol8 run --help):1' "an unknown option after the file is still an error, named"
capture "$RUN" "$WORK/opt.py" --timeout
is "$ERR:$RC" '[ERR] option "--timeout" needs a value (see isol8 run --help):1' "a missing value: one line that names the option"
capture "$RUN" "$WORK/opt.py" "$WORK/sec.py"
is "$ERR:$RC" "[ERR] only one file may be given (got \"$WORK/sec.py\" too):1" "two files: refused"
capture "$RUN" "$WORK/opt.py" --timeout 5000 "$WORK/sec.py"
is "$ERR:$RC" "[ERR] only one file may be given (got \"$WORK/sec.py\" too):1" "two files with an option between: refused"
printf 'print("dash-ok")\n' > "$WORK/-dash.py"
capture bash -c "cd '$WORK' && '$RUN' --timeout 5000 -- -dash.py"
is "$OUT:$RC" "dash-ok:0" "-- ends the options: a file named -dash.py after it is the file"
capture bash -c "cd '$WORK' && '$RUN' -- -dash.py --timeout 5000"
is "$ERR:$RC" '[ERR] only one file may be given (got "--timeout" too):1' "…and everything after -- is a file name"

# --stream asks for what is already the default; it cannot be combined with a buffered mode
capture "$ISOL8" run -e "import time; print('start', flush=True); time.sleep(1); print('done')" --runtime python --stream
is "$OUT:$RC" $'start\ndone:0' "--stream is accepted (streaming is the default)"
# the first line must come at least a second before the end (the program sleeps 2.5 s between:
# room for a loaded machine)
capture bash -c "'$RUN' --stream -e \"import time; print('start', flush=True); time.sleep(2.5); print('done')\" | { read -r l; a=\$(date +%s%N); cat >/dev/null; echo \"\$l \$(( (\$(date +%s%N) - a) / 1000000 ))\"; }"
like "$OUT" '^start [0-9]+$' "--stream: the first line is printed"
ok $([ "${OUT#start }" -ge 1000 ] 2>/dev/null; echo $?) "--stream: the first line arrives before the program ends (${OUT#start } ms before)"
capture "$RUN" --stream --no-stream -e 'print(1)'
is "$ERR:$RC" "[ERR] --stream cannot be combined with --no-stream or --json:1" "--stream with --no-stream: one clear error"
capture "$RUN" --json --stream -e 'print(1)'
is "$ERR:$RC" "[ERR] --stream cannot be combined with --no-stream or --json:1" "--stream with --json: one clear error"

# --persistent --persist: a session that is never idle-reaped, kept until `isol8 cleanup`
mkdir -p "$WORK/proj" && cd "$WORK/proj"
echo '{"cleanup":{"maxContainerAgeMs":1000}}' > "$WORK/fastidle.json"
capture env ISOL8_CONFIG="$WORK/fastidle.json" "$ISOL8" run --persistent --persist -e "x = 42" --runtime python
is "$RC" 0 "isol8 run --persistent --persist -e \"x = 42\" --runtime python runs"
sid=$(printf '%s' "$ERR" | sed -n 's/^\[Run\] Session ID: //p')
like "$sid" '^cli-python-[0-9a-f]+$' "…and prints its session id"
like "$ERR" "isol8 cleanup" "…and says how to remove it"
sleep 2.5 # past the configured idle timeout (1 s)
capture env ISOL8_CONFIG="$WORK/fastidle.json" "$BIN/isol8-cleanup"
is "$(printf '%s' "$OUT" | jq -c '[.removed, .failed]')" "[0,0]" "isol8-cleanup (cron) leaves a persisted session alone, idle or not"
capture "$BIN/isol8-session" list --json
is "$(printf '%s' "$OUT" | jq -r --arg s "$sid" 'map(select(.id == $s)) | .[0].alive')" true "…it is still running after its idle timeout"
capture env ISOL8_CONFIG="$WORK/fastidle.json" "$ISOL8" run --persistent -e "print(x)" --runtime python
is "$OUT" 42 "…and keeps its state for the next --persistent run in the same directory"
capture "$ISOL8" cleanup --force
is "$(printf '%s' "$OUT" | jq -c '[.removed >= 1, .failed]')" "[true,0]" "isol8 cleanup --force removes it"
ok $([ ! -e "$ISOL8_RUN_DIR/sessions/$sid" ]; echo $?) "…its session directory is gone"
capture "$BIN/isol8-session" exec "$sid" -e 'print(x)'
like "$ERR" "no session \"$sid\"" "…and so is the session"
# an existing session with an idle timeout is not silently left to expire
capture "$ISOL8" run --persistent -e "y = 1" --runtime python
capture "$ISOL8" run --persistent --persist -e "print(y)" --runtime python
like "$ERR" "^\[ERR\] session cli-python-[0-9a-f]+ already runs with an idle timeout" "--persist on a session that expires: one clear error"
is "$RC" 1 "…exit 1"
"$ISOL8" session stop "$(printf '%s' "$ERR" | grep -o 'cli-python-[0-9a-f]*' | head -1)" > /dev/null
cd /

finish
