#!/usr/bin/env bash
# Attacks on the filtering proxy (--net filtered), each written as the attacker would try it.
# The whole file runs in a network and mount namespace of its own: the addresses it adds, the
# origins it starts (on every address of that namespace, v4 and v6) and the hosts file the
# proxy resolves through (bind-mounted over /etc/hosts there) vanish with it; nothing here
# touches the machine's own network or /etc/hosts.
if [ -z "${ISOL8_PROXY_NS:-}" ]; then
	if ! unshare --net --mount true 2>/dev/null; then
		echo "1..0 # SKIP needs unshare --net --mount (root)"
		exit 0
	fi
	ISOL8_PROXY_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
P="$BIN/isol8-proxy"
A="python3 $(dirname "$0")/../helpers/proxy_attack.py"

# this namespace's "host": loopback, and a public-looking v4 and v6 address on another
# interface (a veth pair), where a careless service listens (on [::], so every address)
ip link set lo up
ip link add isol8p0 type veth peer name isol8p1
ip link set isol8p0 up && ip link set isol8p1 up
ip addr add 11.22.33.44/32 dev isol8p0
ip -6 addr add 2a0c:1::44/128 dev isol8p0 nodad
cat > "$WORK/hosts" <<'EOF'
127.0.0.1 localhost
127.0.0.2 evil.example
127.0.0.3 good.example
11.22.33.44 self.test
EOF
mount --bind "$WORK/hosts" /etc/hosts
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 2>/dev/null
$A origin 80 & o80=$!
$A origin 8080 & o8080=$!
$A origin 443 "$WORK/cert.pem" "$WORK/key.pem" & o443=$!
# the default policy (no --allow-private), no rules: only the address policy stands in the way
"$P" --listen 127.0.0.1:3128 --no-config --idle-timeout 2000 --log "$WORK/open.jsonl" 2>/dev/null & p1=$!
# a lab proxy (--allow-private) with deny rules: the rules are all that stands in the way
"$P" --listen 127.0.0.1:3129 --no-config --allow-private --idle-timeout 2000 --log "$WORK/lab.jsonl" \
	--deny '^evil\.example$' --deny '^blocked\.example$' --deny '^127\.0\.0\.1$' --deny '^::1$' --deny '^1\.2\.3\.4$' 2>/dev/null & p2=$!
# an allow-list of one host
"$P" --listen 127.0.0.1:3130 --no-config --allow-private --idle-timeout 2000 --log "$WORK/allow.jsonl" \
	--allow '^localhost$' 2>/dev/null & p3=$!
# the operator opens one more port
"$P" --listen 127.0.0.1:3131 --no-config --allow-private --idle-timeout 2000 --allow-port 8080 --allow-port 80 \
	2>/dev/null & p4=$!
trap 'kill $o80 $o8080 $o443 $p1 $p2 $p3 $p4 2>/dev/null' EXIT
for i in $(seq 50); do
	curl -s -o /dev/null http://127.0.0.1/ && curl -s -o /dev/null http://127.0.0.1:8080/ &&
		curl -sk -o /dev/null https://127.0.0.1/ && curl -s -o /dev/null -x 127.0.0.1:3131 http://localhost/ && break
	sleep 0.1
done
code() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' -x "127.0.0.1:$1" "$2"; }
lastlog() { tail -1 "$WORK/$1.jsonl" | jq -c "$2"; }

# 1. the host's own addresses, on every interface, and the special ranges in every disguise
is "$(curl -s --max-time 5 http://11.22.33.44/)" "origin-ok host=11.22.33.44" "setup: the service answers on the host's address"
is "$(code 3128 http://11.22.33.44/)" 403 "an address of this host on another interface is refused"
is "$(lastlog open '[.host, .action, .reason]')" '["11.22.33.44","BLOCK","address of this host"]' "…logged with the reason"
is "$(code 3128 http://self.test/)" 403 "…and so is a name that resolves to it"
is "$(code 3128 'http://[2a0c:1::44]/')" 403 "…and the host's IPv6 address"
is "$(curl -s --max-time 5 -o /dev/null -w '%{http_connect}' -x 127.0.0.1:3128 -k https://self.test/)" 403 "…and CONNECT to it"
is "$(code 3128 'http://[64:ff9b::7f00:1]/')" 403 "NAT64 form of 127.0.0.1 refused"
is "$(lastlog open '[.host, .reason]')" '["64:ff9b::7f00:1","special-purpose address"]' "…as a special-purpose address"
is "$(code 3128 'http://[64:ff9b::b16:212c]/')" 403 "NAT64 form of the host's own address refused"
is "$(code 3128 'http://[64:ff9b:1:a00:0:100:808:808]/')" 403 "local-use NAT64 prefix 64:ff9b:1::/48 refused"
is "$(code 3128 'http://[2002:a00:1::]/')" 403 "6to4 wrapping 10.0.0.1 refused"
is "$(code 3128 'http://[2001:0:a00:1::]/')" 403 "Teredo refused"
is "$(code 3128 'http://[::a00:1]/')" 403 "IPv4-compatible ::10.0.0.1 refused"
for a in 192.0.2.1 198.51.100.1 203.0.113.1 198.18.0.1 192.88.99.1 240.0.0.1 255.255.255.255 '[2001:db8::1]' '[100::1]' '[fec0::1]' '[3fff::1]'; do
	is "$(code 3128 "http://$a/")" 403 "special-purpose address refused: $a"
