shopt -s expand_aliases
alias exit=return
while IFS= read -r -d '' -u 3 __isol8_code; do
  IFS= read -r -d '' -u 3 __isol8_stdin
  if eval "__isol8_block() {
$__isol8_code
}"; then
    __isol8_block < <(printf '%s' "$__isol8_stdin")
    __isol8_rc=$?
  else
    __isol8_rc=2
  fi
  printf '{"exit":%d}\n' "$__isol8_rc" >&4
done
