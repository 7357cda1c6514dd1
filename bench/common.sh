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
# For many clients: PG_MAX_CONNECTIONS (100), BOUNCER_CLIENTS (100) and BOUNCER_POOL (20), and
# SERVICE_EXTRA (appended to the gateway's service line, e.g. its handshake caps).
start_pgbench_paths() {
  bouncerport=$(freeport)
  start_postgres "-c max_connections=${PG_MAX_CONNECTIONS:-100}"
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
max_client_conn = ${BOUNCER_CLIENTS:-100}
default_pool_size = ${BOUNCER_POOL:-20}
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
  gateway_yaml "postgres: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport${SERVICE_EXTRA:-} }"
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

# start_ssh_paths: an OpenSSH server on $sshport and ssh-gateway on $gwport in front of it
# (connection "bench", a guardrail, recording unless RECORD=false; SERVICE_EXTRA appended to
# the service line), and the client command lines of three paths as arrays: direct,
# jump (OpenSSH as a ProxyJump host) and gateway (the token as the password via askpass).
start_ssh_paths() {
  swift build -c release --product ssh-gateway >/dev/null
  sshport=$(freeport)
  mkdir -p /run/sshd && chmod 755 /run/sshd

  ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/gateway_key"
  cat "$work/client_key.pub" "$work/gateway_key.pub" > "$work/authorized_keys"
  cat > "$work/sshd_config" <<CONF
Port $sshport
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd-own.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
MaxStartups ${SSHD_MAX_STARTUPS:-100}
CONF
  /usr/sbin/sshd -D -e -f "$work/sshd_config" 2> "$work/sshd.log" &
  echo $! > "$work/sshd.pid"

  start_idp
  gateway_yaml "ssh: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport, host_key_file: $work/gateway_host_key${SERVICE_EXTRA:-} }"
  cat >> "$work/gateway.yaml" <<YAML
  - name: bench
    type: ssh
    upstream: { host: 127.0.0.1, port: $sshport, user: $(id -un), private_key_file: $work/gateway_key, host_key: "$(cut -d' ' -f1,2 "$work/host_key.pub")" }
    allow_groups: [agents]
    guardrails: [{ name: no-rm-rf, pattern: 'rm\s+-[a-z]*r[a-z]*f' }]
    record: ${RECORD:-true}
YAML
  start_gateway "${SSH_GATEWAY:-ssh-gateway}"

  # Every path uses the cipher swift-nio-ssh offers, so the crypto work is the same.
  common=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=no
          -c aes128-gcm@openssh.com -o ControlMaster=no -o ControlPath=none)
  printf '#!/bin/sh\ncat %s\n' "$work/tokens/agent.jwt" > "$work/askpass"; chmod 755 "$work/askpass"
  direct=(ssh "${common[@]}" -i "$work/client_key" -o IdentitiesOnly=yes -p $sshport "$(id -un)@127.0.0.1")
  # ProxyJump, spelled as the ProxyCommand it stands for, so the hop gets the same options.
  jump=(ssh "${common[@]}" -i "$work/client_key" -o IdentitiesOnly=yes
        -o "ProxyCommand=ssh ${common[*]} -i $work/client_key -o IdentitiesOnly=yes -W %h:%p -p $sshport $(id -un)@127.0.0.1"
        -p $sshport "$(id -un)@127.0.0.1")
  gateway=(env SSH_ASKPASS="$work/askpass" SSH_ASKPASS_REQUIRE=force ssh "${common[@]}" -o PreferredAuthentications=password -o PubkeyAuthentication=no -p $gwport bench@127.0.0.1)
}

# verify_recordings: waits (10 s at most) until every session folder in $work/recordings is
# sealed, then verifies each with gatewayctl; sets $verified and $broken.
verify_recordings() {
  local open
  for _ in $(seq 50); do
    open=$(find "$work/recordings" -mindepth 1 -maxdepth 1 -type d | while read -r d; do [ -f "$d/seal.json" ] || echo "$d"; done | wc -l)
    [ "$open" -eq 0 ] && break; sleep 0.2
  done
  verified=0; broken=0
  for folder in "$work"/recordings/*/; do
    if .build/release/gatewayctl recordings verify "$folder" >/dev/null 2>&1; then verified=$((verified + 1)); else broken=$((broken + 1)); fi
  done
}
