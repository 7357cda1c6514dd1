#!/usr/bin/env bash
# Paired A/B of two postgres-gateway builds (or two configurations of one) under pgbench -S:
# both gateways run side by side in front of one PostgreSQL, and pgbouncer, A and B take
# turns, ROUNDS times per mode. Prints every run as tps/user-µs-per-transaction and the
# medians. Single runs on 2 shared cores vary by ±10%; alternating runs in one setting is
# what makes a change of a few percent visible at all.
#   cp .build/release/postgres-gateway .build/release/pg-before   # then change, rebuild
#   GATEWAY_A=pg-before GATEWAY_B=postgres-gateway bench/pg-ab.sh [seconds-per-run] [rounds]
#   CONFIG_B_SED='s/record: true/record: false/' bench/pg-ab.sh   # one build, B's config edited
# GATEWAY_A and GATEWAY_B name binaries in .build/release (default: postgres-gateway);
# MODES="simple prepared" (default both); CLIENTS=4 (pgbench clients; 1 shows latency without contention).
secs=${1:-10}
rounds=${2:-${ROUNDS:-5}}
clients=${CLIENTS:-4}
source "$(dirname "$0")/common.sh"
start_pgbench_paths
a=${GATEWAY_A:-postgres-gateway}
b=${GATEWAY_B:-postgres-gateway}
# B: the same configuration on its own ports, with its own state store and recordings.
gw2=$(freeport); admin2=$(freeport)
sed -e "s/127.0.0.1:$gwport/127.0.0.1:$gw2/" -e "s/127.0.0.1:$adminport/127.0.0.1:$admin2/" \
    -e "s#$work/state.sqlite#$work/state-b.sqlite#" -e "s#dir: $work/recordings#dir: $work/recordings-b#" \
    ${CONFIG_B_SED:+-e "$CONFIG_B_SED"} "$work/gateway.yaml" > "$work/gateway-b.yaml"
kill "$(cat "$work/gateway.pid")"; sleep 0.5
BENCH_PW=bench .build/release/$a --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 & echo $! > "$work/gateway.pid"
BENCH_PW=bench .build/release/$b --config "$work/gateway-b.yaml" > "$work/gateway-b.log" 2>&1 & echo $! > "$work/gateway-b.pid"
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$adminport/healthz" >/dev/null && curl -fs "http://127.0.0.1:$admin2/healthz" >/dev/null && break
  sleep 0.2
done
hz=$(getconf CLK_TCK)
# run MODE CONNINFO PASSWORD [PID]: tps, or tps/user-µs-per-transaction of PID.
run() {
  local t0=0 t1=0 tps
  [ -n "${4:-}" ] && t0=$(awk '{print $14}' /proc/$4/stat)
  tps=$(PGPASSWORD=$3 pgbench -n -S -M "$1" -c $clients -j 2 -T "$secs" "$2" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1)
  if [ -n "${4:-}" ]; then
    t1=$(awk '{print $14}' /proc/$4/stat)
    printf '%s/%.2f\n' "$tps" "$(echo "($t1 - $t0) * 1000000 / $hz / ($tps * $secs)" | bc -l)"
  else
    echo "$tps"
  fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "pgbench -S, $clients clients, ${secs}s per run, $rounds rounds; A = $a, B = $b${CONFIG_B_SED:+ with '$CONFIG_B_SED'}"
for mode in ${MODES:-simple prepared}; do
  p=(); ra=(); rb=()
  for _ in $(seq "$rounds"); do
    p+=("$(run "$mode" "host=127.0.0.1 port=$bouncerport dbname=bench user=bench" bench)")
    ra+=("$(run "$mode" "host=127.0.0.1 port=$gwport dbname=bench user=agent" "$token" "$(cat "$work/gateway.pid")")")
    rb+=("$(run "$mode" "host=127.0.0.1 port=$gw2 dbname=bench user=agent" "$token" "$(cat "$work/gateway-b.pid")")")
  done
  mp=$(median "${p[@]}"); ma=$(median "${ra[@]%%/*}"); mb=$(median "${rb[@]%%/*}")
  ua=$(median "${ra[@]##*/}"); ub=$(median "${rb[@]##*/}")
  echo "$mode  pgbouncer: ${p[*]}"
  echo "$mode  A: ${ra[*]}"
  echo "$mode  B: ${rb[*]}"
  printf '%s  medians: A %.2fx pgbouncer (user %.2f us/tx), B %.2fx pgbouncer (user %.2f us/tx), B/A %.3f\n' \
    "$mode" "$(echo "$ma / $mp" | bc -l)" "$ua" "$(echo "$mb / $mp" | bc -l)" "$ub" "$(echo "$mb / $ma" | bc -l)"
done
