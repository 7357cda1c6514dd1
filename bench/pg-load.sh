#!/usr/bin/env bash
# Load through one postgres-gateway: pgbench with many clients for a long run (default 200
# clients, 60 s, simple protocol, the built-in TPC-B-like script: reads and writes), beside
# the same run straight to PostgreSQL and through pgbouncer (session mode), in one go.
# Reports TPS and ratios, errors (failed transactions and aborted clients: must be 0), the
# gateway's RSS before and at its peak and per session, and verifies every recording's
# seal afterwards (one recording per client connection).
#   bench/pg-load.sh [clients] [seconds]      (SELECT_ONLY=1: pgbench -S instead; KEEP=1 keeps the work folder)
clients=${1:-200}
secs=${2:-60}
# 200 clients connect at once from one address: the per-address cap on unauthenticated
# connections (32 by default) is raised as a deployment behind one NAT address would.
# pgbouncer keeps its server connections after its run: room for both pools.
export PG_MAX_CONNECTIONS=$((clients * 2 + 50)) BOUNCER_CLIENTS=$((clients + 10)) BOUNCER_POOL=$clients
export SERVICE_EXTRA=", max_unauthenticated_per_address: $((clients + 10)), max_unauthenticated: $((clients + 50))"
source "$(dirname "$0")/common.sh"
swift build -c release --product gatewayctl >/dev/null
start_pgbench_paths
script=()
[ -n "${SELECT_ONLY:-}" ] && script=(-S)

run() { # name conninfo password -> "name tps failed aborted"
  local out
  out=$(PGPASSWORD=$3 pgbench -n "${script[@]}" -c "$clients" -j 2 -T "$secs" "$2" 2>&1) || true
  echo "$out" > "$work/pgbench.$1.log"
  local tps failed aborted
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
  aborted=$(echo "$out" | grep -c 'aborted in command\|client [0-9]* aborted' || true)
  echo "$1 ${tps:-0} ${failed:-?} $aborted"
}

gwpid=$(cat "$work/gateway.pid")
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$gwpid/status)
results=()
results+=("$(run direct "host=127.0.0.1 port=$pgport dbname=bench user=bench" bench)")
[ -n "${GATEWAY_ONLY:-}" ] || results+=("$(run pgbouncer "host=127.0.0.1 port=$bouncerport dbname=bench user=bench" bench)")
results+=("$(run gateway "host=127.0.0.1 port=$gwport dbname=bench user=agent" "$token")")
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$gwpid/status)

echo
echo "pgbench ${script[*]:-(TPC-B-like)}, $clients clients, ${secs} s, scale 10, $(nproc) cores, loopback"
direct=$(echo "${results[0]}" | cut -d' ' -f2); bouncer=$(echo "${results[1]}" | cut -d' ' -f2)
printf '%-10s %10s %10s %12s %8s %8s\n' path tps "vs direct" "vs pgbouncer" failed aborted
errors=0
for r in "${results[@]}"; do
  set -- $r
  printf '%-10s %10.0f %10.2f %12.2f %8s %8s\n' "$1" "$2" "$(echo "$2 / $direct" | bc -l)" "$(echo "$2 / $bouncer" | bc -l)" "$3" "$4"
  [ "$3" = 0 ] && [ "$4" = 0 ] || errors=$((errors + 1))
done
printf '\ngateway RSS: %d MiB before, %d MiB peak with %d sessions: %.0f KiB per session\n' "$((rss_before / 1024))" "$((rss_peak / 1024))" \
  "$clients" "$(echo "($rss_peak - $rss_before) / $clients" | bc -l)"
# Every session's recording is sealed (as its client disconnects) and verifies.
verify_recordings
# One per client, and one for the connection pgbench opens first to read the scale.
printf 'recordings: %d verified, %d failed to verify (expected %d: one per gateway client, one for pgbench'"'"'s own)\n' "$verified" "$broken" "$((clients + 1))"
statements=$(cat "$work"/recordings/*/events.jsonl | grep -c '"type":"query"' || true)
printf 'statements recorded: %d\n' "$statements"
[ "$errors" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$verified" -eq $((clients + 1)) ]
