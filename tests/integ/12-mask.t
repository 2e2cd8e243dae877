#!/usr/bin/env bash
# isol8-mask: the streaming masker as a filter. Secrets from the environment or a file, never
# argv; raw, base64 (any alignment) and hex forms masked; a secret split over writes masked;
# output streamed (not held to the end); no secret or a bad source refused.
. "$(dirname "$0")/lib.sh"
M="$BIN/isol8-mask"

export TOKEN=hunter2secret
b64=$(printf 'user:hunter2secret' | base64)
capture bash -c "printf 'Authorization: Basic %s\nraw hunter2secret\nhex %s\n' '$b64' \$(printf hunter2secret | od -An -tx1 | tr -d ' \n') | '$M' --secret-env TOKEN"
is "$OUT" $'Authorization: Basic dXNlcj***\nraw ***\nhex ***' "raw, base64 at offset 5 and hex forms are masked"
is "$RC" 0 "…exit 0"

# one byte at a time: no chunk holds the secret
capture bash -c "for c in h u n t e r 2 s e c r e t; do printf %s \$c; sleep 0.01; done | '$M' --secret-env TOKEN"
is "$OUT" "***" "a secret written a byte at a time is masked"

printf 'first-secret-1\r\n\nsecond-secret-2\n' > "$WORK/secrets"
capture bash -c "printf 'a first-secret-1 b second-secret-2 c\n' | '$M' --secret-file '$WORK/secrets'"
is "$OUT" "a *** b *** c" "--secret-file: one secret a line (CR LF too, blank lines skipped)"

# streaming: the first line comes out while the writer still sleeps
capture bash -c "{ echo early; sleep 2.5; echo late; } | '$M' --secret-env TOKEN | { read -r l; a=\$(date +%s%N); cat >/dev/null; echo \"\$l \$(( (\$(date +%s%N) - a) / 1000000 ))\"; }"
ok $([ "${OUT#early }" -ge 1000 ] 2>/dev/null; echo $?) "output streams: the first line arrives before the input ends (${OUT#early } ms before)"

capture "$M"
is "$ERR:$RC" "[ERR] isol8-mask needs a secret: --secret-env NAME or --secret-file FILE:1" "no secret: refused, not passed through"
capture env -u NOPE "$M" --secret-env NOPE
is "$ERR:$RC" "[ERR] --secret-env NOPE: the variable is not set or empty:1" "an unset variable: refused"
capture "$M" --secret hunter2secret
like "$ERR:$RC" '^\[ERR\] unknown option .*--secret.*:1$' "a secret on the command line is not an option"
capture "$M" hunter2secret
like "$ERR:$RC" '^\[ERR\] isol8-mask takes no arguments.*:1$' "…nor an argument"
printf '\n\n' > "$WORK/empty"
capture "$M" --secret-file "$WORK/empty"
like "$ERR:$RC" 'holds no secret.*:1$' "a secret file with no secret: refused"
printf 'a\0b\n' > "$WORK/nul"
capture "$M" --secret-file "$WORK/nul"
like "$ERR:$RC" 'NUL byte.*:1$' "a secret file with a NUL byte: refused"
mkfifo "$WORK/fifo"
capture timeout 5 "$M" --secret-file "$WORK/fifo"
like "$RC" '^1$' "a FIFO as the secret file: refused, not waited on"
capture bash -c "S=sk-123456 '$ISOL8' mask --secret-env S <<<'key sk-123456'"
is "$OUT" "key ***" "isol8 mask runs it"

finish
