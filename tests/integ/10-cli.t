#!/usr/bin/env bash
# The dispatcher, flag validation, input resolution and config errors: every mistake is one
# clear [ERR] line, exit 1, and nothing runs.
. "$(dirname "$0")/lib.sh"

capture "$ISOL8" --version;        is "$OUT" "0.1.0" "--version prints the bare version"
capture "$ISOL8";                  like "$OUT" "Commands:" "no arguments prints help"; is "$RC" 0 "help exits 0"
capture "$ISOL8" frobnicate;       is "$ERR" "error: unknown command 'frobnicate' (see isol8 --help)" "unknown subcommand"; is "$RC" 1 "unknown subcommand exits 1"
capture "$ISOL8" run --help;       like "$OUT" "Usage: isol8 run" "isol8 run --help execs isol8-run"
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

finish