done
capture "$RUN" --net filtered --json --cmd "curl -s -o /dev/null -w '%{http_code}' http://self.test/; echo; curl -s -o /dev/null -w '%{http_code}' http://11.22.33.44/"
is "$(printf '%s' "$OUT" | jq -r .stdout)" $'403\n403' "--net filtered: the sandbox cannot reach the host's service through the host's address"

# 2. plain HTTP held to the allowed ports, as CONNECT is
is "$(curl -s --max-time 5 http://127.0.0.1:8080/)" "origin-ok host=127.0.0.1:8080" "setup: a service on port 8080"
is "$(code 3130 http://localhost:8080/)" 403 "plain HTTP to a port outside 80/443 refused"
is "$(curl -s --max-time 5 -x 127.0.0.1:3130 http://localhost:8080/)" "isol8: request to localhost:8080 blocked: port 8080 is not allowed" "…with one clear line"
is "$(lastlog allow '[.host, .action, .reason]')" '["localhost","BLOCK","port not allowed"]' "…logged with the reason"
is "$(code 3131 http://localhost:8080/)" 200 "--allow-port opens a port"
is "$(code 3131 'http://localhost:443/')" 403 "…and --allow-port replaces the default list"
capture env ISOL8_PROXY_ALLOW_PRIVATE=1 ISOL8_PROXY_PORTS=8080 "$RUN" --net filtered --json \
	--cmd "curl -s http://localhost:8080/; echo; curl -s -o /dev/null -w '%{http_code}' http://localhost/"
is "$(printf '%s' "$OUT" | jq -r .stdout)" $'origin-ok host=localhost:8080\n403' "--net filtered: the operator's ISOL8_PROXY_PORTS sets the ports"

# 3. the ClientHello: reassembled across records, refused when it cannot be parsed
is "$($A hello 3129 localhost:443 localhost 1)" "origin-ok host=localhost" "setup: TLS through CONNECT"
is "$($A hello 3129 localhost:443 blocked.example 1)" closed "an SNI naming a denied host is cut off"
is "$($A hello 3129 localhost:443 blocked.example 2)" closed "…also when the ClientHello is split over two TLS records"
is "$(lastlog lab '[.host, .action, .reason]')" '["blocked.example","BLOCK","SNI denied by rules"]' "…logged with the SNI and the reason"
is "$($A hello 3129 localhost:443 blocked.example 40)" closed "…or over forty"
is "$($A hello 3129 localhost:443 localhost 3)" "origin-ok host=localhost" "an allowed SNI split over three records passes"
is "$($A tunnel 3129 localhost:443 160301000502000001ff)" closed "a handshake that is not a ClientHello is refused"
is "$(lastlog lab '[.host, .action, .reason]')" '["localhost","BLOCK","not a TLS ClientHello"]' "…logged"
big=$(python3 -c 'import sys; h = b"\x01\x00\x4e\x20" + b"\x03\x03" + b"\0" * 19998; sys.stdout.write("".join((b"\x16\x03\x01" + len(h[k:k+16384]).to_bytes(2, "big") + h[k:k+16384]).hex() for k in range(0, len(h), 16384)))')
is "$($A tunnel 3129 localhost:443 "$big")" closed "a ClientHello over 16 KiB is refused"
is "$($A ech 3129 localhost:443 localhost)" closed "a ClientHello with ECH (the real SNI encrypted behind the outer one) is cut off"
is "$(lastlog lab '[.host, .action, .reason]')" '["localhost","BLOCK","encrypted ClientHello (ECH)"]' "…logged with the reason"
# one deadline (the idle timeout, 2 s here) for the whole ClientHello and the whole request head,
# not one per read: a client trickling a byte at a time must not hold a connection for days
is "$($A trickle 3129 localhost:443 6)" cut "a ClientHello trickled a byte at a time is cut off at the idle timeout"
is "$(lastlog lab '[.host, .action, .reason]')" '["localhost","BLOCK","ClientHello not complete in time"]' "…logged with the reason"
is "$($A trickle 3129 - 6)" cut "…and so is a request head trickled a byte at a time"
is "$($A tunnel 3129 localhost:80 "$(printf 'GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n' | od -An -tx1 | tr -d ' \n')")" closed \
	"plain HTTP inside a CONNECT tunnel (Host header fronting) is refused"

