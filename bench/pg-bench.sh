#!/usr/bin/env bash
# pgbench -S through four paths in one run: direct to PostgreSQL, through pgbouncer (session
# mode), through a bare SwiftNIO relay (`gateway-bench relay`: the gateway's stack without
# inspection) and through postgres-gateway (masking and recording on). Then the gateway's
# peak RSS while streaming a 10-million-row SELECT. Prints a table with ratios.
# The paths take turns, ROUNDS times (default 5); the table shows each path's median
# run (by TPS), which steadies ratios on a machine where all of them share two cores.
# RECORD=false, MASKING=off and GUARDRAILS=off switch the gateway's features off.
#   bench/pg-bench.sh [seconds-per-run] [clients]
secs=${1:-10}
clients=${2:-4}
rounds=${ROUNDS:-5}
source "$(dirname "$0")/common.sh"
start_pgbench_paths
start_bare_relay

run() { # name mode conninfo password
  local out
  out=$(PGPASSWORD=$4 pgbench -n -S -M "$2" -c "$clients" -j 2 -T "$secs" "$3" 2>&1)
  local tps lat
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  echo "$1 $2 $tps $lat"
}
runs=()
for mode in simple prepared; do
  for _ in $(seq "$rounds"); do
    runs+=("$(run direct $mode "host=127.0.0.1 port=$pgport dbname=bench user=bench" bench)")
    runs+=("$(run pgbouncer $mode "host=127.0.0.1 port=$bouncerport dbname=bench user=bench" bench)")
    runs+=("$(run nio-relay $mode "host=127.0.0.1 port=$relayport dbname=bench user=bench" bench)")
    runs+=("$(run gateway $mode "host=127.0.0.1 port=$gwport dbname=bench user=agent" "$token")")
  done
done
# The median run of each path and mode.
results=()
for mode in simple prepared; do
  for path in direct pgbouncer nio-relay gateway; do
    results+=("$(printf '%s\n' "${runs[@]}" | awk -v p=$path -v m=$mode '$1==p && $2==m' | sort -k3 -g | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')")
  done
done

echo
echo "pgbench -S, $clients clients, ${secs}s per run, median of $rounds rounds, scale 10, $(nproc) cores, loopback"
printf '%-10s %-9s %12s %12s %12s %12s\n' path mode tps "latency ms" "vs direct" "vs pgbouncer"
for mode in simple prepared; do
  d=$(printf '%s\n' "${results[@]}" | awk -v m=$mode '$1=="direct" && $2==m {print $3}')
  b=$(printf '%s\n' "${results[@]}" | awk -v m=$mode '$1=="pgbouncer" && $2==m {print $3}')
  for r in "${results[@]}"; do
    set -- $r
    [ "$2" = "$mode" ] || continue
    printf '%-10s %-9s %12.0f %12s %12.2f %12.2f\n' "$1" "$2" "$3" "$4" "$(echo "$3 / $d" | bc -l)" "$(echo "$3 / $b" | bc -l)"
  done
done

echo
# Every run, in the order they ran, so the spread behind each median shows.
echo "every run (tps), in order:"
for mode in simple prepared; do
  for path in direct pgbouncer nio-relay gateway; do
    printf '  %-10s %-9s %s\n' $path $mode "$(printf '%s\n' "${runs[@]}" | awk -v p=$path -v m=$mode '$1==p && $2==m {printf "%.0f ", $3}')"
  done
done
echo
# Memory while streaming, on a fresh gateway process (the pgbench runs above leave the
# allocator's arenas and the audit store's cache warm, which is not what is measured here).
kill "$(cat "$work/gateway.pid")"; while kill -0 "$(cat "$work/gateway.pid")" 2>/dev/null; do sleep 0.1; done
start_gateway
gwpid=$(cat "$work/gateway.pid")
before=$(awk '/VmRSS/ {print $2}' /proc/$gwpid/status)
start=$(date +%s.%N)
PGPASSWORD=$token psql -X -At "host=127.0.0.1 port=$gwport dbname=bench user=agent" -c "SELECT g, 'row ' || g FROM generate_series(1, 10000000) g" > /dev/null
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' /proc/$gwpid/status)
echo "10,000,000-row SELECT through the gateway: $(echo "$end - $start" | bc -l | cut -c1-5) s; gateway RSS before ${before} KiB, peak ${peak} KiB ($(echo "$peak / 1024" | bc) MiB)"
