# Shared by the bench scripts (sourced, not run): a work folder cleaned up on exit, free
# ports, a PostgreSQL, the test identity provider and a release gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps
swift build -c release --product postgres-gateway >/dev/null
swift build -c release --product gateway-test-helper >/dev/null
swift build -c release --product gateway-bench >/dev/null
work=$(mktemp -d /tmp/gateway-bench.XXXX)
chmod 755 "$work"; mkdir -p "$work/pg"; chown postgres "$work/pg"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
pgport=$(freeport); gwport=$(freeport); adminport=$(freeport); idpport=$(freeport)

# start_postgres "EXTRA SERVER OPTIONS": a server on $pgport with a role and database "bench".
start_postgres() {
  runuser -u postgres -- "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust >/dev/null
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' > "$work/pg/data/pg_hba.conf"
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 $1" start >/dev/null
  psql -h "$work/pg" -p $pgport -U postgres -qc "CREATE ROLE bench LOGIN SUPERUSER PASSWORD 'bench'"
  psql -h "$work/pg" -p $pgport -U postgres -qc "CREATE DATABASE bench OWNER bench"
}

# start_idp: the test identity provider on $idpport, tokens in $work/tokens.
start_idp() {
  .build/release/gateway-test-helper idp --port $idpport --token-dir "$work/tokens" > "$work/idp.log" 2>&1 &
  echo $! > "$work/idp.pid"
  for _ in $(seq 50); do [ -f "$work/tokens/expired.jwt" ] && break; sleep 0.2; done
}

# gateway_yaml "SERVICE: {...}": the shared head of $work/gateway.yaml (the IdP, a SQLite state
# store, recordings) with the one service line; the caller appends its connections.
gateway_yaml() {
  cat > "$work/gateway.yaml" <<YAML
identity: { issuer: http://127.0.0.1:$idpport, audience: access-gateway }
state: { url: "sqlite://$work/state.sqlite" }
recordings: { dir: $work/recordings }
services:
  $1
connections:
YAML
}

# start_gateway [BINARY]: postgres-gateway (or BINARY) with $work/gateway.yaml, waiting for /healthz.
start_gateway() {
  BENCH_PW=bench .build/release/${1:-postgres-gateway} --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 &
  echo $! > "$work/gateway.pid"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$adminport/healthz" >/dev/null && break; sleep 0.2; done
}

# postgres_connection: appends the head of the "bench" postgres connection (upstream $pgport,
# group agents) to $work/gateway.yaml; the caller appends its rules.
postgres_connection() {
  cat >> "$work/gateway.yaml" <<YAML
  - name: bench
    type: postgres
    upstream: { host: 127.0.0.1, port: $pgport, database: bench, user: bench, password_env: BENCH_PW, tls: disable }
    allow_groups: [agents]
YAML
}

# start_pgbench_paths: the three paths pgbench runs through: PostgreSQL with pgbench's tables
# (scale 10) on $pgport, pgbouncer in session mode on $bouncerport, and postgres-gateway on
# $gwport with two guardrails, column masking plus all eight detectors, and recording.
# RECORD=false, MASKING=off and GUARDRAILS=off switch those off. Sets $token (the agent's).
start_pgbench_paths() {
  bouncerport=$(freeport)
  start_postgres "-c max_connections=100"
  PGPASSWORD=bench pgbench -i -s 10 -q -h 127.0.0.1 -p $pgport -U bench bench >/dev/null 2>&1
  cat > "$work/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$pgport dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncerport
auth_type = plain
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 100
default_pool_size = 20
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
unix_socket_dir =
INI
  echo '"bench" "bench"' > "$work/userlist.txt"
  chown -R postgres "$work/pgbouncer.ini" "$work/userlist.txt"; chmod 777 "$work"
  runuser -u postgres -- pgbouncer -d "$work/pgbouncer.ini"

  start_idp
  local masking='{ columns: [filler], entities: [EMAIL, CREDIT_CARD, US_SSN, PHONE, IBAN, IP_ADDRESS, AWS_ACCESS_KEY, JWT] }'
  [ "${MASKING:-on}" = off ] && masking='{ entities: [] }'
  local guardrails="    guardrails:
      - { name: no-drop, pattern: '(?i)\\bdrop\\s+(table|schema|database)\\b' }
      - { name: no-unbounded-delete, statement: delete_without_where }"
  [ "${GUARDRAILS:-on}" = off ] && guardrails="    guardrails: []"
  gateway_yaml "postgres: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport }"
  postgres_connection
  cat >> "$work/gateway.yaml" <<YAML
$guardrails
    masking: $masking
    limits: { max_rows: 100000000 }
    record: ${RECORD:-true}
YAML
  start_gateway
  token=$(cat "$work/tokens/agent.jwt")
}

# start_bare_relay: `gateway-bench relay` (SwiftNIO, no inspection) on $relayport in front of
# PostgreSQL: what any proxy on the gateway's stack costs here before it inspects a byte.
start_bare_relay() {
  relayport=$(freeport)
  .build/release/gateway-bench relay $relayport $pgport > "$work/relay.log" 2>&1 &
  echo $! > "$work/relay.pid"
  for _ in $(seq 50); do grep -q 'bare relay on' "$work/relay.log" 2>/dev/null && break; sleep 0.1; done
}
