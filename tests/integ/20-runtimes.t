#!/usr/bin/env bash
# Every runtime: hello world, exit codes, stderr, stdin, env, injected files, outputPaths,
# workdir, file input with extension detection, --cmd.
. "$(dirname "$0")/lib.sh"

declare -A HELLO=(
	[python]='print("hello from python")'
	[node]='console.log("hello from node")'
	[bun]='console.log("hello from bun")'
	[deno]='console.log("hello from deno")'
	[bash]='echo "hello from bash"'
)
declare -A EXIT42=(
	[python]='import sys; sys.exit(42)'
	[node]='process.exit(42)'
	[bun]='process.exit(42)'
	[deno]='Deno.exit(42)'
	[bash]='exit 42'
)
declare -A STDERR=(
	[python]='import sys; print("oops", file=sys.stderr)'
	[node]='console.error("oops")'
	[bun]='console.error("oops")'
	[deno]='console.error("oops")'
	[bash]='echo oops >&2'
)
declare -A STDIN=(
	[python]='import sys; print(sys.stdin.read().upper())'
	[node]='let d="";process.stdin.on("data",c=>d+=c).on("end",()=>console.log(d.toUpperCase()))'
	[bun]='console.log((await Bun.stdin.text()).toUpperCase())'
	[deno]='const t = await new Response(Deno.stdin.readable).text(); console.log(t.toUpperCase())'
	[bash]='tr a-z A-Z'
)
declare -A ENV=(
	[python]='import os; print(os.environ["GREETING"])'
	[node]='console.log(process.env.GREETING)'
	[bun]='console.log(process.env.GREETING)'
	[deno]='console.log(Deno.env.get("GREETING"))'
	[bash]='echo "$GREETING"'
)
declare -A READFILE=(
	[python]='print(open("/sandbox/data/in.txt").read()); open("/sandbox/out.txt","w").write("written")'
	[node]='const fs=require("fs"); console.log(fs.readFileSync("/sandbox/data/in.txt","utf8")); fs.writeFileSync("/sandbox/out.txt","written")'
	[bun]='const fs=require("fs"); console.log(fs.readFileSync("/sandbox/data/in.txt","utf8")); fs.writeFileSync("/sandbox/out.txt","written")'
	[deno]='console.log(Deno.readTextFileSync("/sandbox/data/in.txt")); Deno.writeTextFileSync("/sandbox/out.txt","written")'
	[bash]='cat /sandbox/data/in.txt; printf written > /sandbox/out.txt'
)

for rt in python node bun deno bash; do
	capture "$RUN" -r $rt -e "${HELLO[$rt]}"
	is "$OUT" "hello from $rt" "$rt: hello world"; is "$RC" 0 "$rt: exit 0"
	capture "$RUN" -r $rt -e "${EXIT42[$rt]}"
	is "$RC" 42 "$rt: exit code 42 propagates"
	capture "$RUN" -r $rt -e "${STDERR[$rt]}"
	is "$ERR" "oops" "$rt: stderr is the program's stderr"; is "$OUT" "" "$rt: nothing on stdout"
	capture "$RUN" -r $rt --stdin "quiet words" -e "${STDIN[$rt]}"
	is "$OUT" "QUIET WORDS" "$rt: --stdin reaches the program"
	jq -n --arg rt $rt --arg code "${ENV[$rt]}" '{request:{runtime:$rt, code:$code, env:{GREETING:"hi there"}}}' > "$WORK/env.json"
	capture "$RUN" --request "$WORK/env.json"
	is "$OUT" "hi there" "$rt: request env reaches the program"
	jq -n --arg rt $rt --arg code "${READFILE[$rt]}" \
		'{request:{runtime:$rt, code:$code, files:{"/sandbox/data/in.txt":"injected"}, outputPaths:["/sandbox/out.txt"]}}' > "$WORK/files.json"
	capture "$RUN" --json --request "$WORK/files.json"
	is "$(printf '%s' "$OUT" | jq -r .stdout)" "injected" "$rt: injected file in a nested dir is readable"
	is "$(printf '%s' "$OUT" | jq -r '.files["/sandbox/out.txt"]' | base64 -d)" "written" "$rt: outputPaths returns the written file"
done

# file input: runtime from the extension, run as a file (so __file__ / import.meta work)
printf 'import sys\nprint(__name__, sys.argv[0])\n' > "$WORK/prog.py"
capture "$RUN" "$WORK/prog.py";  is "$OUT" "__main__ /sandbox/main.py" ".py runs as a file with python"
printf 'console.log(typeof require, "js")\n' > "$WORK/prog.js"
capture "$RUN" "$WORK/prog.js";  is "$OUT" "function js" ".js runs with node"
printf 'import { sep } from "node:path"; console.log("esm", sep)\n' > "$WORK/prog.mjs"
capture "$RUN" "$WORK/prog.mjs"; is "$OUT" "esm /" ".mjs runs as ESM with node"
printf 'const n: number = 7; console.log("ts", n * 6)\n' > "$WORK/prog.ts"
capture "$RUN" "$WORK/prog.ts";  is "$OUT" "ts 42" ".ts runs with bun"
printf 'const n: number = 6; console.log("deno", n * 7, typeof Deno)\n' > "$WORK/prog.mts"
capture "$RUN" "$WORK/prog.mts"; is "$OUT" "deno 42 object" ".mts runs with deno"
printf 'echo "sh $0"\n' > "$WORK/prog.sh"
capture "$RUN" "$WORK/prog.sh";  is "$OUT" "sh /sandbox/main.sh" ".sh runs with bash"
printf 'print("forced")\n' > "$WORK/prog.txt"
capture "$RUN" -r python "$WORK/prog.txt"; is "$OUT" "forced" "-r overrides detection"
capture bash -c "echo 'print(6*7)' | '$RUN'"; is "$OUT" "42" "code on stdin defaults to python"
capture bash -c "echo 'console.log(6*7)' | '$RUN' -r node"; is "$OUT" "42" "code on stdin with -r"

# --cmd: bash -c in the runtime's environment
capture "$RUN" --cmd 'echo $0; command -v python3'; is "$OUT" $'bash\n/usr/bin/python3' "--cmd runs bash -c, runtime defaults to bash"
capture "$RUN" -r node --cmd 'node -e "console.log(1+1)"'; is "$OUT" "2" "--cmd with -r node"

# workdir: relative, created, code still at /sandbox/main.*
capture "$RUN" --workdir a/b -e 'import os; print(os.getcwd())'; is "$OUT" "/sandbox/a/b" "--workdir is resolved under /sandbox and created"

# --files: a nested directory tree, executable bits kept, .git skipped, symlinks not followed
mkdir -p "$WORK/proj/pkg/sub" "$WORK/proj/.git"
echo 'VALUE = 7' > "$WORK/proj/pkg/sub/mod.py"; touch "$WORK/proj/pkg/__init__.py" "$WORK/proj/pkg/sub/__init__.py"
printf '#!/bin/sh\necho script-ran\n' > "$WORK/proj/run.sh"; chmod +x "$WORK/proj/run.sh"
echo secret > "$WORK/proj/.git/config"; ln -s /etc/shadow "$WORK/proj/shadow-link"
capture "$RUN" --files "$WORK/proj" -e 'from pkg.sub.mod import VALUE; print(VALUE * 6)'
is "$OUT" "42" "--files injects nested directories"
capture "$RUN" --files "$WORK/proj" --cmd './run.sh; ls -a /sandbox | tr "\n" " "'
is "$OUT" $'script-ran\n. .. pkg run.sh ' "--files keeps executable bits, skips .git, does not follow symlinks"

finish
