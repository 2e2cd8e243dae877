#!/usr/bin/env bash
# 48-auth.t — API keys in a database, against SQLite and against a PostgreSQL this test starts in a
# temporary directory on a unix socket: the /auth routes with the reference's shapes and codes,
# master-only (403), DB auth off (400), unknown id (404), revocation taking effect at once, expiry,
# the purge job, SQL-injection-shaped names and tenant ids, the database going away mid-way (503,
# nothing runs) and coming back, the database hanging (503 within seconds on every /auth route,
# never a hang), the ready line's Auth DB without a password; DB auth from the config (auth.enabled,
# connectionString, defaultTtlMs); tenant isolation of sessions on every route (SSE too), listings
# and /cleanup, per-tenant limits (429), metrics by tenant; isol8 login / logout and the stored
# credentials (expired ones warned about), end to end.
. "$(dirname "$0")/lib.sh"
SERVE="$BIN/isol8-serve"
MASTER=master-key-0123456789abcdef
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDIR=$(mktemp -d /tmp/isol8-pg.XXXXXX)
pg_ctl_() { runuser -u nobody -- "$PGBIN/pg_ctl" -D "$PGDIR/data" "$@" >/dev/null 2>&1; }
pg_start() { pg_ctl_ -o "-k $PGDIR -c listen_addresses=" -l "$PGDIR/log" -w start; }
pg_stop() { pg_ctl_ -m fast -w stop; }
# pg_freeze: every process of it stopped (kill -STOP), so it accepts connections and never
# answers — a hung database, not a gone one; pg_thaw resumes them
FROZEN=
pg_freeze() {
	local pm
	pm=$(head -1 "$PGDIR/data/postmaster.pid")
	FROZEN="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
	kill -STOP $FROZEN
}
pg_thaw() { [ -z "$FROZEN" ] || kill -CONT $FROZEN; FROZEN=; }
trap 'pg_thaw; kill ${SPID:-} 2>/dev/null; pg_stop; rm -rf "$PGDIR"' EXIT
chown nobody "$PGDIR"
ok $([ -n "$PGBIN" ] && runuser -u nobody -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U isol8 >/dev/null 2>&1 && pg_start && echo 0 || echo 1) \
	"a PostgreSQL of the test's own, on a unix socket in a temporary directory"

metric() { req GET /metrics "$MASTER"; printf '%s\n' "$OUT" | awk -v m="$1" '$1 == m { print $2 }'; }
stop_server() { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=; }

