#!/usr/bin/env bash
# Holds N sessions (default 1000) waiting for approval through postgres-gateway, then approves
# them one by one through the admin API. Reports memory per held session and the time from
# approval to the client's first result byte.
count=${1:-1000}
source "$(dirname "$0")/common.sh"
python3 -m venv .build/py-venv >/dev/null 2>&1 || true
.build/py-venv/bin/python -c "import psycopg" 2>/dev/null || .build/py-venv/bin/pip install -q "psycopg[binary]"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 1,000 sessions need ~2,000 descriptors in the gateway
start_postgres "-c max_connections=$((count + 20)) -c shared_buffers=32MB"
PGPASSWORD=bench psql -h 127.0.0.1 -p $pgport -U bench -d bench -qc "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts SELECT g, 0 FROM generate_series(1, $count) g"
start_idp
gateway_yaml "postgres: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport }"
postgres_connection
cat >> "$work/gateway.yaml" <<YAML
    approvals:
      - { name: writes, pattern: '(?i)update', reviewer_groups: [dba], timeout: 30m }
YAML
start_gateway
.build/py-venv/bin/python bench/held_sessions.py "host=127.0.0.1 port=$gwport dbname=bench user=agent password=$(cat "$work/tokens/agent.jwt")" \
  "http://127.0.0.1:$adminport" "$(cat "$work/tokens/dba.jwt")" "$(cat "$work/gateway.pid")" "$count"
