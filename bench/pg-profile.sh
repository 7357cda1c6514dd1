#!/usr/bin/env bash
# CPU cost per transaction of each proxy under pgbench -S: the proxy's own CPU time (user +
# system, from /proc) divided by the transactions it relayed. Less noisy than TPS on a
# machine where pgbench, PostgreSQL and the proxy share the cores. With PERF=1 each proxy's
# simple-mode run (PERF_MODE=prepared: that one) is also recorded with `perf record -g` into /tmp/<proxy>.perf;
# with STRACE=1 each proxy's simple-mode system calls are counted into /tmp/<proxy>.strace.
# To see what each feature costs, switch it off: RECORD=false, MASKING=off, GUARDRAILS=off
# (see start_pgbench_paths in common.sh); MODES=simple and PROXIES=gateway narrow the runs;
# PROXIES="pgbouncer nio-relay gateway" adds the bare SwiftNIO relay.
#   bench/pg-profile.sh [seconds-per-run] [clients]
secs=${1:-10}
clients=${2:-4}
source "$(dirname "$0")/common.sh"
if [ "${PERF:-0}" = 1 ] && ! command -v perf >/dev/null; then echo "PERF=1 needs perf (Debian: linux-perf)" >&2; exit 2; fi
if [ "${STRACE:-0}" = 1 ] && ! command -v strace >/dev/null; then echo "STRACE=1 needs strace (Debian: strace)" >&2; exit 2; fi
start_pgbench_paths
start_bare_relay
ticks() { awk '{print $14, $15}' /proc/$1/stat; }
switches() { cat /proc/$1/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
hz=$(getconf CLK_TCK)
measure() { # name pid mode conninfo password
  local t0 t1 c0 c1 out tps perfpid= u s
  if [ "${PERF:-0}" = 1 ] && [ "$3" = "${PERF_MODE:-simple}" ]; then
    perf record ${PERF_ARGS:-} -g -o "/tmp/$1.perf" -p "$2" 2>/dev/null & perfpid=$!
    sleep 0.5
  elif [ "${STRACE:-0}" = 1 ] && [ "$3" = simple ]; then
    strace -c -f -o "/tmp/$1.strace" -p "$2" 2>/dev/null & perfpid=$!
    sleep 0.5
  fi
  t0=$(ticks "$2"); c0=$(switches "$2")
  out=$(PGPASSWORD=$5 pgbench -n -S -M "$3" -c "$clients" -j 2 -T "$secs" "$4" 2>&1)
  t1=$(ticks "$2"); c1=$(switches "$2")
  [ -n "$perfpid" ] && { kill -INT $perfpid; wait $perfpid || true; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  local cs; cs=$(echo "($c1 - $c0) / ($tps * $secs)" | bc -l)
  set -- "$1" "$2" "$3" $t0 $t1
  u=$(echo "($6 - $4) * 1000000 / $hz / ($tps * $secs)" | bc -l)
  s=$(echo "($7 - $5) * 1000000 / $hz / ($tps * $secs)" | bc -l)
  printf '%-10s %-9s %10.0f tps %8.1f us CPU per transaction (user %.1f, system %.1f), %.2f context switches\n' "$1" "$3" "$tps" "$(echo "$u + $s" | bc -l)" "$u" "$s" "$cs"
}
for mode in ${MODES:-simple prepared}; do
  if [[ " ${PROXIES:-pgbouncer gateway} " == *" pgbouncer "* ]]; then
    measure pgbouncer "$(cat "$work/pgbouncer.pid")" $mode "host=127.0.0.1 port=$bouncerport dbname=bench user=bench" bench
  fi
  if [[ " ${PROXIES:-pgbouncer gateway} " == *" nio-relay "* ]]; then
    measure nio-relay "$(cat "$work/relay.pid")" $mode "host=127.0.0.1 port=$relayport dbname=bench user=bench" bench
  fi
  if [[ " ${PROXIES:-pgbouncer gateway} " == *" gateway "* ]]; then
    measure gateway "$(cat "$work/gateway.pid")" $mode "host=127.0.0.1 port=$gwport dbname=bench user=agent" "$token"
  fi
done