# 4. one canonical form for names and IP literals, before the rules, before connecting
is "$(code 3129 http://evil.example/)" 403 "setup: the deny rule holds for the name as written"
is "$(code 3129 http://evil.example./)" 403 "a trailing dot does not get past a deny rule"
is "$(lastlog lab '[.host, .reason]')" '["evil.example","denied by rules"]' "…the log shows the canonical name"
is "$($A raw 3129 'GET http://EVIL.Example./ HTTP/1.1\r\nHost: EVIL.Example.\r\n\r\n')" "HTTP/1.1 403 Forbidden" "…nor case and a trailing dot together"
is "$($A raw 3129 'CONNECT evil.example.:443 HTTP/1.1\r\n\r\n')" "HTTP/1.1 403 Forbidden" "…nor through CONNECT"
is "$($A raw 3129 'GET http://evil.example../ HTTP/1.1\r\nHost: evil.example..\r\n\r\n')" "HTTP/1.1 400 Bad Request" "an empty label is refused"
is "$($A raw 3129 'GET http://good.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n')" "HTTP/1.1 200 OK" "setup: an allowed loopback name passes the lab proxy"
# raw_each PORT HOST...: the status line of "GET http://HOST/" with a matching Host, one per HOST
raw_each() { local p=$1 h reqs=(); shift; for h; do reqs+=("GET http://$h/ HTTP/1.1\r\nHost: $h\r\n\r\n"); done; $A raw "$p" "${reqs[@]}"; }
literals=(127.1 0177.0.0.1 0x7f.1 0x7f000001 2130706433 127.0.1 '[::ffff:127.0.0.1]' '[::ffff:7f00:1]' '[0:0:0:0:0:ffff:7f00:1]')
mapfile -t got < <(raw_each 3129 "${literals[@]}")
for i in "${!literals[@]}"; do
	is "${got[$i]:-}" "HTTP/1.1 403 Forbidden" "IP literal ${literals[$i]} is matched as 127.0.0.1"
done
is "$(lastlog lab .host)" '"127.0.0.1"' "…and logged as 127.0.0.1"
is "$($A raw 3129 'GET http://[0::1]/ HTTP/1.1\r\nHost: [0::1]\r\n\r\n')" "HTTP/1.1 403 Forbidden" "an IPv6 literal is matched in its canonical form"
numeric=(256.0.0.1 1.2.3.4.5 08.1 0x.1 example.123)
mapfile -t got < <(raw_each 3129 "${numeric[@]}")
for i in "${!numeric[@]}"; do
	is "${got[$i]:-}" "HTTP/1.1 400 Bad Request" "a name that looks numeric but is no IPv4 address is refused: ${numeric[$i]}"
done
# the Host header matches the URI, so only the name itself can earn the 400
nonascii="$(printf 'GET http://ex\xc3\xa4mple.com/ HTTP/1.1\\r\\nHost: ex\xc3\xa4mple.com\\r\\n\\r\\n')"
is "$($A raw 3129 "$nonascii")" "HTTP/1.1 400 Bad Request" "a non-ASCII name is refused (punycode it)"
is "$($A body 3129 "$nonascii")" "isol8: malformed proxy request: non-ASCII host name (send it punycoded, xn--)" "…saying why"
# an IPv6 literal carrying an IPv4 address (NAT64, 6to4) stays IPv6 (what is dialled), but the
# rules judge the IPv4 address it carries too
is "$(code 3129 http://1.2.3.4/)" 403 "setup: a deny rule on a public IPv4 literal"
v4in6=('[64:ff9b::102:304]' '[64:ff9b::1.2.3.4]' '[0064:ff9b:0::0102:0304]' '[2002:102:304::1]' '[64:ff9b::7f00:1]' '[2002:7f00:1::]')
mapfile -t got < <(raw_each 3129 "${v4in6[@]}")
for i in "${!v4in6[@]}"; do
	is "${got[$i]:-}" "HTTP/1.1 403 Forbidden" "the deny rule on the IPv4 address holds for ${v4in6[$i]}"
done
is "$(lastlog lab '[.host, .reason]')" '["2002:7f00:1::","denied by rules"]' "…logged in the IPv6 form"
is "$($A raw 3129 'CONNECT [64:ff9b::102:304]:443 HTTP/1.1\r\n\r\n')" "HTTP/1.1 403 Forbidden" "…and through CONNECT"

# 5. the Host header must name what the absolute URI names
is "$($A raw 3130 'GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n')" "HTTP/1.1 200 OK" "setup: a matching Host passes"
is "$($A raw 3130 'GET http://localhost/ HTTP/1.1\r\nHost: evil.example\r\n\r\n')" "HTTP/1.1 400 Bad Request" "a Host header naming another host is refused"
is "$(lastlog allow '[.host, .action, .reason]')" '["localhost","BLOCK","Host header disagrees with the URI"]' "…logged"
is "$($A raw 3130 'GET http://localhost/ HTTP/1.1\r\nHost: localhost:8080\r\n\r\n')" "HTTP/1.1 400 Bad Request" "…or another port"
is "$($A raw 3130 'GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n')" "HTTP/1.1 400 Bad Request" "…or two Host headers"
is "$($A raw 3130 'GET http://localhost/ HTTP/1.1\r\nHost: LocalHost.:80\r\n\r\n')" "HTTP/1.1 200 OK" "the same host in another spelling passes"
is "$($A raw 3130 'GET http://localhost/ HTTP/1.0\r\n\r\n')" "HTTP/1.1 200 OK" "no Host header (HTTP/1.0): the URI's is sent"

finish
