#!/usr/bin/env bash
# Installs what isol8 needs to build and to run its five runtimes, idempotently.
#   C libraries and Debian's python3 (with matplotlib: figures): apt-get (Debian packages only).
#   haproxy and nginx (make cluster: nodes behind a balancer): apt-get too; no system nginx is
#   started or enabled (the tests run their own, from contrib/nginx.conf).
#   bun and deno: the npm registry, into a fixed prefix (ISOL8_RUNTIMES, default /opt/isol8/runtimes),
#   with stable links in $ISOL8_RUNTIMES/bin that the sandbox puts on PATH.
#   node: already on the machine (/usr/bin/node).
#   @modelcontextprotocol/sdk (major 1), for tests/integ/52-mcp-sdk.t: the npm registry, with the
#   machine's npm, into a prefix of its own (ISOL8_TEST_NODE, default /opt/isol8/test-node).
# Every step checks first, so a second run does nothing and needs no network.
set -euo pipefail
RT=${ISOL8_RUNTIMES:-/opt/isol8/runtimes}
say() { printf 'deps: %s\n' "$*" >&2; }

need_pkgs=()
have_hdr() { [ -e "/usr/include/$1" ] || [ -e "/usr/include/x86_64-linux-gnu/$1" ]; }
have_hdr seccomp.h || need_pkgs+=(libseccomp-dev)
have_hdr jv.h      || need_pkgs+=(libjq-dev libonig-dev)
have_hdr pcre2.h   || need_pkgs+=(libpcre2-dev)
have_hdr bash/builtins.h || need_pkgs+=(bash-builtins)   # the bash zygote: a loadable builtin
have_hdr curl/curl.h || need_pkgs+=(libcurl4-openssl-dev)
have_hdr openssl/sha.h || need_pkgs+=(libssl-dev)          # isol8-serve: key digests
have_hdr sqlite3.h || need_pkgs+=(libsqlite3-dev)            # isol8-serve: keys in SQLite
have_hdr postgresql/libpq-fe.h || need_pkgs+=(libpq-dev)     # …and in PostgreSQL
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)  # tests: a server of their own
command -v systemd-socket-activate >/dev/null || need_pkgs+=(systemd)  # socket-activation tests
[ -x /usr/bin/python3 ] || need_pkgs+=(python3)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)   # --install for python
/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || need_pkgs+=(python3-matplotlib)  # figures as results
command -v openssl >/dev/null || need_pkgs+=(openssl)   # test certificates for the proxy tests
command -v clang >/dev/null || need_pkgs+=(clang)       # make fuzz (libFuzzer)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v prove >/dev/null || need_pkgs+=(perl)
command -v cc >/dev/null || need_pkgs+=(gcc make)
command -v jq >/dev/null || need_pkgs+=(jq)
command -v strace >/dev/null || need_pkgs+=(strace)   # tests: a deterministic slow reader (45-fast-exit.t)
command -v haproxy >/dev/null || need_pkgs+=(haproxy) # make cluster: nodes behind a balancer
command -v nginx >/dev/null || need_pkgs+=(nginx)     # …and behind nginx (contrib/nginx.conf)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { say "missing ${need_pkgs[*]}: run 'make deps' as root"; exit 1; }
  say "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's nginx starts a system nginx once installed, serving its default site on port 80;
  # the tests want none (they run their own, on a free loopback port). The maintainer scripts
  # ask /usr/sbin/policy-rc.d first: unless one is there already (a container's refuses every
  # start), ours refuses nginx's start, and only it, for the length of this install.
  policy=
  if [[ " ${need_pkgs[*]} " == *" nginx "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    trap 'rm -f "$policy"' EXIT
    printf '%s\n' '#!/bin/sh' '# from isol8 scripts/deps.sh, for one apt-get install: no system nginx' \
      'case "$1" in nginx|nginx.service) exit 101 ;; esac' 'exit 0' >"$policy"
    chmod 755 "$policy"
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  if [[ " ${need_pkgs[*]} " == *" nginx "* ]]; then
    # …nor at the next boot: Debian enables the service too
    systemctl disable nginx >/dev/null 2>&1 || true
    update-rc.d nginx disable >/dev/null 2>&1 || true
  fi
fi

command -v node >/dev/null || { say "node is expected on this machine (/usr/bin/node) and is missing"; exit 1; }

# The npm packages carry the real binaries in platform packages; npm may skip their
# postinstall scripts, so find the binary wherever the package left it.
find_bin() { # name candidates...
  local c
  for c in "$@"; do
    if [ -x "$RT/node_modules/$c" ] && "$RT/node_modules/$c" --version >/dev/null 2>&1; then
      printf '%s\n' "$RT/node_modules/$c"; return 0
    fi
  done
  return 1
}
bun_c=(@oven/bun-linux-x64/bin/bun bun/bin/bun.exe bun/bin/bun @oven/bun-linux-x64-baseline/bin/bun)
deno_c=(@deno/linux-x64-glibc/deno deno/bin/deno)
if ! find_bin "${bun_c[@]}" >/dev/null || ! find_bin "${deno_c[@]}" >/dev/null; then
  [ "$(id -u)" = 0 ] || [ -w "$(dirname "$RT")" ] || { say "cannot write $RT: run 'make deps' as root"; exit 1; }
  say "npm install bun deno into $RT"
  mkdir -p "$RT"
  npm install --no-audit --no-fund --loglevel=error --prefix "$RT" bun@1 deno@2 >/dev/null
fi
mkdir -p "$RT/bin"
ln -sfn "$(find_bin "${bun_c[@]}")" "$RT/bin/bun"
ln -sfn "$(find_bin "${deno_c[@]}")" "$RT/bin/deno"
ln -sfn /usr/bin/node "$RT/bin/node"
chmod -R a+rX "$RT"

# The official MCP TypeScript SDK, for the test that drives isol8-mcp as a real client would.
TN=${ISOL8_TEST_NODE:-/opt/isol8/test-node}
sdk_version() { node -p "require('$TN/node_modules/@modelcontextprotocol/sdk/package.json').version" 2>/dev/null; }
case "$(sdk_version)" in
1.*) ;;
*)
  [ "$(id -u)" = 0 ] || [ -w "$(dirname "$TN")" ] || { say "cannot write $TN: run 'make deps' as root"; exit 1; }
  say "npm install @modelcontextprotocol/sdk@1 into $TN"
  mkdir -p "$TN"
  npm install --no-audit --no-fund --loglevel=error --prefix "$TN" @modelcontextprotocol/sdk@1 >/dev/null
  chmod -R a+rX "$TN"
  ;;
esac
say "ok: python3 $(/usr/bin/python3 -c 'import sys;print(sys.version.split()[0])'), node $(node --version), bun $("$RT/bin/bun" --version), deno $("$RT/bin/deno" --version | head -1 | cut -d' ' -f2), MCP SDK $(sdk_version)"
