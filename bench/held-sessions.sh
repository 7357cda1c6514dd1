#!/usr/bin/env bash
# Holds N sessions (default 1000) waiting for approval through postgres-gateway, then approves
# them one by one through the admin API. Reports memory per held session and the time from
# approval to the client's first result byte.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
scripts/install-deps
swift build -c release --product postgres-gateway >/dev/null
swift build -c release --product gateway-test-helper >/dev/null
python3 -m venv .build/py-venv >/dev/null 2>&1 || true
.build/py-venv/bin/python -c "import psycopg" 2>/dev/null || .build/py-venv/bin/pip install -q "psycopg[binary]"
work=$(mktemp -d /tmp/gateway-held.XXXX)
chmod 755 "$work"; mkdir -p "$work/pg"; chown postgres "$work/pg"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
pgport=$(freeport); gwport=$(freeport); adminport=$(freeport); idpport=$(freeport)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 1,000 sessions need ~2,000 descriptors in the gateway
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust >/dev/null
printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' > "$work/pg/data/pg_hba.conf"
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=$((count + 20)) -c shared_buffers=32MB" start >/dev/null
psql -h "$work/pg" -p $pgport -U postgres -qc "CREATE ROLE bench LOGIN PASSWORD 'bench'"
psql -h "$work/pg" -p $pgport -U postgres -qc "CREATE DATABASE bench OWNER bench"
PGPASSWORD=bench psql -h 127.0.0.1 -p $pgport -U bench -d bench -qc "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts SELECT g, 0 FROM generate_series(1, $count) g"
.build/release/gateway-test-helper idp --port $idpport --token-dir "$work/tokens" > "$work/idp.log" 2>&1 &
echo $! > "$work/idp.pid"
for _ in $(seq 50); do [ -f "$work/tokens/dba.jwt" ] && break; sleep 0.2; done
cat > "$work/gateway.yaml" <<YAML
identity: { issuer: http://127.0.0.1:$idpport, audience: access-gateway }
state: { url: "sqlite://$work/state.sqlite" }
recordings: { dir: $work/recordings }
services:
  postgres: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport }
connections:
  - name: bench
    type: postgres
    upstream: { host: 127.0.0.1, port: $pgport, database: bench, user: bench, password_env: BENCH_PW, tls: disable }
    allow_groups: [agents]
    approvals:
      - { name: writes, pattern: '(?i)update', reviewer_groups: [dba], timeout: 30m }
YAML
BENCH_PW=bench .build/release/postgres-gateway --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 &
echo $! > "$work/gateway.pid"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$adminport/healthz" >/dev/null && break; sleep 0.2; done
.build/py-venv/bin/python bench/held_sessions.py "host=127.0.0.1 port=$gwport dbname=bench user=agent password=$(cat "$work/tokens/agent.jwt")" \
  "http://127.0.0.1:$adminport" "$(cat "$work/tokens/dba.jwt")" "$(cat "$work/gateway.pid")" "$count"
