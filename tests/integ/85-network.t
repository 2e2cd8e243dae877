#!/usr/bin/env bash
# Filtered network: isol8-proxy on its own and behind --net filtered. Every origin is on the
# loopback interface of this machine; nothing here ever dials another address (blocked
# requests are refused by policy before any connection is made).
. "$(dirname "$0")/lib.sh"
P="$BIN/isol8-proxy"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HP=$(port); SP=$(port); XP=$(port); KP=$(port)
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 2>/dev/null
mkdir -p "$WORK/www" && echo plain-ok > "$WORK/www/index.txt"
python3 -m http.server $HP --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 & hs=$!
python3 "$(dirname "$0")/../helpers/https_origin.py" $SP "$WORK/cert.pem" "$WORK/key.pem" & ss=$!
"$P" --listen 127.0.0.1:$XP --allow-private --allow '^localhost$' --allow '^127\.0\.0\.1$' --deny '^blocked\.' \
	--deny '^127\.0\.0\.2$' --ports 443,$SP,$HP,$KP --log "$WORK/proxy.jsonl" 2>/dev/null & px=$!
trap 'kill $hs $ss $px 2>/dev/null' EXIT
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$HP/ && curl -sk -o /dev/null https://127.0.0.1:$SP/ && break; sleep 0.1; done
wait_port $XP
X="-s --max-time 5 -x http://127.0.0.1:$XP"

is "$(curl $X http://localhost:$HP/index.txt)" plain-ok "HTTP: an allowed host passes"
is "$(curl $X -o /dev/null -w '%{http_code}' http://blocked.localhost:$HP/)" 403 "HTTP: a blacklisted host gets 403"
is "$(curl $X http://blocked.localhost:$HP/)" "isol8: request to blocked.localhost blocked by network filter" "…with the reference's body"
is "$(curl $X -o /dev/null -w '%{http_code}' http://elsewhere.test/)" 403 "HTTP: a host not on the whitelist gets 403"
is "$(curl $X -o /dev/null -w '%{http_code}' http://127.0.0.2:$HP/)" 403 "the blacklist wins over the whitelist"
is "$(curl $X -k https://localhost:$SP/)" secure-ok "HTTPS: CONNECT to an allowed host tunnels"
is "$(curl $X -o /dev/null -w '%{http_connect}' -k https://localhost:9/ 2>/dev/null)" 403 "CONNECT to a port outside --ports gets 403"
is "$(curl $X -o /dev/null -w '%{http_connect}' -k https://blocked.localhost:$SP/ 2>/dev/null)" 403 "CONNECT to a blacklisted host gets 403"
# domain fronting: CONNECT names an allowed host, the ClientHello names another
capture bash -c "echo | timeout 5 openssl s_client -proxy 127.0.0.1:$XP -connect localhost:$SP -servername blocked.example 2>&1"
unlike "$OUT" 'BEGIN CERTIFICATE|Server certificate' "a CONNECT whose SNI names a blocked host is cut off before any TLS reply"
capture bash -c "echo | timeout 5 openssl s_client -proxy 127.0.0.1:$XP -connect localhost:$SP -servername localhost 2>&1"
like "$OUT" 'Server certificate' "…while a matching SNI goes through"
capture curl $X -o /dev/null -w '%{http_code}' -H 'Proxy-Authorization: Basic c2VjcmV0' http://localhost:$HP/index.txt
is "$OUT" 200 "Proxy-* headers are accepted (and stripped before the origin)"
capture bash -c "printf 'GET /index.txt HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 nc -q 2 127.0.0.1 $XP 2>/dev/null || printf 'GET /index.txt HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 python3 -c 'import socket,sys; s=socket.create_connection((\"127.0.0.1\",$XP)); s.sendall(sys.stdin.buffer.read()); print(s.recv(200).decode())'"
like "$OUT" '400 Bad Request' "an origin-form request (not a proxy request) gets 400"
capture python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$XP)); s.sendall(b'GET http://localhost/ HTTP/1.1\r\n' + b'X: ' + b'a'*20000 + b'\r\n\r\n'); print(s.recv(100).decode())"
like "$OUT" '400 Bad Request' "a request head over 16 KiB gets 400"

for i in $(seq 100); do [ "$(wc -l <"$WORK/proxy.jsonl")" -ge 11 ] && break; sleep 0.05; done # written as each ends
is "$(jq -r '.action' "$WORK/proxy.jsonl" | head -11 | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 4 ALLOW; 7 BLOCK;" "one log line per request, ALLOW/BLOCK (malformed requests are not proxy requests)"
is "$(jq -c 'select(.host=="blocked.example") | [.method, .path, .action]' "$WORK/proxy.jsonl")" '["CONNECT",null,"BLOCK"]' "the fronting attempt is logged as a blocked CONNECT to the SNI host"
is "$(jq -c 'select(.path=="/index.txt") | keys' "$WORK/proxy.jsonl" | head -1)" '["action","durationMs","host","method","path","timestamp"]' "log lines have the reference's network.jsonl fields"