# The whole key life cycle against one backend ($1: its name, $2: the connection string).
suite() {
	local be=$1 conn=$2
	echo '{"auth": {"cleanupIntervalMs": 1000}}' >"$ISOL8_CONFIG"
	start_server "$WORK/$be.log" --key "$MASTER" --auth-db "$conn"
	ok $(grep -qxF "       Auth DB: $conn" "$WORK/$be.log" && echo 0 || echo 1) "$be: the ready line names the key database (Auth DB: …)"
	req POST /auth/keys "$MASTER" '{"name":"ci","tenantId":"acme"}'
	is "$CODE" 201 "$be: POST /auth/keys (master) creates a key: 201"
	local key id
	key=$(jqr .key) id=$(jqr .id)
	like "$key" '^isol8_[0-9a-f]{64}$' "$be: the key is isol8_ and 64 hex digits"
	is "$(jqr '[.keyPrefix == ("'"${key:0:10}"'..."), .name, .tenantId, (.id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")), (.expiresAt | test("Z$"))] | map(tostring) | join(" ")')" \
		"true ci acme true true" "$be: …with its prefix, name, tenant, a UUID id and an expiry"
	req POST /auth/keys "$MASTER" '{"tenantId":"acme"}'
	is "$CODE $OUT" '400 {"error":"name is required"}' "$be: no name: 400, the reference's message"
	req POST /auth/keys "$key" '{"name":"x"}'
	is "$CODE $OUT" '403 {"error":"Master key required for this operation"}' "$be: a database key cannot make keys: 403"
	req GET /auth/keys "$key"
	is "$CODE" 403 "$be: …nor list them"
	req DELETE "/auth/keys/$id" "$key"
	is "$CODE $OUT" '403 {"error":"Master key required for this operation"}' "$be: …nor revoke one, not even itself"
	req POST /auth/login "$key" ''
	is "$CODE $OUT" '403 {"error":"Master key required for this operation"}' "$be: …nor log in (POST /auth/login)"
	req POST /execute "$key" '{"request":{"runtime":"python","code":"print(6 * 7)"}}'
	is "$CODE $(jqr .stdout)" "200 42" "$be: the database key runs code"
	req GET /auth/keys "$MASTER"
	is "$CODE $(jqr '.keys | length') $(jqr '.keys[0] | [.id == "'"$id"'", (.lastUsedAt != null), .revoked, has("key"), has("keyHash")] | map(tostring) | join(" ")')" \
		"200 1 true true false false false" "$be: GET /auth/keys: the key, used, not revoked, never the key or its hash"

	# names and tenant ids shaped like SQL injection are only data
	local evil_name="x'); DROP TABLE api_keys;--" evil_tenant="t' OR '1'='1"
	req POST /auth/keys "$MASTER" "$(jq -cn --arg n "$evil_name" --arg t "$evil_tenant" '{name: $n, tenantId: $t}')"
	local evil_key
	evil_key=$(jqr .key)
	is "$CODE $(jqr .name) $(jqr .tenantId)" "201 $evil_name $evil_tenant" "$be: SQL-shaped name and tenant are stored as given"
	req GET "/auth/keys?tenantId=$(jq -rn --arg t "$evil_tenant" '$t | @uri')" "$MASTER"
	is "$(jqr '[.keys[].name] | join(",")')" "$evil_name" "$be: …the tenant filter with one matches that key alone"
	req GET "/auth/keys?tenantId=acme" "$MASTER"
	is "$(jqr '[.keys[].tenantId] | join(",")')" "acme" "$be: …and the table and the other key are intact"
	req POST /execute "$evil_key" '{"request":{"runtime":"bash","code":"echo ok"}}'
	is "$CODE" 200 "$be: …and that key works"

	# revocation: at once
	req DELETE "/auth/keys/$id" "$MASTER"
	is "$CODE $OUT" "200 {\"ok\":true,\"id\":\"$id\"}" "$be: DELETE /auth/keys/ID revokes"
	req POST /execute "$key" '{"request":{"runtime":"bash","code":"echo no"}}'
	is "$CODE $OUT" '403 {"error":"Invalid API key"}' "$be: a revoked key is refused at once"
	req DELETE /auth/keys/00000000-0000-4000-8000-000000000000 "$MASTER"
	is "$CODE $OUT" '404 {"error":"Key not found"}' "$be: an unknown id: 404"

	# login: a regular database key
	req POST /auth/login "$MASTER" ''
	local token
	token=$(jqr .token)
	is "$CODE $(jqr '[(.token | test("^isol8_")), (.keyId | length == 36), (.expiresAt | test("Z$"))] | map(tostring) | join(" ")')" \
		"200 true true true" "$be: POST /auth/login with an empty body: {token, expiresAt, keyId}"
	req GET /sessions "$token"
	is "$CODE" 200 "$be: …the token is a key"

	# expiry, then the purge job (every second here) removes the expired and the revoked
	req POST /auth/keys "$MASTER" '{"name":"brief","ttlMs":3000}'
	local brief brief_id
	brief=$(jqr .key) brief_id=$(jqr .id)
	req GET /sessions "$brief"
	is "$CODE" 200 "$be: a key with ttlMs 3000 works at first"
	sleep 3.3
	req GET /sessions "$brief"
	is "$CODE" 403 "$be: …and not once it has expired"
	for i in $(seq 60); do
		req GET /auth/keys "$MASTER"
		[ "$(jqr "[.keys[] | select(.id == \"$brief_id\" or .id == \"$id\")] | length")" = 0 ] && break
		sleep 0.1
	done
	is "$(jqr "[.keys[] | select(.id == \"$brief_id\" or .id == \"$id\")] | length")" 0 \
		"$be: the purge job deletes the expired and the revoked (auth.cleanupIntervalMs)"
	req POST /auth/keys "$MASTER" '{"name":"n","ttlMs":-5}'
	is "$CODE" 400 "$be: a bad ttlMs is refused"
	req POST /auth/keys "$MASTER" "{\"name\":\"$(head -c 300 /dev/zero | tr '\0' a)\"}"
	is "$CODE" 400 "$be: a name over 255 bytes is refused"
	req POST /auth/keys "$MASTER" '{"name":"a\u0000b"}'
	is "$CODE" 400 "$be: a name with a NUL byte is refused"
	stop_server
}

suite sqlite "$WORK/auth/keys.db"
ok $([ -f "$WORK/auth/keys.db" ] && [ "$(stat -c %a "$WORK/auth")" = 700 ] && echo 0 || echo 1) \
	"sqlite: the database file is created, in a directory only its owner reads"
suite postgresql "postgresql://isol8@/postgres?host=$PGDIR"

# a password in the connection string never reaches the log
start_server "$WORK/pw.log" --key "$MASTER" --auth-db "postgresql://isol8:s3cret-pw@/postgres?host=$PGDIR&password=s3cret-qp"
ok $(grep -qxF "       Auth DB: postgresql://isol8:***@/postgres?host=$PGDIR&password=***" "$WORK/pw.log" && echo 0 || echo 1) \
	"Auth DB: a PostgreSQL URL is shown with its passwords masked"
unlike "$(cat "$WORK/pw.log")" "s3cret" "…neither the URL's nor the password= parameter appears"
req POST /auth/keys "$MASTER" '{"name":"pw"}'
is "$CODE" 201 "…and the database is used with them"
stop_server

# ---- the database going away ------------------------------------------------------------------
start_server "$WORK/down.log" --key "$MASTER" --auth-db "postgresql://isol8@/postgres?host=$PGDIR"
req POST /auth/keys "$MASTER" '{"name":"d"}'
DK=$(jqr .key)
before=$(metric 'isol8_executions_total{runtime="python",status="ok"}')
pg_stop
req POST /execute "$DK" '{"request":{"runtime":"python","code":"print(1)"}}'
is "$CODE" 503 "the database stopped: a database key gets 503, never an open door"
is "$(metric 'isol8_executions_total{runtime="python",status="ok"}')" "$before" "…and nothing ran"
req POST /auth/keys "$MASTER" '{"name":"e"}'
is "$CODE" 503 "…the /auth routes say so too"
req GET /sessions "$MASTER"
is "$CODE" 200 "…while the master key still works"
req GET /sessions "not-a-database-key-0123456789"
is "$CODE" 403 "…and a token no database key could be is refused without asking the database"
pg_start
req POST /execute "$DK" '{"request":{"runtime":"python","code":"print(1)"}}'
is "$CODE $(jqr .stdout)" "200 1" "the database back: the same key works again"
stop_server

# ---- the database hanging: every wait on it is bounded ----------------------------------------
# timed METHOD PATH KEY BODY: req with a 20 s cap; MS = how long the answer took
timed() {
	local t0=$(date +%s%N)
	CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$1" --max-time 20 -H "Authorization: Bearer $3" \
		${4:+--data-binary "$4"} "$URL$2")
	OUT=$(cat "$WORK/body" 2>/dev/null) MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
start_server "$WORK/hang.log" --key "$MASTER" --auth-db "postgresql://isol8@/postgres?host=$PGDIR"
req POST /auth/keys "$MASTER" '{"name":"h"}'
HK=$(jqr .key) HID=$(jqr .id)
req GET /sessions "$HK" # the key keeper holds its connection now
pg_freeze
timed POST /auth/keys "$MASTER" '{"name":"while-hung"}'
ok $([ "$CODE" = 503 ] && [ "$MS" -lt 8000 ] && echo 0 || echo 1) \
	"the database hung: POST /auth/keys answers 503 within seconds ($CODE after $MS ms)"
timed GET /auth/keys "$MASTER"
ok $([ "$CODE" = 503 ] && [ "$MS" -lt 8000 ] && echo 0 || echo 1) "…GET /auth/keys too ($CODE after $MS ms)"
timed DELETE "/auth/keys/$HID" "$MASTER"
ok $([ "$CODE" = 503 ] && [ "$MS" -lt 8000 ] && echo 0 || echo 1) "…DELETE /auth/keys/ID too ($CODE after $MS ms)"
timed POST /auth/login "$MASTER" ''
ok $([ "$CODE" = 503 ] && [ "$MS" -lt 8000 ] && echo 0 || echo 1) "…POST /auth/login too ($CODE after $MS ms)"
timed POST /execute "$HK" '{"request":{"runtime":"bash","code":"echo no"}}'
ok $([ "$CODE" = 503 ] && [ "$MS" -lt 8000 ] && echo 0 || echo 1) "…a database key gets 503, nothing runs ($CODE after $MS ms)"
timed GET /sessions "$MASTER"
is "$CODE" 200 "…while the master key still works"
pg_thaw
req POST /auth/keys "$MASTER" '{"name":"after"}'
is "$CODE" 201 "the database resumed: the /auth routes work again"
req POST /execute "$HK" '{"request":{"runtime":"bash","code":"echo yes"}}'
is "$CODE $(jqr .stdout)" "200 yes" "…and the database key too"
req GET /auth/keys "$MASTER"
is "$(jqr '[.keys[].name] | map(select(. == "while-hung")) | length')" 0 "…no key was made by the request that got 503"
stop_server
start_server "$WORK/off.log" --key "$MASTER"
req POST /auth/keys "$MASTER" '{"name":"x"}'
is "$CODE $OUT" '400 {"error":"DB-backed auth is not enabled"}' "no key database: 400, the reference's message"
req POST /auth/login "$DK" ''
is "$CODE" 403 "…and a key it does not know is refused before that"
stop_server
capture "$SERVE" --listen 127.0.0.1:0 --key "$MASTER" --auth-db "postgresql://isol8@/postgres?host=$WORK/nowhere"
like "$RC $ERR" "^1 .*key database" "a key database that cannot be opened stops the server from starting"
capture "$SERVE" --listen 127.0.0.1:0 --key "$MASTER" --auth-db "mysql://root@localhost/isol8"
like "$RC $ERR" "^1 .*must be a SQLite path or a postgres:// URL \(MySQL and others are not supported\), not mysql://" \
	"a mysql:// database is refused, never taken for a file name"
ok $([ ! -e "mysql:" ] && echo 0 || echo 1) "…and nothing was created for it"

# ---- DB auth from the config: auth.enabled, auth.connectionString, auth.defaultTtlMs ------------------
ms_between() { echo $(( $(date -d "$2" +%s%3N) - $(date -d "$1" +%s%3N) )); }
cat >"$ISOL8_CONFIG" <<JSON
{"auth": {"enabled": true, "connectionString": "$WORK/from-config.db", "defaultTtlMs": 120000}}
JSON
start_server "$WORK/cfg.log" --key "$MASTER"
req POST /auth/keys "$MASTER" '{"name":"c"}'
CK=$(jqr .key)
is "$CODE" 201 "auth.enabled with auth.connectionString: the key database, without --auth-db"
ok $([ -f "$WORK/from-config.db" ] && echo 0 || echo 1) "…at the path the config names"
req GET /auth/keys "$MASTER"
is "$(ms_between "$(jqr .keys[0].createdAt)" "$(jqr .keys[0].expiresAt)")" 120000 "auth.defaultTtlMs is a new key's lifetime"
req POST /auth/login "$MASTER" ''
req GET /auth/keys "$MASTER"
is "$(jqr '[.keys[] | (.expiresAt | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.createdAt | sub("\\.[0-9]+Z$"; "Z") | fromdate)] | unique | join(",")')" \
	120 "…for /auth/login too"
req GET /sessions "$CK"
is "$CODE" 200 "…and its keys work"
stop_server
cat >"$ISOL8_CONFIG" <<JSON
{"auth": {"enabled": false, "connectionString": "$WORK/off.db"}}
JSON
start_server "$WORK/cfg-off.log" --key "$MASTER"
req POST /auth/keys "$MASTER" '{"name":"x"}'
is "$CODE" 400 "auth.enabled false: no key database, whatever auth.connectionString says"
stop_server
cat >"$ISOL8_CONFIG" <<'JSON'
{"auth": {"enabled": true}}
JSON
HOME="$WORK/cfg-home" start_server "$WORK/cfg-home.log" --key "$MASTER"
req POST /auth/keys "$MASTER" '{"name":"h"}'
is "$CODE" 201 "auth.enabled without a connection string…"
ok $([ -f "$WORK/cfg-home/.isol8/auth.db" ] && echo 0 || echo 1) "…is SQLite at ~/.isol8/auth.db"
stop_server
echo '{"auth": {"enabled": true, "defaultTtlMs": 0}}' >"$ISOL8_CONFIG"
capture "$SERVE" --listen 127.0.0.1:0 --key "$MASTER" --auth-db "$WORK/x.db"
like "$RC $ERR" '^1 .*auth.defaultTtlMs must be' "a bad auth.defaultTtlMs stops the server at start"
echo '{}' >"$ISOL8_CONFIG"

# ---- tenants ------------------------------------------------------------------------------------
cat >"$ISOL8_CONFIG" <<'JSON'
{"serve": {"tenants": {"beta": {"maxSessions": 1, "maxConcurrent": 1}}}}
JSON
start_server "$WORK/t.log" --key "$MASTER" --auth-db "$WORK/tenants.db"
newkey() { req POST /auth/keys "$MASTER" "{\"name\":\"$1\",\"tenantId\":\"$2\"}"; jqr .key; }
A=$(newkey a1 alpha) A2=$(newkey a2 alpha) B=$(newkey b1 beta)
req POST /execute "$A" '{"sessionId":"s1","request":{"runtime":"python","code":"secret = 41"}}'
is "$CODE" 200 "tenant alpha's key makes session s1"
req POST /execute "$A2" '{"sessionId":"s1","request":{"runtime":"python","code":"print(secret + 1)"}}'
is "$CODE $(jqr .stdout)" "200 42" "another key of alpha uses the same session: sessions are the tenant's"
req GET "/file?sessionId=s1&path=/sandbox/x" "$B"
is "$CODE" 404 "beta's key: GET /file of alpha's session is 404"
req POST /file "$B" '{"sessionId":"s1","path":"/sandbox/x","content":"eA=="}'
is "$CODE" 404 "…POST /file is 404"
req GET /sessions "$B"
is "$(jqr '.sessions | length')" 0 "…GET /sessions lists none of alpha's"
req DELETE /session/s1 "$B"
req POST /cleanup "$B" '{}'
req POST /execute "$A" '{"sessionId":"s1","request":{"runtime":"python","code":"print(secret)"}}'
is "$CODE $(jqr .stdout)" "200 41" "…and beta's DELETE /session/s1 and POST /cleanup leave alpha's session alone"
req POST /execute "$B" '{"sessionId":"s1","request":{"runtime":"python","code":"print(\"secret\" in dir())"}}'
is "$CODE $(jqr .stdout)" "200 False" "beta's own s1 is another session"
SSE=$(curl -s -N --max-time 60 -H "Authorization: Bearer $B" --data-binary \
	'{"sessionId":"s1","request":{"runtime":"python","code":"print(globals().get(\"secret\"))"}}' "$URL/execute/stream")
is "$(printf '%s\n' "$SSE" | sed -n 's/^data: //p' | jq -r 'select(.type == "stdout") | .data' | tr -d '\n')" "None" \
	"…over SSE too: beta's stream with sessionId s1 runs in beta's s1, never alpha's"
req POST /execute "$A" '{"sessionId":"s1","request":{"runtime":"python","code":"print(secret)"}}'
is "$CODE $(jqr .stdout)" "200 41" "…and alpha's s1 is as it was"
req POST /execute "$B" '{"sessionId":"s2","request":{"runtime":"python","code":"1"}}'
is "$CODE" 429 "serve.tenants.beta.maxSessions 1: a second session is 429"
like "$(jqr .error)" 'tenant "beta" already has 1 sessions' "…saying whose limit it is"
req POST /execute "$B" '{"request":{"runtime":"bash","code":"sleep 4"}}' & SLOW=$!
for i in $(seq 400); do [ "$(metric isol8_in_flight)" = 1 ] && break; sleep 0.05; done
req POST /execute "$B" '{"request":{"runtime":"bash","code":"echo hi"}}'
is "$CODE" 429 "serve.tenants.beta.maxConcurrent 1: a second execution at once is 429"
wait $SLOW
req POST /execute "$A" '{"request":{"runtime":"bash","code":"echo hi"}}'
is "$CODE" 200 "…another tenant is not held back by it"
like "$(metric 'isol8_tenant_executions_total{tenant="alpha",status="ok"}')" '^[3-9]$' "/metrics counts executions by tenant"
req GET /metrics "$B"
ok $(printf '%s' "$OUT" | grep -q 'tenant="beta"' && ! printf '%s' "$OUT" | grep -q 'tenant="alpha"' && echo 0 || echo 1) \
	"…a database key sees its own tenant's series, not the others' names"
req GET /sessions "$A"
for s in $(jqr '.sessions[].id'); do req DELETE "/session/$s" "$A"; done
req GET /sessions "$B"
for s in $(jqr '.sessions[].id'); do req DELETE "/session/$s" "$B"; done

# ---- isol8 login / logout ------------------------------------------------------------------------
export HOME="$WORK/home"
mkdir -p "$HOME"
capture "$ISOL8" login --host "$URL" --key "$MASTER" --name laptop --ttl 60000
is "$RC" 0 "isol8 login"
like "$OUT" "Stored:  ~/.isol8/credentials.json" "…says where the key is kept"
is "$(stat -c %a "$HOME/.isol8/credentials.json") $(jq -r '[.host, (.token | test("^isol8_")), (.keyId | length)] | map(tostring) | join(" ")' "$HOME/.isol8/credentials.json")" \
	"600 $URL true 36" "…in credentials.json, mode 0600: host, token, keyId"
unset ISOL8_API_KEY
capture "$ISOL8" run --host "$URL" -e 'print("remote")'
is "$RC $OUT" "0 remote" "isol8 run --host uses the stored key (no --key, no ISOL8_API_KEY)"
capture "$ISOL8" run --host "$URL/" -e 'print("slash")'
is "$OUT" "slash" "…for the same host written with a trailing /"
capture "$BIN/isol8-session" list --host "$URL"
is "$RC" 0 "isol8-session list --host uses it too"
capture "$ISOL8" run --host http://127.0.0.1:1 -e 'print(1)'
is "$ERR" '[ERR] API key required. Use --key, ISOL8_API_KEY env var, or `isol8 login`.' "…never for another host"
jq '.expiresAt = "2020-01-01T00:00:00.000Z"' "$HOME/.isol8/credentials.json" >"$WORK/c" && cp "$WORK/c" "$HOME/.isol8/credentials.json"
capture "$ISOL8" run --host "$URL" -e 'print(1)'
like "$ERR" '^\[WARN\] Stored credentials have expired\. Run `isol8 login` to re-authenticate\.' "expired credentials: the reference's warning"
like "$ERR" "API key required" "…and they are not used"
capture "$ISOL8" logout
is "$OUT" "[OK] Credentials removed from ~/.isol8/credentials.json" "isol8 logout removes them"
capture "$ISOL8" logout
is "$OUT" "[INFO] No stored credentials found." "…a second time there are none"
capture "$ISOL8" login --host "$URL" --key wrong-key-0123456789
like "$RC $ERR" "^1 \[ERR\] Authentication failed: Invalid API key" "login with a key the server does not know fails with its reason"
stop_server
start_server "$WORK/nodb.log" --key "$MASTER"
capture "$ISOL8" login --host "$URL" --key "$MASTER"
like "$ERR" "Authentication failed: DB-backed auth is not enabled" "login to a server without a key database fails…"
like "$ERR" "\[WARN\] .*may not have DB-backed auth enabled" "…with the reference's hint"
stop_server

finish
