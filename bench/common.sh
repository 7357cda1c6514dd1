# Shared by the bench scripts (sourced, not run): a work folder cleaned up on exit, free
# ports, a PostgreSQL, the test identity provider and a release gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps
swift build -c release --product postgres-gateway >/dev/null
swift build -c release --product gateway-test-helper >/dev/null
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