# keep-alive: several requests over one client connection, each framed correctly
python3 "$(dirname "$0")/../helpers/http11_origin.py" $KP & ko=$!
wait_port $KP
cat > "$WORK/ka.py" <<'PY'
import http.client, sys
xp, kp = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", int(xp), timeout=5)
out, socks = [], set()
for method, path, body in (("GET", "/len", None), ("GET", "/chunked", None), ("HEAD", "/len", None),
                           ("POST", "/echo", b"posted-data"), ("GET", "/len", None)):
    c.request(method, f"http://localhost:{kp}{path}", body=body)
    socks.add(id(c.sock))
    r = c.getresponse()
    out.append(f"{r.status}:{r.read().decode()}")
print(" ".join(out), len(socks))
PY
capture python3 "$WORK/ka.py" "$XP" "$KP"
is "$OUT" "200:fixed-length 200:chunked-body 200: 200:posted-data 200:fixed-length 1" "keep-alive: length, chunked, HEAD and POST bodies over one connection"
cat > "$WORK/ka2.py" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", f"http://localhost:{sys.argv[2]}/len"); r = c.getresponse(); r.read()
c.request("GET", "http://blocked.localhost/len"); r = c.getresponse()
print(r.status)
PY
capture python3 "$WORK/ka2.py" "$XP" "$KP"
is "$OUT" 403 "keep-alive: every request on the connection is checked against the rules"
printf 'POST http://localhost:%s/echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' $KP > "$WORK/smuggle.bin"
capture python3 -c "import socket,sys; s = socket.create_connection(('127.0.0.1', $XP)); s.sendall(open(sys.argv[1],'rb').read()); print(s.recv(100).decode().split(chr(13))[0])" "$WORK/smuggle.bin"
is "$OUT" "HTTP/1.1 400 Bad Request" "a request with both Content-Length and Transfer-Encoding (smuggling) gets 400"
kill $ko

# the other two ways to run it: systemd socket activation (LISTEN_FDS) and inetd (one
# connection on stdin/stdout), here driven by systemd-socket-activate
SA=$(port); IN=$(port)
systemd-socket-activate -l 127.0.0.1:$SA "$P" --allow-private --allow-port $HP --deny '^blocked' >/dev/null 2>&1 & sa=$!
systemd-socket-activate -l 127.0.0.1:$IN --inetd -a "$P" --inetd --allow-private --allow-port $HP --deny '^blocked' >/dev/null 2>&1 & ia=$!
wait_port $SA; wait_port $IN
is "$(curl -s --max-time 5 -x http://127.0.0.1:$SA http://localhost:$HP/index.txt)" plain-ok "socket activation: serves on the socket it is given"
is "$(curl -s --max-time 5 -x http://127.0.0.1:$SA -o /dev/null -w '%{http_code}' http://blocked.test/)" 403 "socket activation: rules apply"
is "$(curl -s --max-time 5 -x http://127.0.0.1:$IN http://localhost:$HP/index.txt)" plain-ok "inetd: one connection on stdin/stdout"
is "$(curl -s --max-time 5 -x http://127.0.0.1:$IN -o /dev/null -w '%{http_code}' http://blocked.test/)" 403 "inetd: rules apply"
kill $sa $ia

capture "$P" --allow '(?<bad'
like "$ERR" '^\[ERR\] invalid --allow pattern' "an invalid regex is refused at start-up"; is "$RC" 1 "…exit 1"
capture "$P" --deny '['
like "$ERR" '^\[ERR\] invalid --deny pattern' "…for --deny too (never a silent fail-open)"

# the address policy, with no --allow-private: decided before any connection is made
"$P" --listen 127.0.0.1:$(( XP + 1 )) --ports 80,$HP --log "$WORK/priv.jsonl" 2>/dev/null & px2=$!
wait_port $(( XP + 1 ))
Y="-s --max-time 5 -x http://127.0.0.1:$(( XP + 1 ))"
for u in http://localhost:$HP/ http://127.0.0.1:$HP/ http://169.254.169.254/latest/meta-data/ http://10.1.2.3/ http://[::1]:$HP/ http://0.0.0.0:$HP/ http://100.64.0.1/; do
	is "$(curl $Y -o /dev/null -w '%{http_code}' "$u")" 403 "private, loopback, metadata and CGNAT refused: $u"
done
is "$(curl $Y http://localhost:$HP/)" "isol8: request to localhost blocked: private or local address" "…a name resolving to 127.0.0.1 included"
kill $px2

# --net filtered: inside the sandbox the proxy is the only way out
export ISOL8_PROXY_ALLOW_PRIVATE=1 ISOL8_PROXY_PORTS=80,443,$HP # the operator's: the origins are on loopback
capture "$RUN" --net filtered --allow '^localhost$' --json --cmd "
curl -s --max-time 5 http://localhost:$HP/index.txt
curl -s --max-time 5 -o /dev/null -w '%{http_code}\n' http://blocked.test/
curl -s --noproxy '*' --max-time 3 http://127.0.0.1:$HP/index.txt || echo direct-refused
getent hosts localhost >/dev/null && echo resolved-locally
getent hosts example.com || echo no-dns
echo \$HTTPS_PROXY"
out=$(printf '%s' "$OUT" | jq -r .stdout)
is "$out" $'plain-ok\n403\ndirect-refused\nresolved-locally\nno-dns\nhttp://127.0.0.1:8118' "filtered: allowed via the proxy, denied by it, direct TCP and DNS impossible"
is "$(printf '%s' "$OUT" | jq -r 'has("networkLogs")')" false "networkLogs only with --log-network"
capture "$RUN" --net filtered --allow '^localhost$' --log-network --json --cmd "curl -s http://localhost:$HP/index.txt; curl -s http://nope.test/ >/dev/null"
is "$(printf '%s' "$OUT" | jq -c '[.networkLogs[] | [.method, .host, .action]]')" '[["GET","localhost","ALLOW"],["GET","nope.test","BLOCK"]]' "--log-network: this run's requests, in order"
capture "$RUN" --net filtered --log-network --json --cmd "curl -s http://localhost:$HP/index.txt"
is "$(printf '%s' "$OUT" | jq -r '.networkLogs | length')" 1 "each run gets only its own log entries"
unset ISOL8_PROXY_ALLOW_PRIVATE
capture "$RUN" --net filtered --json --cmd "curl -s -o /dev/null -w '%{http_code}' http://localhost:$HP/index.txt"
is "$(printf '%s' "$OUT" | jq -r .stdout)" 403 "filtered, default policy: the host's loopback stays out of reach"
unset ISOL8_PROXY_PORTS
capture "$RUN" --net filtered --allow '(' -e 'print(1)'
like "$ERR" 'invalid --allow pattern' "an invalid pattern stops the run (no open network)"
is "$RC" 1 "…exit 1"
jq -n --arg p "^localhost$" '{request:{runtime:"bash", cmd:"echo $HTTP_PROXY"}, options:{network:"filtered", networkFilter:{whitelist:[$p]}, logNetwork:true}}' > "$WORK/f.json"
capture "$RUN" --request "$WORK/f.json"
is "$OUT" "http://127.0.0.1:8118" "options.network filtered with a networkFilter works from a request"
# --install: names checked before anything runs; node pulls a real package from the registry
# this host's npm is configured with (the one host opened), through the proxy
capture "$RUN" -r node --install 'lodash; rm -rf /' -e 1
is "$ERR" '[ERR] Invalid package name: "lodash; rm -rf /". Only alphanumeric, -, _, ., /, @, and = are allowed.' "--install: package names are validated"
capture "$RUN" -r bash --install jq -e 'jq --version'
like "$ERR" '^\[ERR\] --install is not available for bash' "--install for bash: a clear refusal"
registry_host=$(npm config get registry 2>/dev/null | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
# a test network may put the registry at a private or documentation-range address (the proxy
# refuses those by default); the rules below still open its host only
ISOL8_PROXY_ALLOW_PRIVATE=1 capture "$RUN" -r node --install is-number --log-network --json --timeout 120000 -e 'const isNumber = require("is-number"); console.log(isNumber(5), isNumber("five"))'
is "$(printf '%s' "$OUT" | jq -r .stdout)" "true false" "--install for node: the package is installed into /sandbox and the code uses it"
is "$(printf '%s' "$OUT" | jq -r '[.networkLogs[] | select(.action == "ALLOW") | .host] | unique | join(",")')" "$registry_host" "…through the proxy, to the host's configured registry only"
capture "$RUN" --install definitely-not-reachable-pkg --timeout 60000 -e 'print(1)'
like "$ERR" '^\[ERR\] Package install failed \(exit code [0-9]+\): ' "--install for python with no reachable index: the reference's message"
is "$RC" 1 "…exit 1"
is "$(pgrep -f "isol8-proxy --fd 3 .*$ISOL8_RUN_DIR/" | wc -l)" 0 "no proxy process outlives its run (of this file's run dir)"
# a run that fails before its code starts keeps nothing, not even under --persist
capture "$RUN" --persist --install definitely-not-reachable-pkg --timeout 60000 -e 'print(1)'
is "$RC:$(ls "$ISOL8_RUN_DIR"/sandboxes/*.json 2>/dev/null | wc -l)" "1:0" "a failed --install under --persist leaves no sandbox behind"

finish
